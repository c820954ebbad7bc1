"""Connection profiles and preferences as TOML in the config folder (never any secret).

Layout (schema_version 3):

    schema_version = 3
    theme = "system"                 # system | light | dark

    [safety]                         # operator safety (app.workflows.lock, app.capture)
    idle_lock_minutes = 5            # 0 = never lock when idle
    unlock_with = "account"          # account (OS password where checkable) | passphrase
    privacy_view = false             # blur photos, mask ids and names
    exclude_from_capture = true      # Windows: leave the window out of screen captures

    [active]                         # provider id -> connection name ("Sandbox" or a profile)
    glair = "Sandbox"

    [sandbox.azure_face]             # options chosen for the Sandbox connection (no URLs)
    api_version = "v1.2-preview.1"

    [[profiles]]
    provider = "glair"
    name = "Production"
    [profiles.fields]                # the provider's connection_fields: URLs, API version, options
    base_url = "https://api.vision.glair.ai"

Migrations turn any older file into the current layout, one version at a time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.errors import ConfigurationError

log = logging.getLogger("facedesk.settings")

SCHEMA_VERSION = 3
SANDBOX = "Sandbox"
THEMES = ("system", "light", "dark")


@dataclass(frozen=True, slots=True)
class ConnectionProfile:
    provider: str
    name: str
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable key for this profile's secrets in the keyring."""
        return f"{self.provider}.{self.name}"


# --- operator safety (idle lock, privacy view, capture exclusion) ----------------------------
UNLOCK_METHODS = ("account", "passphrase")
MAX_IDLE_LOCK_MINUTES = 240  # four hours: past that an idle lock protects nothing


@dataclass(frozen=True, slots=True)
class SafetySettings:
    idle_lock_minutes: int = 5
    unlock_with: str = "account"
    privacy_view: bool = False
    exclude_from_capture: bool = True


def _parse_safety(raw: object) -> SafetySettings:
    """Out-of-range or mistyped values fall back to the defaults, like an unknown theme."""
    doc = raw if isinstance(raw, dict) else {}
    default = SafetySettings()
    minutes = doc.get("idle_lock_minutes", default.idle_lock_minutes)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_IDLE_LOCK_MINUTES
    ):
        minutes = default.idle_lock_minutes
    unlock_with = str(doc.get("unlock_with", default.unlock_with))

    def flag(name: str, fallback: bool) -> bool:
        value = doc.get(name, fallback)
        return value if isinstance(value, bool) else fallback

    return SafetySettings(
        idle_lock_minutes=minutes,
        unlock_with=unlock_with if unlock_with in UNLOCK_METHODS else default.unlock_with,
        privacy_view=flag("privacy_view", default.privacy_view),
        exclude_from_capture=flag("exclude_from_capture", default.exclude_from_capture),
    )


def _dump_safety(safety: SafetySettings) -> list[str]:
    def toml_bool(value: bool) -> str:
        return "true" if value else "false"

    return [
        "",
        "[safety]",
        f"idle_lock_minutes = {safety.idle_lock_minutes}",
        f"unlock_with = {_toml_str(safety.unlock_with)}",
        f"privacy_view = {toml_bool(safety.privacy_view)}",
        f"exclude_from_capture = {toml_bool(safety.exclude_from_capture)}",
    ]


# --- end of operator safety -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    theme: str = "system"
    active: Mapping[str, str] = field(default_factory=dict)
    profiles: tuple[ConnectionProfile, ...] = ()
    sandbox: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    safety: SafetySettings = SafetySettings()  # operator safety
    # Settings › Team store: a postgresql:// URL without its password (that is in the keyring),
    # or "" for this workstation's own SQLite store. FACEDESK_DATABASE_URL overrides it.
    team_store_url: str = ""

    def active_connection(self, provider: str) -> str:
        name = self.active.get(provider, SANDBOX)
        if name != SANDBOX and self.profile(provider, name) is None:
            return SANDBOX
        return name

    def profile(self, provider: str, name: str) -> ConnectionProfile | None:
        for profile in self.profiles:
            if profile.provider == provider and profile.name == name:
                return profile
        return None

    def profiles_for(self, provider: str) -> tuple[ConnectionProfile, ...]:
        return tuple(p for p in self.profiles if p.provider == provider)

    def with_profile(self, profile: ConnectionProfile) -> Settings:
        others = tuple(
            p for p in self.profiles if (p.provider, p.name) != (profile.provider, profile.name)
        )
        return replace(self, profiles=(*others, profile))

    def without_profile(self, provider: str, name: str) -> Settings:
        profiles = tuple(p for p in self.profiles if (p.provider, p.name) != (provider, name))
        active = {k: v for k, v in self.active.items() if not (k == provider and v == name)}
        return replace(self, profiles=profiles, active=active)

    def with_active(self, provider: str, name: str) -> Settings:
        return replace(self, active={**self.active, provider: name})

    def with_sandbox_option(self, provider: str, name: str, value: str) -> Settings:
        options = {**self.sandbox.get(provider, {}), name: value}
        return replace(self, sandbox={**self.sandbox, provider: options})


