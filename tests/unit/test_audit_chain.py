"""The hash-chained audit trail: migration, checkpoints, and each way of tampering with a copy."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain import AuditEntry
from app.secrets import MemorySecretStore
from app.store import CHECKPOINT_FILE_NAME, GENESIS_HASH, Store, audit_entry_hash
from app.workflows import audit
from app.workflows.audit import SIGNING_KEY_FIELD, SIGNING_KEY_SCOPE, signer_from_secrets

# The schema FaceDesk shipped before the chain (schema_version 1), verbatim.
SCHEMA_V1_AUDIT = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc TEXT NOT NULL,
    os_user TEXT NOT NULL,
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    operation TEXT NOT NULL,
    targets TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
INSERT INTO meta VALUES ('schema_version', '1');
"""


def fill(store: Store, count: int = 5) -> None:
    for n in range(count):
        store.audit(
            provider="veriff",
            profile="Sandbox",
            operation=f"op{n + 1}",
            targets=[f"session-{n + 1}"],
            outcome="succeeded",
            request_id=f"req-{n + 1}",
        )


@pytest.fixture
def original(tmp_path: Path) -> Path:
    """A data folder with five chained entries and the checkpoint written on close."""
    folder = tmp_path / "original"
    store = Store(folder / "facedesk.sqlite3")
    fill(store)
    store.close()
    assert (folder / CHECKPOINT_FILE_NAME).exists()
    return folder


