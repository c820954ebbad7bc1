"""Veriff request signing as an `httpx.Auth` (shared/providers/veriff.md §2.1).

Every request carries X-AUTH-CLIENT and X-HMAC-SIGNATURE, an HMAC-SHA256 over exactly the bytes
sent (the body for POST/PATCH, else the session/attempt/media id in the path); a signed reply is
checked with `response_signature_ok`, which is True/False, or None when it carries no signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Generator

import httpx

_SIGNED_ID = re.compile(r"/v1/(?:sessions|attempts|media)/([^/?#]+)")
SIGNATURE_WARNING = (
    "Veriff's reply signature did not match the shared secret: the data may not come from "
    "Veriff unaltered. Check the shared secret; treat this result with care."
)


def sign(secret: str, message: bytes) -> str:
    """§2.1: lowercase hex HMAC-SHA256 of `message` keyed with the shared secret (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_message(request: httpx.Request) -> bytes:
    """§2.1 table: the body for POST/PATCH, else the session/attempt/media id in the path."""
    if request.method.upper() in ("POST", "PATCH", "PUT"):
        return request.content
    match = _SIGNED_ID.search(request.url.path)
    if match is None:
        raise ValueError("Veriff GET/DELETE paths carry the id that is signed")
    return match.group(1).encode()


class VeriffAuth(httpx.Auth):
    """Adds X-AUTH-CLIENT and X-HMAC-SIGNATURE over exactly the bytes of the request."""

    requires_request_body = True

    def __init__(self, api_key: str, shared_secret: str) -> None:
        self._api_key = api_key
        self._secret = shared_secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-AUTH-CLIENT"] = self._api_key
        request.headers["X-HMAC-SIGNATURE"] = sign(self._secret, signed_message(request))
        yield request


def response_signature_ok(response: httpx.Response, secret: str) -> bool | None:
    """True/False when the reply is signed (§1), None when it carries no signature."""
    given = response.headers.get("x-hmac-signature") or response.headers.get("vrf-hmac-signature")
    if not given:
        return None
    return hmac.compare_digest(sign(secret, response.content), given.strip().lower())


async def veriff_auth(credential: Callable[[str], Awaitable[str]]) -> tuple[VeriffAuth, str]:
    """The signing auth for one call, and the shared secret to check the reply with."""
    api_key = (await credential("api_key")).strip()
    secret = await credential("shared_secret")
    return VeriffAuth(api_key, secret), secret
