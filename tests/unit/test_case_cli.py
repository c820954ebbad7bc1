"""`facedesk case ...` as real subprocesses: a two-run case exported to PDF and JSON."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app.secrets import KeyringSecretStore
from app.store import Store
from app.workflows.cases import CaseBook
from tests.file_keyring import FileKeyring

ROOT = Path(__file__).resolve().parents[2]
REF = "CASE-2026-0042"


def environment(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FACEDESK_DATA_DIR": str(tmp / "data"),
        "FACEDESK_CONFIG_DIR": str(tmp / "config"),
        "FACEDESK_LOG_DIR": str(tmp / "logs"),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "FACEDESK_TEST_KEYRING": str(tmp / "keyring.json"),
        "QT_QPA_PLATFORM": "offscreen",
    }


def facedesk(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ui", *args],
        capture_output=True,
        text=True,
        env=environment(tmp),
        cwd=ROOT,
        timeout=90,
        check=False,
    )


def photo(path: Path, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 150), color).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return out.getvalue()


def record_two_runs(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two vendor runs naming the case, as the vendor commands write them with --case."""
    monkeypatch.setenv("FACEDESK_TEST_KEYRING", str(tmp / "keyring.json"))
    store = Store(tmp / "data" / "facedesk.sqlite3")
    book = CaseBook(store, KeyringSecretStore(FileKeyring()))
    for vendor, request_id, verdict, score in (
        ("uqudo", "uq-req-0001", "positive", 0.91),
        ("azure_face", "az-req-0002", "negative", 0.38),
    ):
        for outcome in ("attempt", "succeeded"):
            store.audit(
                provider=vendor,
                profile="Sandbox",
                operation="compare",
                targets=[f"case:{REF}"],
                outcome=outcome,
                request_id=request_id if outcome == "succeeded" else None,
            )
        book.record_run(
            REF,
            vendor=vendor,
            operation="compare",
            request_id=request_id,
            verdict=verdict,
            score=score,
            scale="0–1",
            threshold="0.5",
            headline="see https://hosted.example/session/abc?token=SECRET-TOKEN",
        )
    store.close()


def test_export_of_a_two_run_case_holds_runs_photos_and_the_verified_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    id_bytes = photo(tmp_path / "id.jpg", (200, 180, 160))
    selfie_bytes = photo(tmp_path / "selfie.jpg", (160, 180, 200))
    assert facedesk(tmp_path, "case", "new", REF, "--tag", "fraud").returncode == 0
    attached = facedesk(
        tmp_path,
        "case",
        "attach",
        REF,
        "--id",
        str(tmp_path / "id.jpg"),
        "--selfie",
        str(tmp_path / "selfie.jpg"),
    )
    assert "kept encrypted" in attached.stdout, attached.stderr
    record_two_runs(tmp_path, monkeypatch)
    assert facedesk(tmp_path, "case", "note", REF, "vendors disagree").returncode == 0
    missing_reason = facedesk(tmp_path, "case", "decide", REF, "reject", "--reason", " ")
    assert missing_reason.returncode == 1
    assert "reason" in missing_reason.stderr
    decided = facedesk(tmp_path, "case", "decide", REF, "escalate", "--reason", "split verdicts")
    assert decided.returncode == 0, decided.stderr

    exported = facedesk(tmp_path, "case", "export", REF, "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    pdf, js = tmp_path / "out" / f"{REF}.pdf", tmp_path / "out" / f"{REF}.json"
    printed = dict(line.split("  ", 1)[::-1] for line in exported.stdout.splitlines()[:2])
    assert printed[str(pdf)] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert printed[str(js)] == hashlib.sha256(js.read_bytes()).hexdigest()

    document = json.loads(js.read_text())
    assert [r["request_id"] for r in document["vendor_runs"]] == ["uq-req-0001", "az-req-0002"]
    assert [r["verdict"] for r in document["vendor_runs"]] == ["positive", "negative"]
    photos = {base64.b64decode(p["data_base64"]) for p in document["photos"]}
    assert photos == {id_bytes, selfie_bytes}
    assert document["decision"] == {**document["decision"], "decision": "escalate"}

    verified = facedesk(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert f"head {document['audit_head']['hash']}" in verified.stdout

    both = pdf.read_bytes() + js.read_bytes()
    for forbidden in (b"SECRET-TOKEN", b"https://", b"photo_key", b"checkpoint_signing_key"):
        assert forbidden not in both
    keyring = json.loads((tmp_path / "keyring.json").read_text())
    for secret in keyring.values():
        assert secret.encode() not in both

    assert pdf.read_bytes().startswith(b"%PDF")
    for request_id in ("uq-req-0001", "az-req-0002"):
        assert request_id.encode() in _pdf_text(pdf)


def _pdf_text(pdf: Path) -> bytes:
    """The PDF's text via pdftotext when present, else the raw (uncompressed) bytes."""
    try:
        result = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, check=True, timeout=30
        )
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.skip("pdftotext is not installed")
    return result.stdout


def test_list_filters_and_erase(tmp_path: Path) -> None:
    photo(tmp_path / "a.jpg", (1, 2, 3))
    facedesk(tmp_path, "case", "new", "CASE-A", "--tag", "fraud")
    facedesk(tmp_path, "case", "new", "CASE-B", "--no-photos")
    facedesk(
        tmp_path,
        "case",
        "attach",
        "CASE-A",
        "--id",
        str(tmp_path / "a.jpg"),
        "--selfie",
        str(tmp_path / "a.jpg"),
    )
    listed = facedesk(tmp_path, "case", "list", "--tag", "fraud", "--json")
    assert [json.loads(x)["reference"] for x in listed.stdout.splitlines()] == ["CASE-A"]
    erased = facedesk(tmp_path, "case", "erase", "CASE-A")
    assert "erased 1 photos" in erased.stdout  # same bytes twice: one fingerprint
    keyring = json.loads((tmp_path / "keyring.json").read_text())
    assert not any("case:CASE-A" in name for name in keyring)
    shown = json.loads(facedesk(tmp_path, "case", "show", "CASE-A", "--json").stdout)
    assert shown["photos"] == []
    assert "erased" in shown["case"]["photos_note"]
    assert facedesk(tmp_path, "case", "show", "NOPE-1").returncode == 1
    assert facedesk(tmp_path, "case", "new", "bad ref!").returncode == 1
