"""Which connection a headless command uses for each vendor: `--connection ID=NAME`.

- NAME is `Sandbox` or a saved profile: its fields come from settings.toml, its credentials from
  the keyring, exactly as in the window.
- NAME `env` builds a connection from environment variables `FACEDESK_<ID>_<FIELD>` (ID and
  FIELD upper case: the provider id and its connection or credential field names, e.g.
  `FACEDESK_GLAIR_BASE_URL`, `FACEDESK_AZURE_FACE_SUBSCRIPTION_KEY`). Unset fields take the
  vendor's defaults; URLs follow the same rule as profiles (https, or http to loopback).
- Without `--connection` a vendor uses its active connection (the Sandbox unless the settings
  say otherwise).

Values read from the environment never reach a log, an output or a file: errors name the
variable, never its value, and `Connection`'s repr leaves fields and credentials out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from app.capabilities import ProviderInfo
from app.errors import ConfigurationError
from app.http import is_loopback_host
from app.services import VerificationService
from app.settings import SANDBOX

ENV_CONNECTION = "env"
ENV_PREFIX = "FACEDESK_"


class ConnectionChoiceError(ValueError):
    """A `--connection` value that cannot be used; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class Connection:
    """One vendor's connection for a run: a saved one by name, or a detached one (`env`)."""

    provider_id: str
    name: str
    # Only for detached connections; never printed (repr=False), never written anywhere.
    fields: Mapping[str, str] | None = field(default=None, repr=False)
    credentials: Mapping[str, str] | None = field(default=None, repr=False)

    @property
    def detached(self) -> bool:
        return self.fields is not None or self.credentials is not None

    @property
    def is_sandbox(self) -> bool:
        return self.name == SANDBOX and not self.detached

    def open(self, service: VerificationService) -> contextlib.AbstractAsyncContextManager[object]:
        """The provider on this connection; its HTTP client is closed when the block ends."""
        return service.connected(
            self.provider_id, self.name, fields=self.fields, credentials=self.credentials
        )


def env_variable(provider_id: str, field_name: str) -> str:
    """The variable name `FACEDESK_<ID>_<FIELD>`: ("azure_face", "endpoint") → ..._ENDPOINT."""
    return f"{ENV_PREFIX}{provider_id.upper()}_{field_name.upper()}"


@dataclass(frozen=True, slots=True)
class EnvVariable:
    name: str
    provider_id: str
    field_name: str
    label: str
    secret: bool
    default: str = ""


def env_variables(infos: Iterable[ProviderInfo]) -> tuple[EnvVariable, ...]:
    """Every variable an `env` connection reads, for `--help`."""
    found: list[EnvVariable] = []
    for info in infos:
        for conn_field in info.connection_fields:
            found.append(
                EnvVariable(
                    env_variable(info.id, conn_field.name),
                    info.id,
                    conn_field.name,
                    conn_field.label,
                    secret=False,
                    default=conn_field.default,
                )
            )
        for cred in info.credential_fields:
            found.append(
                EnvVariable(
                    env_variable(info.id, cred.name), info.id, cred.name, cred.label, cred.secret
                )
            )
    return tuple(found)


def describe_env_variables(infos: Iterable[ProviderInfo]) -> str:
    """Lines for a command's --help: each variable, what it is, and its default if any."""
    lines = []
    for variable in env_variables(infos):
        note = " (secret)" if variable.secret else ""
        if variable.default:
            note += f" [default: {variable.default}]"
        lines.append(f"  {variable.name:<40} {variable.label}{note}")
    return "\n".join(lines)


def parse_connection_options(values: Sequence[str]) -> dict[str, str]:
    """`["glair=env", "uqudo=Production"]` → {"glair": "env", "uqudo": "Production"}."""
    chosen: dict[str, str] = {}
    for value in values:
        provider_id, sep, name = value.partition("=")
        provider_id, name = provider_id.strip(), name.strip()
        if not sep or not provider_id or not name:
            raise ConnectionChoiceError(
                f"--connection takes ID=NAME (e.g. glair=env or uqudo=Production), not {value!r}"
            )
        if provider_id in chosen and chosen[provider_id] != name:
            raise ConnectionChoiceError(f"--connection names two connections for {provider_id}")
        chosen[provider_id] = name
    return chosen


