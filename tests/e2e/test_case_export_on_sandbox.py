"""A two-run case made on the Sandbox by real `facedesk compare --case` runs, then exported:
the report holds each run's request id, both photos and the head hash `audit verify` prints."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"
REF = "CASE-2026-0100"


def facedesk(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACEDESK_")},
        "PYTHONPATH": str(ROOT),
        "FACEDESK_DATA_DIR": str(tmp / "data"),
        "FACEDESK_CONFIG_DIR": str(tmp / "config"),
        "FACEDESK_LOG_DIR": str(tmp / "logs"),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "FACEDESK_TEST_KEYRING": str(tmp / "keyring.json"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [sys.executable, "-m", "ui", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp,
        timeout=120,
        check=False,
    )


def test_two_sandbox_runs_reach_the_evidence_report(tmp_path: Path) -> None:
    id_photo, selfie = SAMPLES / "ada-id-photo.jpg", SAMPLES / "ada-selfie.jpg"
    assert facedesk(tmp_path, "case", "new", REF).returncode == 0
    attached = facedesk(
        tmp_path, "case", "attach", REF, "--id", str(id_photo), "--selfie", str(selfie)
    )
    assert attached.returncode == 0, attached.stderr
    request_ids: list[str] = []
    for vendor in ("azure_face", "glair"):
        run = facedesk(
            tmp_path,
            "compare",
            str(id_photo),
            str(selfie),
            "--vendor",
            vendor,
            "--json",
            "--case",
            REF.lower(),  # references are case-insensitive
        )
        assert run.returncode == 0, run.stderr
        (row,) = [json.loads(line) for line in run.stdout.splitlines()]
        assert row["verdict"] == "match"
        request_ids.append(row["request_id"])
    assert all(request_ids)
    assert len(set(request_ids)) == 2

    shown = facedesk(tmp_path, "case", "show", REF, "--json")
    assert shown.returncode == 0, shown.stderr
    assert request_ids[0] in shown.stdout
    assert request_ids[1] in shown.stdout

    out = tmp_path / "report"
    exported = facedesk(tmp_path, "case", "export", REF, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    document = json.loads((out / f"{REF}.json").read_text())
    assert [r["request_id"] for r in document["vendor_runs"]] == request_ids
    photos = {base64.b64decode(p["data_base64"]) for p in document["photos"]}
    assert photos == {id_photo.read_bytes(), selfie.read_bytes()}
    pdf = out / f"{REF}.pdf"
    assert f"{hashlib.sha256(pdf.read_bytes()).hexdigest()}  {pdf}" in exported.stdout

    verified = facedesk(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"head {document['audit_head']['hash']}" in verified.stdout
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        for request_id in request_ids:
            assert request_id in text
        assert REF in text
