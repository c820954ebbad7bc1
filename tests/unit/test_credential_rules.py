"""Credential rules: rename moves credentials, no user-info in URLs, no plaintext keyring."""

from __future__ import annotations

import keyring
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend

from app.errors import ConfigurationError
from app.paths import AppPaths
from app.secrets import MemorySecretStore, open_secret_store, usable_backend
from app.services import open_service
from app.settings import ConnectionProfile


def _backend_in(module: str) -> KeyringBackend:
    cls = type("Backend", (keyring.backends.null.Keyring,), {"__module__": module})
    instance: KeyringBackend = cls()
    return instance


class FakeChainer(keyring.backends.null.Keyring):
    def __init__(self, inner: list[KeyringBackend]) -> None:
        self._inner = inner

    @property
    def backends(self) -> list[KeyringBackend]:
        return self._inner


FakeChainer.__module__ = "keyring.backends.chainer"


def test_a_chainer_holding_only_plaintext_backends_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chainer = FakeChainer([_backend_in("keyrings.alt.file"), _backend_in("keyrings.alt.Gnome")])
    monkeypatch.setattr("keyring.get_keyring", lambda: chainer)
    assert usable_backend() is None
    assert isinstance(open_secret_store(), MemorySecretStore)


def test_a_chainer_is_narrowed_to_its_secure_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    secure = _backend_in("keyring.backends.SecretService")
    chainer = FakeChainer([_backend_in("keyrings.alt.file"), secure])
    monkeypatch.setattr("keyring.get_keyring", lambda: chainer)
    assert usable_backend() is secure


def test_a_plaintext_backend_reached_directly_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keyring.get_keyring", lambda: _backend_in("keyrings.alt.file"))
    assert usable_backend() is None


VERIFF_URL = "https://stationapi.veriff.com/v1"


async def test_rename_keeps_credentials_and_registry_rows(
    app_paths: AppPaths, memory_secrets: MemorySecretStore
) -> None:
    async with open_service(app_paths, secrets=memory_secrets) as service:
        await service.save_profile(ConnectionProfile("veriff", "Prod", {"base_url": VERIFF_URL}))
        await service.save_credentials(
            "veriff", "Prod", {"api_key": "key-1", "shared_secret": "shown-once"}
        )
        await service.set_active_connection("veriff", "Prod")
        await service.record_session("veriff", "sess-1", kind="session", status="created")

        await service.rename_profile("veriff", "Prod", "Production")

        assert service.connections("veriff")[-1] == "Production"
        assert "Prod" not in service.connections("veriff")
        assert service.active_connection("veriff") == "Production"
        assert memory_secrets.get("veriff.Production", "shared_secret") == "shown-once"
        assert memory_secrets.get("veriff.Production", "api_key") == "key-1"
        assert memory_secrets.get("veriff.Prod", "shared_secret") is None
        rows = await service.sessions("veriff")
        assert [r.session_id for r in rows] == ["sess-1"]


async def test_rename_refuses_an_existing_name(
    app_paths: AppPaths, memory_secrets: MemorySecretStore
) -> None:
    async with open_service(app_paths, secrets=memory_secrets) as service:
        for name in ("A", "B"):
            await service.save_profile(ConnectionProfile("veriff", name, {"base_url": VERIFF_URL}))
        await service.save_credentials("veriff", "A", {"api_key": "a"})
        with pytest.raises(ConfigurationError, match="already exists"):
            await service.rename_profile("veriff", "A", "B")
        assert memory_secrets.get("veriff.A", "api_key") == "a"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@stationapi.veriff.com/v1",
        "https://token@stationapi.veriff.com/v1",
        "http://localhost:9000/v1",
        "http://10.0.0.5/v1",
    ],
)
async def test_unsafe_base_urls_are_not_saved(
    app_paths: AppPaths, memory_secrets: MemorySecretStore, url: str
) -> None:
    async with open_service(app_paths, secrets=memory_secrets) as service:
        with pytest.raises(ConfigurationError):
            await service.save_profile(ConnectionProfile("veriff", "Prod", {"base_url": url}))
    saved = app_paths.settings_file.read_text() if app_paths.settings_file.exists() else ""
    assert url not in saved
