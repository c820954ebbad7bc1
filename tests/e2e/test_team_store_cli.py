"""Two workstations share a case and the audit trail through a real PostgreSQL 15 team store.

Every step is a real `facedesk` subprocess with its own config and data folders: the owner runs
`facedesk db upgrade`; alice (password in a pgpass file) and bob (password in the URL) run four
`facedesk compare --case` at once; then either sees both operators, both reviewers' runs and an
intact chain, and a superuser's edit makes `facedesk audit verify` exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.pg_cluster import PgCluster

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"
REF = "CASE-2026-0777"
OWNER_PASSWORD = "owner-secret-41"
BOB_PASSWORD = "bob-secret-42"
ALICE_PASSWORD = "alice-secret-43"


class Workstation:
    def __init__(self, home: Path, database_url: str, extra_env: dict[str, str]) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FACEDESK_", "PG"))},
            "PYTHONPATH": str(ROOT),
            "FACEDESK_DATA_DIR": str(home / "data"),
            "FACEDESK_CONFIG_DIR": str(home / "config"),
            "FACEDESK_LOG_DIR": str(home / "logs"),
            "FACEDESK_DATABASE_URL": database_url,
            "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
            "FACEDESK_TEST_KEYRING": str(home / "keyring.json"),
            "QT_QPA_PLATFORM": "offscreen",
            **extra_env,
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ui", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            env=self.environ,
            cwd=self.home,
            timeout=180,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environ,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def team(pg_cluster: PgCluster, tmp_path: Path) -> tuple[Workstation, Workstation, Workstation]:
    database = f"team_e2e_{os.getpid()}"
    pg_cluster.psql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'facedesk_owner') THEN "
        f"CREATE ROLE facedesk_owner LOGIN CREATEROLE PASSWORD '{OWNER_PASSWORD}'; END IF; END $$"
    )
    pg_cluster.psql(f'CREATE DATABASE "{database}" OWNER facedesk_owner')
    pg_cluster.create_login("alice", ALICE_PASSWORD)
    pg_cluster.create_login("bob", BOB_PASSWORD)
    base = f"127.0.0.1:{pg_cluster.port}/{database}"
    owner = Workstation(
        tmp_path / "owner", f"postgresql://facedesk_owner:{OWNER_PASSWORD}@{base}", {}
    )
    pgpass = tmp_path / "alice.pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:{database}:alice:{ALICE_PASSWORD}\n")
    pgpass.chmod(0o600)
    alice = Workstation(
        tmp_path / "alice", f"postgresql://alice@{base}", {"PGPASSFILE": str(pgpass)}
    )
    bob = Workstation(tmp_path / "bob", f"postgresql://bob:{BOB_PASSWORD}@{base}", {})
    return owner, alice, bob


def test_two_workstations_share_a_case_and_the_audit_trail(
    team: tuple[Workstation, Workstation, Workstation], pg_cluster: PgCluster
) -> None:
    owner, alice, bob = team
    # Before the schema exists a reviewer is told exactly what to run.
    early = alice.run("case", "list")
    assert early.returncode == 1
    assert "facedesk db upgrade" in early.stderr

    upgraded = owner.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert OWNER_PASSWORD not in upgraded.stdout + upgraded.stderr
    again = owner.run("db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert "current" in again.stdout
    database = owner.environ["FACEDESK_DATABASE_URL"].rsplit("/", 1)[1]
    pg_cluster.psql("GRANT facedesk_reviewer TO alice, bob", database=database)

    status = bob.run("db", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["login"] == "bob"
    assert BOB_PASSWORD not in status.stdout

    created = alice.run("case", "new", REF, "--no-photos")
    assert created.returncode == 0, created.stderr

    id_photo, selfie = str(SAMPLES / "ada-id-photo.jpg"), str(SAMPLES / "ada-selfie.jpg")
    runs = [
        station.start("compare", id_photo, selfie, "--vendor", vendor, "--json", "--case", REF)
        for station, vendor in (
            (alice, "glair"),
            (bob, "glair"),
            (alice, "azure_face"),
            (bob, "azure_face"),
        )
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
        (row,) = [json.loads(line) for line in stdout.splitlines()]
        assert row["verdict"] == "match"

    listed = bob.run("audit", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {e["operator"] for e in entries} >= {"alice", "bob"}
    compares = [
        e for e in entries if e["operation"] == "compare face match" and e["outcome"] != "attempt"
    ]
    assert len(compares) == 4, sorted({(e["operation"], e["outcome"]) for e in entries})

    shown = alice.run("case", "show", REF, "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    run_operators = sorted(r["operator"] for r in document["vendor_runs"])
    assert run_operators == ["alice", "alice", "bob", "bob"]
    assert all(r["verdict"] == "match" for r in document["vendor_runs"])

    for station in (alice, bob):
        verified = station.run("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr

    # A reviewer's own login: INSERT and SELECT on the trail, never UPDATE, DELETE, TRUNCATE.
    alice_url = f"postgresql://alice:{ALICE_PASSWORD}@127.0.0.1:{pg_cluster.port}/{database}"
    for statement in ("UPDATE audit SET outcome = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            psycopg.connect(alice_url, autocommit=True) as conn,
        ):
            conn.execute(statement.encode())

    # Assignment: bob claims the case, alice's next compare on it is refused with his name.
    assigned = bob.run("case", "assign", REF)
    assert assigned.returncode == 0, assigned.stderr
    refused = alice.run("compare", id_photo, selfie, "--vendor", "glair", "--case", REF)
    assert refused.returncode != 0
    assert "assigned to bob" in refused.stderr
    listed_cases = alice.run("case", "list", "--json")
    assert json.loads(listed_cases.stdout.splitlines()[0])["assignee"] == "bob"

    # A superuser's edit of one entry, triggers disabled, is caught from either workstation.
    pg_cluster.psql(
        "ALTER TABLE audit DISABLE TRIGGER audit_no_update; "
        "UPDATE audit SET outcome = 'refused' WHERE id = 3; "
        "ALTER TABLE audit ENABLE TRIGGER audit_no_update",
        database=database,
    )
    tampered = alice.run("audit", "verify", "--json")
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert json.loads(tampered.stdout)["first_bad_entry"] == 3


def test_an_unreachable_team_store_is_a_clear_message(tmp_path: Path) -> None:
    station = Workstation(tmp_path / "w", "postgresql://carol:carol-secret-44@127.0.0.1:9/team", {})
    for args in (("audit", "verify"), ("case", "list"), ("db", "status")):
        result = station.run(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "cannot be reached" in result.stderr
        assert "127.0.0.1:9/team" in result.stderr
        assert "carol-secret-44" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    bad = Workstation(tmp_path / "v", "mysql://somewhere/db", {})
    result = bad.run("case", "list")
    assert result.returncode in (1, 2)
    assert "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr
