"""`facedesk compare` in a real subprocess: on the in-process Sandbox, and on the sandbox over a
loopback socket through `--connection ID=env` for every vendor, with injected failures."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import vendors as providers
from app.workflows.connections import env_variable
from tests.sandbox_server import SocketSandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"
VENDORS = ("azure_face", "uqudo", "glair")
ID_PHOTO = SAMPLES / "ada-id-photo.jpg"

# The expected row of each sample pair (ID photo ada-id-photo.jpg): vendor → verdict.
EXPECTED: dict[str, dict[str, str]] = {
    "same person": dict.fromkeys(VENDORS, "match"),
    "different person": dict.fromkeys(VENDORS, "no_match"),
    # Face match is not liveness: a printout of the same face matches everywhere.
    "spoof printout": dict.fromkeys(VENDORS, "match"),
    "no face": dict.fromkeys(VENDORS, "inconclusive"),
    # uqudo's contract has no "several faces" answer: it compares one face and finds Ada.
    "group photo": {"azure_face": "inconclusive", "uqudo": "match", "glair": "inconclusive"},
}
SELFIES = {
    "same person": "ada-selfie.jpg",
    "different person": "ben-selfie.jpg",
    "spoof printout": "ada-printout-spoof.jpg",
    "no face": "blank-no-face.jpg",
    "group photo": "group-three-faces.jpg",
}
FIELDS = {
    "vendor",
    "connection",
    "verdict",
    "score",
    "scale",
    "threshold",
    "request_id",
    "latency_ms",
}


@pytest.fixture(scope="module")
def server() -> Iterator[SocketSandbox]:
    running = SocketSandbox().start()
    yield running
    running.stop()


@pytest.fixture
def sandbox(server: SocketSandbox) -> Iterator[SocketSandbox]:
    yield server
    httpx.delete(f"{server.origin}/_sandbox/faults")


def env_for(server: SocketSandbox) -> dict[str, str]:
    """FACEDESK_<ID>_<FIELD> for every vendor, pointing at the socket sandbox."""
    environ: dict[str, str] = {}
    for vendor in VENDORS:
        info = providers.registry()[vendor].INFO
        for name, value in info.sandbox_connection.items():
            environ[env_variable(vendor, name)] = value.replace("{root}", server.origin)
        for name, value in info.sandbox_credentials.items():
            environ[env_variable(vendor, name)] = value
    return environ


def run(
    tmp_path: Path,
    *args: str,
    extra_env: Mapping[str, str] | None = None,
    command: str = "compare",
) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEDESK_")},
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "logs"),
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "ui", command, *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def rows(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        assert set(record) >= FIELDS, record
    return {record["vendor"]: record for record in records}


def with_connections(*args: str) -> list[str]:
    return [*args, *(f"--connection={vendor}=env" for vendor in VENDORS)]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_sample_pair_on_the_in_process_sandbox(tmp_path: Path, case: str) -> None:
    result = run(tmp_path, str(ID_PHOTO), str(SAMPLES / SELFIES[case]), "--json")
    assert result.returncode == 0, result.stderr
    got = rows(result)
    assert {vendor: row["verdict"] for vendor, row in got.items()} == EXPECTED[case]
    assert all(row["connection"] == "Sandbox" for row in got.values())
    assert all("error" not in row for row in got.values())


def test_every_vendor_over_a_socket_through_env_connections(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    environ = env_for(sandbox)
    assert run(tmp_path, "new", "CASE-42", "--no-photos", command="case").returncode == 0
    result = run(
        tmp_path,
        *with_connections(
            str(ID_PHOTO), str(SAMPLES / "ada-selfie.jpg"), "--json", "--case", "CASE-42"
        ),
        extra_env=environ,
    )
    assert result.returncode == 0, result.stderr
    got = rows(result)
    assert list(got) == list(VENDORS)
    for row in got.values():
        assert row["connection"] == "env"
        assert row["verdict"] == "match"
        assert isinstance(row["latency_ms"], int)
    assert got["azure_face"]["scale"] == "confidence 0–1"
    assert got["azure_face"]["threshold"] == 0.5
    assert got["uqudo"]["scale"] == "level 1–5"
    assert got["glair"]["request_id"]
    # No value from the environment reaches the output or any file the run wrote.
    secrets = [v for k, v in environ.items() if not k.endswith("_URL") and len(v) > 6]
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for value in [*secrets, sandbox.origin]:
        assert value not in result.stdout
        assert value not in result.stderr
        assert value.encode() not in written
    # The run is audited: one attempt and one outcome per vendor, with the case reference.
    with sqlite3.connect(tmp_path / "data" / "facedesk.sqlite3") as db:
        audit = db.execute(
            "SELECT provider, profile, targets, outcome FROM audit WHERE provider != 'facedesk'"
        ).fetchall()
    assert sorted(a[0] for a in audit) == sorted(VENDORS * 2)
    assert {a[1] for a in audit} == {"env"}
    for _, _, targets, _ in audit:
        assert "case:CASE-42" in json.loads(targets)
        assert "ada" not in targets


def test_a_case_that_does_not_exist_is_refused_before_any_vendor_call(tmp_path: Path) -> None:
    result = run(tmp_path, str(ID_PHOTO), str(SAMPLES / "ada-selfie.jpg"), "--case", "CASE-NOPE")
    assert result.returncode == 2
    assert "There is no case CASE-NOPE: create it with `facedesk case new CASE-NOPE`" in (
        result.stderr
    )
    assert result.stdout == ""
    with sqlite3.connect(tmp_path / "data" / "facedesk.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("fault", "expected_kind_words"),
    [
        ({"status": 503}, "try again"),
        ({"kind": "delay", "delay": 6}, "did not answer within 2 s"),
    ],
    ids=["503", "timeout"],
)
def test_one_failing_vendor_leaves_the_others_and_exits_1(
    tmp_path: Path, sandbox: SocketSandbox, fault: dict[str, Any], expected_kind_words: str
) -> None:
    httpx.post(
        f"{sandbox.origin}/_sandbox/faults", json={"path": "^/glair/", "count": 5, **fault}
    ).raise_for_status()
    result = run(
        tmp_path,
        *with_connections(
            str(ID_PHOTO), str(SAMPLES / "ben-selfie.jpg"), "--json", "--timeout", "2"
        ),
        extra_env=env_for(sandbox),
    )
    assert result.returncode == 1, result.stderr
    got = rows(result)
    assert got["glair"]["verdict"] == "error"
    assert expected_kind_words in got["glair"]["error"].lower()
    assert got["azure_face"]["verdict"] == "no_match"
    assert got["uqudo"]["verdict"] == "no_match"
    assert "error" not in got["azure_face"]
    assert "error" not in got["uqudo"]


def test_bad_credentials_for_one_vendor_leave_the_others(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    environ = {**env_for(sandbox), "FACEDESK_UQUDO_CLIENT_SECRET": "wrong-secret-value"}
    result = run(
        tmp_path,
        *with_connections(str(ID_PHOTO), str(SAMPLES / "ada-selfie.jpg"), "--json"),
        extra_env=environ,
    )
    assert result.returncode == 1, result.stderr
    got = rows(result)
    assert got["uqudo"]["verdict"] == "error"
    assert "credentials" in got["uqudo"]["error"].lower()
    assert "wrong-secret-value" not in result.stdout + result.stderr
    assert got["azure_face"]["verdict"] == "match"
    assert got["glair"]["verdict"] == "match"


def test_a_missing_env_variable_fails_only_that_vendor(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    environ = env_for(sandbox)
    del environ["FACEDESK_GLAIR_API_KEY"]
    result = run(
        tmp_path,
        *with_connections(str(ID_PHOTO), str(SAMPLES / "ada-selfie.jpg")),
        extra_env=environ,
    )
    assert result.returncode == 1
    assert "FACEDESK_GLAIR_API_KEY" in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:4]}
    assert lines["glair"].split()[2] == "error"
    assert lines["azure_face"].split()[2] == "match"
    assert lines["uqudo"].split()[2] == "match"


def test_table_output_marks_disagreement(tmp_path: Path) -> None:
    result = run(tmp_path, str(ID_PHOTO), str(SAMPLES / "group-three-faces.jpg"))
    assert result.returncode == 0, result.stderr
    header, *body = result.stdout.splitlines()
    assert header.split()[:3] == ["VENDOR", "CONNECTION", "VERDICT"]
    assert [line.split()[0] for line in body[:3]] == list(VENDORS)
    assert "DISAGREEMENT" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [str(ID_PHOTO)],
        [str(ID_PHOTO), str(ID_PHOTO), "--vendor", "veriff"],
        [str(ID_PHOTO), str(ID_PHOTO), "--vendor", "acme"],
        [str(ID_PHOTO), str(ID_PHOTO), "--connection", "glair"],
        [str(ID_PHOTO), str(ID_PHOTO), "--connection", "glair=Production"],
        [str(ID_PHOTO), str(ID_PHOTO), "--vendor", "uqudo", "--connection", "glair=env"],
        [str(ID_PHOTO), str(ID_PHOTO), "--uqudo-level", "7"],
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "facedesk compare:" in result.stderr


def test_an_unreadable_image_exits_1(tmp_path: Path) -> None:
    (tmp_path / "letter.jpg").write_text("not an image")
    result = run(tmp_path, str(ID_PHOTO), str(tmp_path / "letter.jpg"))
    assert result.returncode == 1
    assert "letter.jpg" in result.stderr


def test_help_names_every_variable(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for vendor in VENDORS:
        info = providers.registry()[vendor].INFO
        for field in (*info.connection_fields, *info.credential_fields):
            assert env_variable(vendor, field.name) in result.stdout
    assert "Veriff" in result.stdout
