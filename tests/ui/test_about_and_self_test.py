"""The About dialog (versions, copyable support text) and `facedesk --self-test` from source."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

from app import __version__
from app.errors import ProviderUnavailable
from app.paths import AppPaths
from app.services import VerificationService
from app.settings import ConnectionProfile
from ui import self_test
from ui.dialogs.about_dialog import AboutDialog
from ui.icons import app_icon, resources_dir
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def test_about_lists_versions_keyring_providers_and_folders(
    ui_service: VerificationService, app_paths: AppPaths, qtbot: Any
) -> None:
    dialog = AboutDialog(ui_service, app_paths)
    qtbot.addWidget(dialog)
    rows = dict(dialog.rows)
    assert rows["FaceDesk"] == f"{__version__} (from source)"
    assert rows["Qt"].startswith(qVersion())
    assert rows["PySide6"] == pyside_version
    assert rows["Python"].startswith(sys.version.split()[0])
    assert rows["Keyring"] == "none usable: credentials are kept in memory for this run only"
    for info in ui_service.providers:
        assert rows[info.display_name].startswith("Sandbox, ")
    assert rows["GLAIR Vision"] == "Sandbox, API v1"
    assert rows["Config folder"] == str(app_paths.config_dir)
    assert rows["Log folder"] == str(app_paths.log_dir)
    assert dialog.value_labels["Data folder"].text() == str(app_paths.data_dir)


def test_copy_puts_the_support_text_on_the_clipboard_without_secrets(
    ui_service: VerificationService, app_paths: AppPaths, qtbot: Any
) -> None:
    dialog = AboutDialog(ui_service, app_paths)
    qtbot.addWidget(dialog)
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied == dialog.text
    assert copied.startswith("FaceDesk support information\n")
    version_line = copied.splitlines()[1]
    assert version_line.split() == ["FaceDesk:", __version__, "(from", "source)"]
    assert dialog.status.text() == "Copied."
    for info in ui_service.providers:
        for secret in info.sandbox_credentials.values():
            if len(secret) > 8:  # short values such as "sandbox" are ordinary words
                assert secret not in copied


def test_about_shows_the_active_profiles_api_version(
    qloop: asyncio.AbstractEventLoop, ui_service: VerificationService, qtbot: Any
) -> None:
    async def scenario() -> None:
        await ui_service.save_profile(
            ConnectionProfile("glair", "Production", {"base_url": "https://api.vision.glair.ai"})
        )
        await ui_service.set_active_connection("glair", "Production")

    qloop.run_until_complete(scenario())
    dialog = AboutDialog(ui_service)
    qtbot.addWidget(dialog)
    assert dict(dialog.rows)["GLAIR Vision"] == "profile “Production”, API v1"


def test_main_window_has_the_icon_and_an_about_entry(
    ui_service: VerificationService, qtbot: Any
) -> None:
    window = MainWindow(ui_service)
    qtbot.addWidget(window)
    assert not window.windowIcon().isNull()
    assert (resources_dir() / "icons" / "facedesk.svg").is_file()
    assert {s.width() for s in app_icon().availableSizes()} >= {16, 32, 48, 256}
    actions = [a for a in window.help_menu.actions() if a.text() == "&About FaceDesk"]
    assert len(actions) == 1
    dialog = window.show_about()
    assert dialog.isVisible()
    dialog.close()


def test_self_test_checks_pass_against_the_sandbox(
    qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    seen: list[self_test.Outcome] = []
    outcomes = qloop.run_until_complete(self_test.run_checks(app_paths, seen.append))
    assert seen == outcomes
    by_name = {o.name: o for o in outcomes}
    assert list(by_name) == [
        "resources",
        "image formats",
        "main window",
        "image pipeline",
        "face match",
        "liveness session",
        "keyring",
    ]
    # The test suite forces the null keyring: a warning, never a failure.
    assert by_name["keyring"].status == "warn"
    assert all(o.status == "ok" for o in outcomes if o.name != "keyring"), outcomes
    assert "Match" in by_name["face match"].detail
    assert "FINISHED" in by_name["liveness session"].detail
    code, text = self_test.summary(outcomes, 1.0)
    assert code == 0
    assert text.startswith("self-test passed: 7 checks, 1 warning")


def test_a_failing_check_is_reported_and_the_others_still_run(
    qloop: asyncio.AbstractEventLoop,
) -> None:
    async def vendor_down() -> str:
        raise ProviderUnavailable("GLAIR is unreachable. Try again later.")

    def broken() -> str:
        raise KeyError("boom")

    async def scenario() -> list[self_test.Outcome]:
        return [
            await self_test._run_one("face match", vendor_down),
            await self_test._run_one("resources", broken),
            await self_test._run_one("keyring", lambda: "fine"),
        ]

    outcomes = qloop.run_until_complete(scenario())
    assert [o.status for o in outcomes] == ["FAIL", "FAIL", "ok"]
    assert outcomes[0].line.startswith("FAIL  face match")
    assert "ProviderUnavailable: GLAIR is unreachable" in outcomes[0].detail
    assert outcomes[1].detail == "KeyError: 'boom'"
    code, text = self_test.summary(outcomes, 2.5)
    assert code == 1
    assert text == "self-test FAILED (face match, resources) after 2.5 s"


def test_synthetic_photos_are_distinct_colour_pngs(qtbot: Any) -> None:
    first, again, other = (self_test.synthetic_photo(s) for s in (1, 1, 2))
    assert first.startswith(b"\x89PNG")
    assert first == again
    assert first != other


def test_self_test_command_from_source_exits_0_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        # The self-test must ignore these and use its own temporary folders.
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "logs"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "ui", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"FaceDesk {__version__} self-test (from source")
    assert any(line.startswith("ok    face match") for line in lines)
    assert any(line.startswith("ok    liveness session") for line in lines)
    assert lines[-1].startswith("self-test passed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []  # its scratch folder was removed


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_mentions_self_test(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ui", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "--self-test" in result.stdout
