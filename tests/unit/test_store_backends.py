"""The store interface, held to the same behaviour on SQLite and on a real PostgreSQL 15 cluster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain import AuditEntry
from app.store import GENESIS_HASH, Store, audit_entry_hash
from app.store.postgres import PostgresStore
from app.workflows.audit import verify
from app.workflows.batch_jobs import JOB_FINISHED, JOB_RUNNING, open_batch_store
from tests.pg_cluster import PgCluster

AWKWARD = ['quote " and \\ backslash', "line\nbreak\ttab", "control \x01 char", "é ü 名前 🙂"]


def upgraded_store(cluster: PgCluster, database: str, tmp: Path) -> PostgresStore:
    owner = PostgresStore(cluster.url(database=database), check_schema=False)
    owner.upgrade()
    owner.close(checkpoint=False)
    return PostgresStore(cluster.url(database=database), checkpoint_dir=tmp)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = Store(tmp_path / "facedesk.sqlite3")
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        database: str = request.getfixturevalue("team_database")
        opened = upgraded_store(cluster, database, tmp_path)
    assert opened.backend == request.param
    yield opened
    opened.close(checkpoint=False)


def test_registry_rows_round_trip_and_page_newest_first(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(5):
        store.upsert_session(
            provider="veriff",
            profile="Sandbox",
            session_id=f"s-{n}",
            kind="session",
            status="created",
            label=f"Label {n}",
            extra={"n": str(n)},
            created_at=start + timedelta(minutes=n),
        )
    updated = store.upsert_session(
        provider="veriff",
        profile="Sandbox",
        session_id="s-1",
        kind="session",
        status="approved",
        extra={"more": "yes"},
    )
    assert updated.status == "approved"
    assert updated.label == "Label 1"  # a None label keeps the stored one
    assert updated.extra == {"n": "1", "more": "yes"}
    page = store.session_page(offset=1, limit=2)
    assert [r.session_id for r in page] == ["s-3", "s-2"]
    assert store.count_sessions(needle="LABEL") == 5  # case-insensitive on both backends
    assert [r.session_id for r in store.session_page(needle="approv")] == ["s-1"]
    assert store.count_sessions(needle="100%") == 0  # LIKE wildcards are escaped
    store.set_label("veriff", "Sandbox", "s-2", "renamed")
    assert store.get_session("veriff", "Sandbox", "s-2").label == "renamed"  # type: ignore[union-attr]
    assert store.rename_profile("veriff", "Sandbox", "Team") == 5
    assert store.list_sessions("veriff", "Sandbox") == []
    store.forget_session("veriff", "Team", "s-0")
    assert {r.session_id for r in store.all_sessions()} == {"s-1", "s-2", "s-3", "s-4"}


def test_audit_chain_holds_awkward_text_and_verifies(store: Store) -> None:
    ids = [
        store.audit(
            provider="glair",
            profile=text,
            operation="face_match",
            targets=[text, "case:CASE-1"],
            outcome="succeeded" if n % 2 else text,
            request_id=None if n % 2 else f"req-{n}",
        )
        for n, text in enumerate(AWKWARD)
    ]
    assert ids == [1, 2, 3, 4]
    rows = store.audit_chain_rows()
    previous = GENESIS_HASH
    for row in rows:
        # Recomputed here, in Python, from the stored fields: on PostgreSQL the trigger made it.
        assert row.prev_hash == previous
        assert row.hash == audit_entry_hash(row.entry_id, row.entry, previous)
        previous = row.hash
    assert store.audit_head() == (4, previous)
    assert [r.entry.profile for r in rows] == AWKWARD
    assert {r.entry.os_user for r in rows} == {store.operator}
    result = verify(store)
    assert result.ok, result.problems
    assert [e.profile for e in store.audit_page(limit=2)] == AWKWARD[:1:-1]
    assert store.count_audit(provider="glair") == 4
    assert [r.entry_id for r in store.audit_rows_naming("case:CASE-1")] == ids


def test_audit_text_filter_matches_the_same_entries_on_both_backends(store: Store) -> None:
    """Case-insensitive substring over operation, targets, outcome, request id, operator and
    connection; "%" and "_" are literal; a target matches on its text, not its JSON encoding."""
    written = [
        ("glair", "Sandbox", "face_match", ["sid-100%", "case:CASE-1"], "succeeded", "REQ-Abc"),
        ("veriff", "Team EU", "create_session", ["sid_2"], "failed: timeout", None),
        ("veriff", "Sandbox", "delete_person", ["line\ttab", "é 名前"], "succeeded", None),
        ("uqudo", "Sandbox", "detect", ["sidX2"], "attempt", "r-9"),
    ]
    for provider, profile, operation, targets, outcome, request_id in written:
        store.audit(
            provider=provider,
            profile=profile,
            operation=operation,
            targets=targets,
            outcome=outcome,
            request_id=request_id,
        )

    def operations(text: str, provider: str | None = None) -> list[str]:
        return [e.operation for e in store.audit_page(provider=provider, text=text)]

    assert operations("sid") == ["detect", "create_session", "face_match"]  # newest first
    assert store.count_audit(text="sid") == 3
    assert operations("%") == ["face_match"]  # a literal percent sign, not "anything"
    assert store.count_audit(text="%") == 1
    assert operations("sid_") == ["create_session"]  # "_" is literal, not any one character
    assert store.count_audit(text="sid_") == 1
    assert operations("0%") == ["face_match"]
    assert operations("req-abc") == ["face_match"]  # request id, either case
    assert operations("TEAM eu") == ["create_session"]  # connection
    assert operations("TimeOut") == ["create_session"]  # outcome
    assert operations("DETECT") == ["detect"]  # operation
    assert operations(":case-1") == ["face_match"]  # the second target of an entry
    assert operations("é 名") == ["delete_person"]  # stored escaped in JSON, matched decoded
    assert store.count_audit(text="ttab") == 0  # only in the JSON escape of the tab
    assert operations("LINE") == ["delete_person"]  # a target beside escapes still matches
    assert store.count_audit(text=",") == 0  # only between targets in the stored JSON
    assert store.count_audit(text="u540d") == 0  # only in the JSON escape of 名
    assert store.count_audit(text=store.operator) == 4  # the OS user of every entry
    assert store.count_audit(text="  ") == store.count_audit(text=None) == 4  # no filter
    assert operations("succeeded", provider="veriff") == ["delete_person"]
    assert store.count_audit(provider="glair", text="timeout") == 0
    assert [e.operation for e in store.audit_page(text="sid", offset=1, limit=1)] == [
        "create_session"
    ]
    assert store.count_audit(text="sid") == 3  # (SQLite keeps these few matches' ids)
    store.audit(
        provider="glair",
        profile="Sandbox",
        operation="liveness",
        targets=["SID-5"],
        outcome="succeeded",
    )
    assert operations("sid")[:2] == ["liveness", "detect"]  # written after the count: shown
    assert store.count_audit(text="sid") == 4


def test_cases_items_photos_and_assignment(store: Store) -> None:
    assert store.insert_case("CASE-7", keep_photos=True, tags=["b", "a", "a"])
    assert not store.insert_case("CASE-7", keep_photos=False, tags=[])
    row = store.case_row("CASE-7")
    assert row is not None
    assert row["tags"] == ["a", "b"]
    assert row["keep_photos"] is True
    assert row["assignee"] is None
    store.update_case("CASE-7", state="decided", tags=["x"])
    assert store.case_row("CASE-7")["state"] == "decided"  # type: ignore[index]
    with pytest.raises(ValueError, match="not case columns"):
        store.update_case("CASE-7", assignee="someone")
    note = store.add_case_item("CASE-7", "note", {"text": "first"})
    reply = store.add_case_item("CASE-7", "note", {"text": "reply"}, parent_id=note)
    items = store.case_items("CASE-7")
    assert [(i["id"], i["parent_id"], i["payload"]) for i in items] == [
        (note, None, {"text": "first"}),
        (reply, note, {"text": "reply"}),
    ]
    assert {i["operator"] for i in items} == {store.operator}
    store.put_case_photo(
        "CASE-7",
        fingerprint="f1",
        role="id",
        media_type="image/jpeg",
        nonce=b"n1",
        ciphertext=b"c1",
    )
    store.put_case_photo(
        "CASE-7", fingerprint="f1", role="id", media_type="image/png", nonce=b"n2", ciphertext=b"c2"
    )
    assert store.case_photo_rows("CASE-7") == [("f1", "id", "image/png", b"n2", b"c2")]
    assert store.delete_case_photos("CASE-7") == 1
    assert store.case_photo_rows("CASE-7") == []
    assert store.claim_case("CASE-7") == (True, store.operator)
    assert store.case_row("CASE-7")["assignee"] == store.operator  # type: ignore[index]
    assert store.claim_case("CASE-7") == (True, store.operator)  # claiming again is harmless
    assert store.release_case("CASE-7")
    assert not store.release_case("CASE-7")
    assert store.claim_case("NO-SUCH-CASE")[0] is False


def test_rate_slots_are_counted_and_given_back(store: Store) -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    limits = [(3600, 2)]
    first = store.reserve_rate_slot("veriff.delete", limits, at=at)
    second = store.reserve_rate_slot("veriff.delete", limits, at=at)
    assert first is not None
    assert second is not None
    assert store.reserve_rate_slot("veriff.delete", limits, at=at) is None
    assert store.reserve_rate_slot("other.scope", limits, at=at) is not None
    store.release_rate_slot(second)
    assert store.reserve_rate_slot("veriff.delete", limits, at=at) is not None
    store.record_rate_event("veriff.delete", at=at + timedelta(hours=2))
    assert len(store.rate_events_since("veriff.delete", at + timedelta(hours=1))) == 1
    store.set_meta("retention_days", "30")
    store.set_meta("retention_days", "31")
    assert store.get_meta("retention_days") == "31"
    assert store.get_meta("missing") is None


def test_batch_jobs_resume_from_the_same_store(store: Store) -> None:
    jobs = open_batch_store(store)
    info = jobs.open_job("job-1", kind="search", vendor="uqudo", connection="Sandbox", item_count=3)
    assert (info.job_key, info.item_count, info.state) == ("job-1", 3, JOB_RUNNING)
    jobs.finish_item("job-1", 0, "a.jpg", {"status": "found"})
    jobs.finish_item("job-1", 0, "a.jpg", {"status": "written twice"})  # idempotent
    jobs.finish_item("job-1", 2, "c.jpg", {"status": "not found"})
    jobs.set_state("job-1", JOB_FINISHED)
    jobs.close()
    again = open_batch_store(store)
    assert (
        again.open_job(
            "job-1", kind="search", vendor="uqudo", connection="Sandbox", item_count=3
        ).state
        == JOB_RUNNING
    )
    assert again.finished_items("job-1") == {0: {"status": "found"}, 2: {"status": "not found"}}
    again.close()


def test_an_audit_entry_reads_back_as_written(store: Store) -> None:
    entry_id = store.audit(
        provider="azure_face",
        profile="Prod",
        operation="verify",
        targets=["person:1"],
        outcome="succeeded",
        request_id="abc",
    )
    (row,) = store.audit_chain_rows()
    assert row.entry_id == entry_id
    expected = AuditEntry(
        time_utc=row.entry.time_utc,
        os_user=store.operator,
        provider="azure_face",
        profile="Prod",
        operation="verify",
        targets=("person:1",),
        outcome="succeeded",
        request_id="abc",
    )
    assert row.entry == expected
    assert abs((datetime.now(UTC) - row.entry.time_utc).total_seconds()) < 600


def test_an_audit_count_can_stop_early_and_the_text_index_finds_what_a_scan_would(
    store: Store,
) -> None:
    for n in range(30):
        store.audit(
            provider="glair" if n % 3 else "uqudo",
            profile="Sandbox",
            operation="face_match",
            targets=[f"subject-{n:03d}", "名前 Ünïcode" if n == 7 else "x"],
            outcome="ok" if n % 2 else "attempt",
        )
    assert store.count_audit(text="subject", at_most=12) == 12  # stopped at the limit
    assert store.count_audit(text="subject", at_most=100) == 30  # fewer than the limit: exact
    assert store.count_audit(text="ok", at_most=5) == 5  # too short for the index: a scan
    assert store.count_audit(provider="uqudo", text="SUBJECT-00") == 4  # 000, 003, 006, 009
    assert store.count_audit(text="名前 Ü") == 1  # decoded, though stored escaped
    assert store.count_audit(text="ject-01") == 10
    assert store.count_audit(text="t-029\nx") == 0  # never across two targets
    page = store.audit_page(text="subject-02", offset=2, limit=3)
    assert [e.targets[0] for e in page] == ["subject-027", "subject-026", "subject-025"]
    # Written after the index saw the others: found all the same.
    store.audit(
        provider="azure",
        profile="Sandbox",
        operation="detect",
        targets=["subject-999"],
        outcome="ok",
    )
    assert [e.targets[0] for e in store.audit_page(text="ject-99")] == ["subject-999"]
