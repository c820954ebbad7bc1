"""FaceDesk's HTTP layer: one package, one job a module.

- `client`: the AsyncClient, its transport rules (redirects, caps, retry, allow-list logging);
- `parse`: bounded JSON and the tolerant typed readers vendor clients pick fields with;
- `errors`: `ErrorTable` + `map_error`, the one status → typed-error mechanism;
- `poll`: the one polling loop, with an injected clock;
- `context`: what every vendor client receives (`ProviderContext`).

Callers keep importing the common names from `app.http`.
"""

from __future__ import annotations

from app.http.client import (
    DEFAULT_TIMEOUT,
    JSON_REPLY_CAP,
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_REDIRECTS,
    MEDIA_REPLY_CAP,
    NO_AUTOMATIC_RETRY,
    NO_RETRY,
    REQUEST_ID_HEADERS,
    USER_AGENT,
    RetryPolicy,
    VendorTransport,
    _Clock,
    is_literal_loopback,
    is_loopback_host,
    make_client,
    parse_retry_after,
    path_segment,
    request_id_of,
    require_secure_url,
    send,
    vendor_path,
)
from app.http.context import ProviderContext
from app.http.errors import (
    ANY_KIND,
    ErrorTable,
    Rule,
    error_body,
    error_from_status,
    map_error,
    retry_hint,
    unexpected_response,
)
from app.http.parse import (
    JSONTooDeep,
    describe_shape,
    first_present,
    json_body,
    parse_json,
)
from app.http.poll import PollClock, poll

__all__ = [
    "ANY_KIND",
    "DEFAULT_TIMEOUT",
    "JSON_REPLY_CAP",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_REDIRECTS",
    "MEDIA_REPLY_CAP",
    "NO_AUTOMATIC_RETRY",
    "NO_RETRY",
    "REQUEST_ID_HEADERS",
    "USER_AGENT",
    "ErrorTable",
    "JSONTooDeep",
    "PollClock",
    "ProviderContext",
    "RetryPolicy",
    "Rule",
    "VendorTransport",
    "_Clock",
    "describe_shape",
    "error_body",
    "error_from_status",
    "first_present",
    "is_literal_loopback",
    "is_loopback_host",
    "json_body",
    "make_client",
    "map_error",
    "parse_json",
    "parse_retry_after",
    "path_segment",
    "poll",
    "request_id_of",
    "require_secure_url",
    "retry_hint",
    "send",
    "unexpected_response",
    "vendor_path",
]
