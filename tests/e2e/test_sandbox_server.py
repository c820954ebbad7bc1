"""`python -m app.sandbox --port N` serves the frame on a real socket, with its admin API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sandbox_module_serves_the_frame_and_prints_its_layout() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        index = None
        while time.monotonic() < deadline:
            try:
                index = httpx.get(f"http://127.0.0.1:{port}/_sandbox/", timeout=1).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert index is not None, "sandbox did not start"
        assert "not biometric" in index["sandbox"]
        for name, vendor in index["vendors"].items():
            assert vendor["base_url"].startswith(f"http://127.0.0.1:{port}/{name}")
        reset = httpx.post(f"http://127.0.0.1:{port}/_sandbox/reset", timeout=5)
        assert reset.json() == {"reset": True}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in output
