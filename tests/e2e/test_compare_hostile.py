"""`facedesk compare` against a misbehaving vendor: exit 1, one JSON error line per vendor, no
traceback, bounded memory, and nothing reaches the origin a redirect points to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import vendors as providers
from app.workflows.connections import env_variable
from tests.hostile_vendor import HostileVendor

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"
VENDORS = ("azure_face", "uqudo", "glair")
ONE_GIB_KIB = 1024 * 1024  # ru_maxrss is in KiB on Linux


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileVendor]:
    server = HostileVendor().start()
    yield server
    server.stop()


def compare_against(server: HostileVendor, tmp_path: Path) -> tuple[int, str, str, int]:
    """Run the command with every vendor's env connection on `server`; (rc, out, err, KiB)."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEDESK_")},
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "logs"),
    }
    for vendor in VENDORS:
        info = providers.registry()[vendor].INFO
        for name, value in info.sandbox_connection.items():
            environ[env_variable(vendor, name)] = value.replace("{root}", server.origin)
        for name, value in info.sandbox_credentials.items():
            environ[env_variable(vendor, name)] = value
    args = [
        sys.executable,
        "-m",
        "ui",
        "compare",
        str(SAMPLES / "ada-id-photo.jpg"),
        str(SAMPLES / "ada-selfie.jpg"),
        "--json",
        "--timeout",
        "30",
        *(f"--connection={vendor}=env" for vendor in VENDORS),
    ]
    out_file, err_file = tmp_path / "stdout", tmp_path / "stderr"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        child = subprocess.Popen(args, stdout=out, stderr=err, env=environ, cwd=tmp_path)
        # wait4 gives this child's own peak resident memory, not the test process's.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return (
        child.returncode,
        out_file.read_text(encoding="utf-8"),
        err_file.read_text(encoding="utf-8"),
        usage.ru_maxrss,
    )


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("redirect", {"status": 307}),
        ("redirect", {"status": 308}),
        ("deep", {}),
        ("huge", {"size": 200 * 1024 * 1024}),
        ("endless", {}),
    ],
)
def test_every_vendor_fails_cleanly_and_nothing_leaves_the_origin(
    hostile: HostileVendor, tmp_path: Path, mode: str, options: dict[str, object]
) -> None:
    hostile.reset(mode, **options)
    code, out, err, peak_kib = compare_against(hostile, tmp_path)
    assert code == 1, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["vendor"] for r in records] == list(VENDORS)
    for record in records:
        assert record["verdict"] == "error", record
        assert record["error"], record
    assert "Traceback" not in err
    assert "Traceback" not in out
    assert hostile.hits, "the vendors were reached"
    assert hostile.recorder.requests == []
    assert 0 < peak_kib < ONE_GIB_KIB
