"""`facedesk prepare`: JSON lines, written files and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from app.cli import prepare as cli
from app.domain import ImageFormat, UploadRules
from app.vendors import registry
from tests.unit.test_imaging import encode, exif_with, photo


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "good": tmp_path / "selfie.jpg",
        "png": tmp_path / "scan.png",
        "text": tmp_path / "letter.jpg",
        "empty": tmp_path / "empty.jpg",
    }
    paths["good"].write_bytes(encode(photo(), "JPEG", quality=90, exif=exif_with()))
    paths["png"].write_bytes(encode(photo(), "PNG"))
    paths["text"].write_bytes(b"not an image at all\n")
    paths["empty"].write_bytes(b"")
    return paths


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_prepare_files_with_explicit_rules_writes_and_reports(files, tmp_path):
    out = io.StringIO()
    rules = UploadRules(max_bytes=200_000, formats=(ImageFormat.JPEG,))
    (tmp_path / "out").mkdir()
    status = cli.prepare_files([files["good"], files["png"]], rules, "acme", tmp_path / "out", out)
    assert status == cli.EXIT_OK, out.getvalue()
    records = lines(out)
    assert [r["input"] for r in records] == [str(files["good"]), str(files["png"])]
    first = records[0]
    assert first["format"] == "JPEG"
    assert "GPS location removed" in first["removed"]
    written = Path(str(first["output"]))
    assert written.name == "selfie.acme.jpg"
    assert written.stat().st_size == first["bytes"]
    with Image.open(written) as image:
        assert image.size == (first["width"], first["height"])


def test_rejected_file_gives_error_line_and_exit_1(files):
    out = io.StringIO()
    status = cli.prepare_files(
        [files["good"], files["text"], files["empty"], files["good"].with_name("missing.jpg")],
        UploadRules(max_bytes=5_000_000),
        "acme",
        None,
        out,
    )
    assert status == cli.EXIT_REJECTED
    records = lines(out)
    assert records[0]["output"] is None  # nothing written without --out
    assert "not a picture" in str(records[1]["error"])
    assert "empty" in str(records[2]["error"])
    assert "could not read missing.jpg" in str(records[3]["error"])


def test_same_stem_twice_does_not_overwrite(files, tmp_path):
    out = io.StringIO()
    cli.prepare_files(
        [files["good"], files["good"]], UploadRules(max_bytes=5_000_000), "p", tmp_path, out
    )
    names = [Path(str(r["output"])).name for r in lines(out)]
    assert names == ["selfie.p.jpg", "selfie.p-2.jpg"]


@pytest.mark.parametrize(
    "argv",
    [[], ["prepare"], ["--for", "uqudo"], ["x.jpg"], ["--bogus", "--for", "uqudo", "x.jpg"]],
)
def test_bad_usage_exits_2(argv):
    err = io.StringIO()
    assert cli.main(argv, stdout=io.StringIO(), stderr=err) == cli.EXIT_USAGE
    assert "facedesk prepare" in err.getvalue()


def test_unknown_provider_exits_2_and_lists_known(files):
    err = io.StringIO()
    status = cli.main(["--for", "nope", str(files["good"])], stdout=io.StringIO(), stderr=err)
    assert status == cli.EXIT_USAGE
    assert "unknown provider 'nope'" in err.getvalue()


def test_help_exits_0():
    out = io.StringIO()
    assert cli.main(["prepare", "--help"], stdout=out) == cli.EXIT_OK
    assert "--for" in out.getvalue()


@pytest.mark.parametrize("provider_id", sorted(registry()))
def test_every_registered_provider_prepares_through_main(provider_id, files, tmp_path):
    out = io.StringIO()
    status = cli.main(
        ["prepare", "--for", provider_id, "--out", str(tmp_path / "o"), str(files["good"])],
        stdout=out,
    )
    assert status == cli.EXIT_OK
    (record,) = lines(out)
    rules = registry()[provider_id].INFO.upload_rules
    assert rules.min_bytes <= int(str(record["bytes"])) <= rules.effective_raw_limit
