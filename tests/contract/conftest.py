"""Contract tests run every client against the sandbox twice: in-process and over a socket.

The same tests, marked `live`, can run against the real vendor (see the README); the bodies
never branch on which endpoint they got.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest

from app.errors import CredentialsMissing
from app.http import NO_RETRY, ProviderContext, RetryPolicy, make_client
from app.sandbox.app import IN_PROCESS_ORIGIN, SandboxTransport, create_sandbox_app
from app.sandbox.state import SandboxState
from app.store import Store
from tests.sandbox_server import SocketSandbox


@dataclass
class SandboxEndpoint:
    """One way of reaching the sandbox; `connect()` builds a provider against it."""

    mode: str
    origin: str
    state: SandboxState
    transport_factory: Any
    store: Store
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(
        self, retry: RetryPolicy | None = NO_RETRY, timeout: httpx.Timeout | None = None
    ) -> httpx.AsyncClient:
        kwargs: dict[str, Any] = {"retry": retry}
        if timeout is not None:
            kwargs["timeout"] = timeout
        client = make_client(
            transport=self.transport_factory(), allow_plain_http=self.mode == "in_process", **kwargs
        )
        self.clients.append(client)
        return client

    def connect(
        self,
        module: ModuleType,
        *,
        credentials: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = NO_RETRY,
        timeout: httpx.Timeout | None = None,
        profile_key: str | None = None,
    ) -> Any:
        """A provider on this endpoint with the sandbox credentials unless told otherwise."""
        info = module.INFO
        values = {f.name: f.default for f in info.connection_fields}
        values.update(
            {k: v.replace("{root}", self.origin) for k, v in info.sandbox_connection.items()}
        )
        values.update(fields or {})
        creds = dict(info.sandbox_credentials if credentials is None else credentials)

        async def credential(name: str) -> str:
            if not creds.get(name):
                raise CredentialsMissing(f"{name} missing", provider=info.display_name)
            return creds[name]

        ctx = ProviderContext(
            info=info,
            connection="Sandbox",
            profile_key=profile_key or f"{info.id}.Sandbox",
            fields=values,
            http=self.client(retry=retry, timeout=timeout),
            credential=credential,
            store=self.store,
            is_sandbox=True,
        )
        return module.create(ctx)

    async def admin(self, method: str, path: str, payload: Any = None) -> Any:
        client = self.client()
        response = await client.request(method, f"{self.origin}/_sandbox{path}", json=payload)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    async def fault(self, **spec: Any) -> None:
        await self.admin("POST", "/faults", spec)


@pytest.fixture(scope="session")
def socket_sandbox() -> Iterator[SocketSandbox]:
    server = SocketSandbox().start()
    yield server
    server.stop()


@pytest.fixture(params=["in_process", "socket"])
async def sandbox(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[SandboxEndpoint]:
    store = Store(tmp_path / "contract.sqlite3")
    if request.param == "in_process":
        app, state = create_sandbox_app(SandboxState())
        endpoint = SandboxEndpoint(
            "in_process", IN_PROCESS_ORIGIN, state, lambda: SandboxTransport(app), store
        )
    else:
        server: SocketSandbox = request.getfixturevalue("socket_sandbox")
        server.state.reset()
        endpoint = SandboxEndpoint(
            "socket", server.origin, server.state, lambda: httpx.AsyncHTTPTransport(), store
        )
    yield endpoint
    for client in endpoint.clients:
        await client.aclose()
    store.close()