def from_environment(info: ProviderInfo, environ: Mapping[str, str]) -> Connection:
    """A detached connection from `FACEDESK_<ID>_<FIELD>` variables.

    Raises:
        ConfigurationError: a URL is not https (or http to loopback), a choice field holds an
            unknown value, or a credential (or every alternative of a group) is unset. The
            message names the variable, never its value.
    """
    fields = {f.name: f.default for f in info.connection_fields}
    for conn_field in info.connection_fields:
        variable = env_variable(info.id, conn_field.name)
        value = environ.get(variable, "").strip()
        if value:
            fields[conn_field.name] = value
        if conn_field.is_url:
            if not fields[conn_field.name]:
                raise ConfigurationError(
                    f"{variable} is not set: {info.display_name} has no default {conn_field.label}."
                )
            _require_secure(variable, fields[conn_field.name])
        if conn_field.choices and fields[conn_field.name] not in conn_field.choices:
            raise ConfigurationError(f"{variable} must be one of {', '.join(conn_field.choices)}.")
    credentials: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    missing: list[str] = []
    for cred in info.credential_fields:
        variable = env_variable(info.id, cred.name)
        value = environ.get(variable, "")
        if value:
            credentials[cred.name] = value
        if cred.group:
            groups.setdefault(cred.group, []).append(variable)
        elif not value:
            missing.append(variable)
    for variables in groups.values():
        if not any(environ.get(v) for v in variables):
            missing.append(" or ".join(variables))
    if missing:
        raise ConfigurationError(
            f"The {info.display_name} connection “{ENV_CONNECTION}” needs "
            f"{', '.join(missing)} in the environment."
        )
    return Connection(info.id, ENV_CONNECTION, fields=fields, credentials=credentials)


def _require_secure(variable: str, url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is not None and parsed.host:
        if parsed.scheme == "https":
            return
        if parsed.scheme == "http" and is_loopback_host(parsed.host):
            return
    raise ConfigurationError(
        f"{variable} must be an https:// URL (plain http is allowed only for 127.0.0.1 / "
        "localhost, e.g. the sandbox)."
    )


def resolve(
    service: VerificationService,
    provider_id: str,
    name: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The connection `--connection provider_id=name` means (the active one when name is None).

    Raises:
        ConnectionChoiceError: no such saved connection for this vendor.
        ConfigurationError: an `env` connection is incomplete or has an unsafe URL.
    """
    info = service.info(provider_id)
    if name is None:
        return Connection(provider_id, service.active_connection(provider_id))
    if name == ENV_CONNECTION:
        return from_environment(info, os.environ if environ is None else environ)
    if name not in service.connections(provider_id):
        known = ", ".join((*service.connections(provider_id), ENV_CONNECTION))
        raise ConnectionChoiceError(
            f"{info.display_name} has no connection named {name!r} (known: {known})"
        )
    return Connection(provider_id, name)


def resolve_all(
    service: VerificationService,
    provider_ids: Sequence[str],
    chosen: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Connection | ConfigurationError]:
    """Each vendor's connection, or the configuration error that stops only that vendor.

    Raises:
        ConnectionChoiceError: `chosen` names a vendor not in `provider_ids` or an unknown
            saved connection (bad usage, reported before anything is sent).
    """
    unknown = sorted(set(chosen) - set(provider_ids))
    if unknown:
        raise ConnectionChoiceError(
            f"--connection names {', '.join(unknown)}, which this run does not use "
            f"(vendors: {', '.join(provider_ids)})"
        )
    result: dict[str, Connection | ConfigurationError] = {}
    for provider_id in provider_ids:
        try:
            result[provider_id] = resolve(
                service, provider_id, chosen.get(provider_id), environ=environ
            )
        except ConfigurationError as exc:
            result[provider_id] = exc
    return result
