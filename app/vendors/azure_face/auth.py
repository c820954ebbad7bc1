"""Azure AI Face credentials as an `httpx.Auth`: a subscription key, or an Entra bearer token.

`Ocp-Apim-Subscription-Key` when a key is set, else `Authorization: Bearer` with a pasted
Microsoft Entra token (a leading "Bearer " is tolerated); both are read for every call, so a
credential changed in the keyring takes effect at once (azure_face.md §1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping

import httpx

from app.errors import CredentialsMissing
from app.vendors.azure_face import NAME


class AzureKeyAuth(httpx.Auth):
    """Adds the one credential header Azure accepts for this connection."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request


async def azure_auth(credential: Callable[[str], Awaitable[str]], connection: str) -> AzureKeyAuth:
    """The subscription key if set, else the Entra token; neither is `CredentialsMissing`."""
    try:
        return AzureKeyAuth({"Ocp-Apim-Subscription-Key": await credential("subscription_key")})
    except CredentialsMissing:
        pass
    try:
        token = await credential("entra_token")
    except CredentialsMissing:
        raise CredentialsMissing(
            f"Neither a subscription key nor an Entra token is set for the {NAME} "
            f"connection “{connection}”. Open Credentials to enter one of them.",
            provider=NAME,
        ) from None
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    return AzureKeyAuth({"Authorization": f"Bearer {token}"})
