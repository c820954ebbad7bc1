"""Paged, filtered and counted registry and audit queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.store import Store


def test_session_pages_filter_in_sql_with_literal_wildcards(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    for i in range(30):
        store.upsert_session(
            provider="glair" if i % 2 else "uqudo",
            profile="Sandbox",
            session_id=f"id_{i:02d}",
            kind="passive",
            status="PENDING",
            label="100% match" if i == 7 else "",
        )
    assert store.count_sessions() == 30
    assert store.count_sessions(provider="glair") == 15
    page = store.session_page(offset=0, limit=10)
    assert [r.session_id for r in page] == [r.session_id for r in store.all_sessions()[:10]]
    assert len(store.session_page(offset=25, limit=10)) == 5
    assert [r.session_id for r in store.session_page(needle="0% M")] == ["id_07"]  # ASCII case
    assert store.count_sessions(needle="%") == 1  # a literal percent sign, not a wildcard
    assert store.count_sessions(needle="id_0_") == 0  # "_" is literal too, not any character
    assert store.count_sessions(needle="id_0") == 10
    store.close()


def test_audit_pages_newest_first_per_provider(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.sqlite3")
    for i in range(12):
        store.audit(
            provider="veriff" if i % 3 else "glair",
            profile="Sandbox",
            operation=f"op{i}",
            targets=[f"t{i}"],
            outcome="ok",
        )
    assert store.count_audit() == 12
    assert store.count_audit(provider="glair") == 4
    assert [e.operation for e in store.audit_page(provider="glair", limit=3)] == [
        "op9",
        "op6",
        "op3",
    ]
    assert [e.operation for e in store.audit_page(offset=11, limit=5)] == ["op0"]
    store.close()


def test_a_rare_filter_pages_the_same_rows_by_either_plan(tmp_path: Path) -> None:
    """After a count says matches are few, the page is read by a scan and sort instead of the
    time index; the rows and their order (ties broken by insertion) must not change."""
    store = Store(tmp_path / "facedesk.sqlite3")
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(600):
        store.upsert_session(
            provider="glair",
            profile="Sandbox",
            session_id=f"sess-{n:04d}",
            kind="passive",
            status="created",
            label="rare" if n % 50 in (0, 1) else "",  # pairs at one time
            created_at=moment + timedelta(minutes=n // 7),  # runs of equal times
        )
    by_index = [r.session_id for r in store.session_page(needle="RARE", offset=2, limit=5)]
    assert store.count_sessions(needle="RARE") == 24
    by_scan = [r.session_id for r in store.session_page(needle="RARE", offset=2, limit=5)]
    assert by_scan == by_index
    assert by_scan == ["sess-0501", "sess-0500", "sess-0451", "sess-0450", "sess-0401"]
    store.close(checkpoint=False)


def test_a_file_without_the_audit_search_index_is_indexed_on_open(tmp_path: Path) -> None:
    """A file from before the index, and entries written while its trigger was missing."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    store = Store(path)
    for i in range(5):
        store.audit(
            provider="glair",
            profile="Sandbox",
            operation="detect",
            targets=[f"old-{i}"],
            outcome="ok",
        )
    store.close(checkpoint=False)
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE audit_search")
        raw.execute("DROP TRIGGER audit_search_add")
    reopened = Store(path)
    assert reopened.count_audit(text="old-") == 5
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_search_add")
    reopened.audit(
        provider="glair", profile="Sandbox", operation="detect", targets=["unseen-1"], outcome="ok"
    )
    reopened.close(checkpoint=False)
    again = Store(path)
    assert [e.targets for e in again.audit_page(text="unseen")] == [("unseen-1",)]
    assert again.count_audit(text="old-") == 5  # nothing indexed twice
    again.close(checkpoint=False)
