"""`facedesk batch search` in a real subprocess against the sandbox on a loopback socket.

uqudo through `--connection uqudo=env`: enrol a folder, search re-encoded variants through
injected 429s and 503s, and a run killed with SIGKILL then started again.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from app import vendors as providers
from app.workflows.batch import COLUMNS
from app.workflows.connections import env_variable
from tests.batch_images import original, variants, write_people
from tests.sandbox_server import SocketSandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SEARCH_PATH = "/uqudo/api/v1/face/one-to-n/search$"


@pytest.fixture(scope="module")
def server() -> Iterator[SocketSandbox]:
    running = SocketSandbox().start()
    yield running
    running.stop()


@pytest.fixture
def sandbox(server: SocketSandbox) -> Iterator[SocketSandbox]:
    server.state.reset()
    yield server
    httpx.delete(f"{server.origin}/_sandbox/faults")


def uqudo_env(server: SocketSandbox) -> dict[str, str]:
    info = providers.registry()["uqudo"].INFO
    environ = {
        env_variable("uqudo", name): value.replace("{root}", server.origin)
        for name, value in info.sandbox_connection.items()
    }
    environ.update(
        {env_variable("uqudo", name): value for name, value in info.sandbox_credentials.items()}
    )
    return environ


def command(tmp_path: Path, server: SocketSandbox, *args: str) -> tuple[list[str], dict[str, str]]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEDESK_")},
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "logs"),
        **uqudo_env(server),
    }
    argv = [
        sys.executable,
        "-m",
        "ui",
        "batch",
        "search",
        "--vendor",
        "uqudo",
        "--connection",
        "uqudo=env",
        *args,
    ]
    return argv, environ


def run(tmp_path: Path, server: SocketSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv, environ = command(tmp_path, server, *args)
    return subprocess.run(
        argv, capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=180, check=False
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def fault(server: SocketSandbox, **spec: object) -> None:
    response = httpx.post(f"{server.origin}/_sandbox/faults", json=spec)
    assert response.status_code == 201, response.text


def enrol(tmp_path: Path, server: SocketSandbox, seeds: range) -> dict[int, str]:
    """Enrol one photo per seed; returns seed → the 1:N id uqudo gave it."""
    folder = tmp_path / "enrol"
    write_people(folder, seeds)
    out = tmp_path / "enrolled.csv"
    result = run(tmp_path, server, "--insert-if-not-found", "--out", str(out), str(folder))
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    assert [row["file"] for row in rows] == [f"person-{s:03d}.jpg" for s in seeds]
    assert {row["outcome"] for row in rows} == {"inserted"}
    assert all(row["inserted"] == "true" and not row["error"] for row in rows)
    return {seed: row["match_id"] for seed, row in zip(seeds, rows, strict=True)}


def test_enrol_ten_faces_gives_ten_distinct_ids(tmp_path: Path, sandbox: SocketSandbox) -> None:
    ids = enrol(tmp_path, sandbox, range(100, 110))
    assert len(set(ids.values())) == 10
    assert all(ids.values())
    # Searched again without insert, each enrolled photo is found under its own id.
    again = tmp_path / "again.csv"
    result = run(tmp_path, sandbox, "--out", str(again), str(tmp_path / "enrol"))
    assert result.returncode == 0, result.stderr
    assert [row["match_id"] for row in read_rows(again)] == list(ids.values())


def test_variants_and_strangers_through_429s_and_503s(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    ids = enrol(tmp_path, sandbox, range(100, 110))
    folder = tmp_path / "probe"
    folder.mkdir()
    expected: dict[str, str] = {}
    for seed in range(100, 110):
        for index, (ext, data) in enumerate(variants(seed)):
            name = f"v{seed}-{index}.{ext}"
            (folder / name).write_bytes(data)
            expected[name] = ids[seed]
    for seed in range(200, 205):
        (folder / f"stranger-{seed}.jpg").write_bytes(original(seed))
        expected[f"stranger-{seed}.jpg"] = ""
    fault(
        sandbox, kind="status", path=SEARCH_PATH, status=429, count=4, headers={"Retry-After": "1"}
    )
    fault(sandbox, kind="status", path=SEARCH_PATH, status=503, count=4)
    out = tmp_path / "found.csv"
    result = run(tmp_path, sandbox, "--concurrency", "4", "--out", str(out), str(folder))
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    assert [row["file"] for row in rows] == sorted(expected)
    assert not [row for row in rows if row["error"] or row["outcome"] == "error"]
    assert {row["file"]: row["match_id"] for row in rows} == expected
    outcomes = Counter(row["outcome"] for row in rows)
    assert outcomes == {"found": 20, "not_found": 5}
    assert "slowed down" in result.stderr  # the 429s were met, and waited out
    assert not sandbox.state._faults  # every injected fault was served


def test_killed_and_restarted_run_has_each_file_once_and_redoes_nothing(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    folder = tmp_path / "forty"
    write_people(folder, range(300, 340))
    out = tmp_path / "forty.csv"
    # Each search takes a while, so the run is still going when it is killed.
    fault(sandbox, kind="delay", path=SEARCH_PATH, delay=0.25, count=1000)
    args = ("--insert-if-not-found", "--concurrency", "2", "--out", str(out), str(folder))
    argv, environ = command(tmp_path, sandbox, *args)
    process = subprocess.Popen(
        argv, env=environ, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 1 + 4:
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stderr is not None:
            process.stderr.close()
    before = read_rows(out)
    assert 4 <= len(before) < 40
    finished_before = {row["file"]: row for row in before}

    result = run(tmp_path, sandbox, *args)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    files = [row["file"] for row in rows]
    assert files == [f"person-{s:03d}.jpg" for s in range(300, 340)]
    assert len(set(files)) == 40
    assert not [row for row in rows if row["error"]]
    # Rows finished before the kill are kept as they were: not searched again.
    for row in rows:
        if row["file"] in finished_before:
            assert row == finished_before[row["file"]]
    assert len({row["match_id"] for row in rows}) == 40
    # The audit trail shows one successful search per finished file, across both runs.
    succeeded = audit_successes(tmp_path / "data" / "facedesk.sqlite3")
    assert all(count == 1 for count in succeeded.values()), succeeded
    assert len(succeeded) == 40


def audit_successes(database: Path) -> Mapping[str, int]:
    """Image fingerprint → how many batch searches of it succeeded."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT targets, outcome FROM audit WHERE operation = 'batch 1:N search'"
        ).fetchall()
    counts: Counter[str] = Counter()
    for targets, outcome in rows:
        if outcome.startswith("succeeded"):
            image = next(t for t in json.loads(targets) if t.startswith("image sha256:"))
            counts[image] += 1
    return counts


def test_ctrl_c_stops_after_the_requests_in_flight_and_the_next_run_finishes(
    tmp_path: Path, sandbox: SocketSandbox
) -> None:
    folder = tmp_path / "twenty"
    write_people(folder, range(400, 420))
    out = tmp_path / "twenty.csv"
    fault(sandbox, kind="delay", path=SEARCH_PATH, delay=0.2, count=1000)
    args = ("--concurrency", "2", "--out", str(out), str(folder))
    argv, environ = command(tmp_path, sandbox, *args)
    process = subprocess.Popen(
        argv,
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        out.exists() and len(out.read_text().splitlines()) >= 1 + 2
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stderr
    assert "run the same command again" in stderr
    assert "Traceback" not in stderr
    stopped = read_rows(out)
    assert 2 <= len(stopped) < 20
    result = run(tmp_path, sandbox, *args)
    assert result.returncode == 0, result.stderr
    # The rows finished before Ctrl+C (at least those in the file) are not sent again.
    assert "from an earlier run" in result.stderr
    assert [row["file"] for row in read_rows(out)] == [
        f"person-{s:03d}.jpg" for s in range(400, 420)
    ]