# --- migrations --------------------------------------------------------------------------------


def _migrate_0_to_1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (no schema_version) kept profiles as [profile.<provider>.<name>] tables."""
    old = doc.pop("profile", {})
    profiles = []
    for provider, named in old.items():
        for name, values in named.items():
            profiles.append({"provider": provider, "name": name, **values})
    doc["profiles"] = profiles
    return doc


def _migrate_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept connection values flat on the profile; 2 nests them under `fields`."""
    for profile in doc.get("profiles", []):
        flat = {k: v for k, v in profile.items() if k not in ("provider", "name", "fields")}
        for key in flat:
            del profile[key]
        profile["fields"] = {**{k: str(v) for k, v in flat.items()}, **profile.get("fields", {})}
    return doc


def _migrate_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 adds [safety]; a version-2 file gets the defaults (lock after 5 minutes)."""
    doc.setdefault("safety", {})
    return doc


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _migrate_0_to_1,
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    version = int(doc.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            "The settings file was written by a newer FaceDesk. Update FaceDesk, or move "
            "settings.toml aside to start with fresh settings."
        )
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc


def parse(doc: dict[str, Any]) -> Settings:
    doc = migrate(dict(doc))
    theme = str(doc.get("theme", "system"))
    profiles = tuple(
        ConnectionProfile(
            provider=str(p["provider"]),
            name=str(p["name"]),
            fields={str(k): str(v) for k, v in dict(p.get("fields", {})).items()},
        )
        for p in doc.get("profiles", [])
        if "provider" in p and "name" in p
    )
    active = {str(k): str(v) for k, v in dict(doc.get("active", {})).items()}
    sandbox = {
        str(provider): {str(k): str(v) for k, v in dict(options).items()}
        for provider, options in dict(doc.get("sandbox", {})).items()
        if isinstance(options, dict)
    }
    return Settings(
        theme=theme if theme in THEMES else "system",
        active=active,
        profiles=profiles,
        sandbox=sandbox,
        safety=_parse_safety(doc.get("safety")),
        team_store_url=str(doc.get("team_store_url", "")),
    )


def peek_theme(path: Path) -> str:
    """The saved theme, read without side effects, for painting the first window early.

    `SettingsStore.load` moves a damaged file aside and reports it; this only looks, so the
    report still comes from the one full load that follows. Anything unreadable is "system".
    """
    try:
        theme = tomllib.loads(path.read_text(encoding="utf-8")).get("theme", "system")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "system"
    return theme if theme in THEMES else "system"


# --- TOML output (only the shapes above) -------------------------------------------------------


def _toml_str(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _toml_str(key)


def dumps(settings: Settings) -> str:
    lines = [f"schema_version = {SCHEMA_VERSION}", f"theme = {_toml_str(settings.theme)}"]
    if settings.team_store_url:
        lines.append(f"team_store_url = {_toml_str(settings.team_store_url)}")
    lines.append("")
    lines.append("[active]")
    for provider, name in sorted(settings.active.items()):
        lines.append(f"{_toml_key(provider)} = {_toml_str(name)}")
    for provider, options in sorted(settings.sandbox.items()):
        lines += ["", f"[sandbox.{_toml_key(provider)}]"]
        for key, value in sorted(options.items()):
            lines.append(f"{_toml_key(key)} = {_toml_str(value)}")
    lines += _dump_safety(settings.safety)
    for profile in settings.profiles:
        lines += ["", "[[profiles]]", f"provider = {_toml_str(profile.provider)}"]
        lines.append(f"name = {_toml_str(profile.name)}")
        lines.append("[profiles.fields]")
        for key, value in sorted(profile.fields.items()):
            lines.append(f"{_toml_key(key)} = {_toml_str(value)}")
    return "\n".join(lines) + "\n"


class SettingsStore:
    """Reads and atomically writes settings.toml."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Settings()
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            backup = self.path.with_suffix(".toml.broken")
            self.path.replace(backup)
            log.warning("settings file was unreadable; moved aside to %s", backup.name)
            raise ConfigurationError(
                f"The settings file was damaged and has been moved to {backup}. FaceDesk "
                "started with default settings; re-create your connection profiles."
            ) from exc
        return parse(doc)

    def save(self, settings: Settings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(dumps(settings))
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
