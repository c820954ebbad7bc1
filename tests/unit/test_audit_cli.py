"""`facedesk audit verify|list` as a real subprocess against a data folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import Store

ROOT = Path(__file__).resolve().parents[2]


def run_cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FACEDESK_DATA_DIR": str(data),
        "FACEDESK_CONFIG_DIR": str(data / "config"),
        "FACEDESK_LOG_DIR": str(data / "logs"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [sys.executable, "-m", "ui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    store = Store(tmp_path / "facedesk.sqlite3")
    for n in range(3):
        store.audit(
            provider="uqudo",
            profile="Sandbox",
            operation="compare",
            targets=[f"fp-{n}", "case:CASE-2026-0001"] if n == 1 else [f"fp-{n}"],
            outcome="succeeded",
            request_id=f"req-{n}",
        )
    store.close()
    return tmp_path


def test_verify_prints_the_head_hash_of_an_intact_trail(data: Path) -> None:
    store = Store(data / "facedesk.sqlite3")
    _, head = store.audit_head()
    store.close()
    result = run_cli(data, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"head {head}" in result.stdout
    assert "3 entries" in result.stdout


def test_verify_names_the_changed_entry_and_exits_1(data: Path) -> None:
    db = sqlite3.connect(data / "facedesk.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET request_id='forged' WHERE id=2")
    db.close()
    result = run_cli(data, "audit", "verify", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_entry"] == 2
    assert any("#2" in p for p in report["problems"])


def test_list_json_prints_one_object_per_entry_newest_first(data: Path) -> None:
    result = run_cli(data, "audit", "list", "--json")
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["request_id"] for e in entries] == ["req-2", "req-1", "req-0"]
    for key in ("operator", "time", "vendor", "operation", "targets", "outcome", "hash"):
        assert key in entries[0]
    assert entries[0]["vendor"] == "uqudo"
    assert len(entries[0]["hash"]) == 64
    only_case = run_cli(data, "audit", "list", "--json", "--case", "CASE-2026-0001")
    assert [json.loads(x)["request_id"] for x in only_case.stdout.splitlines()] == ["req-1"]


def test_bad_usage_exits_2(data: Path) -> None:
    result = run_cli(data, "audit", "frobnicate")
    assert result.returncode == 2


@pytest.mark.parametrize(("limit", "reason"), [("-3", "give 1 or more"), ("ten", "whole number")])
def test_a_limit_that_is_not_a_positive_count_is_a_usage_error(
    tmp_path: Path, limit: str, reason: str
) -> None:
    result = run_cli(tmp_path, "audit", "list", "--limit", limit)
    assert result.returncode == 2
    assert reason in result.stderr
    assert "usage: facedesk audit" in result.stderr
