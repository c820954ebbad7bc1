"""GLAIR's credentials as an `httpx.Auth`: HTTP basic plus the `x-api-key` header (glair.md §0)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator

import httpx

from app.errors import ConfigurationError
from app.vendors.glair import NAME


class GlairAuth(httpx.Auth):
    """Every GLAIR call carries the username/password (basic) and the API key header."""

    def __init__(self, username: str, password: str, api_key: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._api_key
        yield from self._basic.auth_flow(request)


async def glair_auth(credential: Callable[[str], Awaitable[str]]) -> GlairAuth:
    """Read the three credentials; refuse an API key no HTTP header can carry."""
    username = await credential("username")
    password = await credential("password")
    api_key = await credential("api_key")
    if not (api_key.isascii() and api_key.isprintable()):
        # A header value must be printable ASCII; httpx would raise UnicodeEncodeError.
        raise ConfigurationError(
            "The GLAIR API key contains a character that cannot be sent (often a curly "
            "quote, a line break or a non-breaking space picked up while copying). Open "
            "Credentials and enter the key again.",
            provider=NAME,
        )
    return GlairAuth(username, password, api_key)
