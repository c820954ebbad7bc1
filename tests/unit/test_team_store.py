"""The team store's rules, kept by a real PostgreSQL 15: privileges, operators, the chain under
concurrency, assignment, schema versions, passwords, faults and the change feed."""

from __future__ import annotations

import threading
import types
from pathlib import Path

import psycopg
import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.store import (
    TEAM_STORE_SECRET_SCOPE,
    StoreChange,
    StoreError,
    StoreSchemaMismatch,
    StoreUnavailable,
)
from app.store import postgres as postgres_module
from app.store.postgres import PostgresStore, secret_field
from app.workflows.audit import verify
from app.workflows.cases import CaseBook, CaseError
from tests.pg_cluster import REVIEWER_PASSWORDS, PgCluster, make_team

ALICE_PASSWORD = REVIEWER_PASSWORDS["alice"]
BOB_PASSWORD = REVIEWER_PASSWORDS["bob"]


@pytest.fixture
def team(pg_cluster: PgCluster, team_database: str) -> tuple[PgCluster, str]:
    """A database with the schema made by its owner, and logins alice and bob as reviewers."""
    make_team(pg_cluster, team_database)
    return pg_cluster, team_database


def reviewer(team: tuple[PgCluster, str], name: str, tmp: Path) -> PostgresStore:
    cluster, database = team
    password = ALICE_PASSWORD if name == "alice" else BOB_PASSWORD
    return PostgresStore(cluster.url(name, password, database=database), checkpoint_dir=tmp)


def as_login(team: tuple[PgCluster, str], name: str, statement: str) -> None:
    cluster, database = team
    password = ALICE_PASSWORD if name == "alice" else BOB_PASSWORD
    with psycopg.connect(cluster.url(name, password, database=database), autocommit=True) as conn:
        conn.execute(statement.encode())


