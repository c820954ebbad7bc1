"""Start-up imports only what the first window needs; the rest comes after the first paint."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from app.keyring_probe import DeferredSecretStore
from app.secrets import MemorySecretStore

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import app.services, ui.main_window
heavy = ("app.sandbox.app", "keyring", "PIL", "pi_heif", "click", "rich", "pygments", "starlette")
print(",".join(sorted(m for m in heavy if m in sys.modules)))
"""


def test_window_modules_leave_sandbox_keyring_imaging_and_httpx_cli_out() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_httpx_still_works_without_its_command_line() -> None:
    import httpx

    assert httpx.Client is not None
    assert "rich" not in sys.modules


def test_deferred_secret_store_probes_once_in_a_thread_and_delegates() -> None:
    threads: list[str] = []
    memory = MemorySecretStore(reason="no keyring here")

    def opener() -> MemorySecretStore:
        threads.append(threading.current_thread().name)
        return memory

    store = DeferredSecretStore(opener)
    assert not store.resolved
    store.set("glair.Sandbox", "password", "pw")
    assert store.get("glair.Sandbox", "password") == "pw"
    assert store.resolved
    assert not store.persistent
    assert store.reason == "no keyring here"
    assert threads == ["facedesk-keyring"]
