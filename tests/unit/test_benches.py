"""Every benchmark in bench/ still runs end to end at small sizes (not timed: figures vary)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_responsiveness_bench_measures_both_modes_against_the_frame_anchor() -> None:
    out = _run("bench/responsiveness.py", "--small", "--runs", "1")
    assert "anchor: one 60 Hz frame" in out
    assert "facedesk: max stall" in out
    assert "naive: max stall" in out
    assert "naive / facedesk:" in out


def test_stores_bench_times_both_dialogs() -> None:
    out = _run("bench/stores.py", "--small", "--runs", "1")
    for line in (
        "registry 2,000 first rows",
        "registry 2,000 filter keystroke",
        "registry 2,000 label edit",
        "audit 5,000 first rows",
        "audit 5,000 text filter keystroke",
        "audit 5,000 text filter worst key",
        "audit 5,000 text filter count",
        "audit 5,000 last row",
    ):
        assert line in out


@pytest.mark.parametrize("extra", [[], ["--screenshot"]])
def test_startup_bench_compares_with_a_bare_window(extra: list[str]) -> None:
    out = _run("bench/startup.py", "--runs", "1", *extra)
    assert "first paint: facedesk / bare = " in out
    assert "tabs usable: facedesk / bare = " in out  # the run reached the vendor tabs
    assert ("--screenshot: facedesk / bare = " in out) == bool(extra)


def test_batch_bench_compares_with_raw_httpx_and_survives_429s() -> None:
    out = _run("bench/batch.py", "--small")
    assert "throughput facedesk / raw = " in out
    assert "with 10% injected 429s: 40/40 rows succeeded" in out
