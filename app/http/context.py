"""What every vendor client receives: its connection, its HTTP client and its credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from app.capabilities import ProviderInfo
from app.store import Store


@dataclass(frozen=True, slots=True)
class ProviderContext:
    info: ProviderInfo
    connection: str  # "Sandbox" or a profile name
    profile_key: str  # scopes registry rows, ledgers and keyring entries, e.g. "glair.Sandbox"
    fields: Mapping[str, str]  # the connection_fields' values (URLs already resolved)
    http: httpx.AsyncClient
    credential: Callable[[str], Awaitable[str]]  # raises CredentialsMissing when unset
    store: Store  # blocking: call through asyncio.to_thread
    is_sandbox: bool

    def field(self, name: str) -> str:
        return self.fields.get(name, "")

    def url(self, field_name: str, path: str) -> str:
        return self.fields.get(field_name, "").rstrip("/") + path
