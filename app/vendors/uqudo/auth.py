"""uqudo's OAuth2 client-credentials token as an `httpx.Auth` (shared/providers/uqudo.md §1).

The access token lives only in this object's memory: it is cached until shortly before
`expires_in`, renewed once when the API answers 401 (a 401 means nothing was done, so repeating
even a POST once is safe), and never logged or written anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import httpx

from app.http import describe_shape, json_body, send, unexpected_response
from app.http.parse import optional_int, optional_str
from app.vendors.uqudo import NAME
from app.vendors.uqudo.errors import error_for

log = logging.getLogger("facedesk.providers.uqudo")

TOKEN_PATH = "/api/oauth/token"  # §1, on the auth host
# Renew this long before uqudo's expiry so a token never dies in flight.
TOKEN_MARGIN_SECONDS = 60.0
# The token cache's clock; a module attribute so tests can move time.
_monotonic = time.monotonic


class UqudoAuth(httpx.Auth):
    """Adds `Authorization: Bearer …`; fetches, caches and renews the token by itself."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: Callable[[], str],
        credential: Callable[[str], Awaitable[str]],
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._credential = credential
        self._token: str | None = None
        self._token_expires_at = 0.0  # _monotonic() deadline, margin already applied
        self._lock = asyncio.Lock()
        self.client_id: str | None = None  # not secret; kept to check a result's `aud`

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The token expired early or was revoked: renew it once and repeat the call.
            token = await self.access_token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one; `stale` is a token the API just refused."""
        async with self._lock:
            fresh = self._token is not None and _monotonic() < self._token_expires_at
            if fresh and self._token != stale and self._token is not None:
                return self._token
            self._token = None
            token, lifetime = await self._request_token()
            margin = min(TOKEN_MARGIN_SECONDS, lifetime / 10)
            self._token = token
            self._token_expires_at = _monotonic() + max(0.0, lifetime - margin)
            return token

    async def _request_token(self) -> tuple[str, float]:
        client_id = await self._credential("client_id")
        client_secret = await self._credential("client_secret")
        self.client_id = client_id
        operation = "get access token"
        response = await send(
            self._http,
            "POST",
            self._token_url(),
            provider=NAME,
            operation=operation,
            path_template=TOKEN_PATH,
            # §1: form-encoded, never JSON; httpx sets the content type for `data=`.
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code >= 400:
            raise error_for(response, kind="token", operation=operation)
        body = json_body(response, provider=NAME, operation=operation)
        token = optional_str(body, "access_token") if isinstance(body, dict) else None
        if token is None:
            log.warning("uqudo token response has shape %s", describe_shape(body))
            raise unexpected_response(NAME, operation, response=response, detail="no access token")
        lifetime = optional_int(body, "expires_in")
        # [INFERRED] §1: a missing expires_in is treated as 5 minutes, to renew early rather
        # than hold a dead token.
        return token, float(lifetime if lifetime and lifetime > 0 else 300)
