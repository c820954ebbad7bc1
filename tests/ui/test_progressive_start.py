"""The window paints its shell first, then the vendor tabs arrive without a long stall."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from app.services import VerificationService
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]

# Runs `facedesk` and, at its window's first paint, prints which heavy modules were loaded.
FIRST_PAINT_PROBE = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            heavy = ("app.services", "app.vendors", "ui.panels", "ui.provider_tab", "httpx")
            print("loaded:" + ",".join(m for m in heavy if m in sys.modules))
            print("title:" + watched.windowTitle())
            print("menus:" + ",".join(a.text() for a in watched.menuBar().actions()))
            sys.stdout.flush()
            os._exit(0)
        return False

app = QApplication([sys.argv[0]])
hook = FirstPaint()
app.installEventFilter(hook)
from ui.main import run
run([])
"""


def test_the_first_paint_comes_before_the_service_layer_and_panels_load(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "FACEDESK_CONFIG_DIR": str(tmp_path / "config"),
        "FACEDESK_DATA_DIR": str(tmp_path / "data"),
        "FACEDESK_LOG_DIR": str(tmp_path / "log"),
    }
    result = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    assert lines["loaded"] == ""
    assert lines["title"] == "FaceDesk"
    assert lines["menus"] == "&File,&View,&Tools,&Help"


def test_the_shell_waits_for_its_service_then_shows_the_tabs_and_enables_the_tools(
    qtbot: Any, ui_service: VerificationService
) -> None:
    window = MainWindow(theme="dark")
    qtbot.addWidget(window)
    tools = [a for a in window.tools_menu.actions() if not a.isSeparator()]
    assert tools
    assert not any(a.isEnabled() for a in tools)
    assert window.opening.text() == "Opening your workspace…"
    assert window.provider_tabs == {}
    assert not window.attached
    assert window.theme_actions.checkedAction().text() == "Dark"  # peeked, settings unread
    window.attach(ui_service)
    assert window.attached
    assert list(window.provider_tabs) == [info.id for info in ui_service.providers]
    assert window.tabs.count() == len(ui_service.providers) + 1  # and the Compare view
    assert all(a.isEnabled() for a in window.tools_menu.actions() if not a.isSeparator())
    assert window.theme_actions.checkedAction().text() == "Follow system"  # the settings
    window.close()


def test_tabs_are_built_one_per_event_loop_turn_and_appear_together_on_the_last_tab(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ui_service: VerificationService
) -> None:
    QSettings().setValue("window/tab", "veriff")
    window = MainWindow()
    qtbot.addWidget(window)
    seen_counts: list[int] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(0)
            seen_counts.append(window.tabs.count())

    async def scenario() -> None:
        stop = asyncio.Event()
        beat = asyncio.ensure_future(heartbeat(stop))
        await window.attach_progressively(ui_service)
        stop.set()
        await beat
        await window.tasks.wait_idle()

    try:
        qloop.run_until_complete(scenario())
        # The loop ran between the steps: once per tab at least, while no tab was shown yet.
        assert seen_counts.count(0) >= len(ui_service.providers)
        assert set(seen_counts) <= {0, window.tabs.count()}  # never a half-filled tab bar
        assert window.tabs.currentWidget() is window.provider_tabs["veriff"]
        assert window.attached
    finally:
        QSettings().remove("window/tab")
        window.close()


def test_closing_the_shell_while_the_tabs_are_built_stops_building_them(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ui_service: VerificationService
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)

    async def scenario() -> None:
        building = asyncio.ensure_future(window.attach_progressively(ui_service))
        await asyncio.sleep(0)
        window.close()
        await building
        await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
    assert not window.attached
    assert len(window.provider_tabs) < len(ui_service.providers)


def test_a_theme_picked_while_the_workspace_opens_is_kept_and_saved(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, ui_service: VerificationService
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    assert ui_service.settings.theme == "system"
    dark = next(a for a in window.theme_actions.actions() if a.data() == "dark")

    async def scenario() -> None:
        dark.trigger()  # before the settings are read
        window.attach(ui_service)
        await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
    assert window.theme_actions.checkedAction() is dark  # not reset to the saved "system"
    assert ui_service.settings.theme == "dark"
    assert ui_service._settings_store.load().theme == "dark"  # on disk
    window.close()
