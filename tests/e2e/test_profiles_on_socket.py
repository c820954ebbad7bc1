"""A real vendor is one setting away: each provider, through a saved connection profile with
credentials in the keyring, reaches the sandbox over a real loopback socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import vendors as providers
from app.capabilities import SupportsConnectionTest
from app.errors import AuthenticationFailed
from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.settings import ConnectionProfile
from tests.sandbox_server import SocketSandbox

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[SocketSandbox]:
    running = SocketSandbox().start()
    yield running
    running.stop()


@pytest.mark.parametrize("module", providers.VENDORS, ids=lambda m: m.INFO.id)
async def test_profile_pointing_at_the_socket_sandbox_connects(
    module, server: SocketSandbox, app_paths: AppPaths
) -> None:
    info = module.INFO
    fields = {k: v.replace("{root}", server.origin) for k, v in info.sandbox_connection.items()}
    secrets = MemorySecretStore()
    async with open_service(app_paths, secrets=secrets) as service:
        await service.save_profile(ConnectionProfile(info.id, "Local", fields))
        await service.save_credentials(info.id, "Local", dict(info.sandbox_credentials))
        await service.set_active_connection(info.id, "Local")
        status = await service.connection_status(info.id)
        assert status.ready
        assert not status.is_sandbox
        provider = service.provider(info.id, SupportsConnectionTest)
        assert await provider.test_connection()
        # The same profile with a wrong secret is refused by the vendor's own auth.
        secret_field = next(f for f in info.credential_fields if f.secret)
        await service.save_credentials(info.id, "Local", {secret_field.name: "wrong-secret"})
        with pytest.raises(AuthenticationFailed):
            await service.provider(info.id, SupportsConnectionTest).test_connection()
    assert secrets.get(f"{info.id}.Local", secret_field.name) == "wrong-secret"
    settings_text = app_paths.settings_file.read_text()
    assert "wrong-secret" not in settings_text
    for value in info.sandbox_credentials.values():
        if len(value) > 8:
            assert value not in settings_text
