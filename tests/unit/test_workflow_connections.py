"""Headless connections: `--connection ID=NAME` and `ID=env` from FACEDESK_<ID>_<FIELD>."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app import vendors as providers
from app.errors import ConfigurationError
from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import VerificationService, open_service
from app.settings import ConnectionProfile
from app.workflows import connections as conn

GLAIR = providers.registry()["glair"].INFO
AZURE = providers.registry()["azure_face"].INFO
SECRET = "s3cret-value-never-shown"


@pytest.fixture
async def service(app_paths: AppPaths) -> AsyncIterator[VerificationService]:
    async with open_service(app_paths, secrets=MemorySecretStore()) as opened:
        yield opened


def test_variable_names_are_upper_case_provider_and_field() -> None:
    assert conn.env_variable("glair", "base_url") == "FACEDESK_GLAIR_BASE_URL"
    assert conn.env_variable("azure_face", "subscription_key") == (
        "FACEDESK_AZURE_FACE_SUBSCRIPTION_KEY"
    )
    names = {v.name for v in conn.env_variables([GLAIR, AZURE])}
    assert {
        "FACEDESK_GLAIR_USERNAME",
        "FACEDESK_GLAIR_PASSWORD",
        "FACEDESK_GLAIR_API_KEY",
        "FACEDESK_AZURE_FACE_ENDPOINT",
    } <= names


def test_env_connection_takes_defaults_for_unset_fields() -> None:
    environ = {
        "FACEDESK_GLAIR_USERNAME": "operator",
        "FACEDESK_GLAIR_PASSWORD": SECRET,
        "FACEDESK_GLAIR_API_KEY": "key",
    }
    connection = conn.from_environment(GLAIR, environ)
    assert connection.name == "env"
    assert connection.detached
    assert connection.fields == {"base_url": "https://api.vision.glair.ai", "api_version": "v1"}
    assert connection.credentials == {"username": "operator", "password": SECRET, "api_key": "key"}
    assert SECRET not in repr(connection)


def test_env_connection_names_missing_variables_never_values() -> None:
    environ = {"FACEDESK_GLAIR_USERNAME": "operator", "FACEDESK_GLAIR_PASSWORD": SECRET}
    with pytest.raises(ConfigurationError) as caught:
        conn.from_environment(GLAIR, environ)
    assert "FACEDESK_GLAIR_API_KEY" in caught.value.user_message
    assert SECRET not in caught.value.user_message
    # Azure's key and token are alternatives: either one is enough, neither is an error.
    with pytest.raises(ConfigurationError) as azure:
        conn.from_environment(AZURE, {"FACEDESK_AZURE_FACE_ENDPOINT": "https://x.example"})
    assert "FACEDESK_AZURE_FACE_SUBSCRIPTION_KEY or FACEDESK_AZURE_FACE_ENTRA_TOKEN" in (
        azure.value.user_message
    )
    assert conn.from_environment(
        AZURE,
        {
            "FACEDESK_AZURE_FACE_ENDPOINT": "https://x.example",
            "FACEDESK_AZURE_FACE_ENTRA_TOKEN": "t",
        },
    ).credentials == {"entra_token": "t"}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.example.com", True),
        ("http://127.0.0.1:8080/glair", True),
        ("http://localhost:9/glair", True),
        ("http://api.example.com", False),
        ("ftp://api.example.com", False),
        ("not a url", False),
    ],
)
def test_env_urls_follow_the_profile_rule(url: str, allowed: bool) -> None:
    environ = {
        "FACEDESK_GLAIR_BASE_URL": url,
        "FACEDESK_GLAIR_USERNAME": "u",
        "FACEDESK_GLAIR_PASSWORD": "p",
        "FACEDESK_GLAIR_API_KEY": "k",
    }
    if allowed:
        assert conn.from_environment(GLAIR, environ).fields is not None
        return
    with pytest.raises(ConfigurationError) as caught:
        conn.from_environment(GLAIR, environ)
    assert "FACEDESK_GLAIR_BASE_URL" in caught.value.user_message
    assert url not in caught.value.user_message


def test_choice_fields_from_the_environment_are_checked() -> None:
    environ = {
        "FACEDESK_AZURE_FACE_ENDPOINT": "https://x.example",
        "FACEDESK_AZURE_FACE_SUBSCRIPTION_KEY": "k",
        "FACEDESK_AZURE_FACE_API_VERSION": "v9",
    }
    with pytest.raises(ConfigurationError, match="FACEDESK_AZURE_FACE_API_VERSION"):
        conn.from_environment(AZURE, environ)


@pytest.mark.parametrize("value", ["glair", "=env", "glair=", ""])
def test_malformed_connection_options_are_usage_errors(value: str) -> None:
    with pytest.raises(conn.ConnectionChoiceError):
        conn.parse_connection_options([value])


def test_connection_options_parse_and_refuse_conflicts() -> None:
    assert conn.parse_connection_options(["glair=env", "uqudo=Production"]) == {
        "glair": "env",
        "uqudo": "Production",
    }
    with pytest.raises(conn.ConnectionChoiceError):
        conn.parse_connection_options(["glair=env", "glair=Production"])


async def test_saved_profiles_resolve_by_name_and_unknown_names_are_refused(
    service: VerificationService,
) -> None:
    await service.save_profile(
        ConnectionProfile("glair", "Production", {"base_url": "https://api.example.com"})
    )
    assert conn.resolve(service, "glair") == conn.Connection("glair", "Sandbox")
    chosen = conn.resolve(service, "glair", "Production")
    assert chosen == conn.Connection("glair", "Production")
    assert not chosen.detached
    with pytest.raises(conn.ConnectionChoiceError, match="Staging"):
        conn.resolve(service, "glair", "Staging")
    with pytest.raises(conn.ConnectionChoiceError, match="veriff"):
        conn.resolve_all(service, ("glair",), {"veriff": "env"})
    # An incomplete env connection stops only that vendor.
    resolved = conn.resolve_all(service, ("glair", "uqudo"), {"glair": "env"}, environ={})
    assert isinstance(resolved["glair"], ConfigurationError)
    assert resolved["uqudo"] == conn.Connection("uqudo", "Sandbox")


async def test_saved_profile_credentials_come_from_the_keyring(
    service: VerificationService,
) -> None:
    await service.save_profile(
        ConnectionProfile("glair", "Production", {"base_url": "https://api.example.com"})
    )
    await service.save_credentials(
        "glair", "Production", {"username": "u", "password": SECRET, "api_key": "k"}
    )
    async with conn.resolve(service, "glair", "Production").open(service) as provider:
        credential = provider._ctx.credential  # type: ignore[attr-defined]
        assert await credential("password") == SECRET


async def test_env_connections_never_read_the_keyring(service: VerificationService) -> None:
    # A saved profile called "env" with stored secrets must not leak into an env connection.
    await service.save_profile(
        ConnectionProfile("glair", "env", {"base_url": "https://saved.example.com"})
    )
    await service.save_credentials("glair", "env", {"api_key": "from-keyring"})
    environ = {
        "FACEDESK_GLAIR_USERNAME": "u",
        "FACEDESK_GLAIR_PASSWORD": "p",
        "FACEDESK_GLAIR_API_KEY": "from-env",
    }
    connection = conn.from_environment(GLAIR, environ)
    async with connection.open(service) as provider:
        ctx = provider._ctx  # type: ignore[attr-defined]
        assert await ctx.credential("api_key") == "from-env"
        assert ctx.fields["base_url"] == "https://api.vision.glair.ai"