def tampered_copy(original: Path, tmp_path: Path, *statements: str) -> Path:
    """Copy the data folder and run SQL on the copy the way an attacker would (triggers off,
    then put back so the store looks untouched)."""
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    db = sqlite3.connect(copy / "facedesk.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    for statement in statements:
        db.execute(statement)
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.close()
    return copy


def verify_folder(folder: Path) -> audit.VerifyResult:
    store = Store(folder / "facedesk.sqlite3")
    try:
        return audit.verify(store)
    finally:
        store.close()


def test_untouched_store_verifies_with_the_head_it_checkpointed(original: Path) -> None:
    result = verify_folder(original)
    assert result.ok, result.problems
    assert result.count == 5
    line = json.loads((original / CHECKPOINT_FILE_NAME).read_text().splitlines()[-1])
    assert line["count"] == 5
    assert line["head"] == result.head != GENESIS_HASH


def test_each_entry_links_to_the_previous_hash(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    fill(store, 3)
    rows = store.audit_chain_rows()
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert rows[2].hash == audit_entry_hash(3, rows[2].entry, rows[1].hash or "")
    store.close()


def test_a_changed_row_is_named(original: Path, tmp_path: Path) -> None:
    copy = tampered_copy(original, tmp_path, "UPDATE audit SET outcome='failed' WHERE id=3")
    result = verify_folder(copy)
    assert not result.ok
    assert result.first_bad_entry == 3
    assert "#3" in result.summary
    assert "changed" in result.summary


def test_a_removed_middle_row_is_named(original: Path, tmp_path: Path) -> None:
    result = verify_folder(tampered_copy(original, tmp_path, "DELETE FROM audit WHERE id=2"))
    assert not result.ok
    assert result.first_bad_entry == 3
    assert "removed" in result.summary


def test_removing_the_newest_row_is_caught_by_the_checkpoint(
    original: Path, tmp_path: Path
) -> None:
    result = verify_folder(tampered_copy(original, tmp_path, "DELETE FROM audit WHERE id=5"))
    assert not result.ok
    assert result.first_bad_entry == 5
    assert "newest were removed" in result.summary


def test_an_inserted_backdated_row_with_a_valid_hash_is_named(
    original: Path, tmp_path: Path
) -> None:
    store = Store(original / "facedesk.sqlite3")
    rows = store.audit_chain_rows()
    store.close()
    forged = AuditEntry(
        time_utc=datetime.now(UTC) - timedelta(days=30),
        os_user="someone",
        provider="veriff",
        profile="Sandbox",
        operation="delete_session",
        targets=("session-x",),
        outcome="succeeded",
        request_id=None,
    )
    head = rows[-1].hash or ""
    digest = audit_entry_hash(6, forged, head)
    copy = tampered_copy(
        original,
        tmp_path,
        "INSERT INTO audit (id, time_utc, os_user, provider, profile, operation, targets, "
        f"outcome, request_id, prev_hash, hash) VALUES (6, '{forged.time_utc.isoformat()}', "
        f"'someone', 'veriff', 'Sandbox', 'delete_session', '[\"session-x\"]', 'succeeded', "
        f"NULL, '{head}', '{digest}')",
    )
    result = verify_folder(copy)
    assert not result.ok
    assert result.first_bad_entry == 6
    assert "backdated" in result.summary


def test_a_row_inserted_in_the_middle_is_named(original: Path, tmp_path: Path) -> None:
    copy = tampered_copy(
        original,
        tmp_path,
        "UPDATE audit SET id=id+100 WHERE id>=3",
        "UPDATE audit SET id=id-99 WHERE id>=100",
        "INSERT INTO audit (id, time_utc, os_user, provider, profile, operation, targets, "
        "outcome, request_id) SELECT 3, time_utc, os_user, provider, profile, 'forged', "
        "targets, outcome, request_id FROM audit WHERE id=2",
    )
    result = verify_folder(copy)
    assert not result.ok
    assert result.first_bad_entry == 3
    assert result.count == 6


def test_reordered_rows_are_named(original: Path, tmp_path: Path) -> None:
    columns = "time_utc, os_user, provider, profile, operation, targets, outcome, request_id"
    copy = tampered_copy(
        original,
        tmp_path,
        f"CREATE TABLE swap AS SELECT id, {columns}, prev_hash, hash FROM audit",
        "UPDATE audit SET id=-2 WHERE id=2",
        "UPDATE audit SET id=2 WHERE id=4",
        "UPDATE audit SET id=4 WHERE id=-2",
        "DROP TABLE swap",
    )
    result = verify_folder(copy)
    assert not result.ok
    assert result.first_bad_entry == 2


def test_a_fully_rehashed_history_is_caught_by_the_checkpoint(
    original: Path, tmp_path: Path
) -> None:
    copy = tampered_copy(original, tmp_path, "UPDATE audit SET outcome='failed' WHERE id=2")
    # The attacker recomputes every hash after the edit, so the chain itself is consistent.
    store_rows = Store(copy / "facedesk.sqlite3")
    rows = store_rows.audit_chain_rows()
    store_rows._db.close()  # no checkpoint: the attacker leaves none behind
    db = sqlite3.connect(copy / "facedesk.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    previous = GENESIS_HASH
    for row in rows:
        digest = audit_entry_hash(row.entry_id, row.entry, previous)
        db.execute(
            "UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (previous, digest, row.entry_id)
        )
        previous = digest
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.close()
    result = verify_folder(copy)
    assert not result.ok
    assert "history was rewritten" in " ".join(result.problems)


def test_dropped_triggers_are_reported_not_silently_recreated(
    original: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    db = sqlite3.connect(copy / "facedesk.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_delete")
    db.close()
    store = Store(copy / "facedesk.sqlite3")
    assert store._missing_audit_triggers() == []  # re-created, so rows are protected again
    result = audit.verify(store)
    store.close()
    assert not result.ok
    assert "triggers were found dropped" in result.summary
    assert result.first_bad_entry == 6  # the chained entry recording the discovery


def test_a_schema_1_store_verifies_after_migration(tmp_path: Path) -> None:
    path = tmp_path / "facedesk.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SCHEMA_V1_AUDIT)
    for n in range(4):
        db.execute(
            "INSERT INTO audit (time_utc, os_user, provider, profile, operation, targets, "
            "outcome, request_id) VALUES (?, 'op', 'uqudo', 'Sandbox', 'compare', ?, "
            "'succeeded', NULL)",
            (f"2026-01-0{n + 1}T10:00:00+00:00", json.dumps([f"t{n}"])),
        )
    db.close()
    store = Store(path)
    first = audit.verify(store)
    assert first.ok, first.problems
    assert first.count == 4
    assert store._missing_audit_triggers() == []
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("UPDATE audit SET outcome='x'")
    fill(store, 1)
    store.close()
    again = Store(path)
    second = audit.verify(again)
    again.close()
    assert second.ok, second.problems
    assert second.count == 5


def test_signed_checkpoints_reject_a_forged_one(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    secrets.set(
        SIGNING_KEY_SCOPE, SIGNING_KEY_FIELD, "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
    )
    signer = signer_from_secrets(secrets)
    assert signer is not None
    folder = tmp_path / "data"
    store = Store(folder / "facedesk.sqlite3")
    store.checkpoint_signer = signer
    fill(store, 2)
    store.close()
    checkpoints = folder / CHECKPOINT_FILE_NAME
    line = json.loads(checkpoints.read_text())
    assert line["key_id"].startswith("hmac-sha256:")
    store = Store(folder / "facedesk.sqlite3")
    assert audit.verify(store, signer).ok
    line["time"] = "2020-01-01T00:00:00+00:00"
    checkpoints.write_text(json.dumps(line) + "\n")
    result = audit.verify(store, signer)
    store.close()
    assert not result.ok
    assert "signature" in result.summary


def test_no_signing_key_is_made_without_a_persistent_keyring() -> None:
    assert signer_from_secrets(MemorySecretStore(), create=True) is None
