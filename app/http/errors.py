"""Failed vendor replies → typed errors: one `ErrorTable` + `map_error` serves every vendor.

A vendor declares its table as data, keyed by (kind, status) or (kind, vendor code), where kind
names a group of operations and `"*"` is the fallback for any kind. Lookup order for a reply:
(kind, code), (kind, status), ("*", code), ("*", status), then the table's fallback; statuses in
`status_first` skip the code rules (e.g. a 429 is a rate limit whatever code it carries); 5xx
are looked up as 500. Message templates are filled with `{retry}` (Retry-After advice),
`{feature}` (the kind in words), `{status}`, `{op}` and whatever fields the caller adds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.errors import (
    AppError,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http.client import parse_retry_after, request_id_of
from app.http.parse import describe_shape, parse_json

log = logging.getLogger("facedesk.providers")


ERROR_CLASSES: dict[int, type[ProviderError]] = {
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    429: RateLimited,
}


def error_from_status(
    response: httpx.Response,
    *,
    provider: str,
    operation: str,
    message: str,
    vendor_code: str | None = None,
    cls: type[ProviderError] | None = None,
) -> AppError:
    """Build the typed error for a failed response; vendor modules supply the message."""
    status = response.status_code
    if cls is None:
        cls = ProviderUnavailable if status >= 500 else ERROR_CLASSES.get(status, RequestRejected)
    kwargs: dict[str, Any] = {
        "provider": provider,
        "operation": operation,
        "request_id": request_id_of(response),
        "vendor_code": vendor_code,
        "http_status": status,
    }
    if issubclass(cls, RateLimited):
        return cls(
            message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs
        )
    return cls(message, **kwargs)


def retry_hint(response: httpx.Response) -> str:
    """'Try again in 30 s.' from Retry-After, or a generic hint."""
    seconds = parse_retry_after(response.headers.get("retry-after"))
    if seconds is None:
        return "Wait a minute and try again."
    if seconds < 90:
        return f"Try again in {max(1, round(seconds))} s."
    return f"Try again in {round(seconds / 60)} min."


def error_body(response: httpx.Response) -> dict[str, Any]:
    """A failed response's JSON object, or {} (a proxy's HTML 502 still maps by its status)."""
    try:
        body = parse_json(response.content)
    except ValueError:  # not JSON, not UTF-8, or nested too deeply
        return {}
    return body if isinstance(body, dict) else {}


_NO_BODY = object()


def unexpected_response(
    provider: str,
    operation: str,
    *,
    body: object = _NO_BODY,
    response: httpx.Response | None = None,
    request_id: str | None = None,
    detail: str = "",
) -> UnexpectedResponse:
    """The error for a reply outside the vendor's contract; logs its shape, never its content.

    `detail` is a content-free hint for the operator and support (e.g. "no match level").
    """
    if body is not _NO_BODY:
        log.warning("%s %s: unexpected reply shape %s", provider, operation, describe_shape(body))
    else:
        log.warning("%s %s: unreadable reply (%s)", provider, operation, detail or "-")
    what = f" ({detail})" if detail else ""
    return UnexpectedResponse(
        f"{provider} sent a reply FaceDesk cannot read{what}. Try again; if it persists, copy "
        "the details for support.",
        provider=provider,
        operation=operation,
        request_id=request_id or (request_id_of(response) if response is not None else None),
        http_status=response.status_code if response is not None else None,
    )


Rule = tuple[type[ProviderError], str]
"""An error class and the operator's message template."""

ANY_KIND = "*"


class _Template(dict[str, str]):
    """Leaves an unknown `{name}` as it is instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class ErrorTable:
    """One vendor's status / vendor-code → (error class, message template) table, as data."""

    provider: str
    rules: Mapping[tuple[str, int | str], Rule]
    features: Mapping[str, str] = field(default_factory=dict)
    fallback: Rule = (
        RequestRejected,
        "{provider} refused the request (HTTP {status}). Copy the details for support.",
    )
    status_first: frozenset[int] = frozenset()
    # Appended to a RequestRejected message when the vendor sent its own text ("{said}").
    vendor_said: str = ""
    # False: only when no code rule matched (the table's words already explain a known code).
    vendor_said_for_known_codes: bool = True

    def rule(self, kind: str, status: int, code: str | None = None) -> tuple[Rule, bool]:
        """The rule for a reply and whether a vendor-code rule chose it."""
        key_status = 500 if status >= 500 else status
        code_keys = [] if code is None or key_status in self.status_first else [code]
        for key_kind in dict.fromkeys((kind, ANY_KIND)):
            for key in code_keys:
                if (key_kind, key) in self.rules:
                    return self.rules[key_kind, key], True
            if (key_kind, key_status) in self.rules:
                return self.rules[key_kind, key_status], False
        return self.fallback, False


def map_error(
    table: ErrorTable,
    response: httpx.Response,
    *,
    operation: str,
    kind: str = ANY_KIND,
    code: str | None = None,
    vendor_message: str = "",
    **fields: str,
) -> AppError:
    """The typed error for a failed response, by the vendor's table (azure-core's map_error)."""
    (cls, template), by_code = table.rule(kind, response.status_code, code)
    values = _Template(
        provider=table.provider,
        status=str(response.status_code),
        op=operation,
        feature=table.features.get(kind, "this feature"),
        retry=retry_hint(response),
        **fields,
    )
    message = template.format_map(values)
    if (
        table.vendor_said
        and vendor_message
        and cls is RequestRejected
        and (table.vendor_said_for_known_codes or not by_code)
    ):
        message += table.vendor_said.format_map(_Template(said=vendor_message))
    return error_from_status(
        response,
        provider=table.provider,
        operation=operation,
        message=message,
        vendor_code=code,
        cls=cls,
    )
