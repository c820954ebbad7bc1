"""GLAIR's error table: HTTP status → error class and operator message (glair.md §0).

GLAIR error bodies carry no code, only {"error": text}, so the status decides; GLAIR's own text
is quoted for a 400 and a 404 is worded by what it was for (a session lookup, or a base URL that
is not GLAIR's API).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from app.errors import (
    AppError,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from app.http.errors import ErrorTable, Rule, map_error
from app.http.parse import as_str, parse_json
from app.vendors.glair import NAME

# --- the one table: HTTP status → error class and operator message --------------------------
# GLAIR error bodies carry no code, only {"error": text} (§0), so the status decides.
# {op} is the operation in words, {detail} GLAIR's own text, {retry} the Retry-After advice.
_SERVER_FAULT: Rule = (
    ProviderUnavailable,
    "GLAIR had a server problem (HTTP {status}) during {op}. Try again in a moment; if it keeps "
    "happening, GLAIR may be having an outage.",
)
_BY_STATUS: Mapping[int, Rule] = {
    400: (RequestRejected, "GLAIR refused the {op} request{detail}. Check the input and retry."),
    401: (
        AuthenticationFailed,
        "GLAIR did not accept the username, password or API key. Check all three in Credentials.",
    ),
    # §0 general status table: 403 = the credential lacks permission for this endpoint.
    403: (
        PermissionDenied,
        "GLAIR refused {op} for these credentials. If every operation fails like this, check "
        "the API key in Credentials; otherwise ask GLAIR to enable {op} for your account.",
    ),
    404: (NotFound, "{not_found}"),
    413: (RequestRejected, "GLAIR found the image too large. Use a smaller photo."),
    415: (RequestRejected, "GLAIR cannot read this image type. Use a JPEG or PNG photo."),
    429: (RateLimited, "GLAIR is limiting how fast FaceDesk may call it. {retry}"),
}

ERRORS = ErrorTable(
    provider=NAME,
    rules={
        **{("*", status): rule for status, rule in _BY_STATUS.items()},
        ("*", 500): _SERVER_FAULT,
    },
    fallback=_BY_STATUS[400],
)


def is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(parse_json(response.content), dict)
    except ValueError:  # not JSON, not UTF-8, or nested too deeply
        return False


def error_for(response: httpx.Response, operation: str, body: Mapping[str, Any]) -> AppError:
    """The typed error for a failed response, by the table above."""
    status = response.status_code
    vendor_text = as_str(body.get("error")) or as_str(body.get("message"))
    detail = ""
    if vendor_text and status == 400:
        # GLAIR's own validation text helps the operator; it never echoes images or names.
        detail = f" (GLAIR says: “{vendor_text[:160]}”)"
    if not is_json_object(response):
        # §0 rule 3: GLAIR answers JSON; an HTML 404 comes from whatever the base URL points at.
        not_found = (
            f"The server at the base URL answered “not found” for {operation} and does not look "
            "like GLAIR's API. Check the base URL and API version in Connection settings."
        )
    elif operation.endswith(" session lookup"):
        # Only a lookup names a session; a 404 on create means a wrong URL, not a wrong id.
        kind = operation.removesuffix(" lookup")
        other = "active" if kind.startswith("passive") else "passive"
        not_found = (
            f"GLAIR has no {kind} with this id. Sessions expire after 24 hours; a session of "
            f"the other type ({other} liveness) or created with other credentials is not "
            "visible either. Check the session type, or create a new session."
        )
    else:
        not_found = (
            f"GLAIR answered “not found” for {operation}. Check the base URL and API version "
            "in Connection settings."
        )
    return map_error(ERRORS, response, operation=operation, detail=detail, not_found=not_found)
