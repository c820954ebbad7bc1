"""uqudo's error table: (operation kind, status) → error class and message (uqudo.md §0).

uqudo documents no error body, so the table keys on (kind, status) only; the body's short `error`
word (OAuth2 or Spring style) is kept as the vendor code for "Copy details".
"""

from __future__ import annotations

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
)
from app.http.errors import ErrorTable, error_body, map_error
from app.vendors.uqudo import NAME

# --- the one status → error table ---------------------------------------------------------------
# §0: uqudo documents no error body, so the client keys on (operation kind, status) only.
# "{feature}" and "{retry}" are filled in when the error is built.
RULES: dict[tuple[str, int | str], tuple[type[ProviderError], str]] = {
    ("token", 400): (
        RequestRejected,
        "uqudo's token endpoint refused the request. Check the Auth URL in Connection settings "
        "(normally https://auth.uqudo.io).",
    ),
    ("token", 401): (
        AuthenticationFailed,
        "uqudo rejected the client id or client secret. Check both in Credentials (Customer "
        "Portal › Development › Credentials).",
    ),
    ("token", 403): (
        AuthenticationFailed,
        "uqudo refused to issue a token for this client. Check the client id and secret in "
        "Credentials, or ask uqudo whether the client is active.",
    ),
    ("token", 404): (
        RequestRejected,
        "The Auth URL does not serve uqudo's token endpoint. Check the Auth URL in Connection "
        "settings (normally https://auth.uqudo.io).",
    ),
    ("*", 400): (
        RequestRejected,
        "uqudo rejected the request as invalid. Check that the image is a clear JPEG or PNG "
        "showing one face, then try again.",
    ),
    ("match", 400): (
        RequestRejected,
        "uqudo rejected the face match as invalid. Check that both images show one clear face "
        "and that the minimum level is between 1 and 5.",
    ),
    ("info", 400): (
        RequestRejected,
        "uqudo rejected the session id. Session ids look like 8-4-4-4-12 hexadecimal digits.",
    ),
    ("*", 401): (
        AuthenticationFailed,
        "uqudo did not accept a freshly issued access token on the API host. Check that the "
        "API URL is the one the Customer Portal shows for this client.",
    ),
    ("*", 403): (
        PermissionDenied,
        "This uqudo tenant is not allowed to use {feature}. Ask uqudo to enable it for your "
        "client.",
    ),
    ("one_to_n_delete", 400): (
        RequestRejected,
        "uqudo rejected this oneToNVerificationId. Copy it again from a 1:N search or insert "
        "result and try again.",
    ),
    # A 404 on a route that carries no id means the API host does not serve uqudo's API.
    ("*", 404): (
        NotFound,
        "The API URL does not serve this uqudo endpoint. Check the API URL in Connection "
        "settings (the one the Customer Portal shows under Development › Credentials).",
    ),
    ("one_to_n_delete", 404): (
        NotFound,
        "uqudo does not know this oneToNVerificationId in your tenant's 1:N index.",
    ),
    ("info", 404): (
        NotFound,
        "uqudo has no result for this session: it was not completed yet, was purged, or "
        "expired (results are kept for about 30 minutes).",
    ),
    ("image", 404): (
        NotFound,
        "uqudo no longer has this image: images are kept only while the session result is "
        "(about 30 minutes), or the session was purged.",
    ),
    ("*", 413): (
        RequestRejected,
        "The image is larger than uqudo's 5 MB limit. Load a smaller photo and try again.",
    ),
    ("*", 415): (
        RequestRejected,
        "uqudo accepts only JPEG or PNG images. Load the photo again (FaceDesk converts it).",
    ),
    ("*", 429): (RateLimited, "uqudo is limiting how often you can call it. {retry}"),
    ("*", 500): (
        ProviderUnavailable,
        "uqudo had a problem on its side. {retry} If it keeps happening, check uqudo's status.",
    ),
}
FEATURES = {
    "token": "API access",
    "face_session": "face sessions",
    "match": "face match",
    "one_to_n": "the 1:N face index (search, insert and delete)",
    "one_to_n_delete": "the 1:N face index (search, insert and delete)",
    "info": "the Info API (session results)",
    "image": "the Info API (session images)",
}


ERRORS = ErrorTable(provider=NAME, rules=RULES, features=FEATURES)


def vendor_code(response: httpx.Response) -> str | None:
    """The short `error` word of a body (OAuth2 or Spring style), if any: for "Copy details"."""
    code = error_body(response).get("error")
    return code if isinstance(code, str) and 0 < len(code) <= 64 else None


def error_for(response: httpx.Response, *, kind: str, operation: str) -> AppError:
    """The typed error for a failed response, from the table above."""
    return map_error(ERRORS, response, kind=kind, operation=operation, code=vendor_code(response))