def test_a_reviewer_may_append_to_the_audit_trail_and_nothing_more(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    alice = reviewer(team, "alice", tmp_path)
    alice.audit(provider="glair", profile="", operation="face_match", targets=[], outcome="ok")
    for statement in (
        "UPDATE audit SET outcome = 'forged'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "ALTER TABLE audit DISABLE TRIGGER audit_no_update",
        "DROP TABLE audit",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_login(team, "alice", statement)
    # Forging the operator or the chain in the INSERT itself is overwritten by the trigger.
    as_login(
        team,
        "alice",
        "INSERT INTO audit (id, time_utc, os_user, provider, profile, operation, targets, "
        "outcome, prev_hash, hash) VALUES (99, '2000-01-01T00:00:00+00:00', 'bob', 'x', '', "
        "'op', '[]', 'ok', 'f', 'f')",
    )
    rows = alice.audit_chain_rows()
    assert [(r.entry_id, r.entry.os_user) for r in rows] == [(1, "alice"), (2, "alice")]
    assert rows[1].entry.time_utc.year >= 2026
    assert verify(alice).ok
    alice.close(checkpoint=False)


def test_concurrent_workstations_never_fork_the_chain(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    stores = [reviewer(team, name, tmp_path) for name in ("alice", "bob", "alice", "bob")]
    barrier = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def append(store: PostgresStore, worker: int) -> None:
        barrier.wait()
        try:
            for n in range(25):
                store.audit(
                    provider="uqudo",
                    profile="",
                    operation="face_match",
                    targets=[f"w{worker}:{n}"],
                    outcome="succeeded",
                )
        except BaseException as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(s, i)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    rows = stores[0].audit_chain_rows()
    assert [r.entry_id for r in rows] == list(range(1, 101))
    assert {r.entry.os_user for r in rows} == {"alice", "bob"}
    result = verify(stores[1])
    assert result.ok, result.problems
    for store in stores:
        store.close(checkpoint=False)


def test_a_superusers_edit_is_caught_by_verify(team: tuple[PgCluster, str], tmp_path: Path) -> None:
    cluster, database = team
    bob = reviewer(team, "bob", tmp_path)
    for n in range(3):
        bob.audit(
            provider="veriff", profile="", operation="delete", targets=[f"s{n}"], outcome="ok"
        )
    bob.write_checkpoint()
    cluster.psql(
        "ALTER TABLE audit DISABLE TRIGGER audit_no_update; "
        "UPDATE audit SET outcome = 'refused' WHERE id = 2; "
        "ALTER TABLE audit ENABLE TRIGGER audit_no_update",
        database=database,
    )
    result = verify(bob)
    assert not result.ok
    assert result.first_bad_entry == 2
    bob.close(checkpoint=False)


def test_assignment_is_exclusive_and_makes_the_case_read_only_for_others(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    secrets = MemorySecretStore()
    alice = CaseBook(reviewer(team, "alice", tmp_path / "a"), secrets)
    bob = CaseBook(reviewer(team, "bob", tmp_path / "b"), secrets)
    alice.new_case("CASE-42")
    assert alice.assign_to_me("CASE-42").assignee == "alice"
    with pytest.raises(CaseError, match="assigned to alice"):
        bob.assign_to_me("CASE-42")
    held = bob.get("CASE-42")
    assert bob.read_only_reason(held) == "Assigned to alice: read-only for you."
    assert alice.read_only_reason(alice.get("CASE-42")) is None
    with pytest.raises(CaseError, match="assigned to alice"):
        bob.add_note("CASE-42", "let me look")
    with pytest.raises(CaseError, match="assigned to alice"):
        bob.close("CASE-42")
    with pytest.raises(CaseError, match="not yours to release"):
        bob.release("CASE-42")
    # Nobody hands a case to someone else behind the app's back: the database refuses it.
    for statement in (
        "UPDATE cases SET assignee = 'bob' WHERE reference = 'CASE-42'",
        "UPDATE cases SET state = 'closed' WHERE reference = 'CASE-42'",
        "INSERT INTO case_items (reference, kind, time_utc, payload) "
        "VALUES ('CASE-42', 'note', '', '{}')",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_login(team, "bob", statement)
    alice.add_note("CASE-42", "mine")
    alice.release("CASE-42")
    assert bob.assign_to_me("CASE-42").assignee == "bob"
    operations = [
        (r.entry.os_user, r.entry.operation, r.entry.outcome)
        for r in alice.store.audit_rows_naming("case:CASE-42")
    ]
    assert ("bob", "case.assign", "refused") in operations
    assert ("bob", "case.assign", "succeeded") in operations
    alice.store.close(checkpoint=False)
    bob.store.close(checkpoint=False)


def test_concurrent_claims_have_one_winner(team: tuple[PgCluster, str], tmp_path: Path) -> None:
    cluster, database = team
    owner = PostgresStore(cluster.url(database=database), checkpoint_dir=tmp_path)
    owner.insert_case("CASE-9", keep_photos=False, tags=[])
    contenders = [reviewer(team, name, tmp_path) for name in ("alice", "bob") * 3]
    barrier = threading.Barrier(len(contenders))
    results: list[tuple[str, bool, str | None]] = []

    def claim(store: PostgresStore) -> None:
        barrier.wait()
        claimed, holder = store.claim_case("CASE-9")
        results.append((store.operator, claimed, holder))

    threads = [threading.Thread(target=claim, args=(s,)) for s in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winner = owner.case_row("CASE-9")["assignee"]  # type: ignore[index]
    assert winner in ("alice", "bob")
    assert all(holder in (winner, None) for _, _, holder in results), (winner, results)
    # A claim succeeds exactly for the winner's login; everyone else is told who has it.
    assert all(ok == (login == winner) for login, ok, holder in results if holder), results
    assert any(ok for _, ok, _ in results)
    for store in [owner, *contenders]:
        store.close(checkpoint=False)


def test_schema_missing_older_or_newer_names_the_fix(
    pg_cluster: PgCluster, team_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_cluster.url(database=team_database)
    with pytest.raises(StoreSchemaMismatch, match="runs `facedesk db upgrade`"):
        PostgresStore(url).ping()
    owner = PostgresStore(url, check_schema=False)
    owner.upgrade()
    assert owner.upgrade()[0].endswith("current")  # idempotent
    owner.close(checkpoint=False)
    current = PostgresStore(url)
    current.ping()
    current.close(checkpoint=False)
    monkeypatch.setattr(postgres_module, "REVISIONS", (*postgres_module.REVISIONS, "0099_next"))
    monkeypatch.setattr(postgres_module, "HEAD_REVISION", "0099_next")
    with pytest.raises(StoreSchemaMismatch, match=r"needs 0099_next\. The database owner runs"):
        PostgresStore(url).ping()
    monkeypatch.undo()
    pg_cluster.psql(
        "UPDATE alembic_version SET version_num = '0009_future'", database=team_database
    )
    with pytest.raises(StoreSchemaMismatch, match="newer than this FaceDesk knows"):
        PostgresStore(url).ping()


def test_the_password_comes_from_the_url_a_pgpass_file_or_the_keyring(
    team: tuple[PgCluster, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, database = team
    bare = cluster.url("alice", None, database=database)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent.pgpass"))
    with pytest.raises(StoreUnavailable) as refused:
        PostgresStore(bare).ping()
    assert "cannot be reached" in refused.value.user_message
    secrets = MemorySecretStore()
    secrets.set(TEAM_STORE_SECRET_SCOPE, secret_field(bare), ALICE_PASSWORD)
    from_keyring = PostgresStore(bare, secrets=secrets)
    from_keyring.ping()
    assert from_keyring.operator == "alice"
    from_keyring.close(checkpoint=False)
    pgpass = tmp_path / "team.pgpass"
    pgpass.write_text(f"127.0.0.1:{cluster.port}:{database}:alice:{ALICE_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    from_file = PostgresStore(bare)
    from_file.ping()
    assert from_file.operator == "alice"
    from_file.close(checkpoint=False)


def test_a_wrong_password_is_never_repeated_in_the_message(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    cluster, database = team
    wrong = "not-the-password-7731"
    store = PostgresStore(cluster.url("alice", wrong, database=database))
    with pytest.raises(StoreUnavailable) as failed:
        store.ping()
    assert wrong not in failed.value.user_message
    assert wrong not in repr(failed.value)
    assert f"127.0.0.1:{cluster.port}/{database}" in failed.value.user_message


def test_the_database_going_away_loses_no_entry_and_reconnects(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    cluster, database = team
    alice = reviewer(team, "alice", tmp_path)
    alice.audit(provider="glair", profile="", operation="a", targets=[], outcome="ok")

    def cut_alice_off() -> None:
        cluster.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'alice'"
        )

    cut_alice_off()
    # A write on a dead connection fails, says so, and is not half-done.
    with pytest.raises(StoreUnavailable, match="was not done"):
        alice.audit(provider="glair", profile="", operation="b", targets=[], outcome="ok")
    assert alice.audit(provider="glair", profile="", operation="c", targets=[], outcome="ok") == 2
    cut_alice_off()
    assert alice.count_audit() == 2  # a read reconnects by itself
    assert [r.entry.operation for r in alice.audit_chain_rows()] == ["a", "c"]
    alice.close(checkpoint=False)
    unreachable = PostgresStore(f"postgresql://alice:{ALICE_PASSWORD}@127.0.0.1:9/{database}")
    with pytest.raises(StoreUnavailable) as away:
        unreachable.audit(provider="glair", profile="", operation="d", targets=[], outcome="ok")
    assert ALICE_PASSWORD not in away.value.user_message
    assert isinstance(away.value, StoreError)


def test_other_workstations_changes_arrive_without_polling(
    team: tuple[PgCluster, str], tmp_path: Path
) -> None:
    alice = reviewer(team, "alice", tmp_path)
    bob = reviewer(team, "bob", tmp_path)
    arrived: list[StoreChange] = []
    got_case_item = threading.Event()

    def on_change(change: StoreChange) -> None:
        arrived.append(change)
        if change.table == "cases" and change.case == "CASE-5":
            got_case_item.set()

    listener = alice.listen(on_change)
    assert listener.wait_listening(10)
    bob.insert_case("CASE-5", keep_photos=False, tags=[])
    bob.add_case_item("CASE-5", "note", {"text": "from bob"})
    bob.audit(provider="case", profile="", operation="note", targets=["case:CASE-5"], outcome="ok")
    assert got_case_item.wait(10)
    deadline = threading.Event()
    for _ in range(100):
        if StoreChange("audit", "CASE-5") in arrived:
            break
        deadline.wait(0.1)
    assert StoreChange("audit", "CASE-5") in arrived
    listener.stop()
    alice.close(checkpoint=False)
    bob.close(checkpoint=False)


async def test_an_outcome_the_trail_cannot_take_is_not_reported_as_done(
    team: tuple[PgCluster, str],
    app_paths: AppPaths,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster, database = team
    monkeypatch.setenv(
        "FACEDESK_DATABASE_URL", cluster.url("alice", ALICE_PASSWORD, database=database)
    )

    async def vendor_call_while_the_store_goes_away() -> object:
        cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename='alice'")
        return types.SimpleNamespace(request_id="req-777")

    async with open_service(app_paths, secrets=MemorySecretStore()) as service:
        with pytest.raises(StoreUnavailable) as lost:
            await service.audited(
                "glair", "delete session", ["sess-1"], vendor_call_while_the_store_goes_away
            )
        message = lost.value.user_message
        assert message.startswith("Delete session reached the vendor (request id req-777)")
        assert "check the outcome at the vendor before repeating it" in message
        outcomes = [r.entry.outcome for r in service.store.audit_chain_rows()]
        assert outcomes == ["attempt"]  # the attempt is there; no outcome was invented


def test_an_older_team_store_upgrades_to_the_audit_search_index_and_queries_use_it(
    pg_cluster: PgCluster, team_database: str
) -> None:
    from app.store import audit_filter
    from app.store.migrations.postgres import STEPS
    from app.store.postgres import DIALECT

    url = pg_cluster.url(database=team_database)
    pg_cluster.psql(STEPS[1], database=team_database)  # the schema as 0001 left it
    pg_cluster.psql(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);"
        "INSERT INTO alembic_version VALUES ('0001_team_store')",
        database=team_database,
    )
    older = PostgresStore(url, check_schema=False)
    older.audit(
        provider="glair", profile="Sandbox", operation="detect", targets=["sid-ABC-1"], outcome="ok"
    )
    assert older.upgrade()[0] == "schema 0002_audit_search (was 0001_team_store)"
    older.close(checkpoint=False)
    current = PostgresStore(url)
    assert current.count_audit(text="abc-1") == 1
    current.close(checkpoint=False)
    clause, args = audit_filter(None, "abc-1", DIALECT)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a table this small would be scanned anyway
        rows = conn.execute(f"EXPLAIN SELECT count(*) FROM audit{clause}".encode(), args)
        plan = "\n".join(str(row[0]) for row in rows.fetchall())
    assert "audit_search" in plan  # the filter reads the indexed column
