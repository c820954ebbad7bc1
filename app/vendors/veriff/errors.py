"""Veriff's error table: vendor codes and statuses → error classes and messages (veriff.md §5).

A known vendor code decides first; a 429 and any 5xx go by their status. A 409 on uploading
media means the session is already submitted; on any other operation it is worded by that
operation. Veriff's own text is quoted only for a code FaceDesk has no words for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from app.http.client import parse_retry_after
from app.http.errors import ErrorTable, Rule, error_body, map_error, retry_hint
from app.vendors.veriff import NAME

# --- the one table: vendor codes and statuses → AppError classes and operator messages --------

_CREDENTIALS_HINT = "Open Credentials and check the API key and shared secret key."
_CODE_ERRORS: dict[str, Rule] = {
    "1801": (AuthenticationFailed, "Veriff did not receive an API key. " + _CREDENTIALS_HINT),
    "1802": (AuthenticationFailed, "The API key is not a UUID. " + _CREDENTIALS_HINT),
    "1803": (
        AuthenticationFailed,
        "Veriff knows no integration with this API key. " + _CREDENTIALS_HINT,
    ),
    "1804": (
        PermissionDenied,
        "The Veriff integration for this API key is not active. Ask your Veriff administrator "
        "to activate it.",
    ),
    "1812": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1813": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1814": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1815": (
        AuthenticationFailed,
        "Veriff could not authenticate the request. " + _CREDENTIALS_HINT,
    ),
    "1818": (
        AuthenticationFailed,
        "Veriff rejected the request signature: the shared secret key does not belong to this "
        "API key. " + _CREDENTIALS_HINT,
    ),
    "1819": (
        AuthenticationFailed,
        "Veriff rejected the request signature: the shared secret key does not belong to this "
        "API key. " + _CREDENTIALS_HINT,
    ),
    "1001": (RequestRejected, "That is not a Veriff session id. Paste the full id (a UUID)."),
    "1002": (RequestRejected, "That is not a Veriff session id. Paste the full id (a UUID)."),
    "1101": (
        RequestRejected,
        "Veriff says the request is not valid. Check the form and try again.",
    ),
    "1102": (
        RequestRejected,
        "Veriff says required information is missing. Check the form and try again.",
    ),
    "1104": (RequestRejected, "Veriff rejected one of the values. Check the form."),
    "1201": (
        RequestRejected,
        "Veriff rejected the request time (older than one hour). Check this computer's clock.",
    ),
    "1202": (
        RequestRejected,
        "Veriff rejected the request time format. Check this computer's clock and try again.",
    ),
    "1203": (RequestRejected, "The date of birth must be a real date written YYYY-MM-DD."),
    "1301": (
        RequestRejected,
        "This integration does not support the requested features. Ask your Veriff "
        "administrator which ones it has.",
    ),
    "1302": (RequestRejected, "The callback URL must start with https://."),
    "1303": (
        RequestRejected,
        "Veriff only accepts “submitted” as a new status. Reload the session and try again.",
    ),
    "1304": (
        RequestRejected,
        "This session can no longer be submitted (it is already submitted or decided). Reload "
        "it to see its status.",
    ),
    "1305": (
        RequestRejected,
        "Veriff refuses: the session is not in a completed status. Reload it to see the "
        "status, and delete it once Veriff has decided.",
    ),
    "1306": (
        RequestRejected,
        "Veriff refuses: the session is in progress (submitted). Wait for Veriff's decision, "
        "then delete it.",
    ),
    "1400": (
        RequestRejected,
        "Veriff found no image data in the upload. Load the photo again and retry.",
    ),
    "1401": (RequestRejected, "Veriff could not read the image. Load a JPEG or PNG photo."),
    "1402": (
        RequestRejected,
        "Veriff does not accept this image type for the integration. Ask your Veriff "
        "administrator which ones it takes.",
    ),
    "1403": (
        RequestRejected,
        "The upload lacks a required image property. Try again; if it persists, copy the "
        "details for support.",
    ),
    "1500": (RequestRejected, "vendorData may be at most 1000 characters long. Shorten it."),
    "1501": (RequestRejected, "vendorData must be text. Enter it again as plain text."),
    "2003": (RequestRejected, "The date of birth is not valid. Enter it as YYYY-MM-DD."),
    "2101": (
        RequestRejected,
        "The document number must have 6–9 characters. Check it against the document.",
    ),
    "2102": (
        RequestRejected,
        "The document number may contain only A–Z and 0–9. Remove spaces and dashes.",
    ),
    "2103": (
        RequestRejected,
        "Veriff does not support this document type. Choose another or leave it empty.",
    ),
    "2104": (
        RequestRejected,
        "Veriff does not support this document country. Check the two-letter code.",
    ),
}
_STATUS_ERRORS: dict[int, Rule] = {
    400: (RequestRejected, "Veriff rejected the request. Check the form and try again."),
    401: (AuthenticationFailed, "Veriff rejected the credentials. " + _CREDENTIALS_HINT),
    403: (
        PermissionDenied,
        "Veriff did not allow this operation for the integration (session deletion, for one, "
        "is enabled by Veriff on request). Ask your Veriff administrator to enable it.",
    ),
    404: (
        NotFound,
        "Veriff has no such session or media (unknown id, or the session was deleted). "
        "Check the id; deleted sessions cannot be recovered.",
    ),
    409: (
        RequestRejected,
        "The session is already submitted, so no more media can be added. Create a new session.",
    ),
    429: (RateLimited, "Veriff is limiting requests."),
}

_UPLOAD = "upload media"
ERRORS = ErrorTable(
    provider=NAME,
    rules={
        **{(kind, code): rule for code, rule in _CODE_ERRORS.items() for kind in ("*", _UPLOAD)},
        **{("*", status): rule for status, rule in _STATUS_ERRORS.items() if status != 409},
        # The 409 table text is about adding media; other operations get their own words.
        (_UPLOAD, 409): _STATUS_ERRORS[409],
        ("*", 409): (
            RequestRejected,
            "Veriff refused to {op} because of the session's current state. Reload the session "
            "to see its status, then try again.",
        ),
        ("*", 429): (RateLimited, "{rate}"),
        ("*", 500): (
            ProviderUnavailable,
            "{provider} had a server problem ({status}). Try again in a few minutes.",
        ),
    },
    fallback=(RequestRejected, "{provider} refused the request ({status})."),
    status_first=frozenset({429, 500}),
    # The vendor's own text for codes FaceDesk has no words for (it names no person).
    vendor_said=" Veriff says: “{said}”",
    vendor_said_for_known_codes=False,
)


def error_for(response: httpx.Response, operation: str) -> AppError:
    """The typed error for a failed response, by the table above."""
    code: str | None = None
    vendor_message = ""
    body = error_body(response)
    if body:
        raw_code = body.get("code")
        code = str(raw_code) if raw_code not in (None, "") else None
        vendor_message = str(body.get("message") or "")[:200]
    rate = rate_message(response, operation) if response.status_code == 429 else ""
    return map_error(
        ERRORS,
        response,
        operation=operation,
        kind=operation if operation == _UPLOAD else "*",
        code=code,
        vendor_message=vendor_message,
        rate=rate,
    )


def rate_message(response: httpx.Response, operation: str) -> str:
    if operation != "delete session":
        return f"{NAME} is limiting requests. " + retry_hint(response)
    seconds = parse_retry_after(response.headers.get("retry-after"))
    text = (
        "Veriff allows 5 session deletions per rolling hour and 10 per 24 hours for this "
        "integration, and that limit is reached (deletions made outside FaceDesk count too)."
    )
    if seconds is not None:
        moment = datetime.now(UTC) + timedelta(seconds=seconds)
        return f"{text} The next deletion is possible at {moment.astimezone():%H:%M:%S}."
    # §4: Veriff documents no Retry-After, so say what each window allows instead of a time.
    return (
        f"{text} Veriff did not say when: if the hourly limit was hit, a deletion is possible "
        "again within an hour; if the daily one was, within 24 hours."
    )
