"""`facedesk inspect` in a real subprocess tells a camera photo, its editor re-save, a swapped
thumbnail and a screenshot apart; `--case` records on existing cases only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import forensics_fixtures as fx
from tests.unit.test_case_cli import ROOT, environment, facedesk


def inspect(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ui", "inspect", *args],
        capture_output=True,
        text=True,
        env=environment(tmp),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_inspect_distinguishes_the_four_photos(tmp_path: Path) -> None:
    camera = fx.camera_jpeg(1)
    files = {
        "camera.jpg": camera,
        "edited.jpg": fx.editor_resave(camera),
        "swapped.jpg": fx.camera_jpeg(1, thumbnail_seed=7),
        "screenshot.png": fx.screenshot_png(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = inspect(tmp_path, *(str(tmp_path / n) for n in files), "--json")
    assert result.returncode == 0, result.stderr
    reports = {Path(d["file"]).name: d for d in map(json.loads, result.stdout.splitlines())}
    findings = {name: {f["key"]: f for f in report["findings"]} for name, report in reports.items()}
    cam, edited, swapped, shot = (findings[n] for n in files)
    # Camera: GPS with a map link, its make and model, custom tables, nothing alarming.
    assert reports["camera.jpg"]["gps"]["map_url"].startswith("https://www.openstreetmap.org/")
    assert "ACME X100" in cam["camera"]["value"]
    assert cam["jpeg.tables"]["data"]["table_kind"] == "custom"
    assert cam["thumbnail"]["data"]["matches"] is True
    assert not [f for f in cam.values() if f["level"] == "alert"]
    # Editor: its name, standard tables, a second save.
    assert edited["software"]["level"] == "alert"
    assert "Photoshop" in edited["software"]["value"]
    assert edited["jpeg.tables"]["data"]["table_kind"] == "standard"
    assert edited["jpeg.double_compression"]["data"]["detected"] is True
    assert not cam["jpeg.double_compression"]["data"]["detected"]
    # Swapped thumbnail: the only alert is the thumbnail.
    assert swapped["thumbnail"]["level"] == "alert"
    assert [k for k, f in swapped.items() if f["level"] == "alert"] == ["thumbnail"]
    # Screenshot: lossless, no camera, the tool's name.
    assert shot["format"]["data"]["lossless"] is True
    assert "gnome-screenshot" in shot["software"]["value"]
    assert reports["screenshot.png"]["gps"] is None
    assert all(f["proves"] for report in findings.values() for f in report.values())


def test_unreadable_file_fails_but_others_are_reported(tmp_path: Path) -> None:
    (tmp_path / "good.png").write_bytes(fx.screenshot_png())
    (tmp_path / "notes.jpg").write_text("not a photo")
    result = inspect(tmp_path, str(tmp_path / "good.png"), str(tmp_path / "notes.jpg"))
    assert result.returncode == 1
    assert "good.png" in result.stdout
    assert "contains text" in result.stderr
    assert inspect(tmp_path).returncode == 2


def test_case_must_exist_and_then_records_the_findings(tmp_path: Path) -> None:
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(fx.camera_jpeg(1))
    refused = inspect(tmp_path, str(photo), "--case", "CASE-2026-0099")
    assert refused.returncode == 2
    assert "facedesk case new CASE-2026-0099" in refused.stderr
    assert facedesk(tmp_path, "case", "new", "CASE-2026-0099").returncode == 0
    recorded = inspect(tmp_path, str(photo), "--case", "CASE-2026-0099", "--json")
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["case"]["reference"] == "CASE-2026-0099"
