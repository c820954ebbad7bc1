"""Settings, secrets, store, logging and errors: the foundation the vendors stand on."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring.backends.fail
import keyring.backends.null
import pytest

from app.errors import AppError, ConfigurationError, RateLimited
from app.logging_setup import RedactingFilter, configure_logging
from app.paths import default_paths
from app.secrets import KeyringSecretStore, MemorySecretStore, open_secret_store
from app.settings import (
    SANDBOX,
    ConnectionProfile,
    Settings,
    SettingsStore,
    dumps,
    migrate,
    parse,
    peek_theme,
)
from app.store import Store

# --- settings ----------------------------------------------------------------------------------


def test_settings_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.toml")
    settings = (
        Settings(theme="dark")
        .with_profile(ConnectionProfile("glair", 'Prod "EU"', {"base_url": "https://x.example"}))
        .with_active("glair", 'Prod "EU"')
    )
    store.save(settings)
    loaded = store.load()
    assert loaded == settings
    assert loaded.active_connection("glair") == 'Prod "EU"'
    assert loaded.active_connection("veriff") == SANDBOX


def test_settings_migrate_from_version_0() -> None:
    doc = {"profile": {"glair": {"Prod": {"base_url": "https://api.vision.glair.ai"}}}}
    settings = parse(doc)
    assert settings.profile("glair", "Prod") == ConnectionProfile(
        "glair", "Prod", {"base_url": "https://api.vision.glair.ai"}
    )


def test_settings_migrate_from_version_1_nests_fields() -> None:
    doc = {"schema_version": 1, "profiles": [{"provider": "uqudo", "name": "T", "api_url": "u"}]}
    migrated = migrate(doc)
    assert migrated["schema_version"] == 3  # through 2, then [safety] (v3)
    assert migrated["profiles"][0] == {"provider": "uqudo", "name": "T", "fields": {"api_url": "u"}}


def test_settings_from_a_newer_version_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="newer FaceDesk"):
        migrate({"schema_version": 99})


def test_the_theme_is_peeked_before_the_settings_load_without_touching_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.toml"
    assert peek_theme(path) == "system"  # no file yet
    store = SettingsStore(path)
    store.save(Settings(theme="dark"))
    assert peek_theme(path) == "dark"
    path.write_text('schema_version = 3\ntheme = "neon"\n', encoding="utf-8")
    assert peek_theme(path) == "system"  # an unknown theme, as `parse` treats it
    path.write_bytes(b"theme = [broken\n\xff")
    assert peek_theme(path) == "system"
    # The damaged file is left for the full load, which moves it aside and says so.
    assert path.read_bytes() == b"theme = [broken\n\xff"
    with pytest.raises(ConfigurationError):
        store.load()


def test_damaged_settings_are_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("this is [not toml")
    with pytest.raises(ConfigurationError, match="moved"):
        SettingsStore(path).load()
    assert (tmp_path / "settings.toml.broken").exists()
    assert SettingsStore(path).load() == Settings()


def test_active_connection_falls_back_to_sandbox_for_a_deleted_profile() -> None:
    settings = Settings(active={"glair": "Gone"})
    assert settings.active_connection("glair") == SANDBOX


def test_dumps_never_contains_secret_fields() -> None:
    text = dumps(Settings().with_profile(ConnectionProfile("glair", "P", {"base_url": "u"})))
    assert "password" not in text
    assert "api_key" not in text


def test_override_folders_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEDESK_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("FACEDESK_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("FACEDESK_LOG_DIR", raising=False)
    paths = default_paths()
    assert paths.config_dir == tmp_path / "c"
    assert paths.database_file.parent == tmp_path / "d"
    assert paths.log_dir == tmp_path / "d" / "logs"


# --- secrets -----------------------------------------------------------------------------------


def test_memory_secret_store_round_trip() -> None:
    store = MemorySecretStore()
    store.set("glair.Prod", "password", "s3cret")
    assert store.get("glair.Prod", "password") == "s3cret"
    store.delete("glair.Prod", "password")
    assert store.get("glair.Prod", "password") is None
    assert not store.persistent


def test_without_a_keyring_secrets_stay_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keyring.get_keyring", lambda: keyring.backends.fail.Keyring())
    store = open_secret_store()
    assert isinstance(store, MemorySecretStore)
    assert "memory" in store.reason.lower()


def test_null_keyring_is_not_mistaken_for_a_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("keyring.get_keyring", lambda: keyring.backends.null.Keyring())
    assert isinstance(open_secret_store(), MemorySecretStore)


def test_keyring_store_uses_service_and_profile_field_username() -> None:
    calls: list[tuple[str, str, str]] = []

    class Recording(keyring.backends.null.Keyring):
        priority = 1  # type: ignore[assignment]

        def set_password(self, service: str, username: str, password: str) -> None:
            calls.append((service, username, password))

    KeyringSecretStore(Recording()).set("veriff.Prod", "shared_secret", "x")
    assert calls == [("facedesk", "veriff.Prod:shared_secret", "x")]


def test_keyring_failure_becomes_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="keyring"):
        KeyringSecretStore(keyring.backends.fail.Keyring()).set("p", "f", "v")


# --- store -------------------------------------------------------------------------------------


def test_session_registry_upsert_keeps_label_and_merges_extra(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.upsert_session(
        provider="glair",
        profile="Sandbox",
        session_id="s1",
        kind="passive",
        status="PENDING",
        label="Desk 3",
        extra={"url": "https://x"},
    )
    store.upsert_session(
        provider="glair",
        profile="Sandbox",
        session_id="s1",
        kind="passive",
        status="FINISHED",
        extra={"result": "LOW"},
    )
    record = store.get_session("glair", "Sandbox", "s1")
    assert record is not None
    assert record.status == "FINISHED"
    assert record.label == "Desk 3"
    assert record.extra == {"url": "https://x", "result": "LOW"}
    assert [r.session_id for r in store.list_sessions("glair", "Sandbox")] == ["s1"]
    assert store.list_sessions("glair", "Prod") == []


def test_store_uses_wal_and_full_sync(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_audit_trail_is_append_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.audit(
        provider="veriff",
        profile="Sandbox",
        operation="delete_session",
        targets=["abc"],
        outcome="attempt",
    )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("UPDATE audit SET outcome='forged'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("DELETE FROM audit")
    entry = store.audit_entries()[0]
    assert entry.operation == "delete_session"
    assert entry.targets == ("abc",)
    assert entry.time_utc.tzinfo is not None


def test_rate_events_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    now = datetime.now(UTC)
    first = Store(path)
    first.record_rate_event("veriff:key", now - timedelta(hours=2))
    first.record_rate_event("veriff:key", now)
    first.close()
    again = Store(path)
    assert len(again.rate_events_since("veriff:key", now - timedelta(hours=1))) == 1
    assert len(again.rate_events_since("veriff:key", now - timedelta(hours=3))) == 2


# --- logging and errors ------------------------------------------------------------------------


def test_redacting_filter_masks_credentials() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "auth Bearer abc.def.ghi api_key=K123 token: T9", None, None
    )
    RedactingFilter().filter(record)
    text = record.getMessage()
    assert "abc.def" not in text
    assert "K123" not in text
    assert "T9" not in text


def test_log_file_rotates_and_redacts(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "facedesk.log"
    configure_logging(log_file)
    try:
        logging.getLogger("facedesk.test").info("password=hunter2 visible")
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = log_file.read_text()
        assert "visible" in text
        assert "hunter2" not in text
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "baseFilename", None) == str(log_file):
                logging.getLogger().removeHandler(handler)
                handler.close()


def test_error_details_carry_provider_operation_and_request_id() -> None:
    error = RateLimited(
        "Slow down.",
        retry_after=30,
        provider="Veriff",
        operation="delete",
        request_id="r-1",
        http_status=429,
    )
    details = error.details().as_text()
    assert error.retryable
    assert error.retry_after == 30
    for part in (
        "RateLimited: Slow down.",
        "Provider: Veriff",
        "Operation: delete",
        "Request id: r-1",
        "HTTP status: 429",
    ):
        assert part in details
    assert not AppError("x").retryable
