"""`facedesk batch` usage rules: what it refuses before sending anything, and its help."""

from __future__ import annotations

import io
from pathlib import Path

from app.cli import batch as cli
from app.paths import AppPaths
from tests.batch_images import write_people


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_help_names_the_environment_variables_of_each_job() -> None:
    status, out, _ = run("search", "--help")
    assert status == 0
    assert "--insert-if-not-found" in out
    assert "FACEDESK_UQUDO_CLIENT_SECRET" in out
    assert "FACEDESK_AZURE_FACE_SUBSCRIPTION_KEY" in out
    status, out, _ = run("sessions", "--help")
    assert "FACEDESK_VERIFF_" in out
    assert "IDS.txt" in out


def test_a_case_that_does_not_exist_is_refused_with_how_to_create_it(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    write_people(tmp_path / "in", range(2))
    out = tmp_path / "rows.csv"
    status, _, err = run(
        "search", "--vendor", "uqudo", "--case", "CASE-9", "--out", str(out), str(tmp_path / "in")
    )
    assert status == 2
    assert "facedesk case new CASE-9" in err
    assert not out.exists()


def test_usage_errors_exit_2_before_anything_is_sent(app_paths: AppPaths, tmp_path: Path) -> None:
    write_people(tmp_path / "in", range(1))
    folder = str(tmp_path / "in")
    out = str(tmp_path / "rows.csv")
    status, _, err = run("search", "--vendor", "azure_face", "--out", out, folder)
    assert (status, "--group" in err) == (2, True)
    status, _, err = run(
        "search", "--vendor", "uqudo", "--connection", "glair=env", "--out", out, folder
    )
    assert (status, "this job uses uqudo" in err) == (2, True)
    status, _, err = run("search", "--vendor", "uqudo", "--out", out, str(tmp_path / "missing"))
    assert (status, "is not a folder" in err) == (2, True)
    status, _, err = run("search", "--vendor", "uqudo", "--concurrency", "0", "--out", out, folder)
    assert status == 2
    status, _, err = run("match", "--vendor", "veriff", "--reference", "x", "--out", out, folder)
    assert status == 2
    status, _, err = run(
        "search", "--vendor", "uqudo", "--connection", "uqudo=env", "--out", out, folder
    )
    assert status == 2
    assert "FACEDESK_UQUDO_CLIENT_ID" in err


def test_a_job_on_the_sandbox_writes_json_lines(app_paths: AppPaths, tmp_path: Path) -> None:
    import json

    write_people(tmp_path / "in", range(3))
    out = tmp_path / "rows.jsonl"
    status, _, err = run(
        "search",
        "--vendor",
        "uqudo",
        "--insert-if-not-found",
        "--json",
        "--out",
        str(out),
        str(tmp_path / "in"),
    )
    assert status == 0, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [tuple(r) for r in records] == [cli_columns()] * 3
    assert [r["outcome"] for r in records] == ["inserted"] * 3
    assert "3 of 3 inputs done" in err


def cli_columns() -> tuple[str, ...]:
    from app.workflows.batch import COLUMNS

    return COLUMNS
