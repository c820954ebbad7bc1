"""The frozen bundle (scripts/build-linux.sh → dist/facedesk/facedesk) passes its self-test.

Skipped unless the bundle exists; CI builds it after the test suite and runs the same command
(.ci/run). The bundle runs as a separate process under a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.store.migrations.postgres import HEAD_REVISION
from tests.pg_cluster import SUPERUSER_PASSWORD, PgCluster

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "facedesk" / "facedesk"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not BUNDLE.is_file(), reason="no frozen build: run scripts/build-linux.sh"),
]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "logs"),
        **extra,
    }


def test_frozen_self_test_exits_0(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BUNDLE), "--self-test"],
        env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "(frozen build;" in lines[0]
    assert any(line.startswith("ok    face match") for line in lines)
    assert any(line.startswith("ok    liveness session") for line in lines)
    assert lines[-1].startswith("self-test passed")


def test_frozen_version_matches_the_source(tmp_path: Path) -> None:
    from app import __version__

    result = subprocess.run(
        [str(BUNDLE), "--version"],
        env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"FaceDesk {__version__}"


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run")
def test_frozen_window_renders_on_a_real_x_server(tmp_path: Path) -> None:
    shot = tmp_path / "frozen.png"
    subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", str(BUNDLE), "--screenshot", str(shot)],
        env={k: v for k, v in _env(tmp_path).items() if k != "QT_QPA_PLATFORM"},
        capture_output=True,
        timeout=120,
        check=False,  # the exit code after --screenshot belongs to ui/main.py's shutdown path
    )
    from PIL import Image

    with Image.open(shot) as image:
        # The size is whatever Qt's saved window geometry says; only a real window matters.
        assert image.width >= 600
        assert image.height >= 400
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 20  # a drawn window, not a blank frame


def test_frozen_build_reaches_a_team_store_with_its_bundled_libpq(
    tmp_path: Path, pg_cluster: PgCluster, team_database: str
) -> None:
    """The bundle carries psycopg's compiled implementation and its own libpq: a machine
    without PostgreSQL's client library can still use a team store."""
    env = _env(
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
        FACEDESK_DATABASE_URL=pg_cluster.url(database=team_database),
        PSYCOPG_IMPL="binary",  # fail rather than fall back to a system libpq
    )
    for command, expected in (
        (["db", "upgrade"], f"schema {HEAD_REVISION}"),
        (["db", "status"], f"this FaceDesk needs {HEAD_REVISION}"),
    ):
        result = subprocess.run(
            [str(BUNDLE), *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert expected in result.stdout
        assert SUPERUSER_PASSWORD not in result.stdout + result.stderr
