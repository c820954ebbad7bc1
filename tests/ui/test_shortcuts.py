"""Keyboard: open, paste, run, refresh and switch tabs from anywhere in the window."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from ui.panels.azure_face import AzureVerifyPanel
from ui.shortcuts import SHORTCUTS
from ui.widgets import image_slot

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


class MemorySettings:
    store: ClassVar[dict[str, object]] = {}

    def value(self, key: str, default: object = None) -> object:
        return self.store.get(key, default)

    def setValue(self, key: str, value: object) -> None:
        self.store[key] = value


@pytest.fixture(autouse=True)
def memory_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    MemorySettings.store = {}
    monkeypatch.setattr(image_slot, "_settings", MemorySettings)


def _clipboard_image(colour: Qt.GlobalColor) -> None:
    image = QImage(160, 120, QImage.Format.Format_RGB32)
    image.fill(colour)
    QGuiApplication.clipboard().setImage(image)


def test_shortcuts_act_on_the_current_tab_and_panel(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    from ui.main_window import MainWindow

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            actions = window.shortcuts.actions
            assert actions["open_selfie"].shortcut() == QKeySequence("Ctrl+Shift+O")
            assert actions["main_action"].shortcut() == QKeySequence("Ctrl+Return")
            order = list(window.provider_tabs)
            # Alt+N counts vendor tabs: the Compare tab in front of them is not one.
            assert window.tabs.widget(0) is window.compare_panel
            actions["tab_2"].trigger()
            assert window.tabs.currentWidget() is window.provider_tabs[order[1]]
            actions["tab_1"].trigger()
            assert window.tabs.currentWidget() is window.provider_tabs[order[0]]
            azure = window.provider_tabs["azure_face"]
            window.tabs.setCurrentWidget(azure)

            # Ctrl+V fills the first empty slot, then the next; then it asks which to replace.
            _clipboard_image(Qt.GlobalColor.darkCyan)
            actions["paste"].trigger()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert azure.images.id_photo.loaded is not None
            assert azure.images.selfie.loaded is None
            _clipboard_image(Qt.GlobalColor.darkRed)
            actions["paste"].trigger()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert azure.images.selfie.loaded is not None
            actions["paste"].trigger()
            assert "Both images are loaded" in window.presenter.shown[-1]

            # Ctrl+Return runs the shown panel's main action: Detect first, then Verify.
            verify = next(p for p in azure.panels if isinstance(p, AzureVerifyPanel))
            azure.panel_tabs.setCurrentIndex(azure.panels.index(verify))
            await window.tasks.wait_idle()
            await azure.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await azure.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            actions["main_action"].trigger()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert verify.verify_button.isEnabled(), window.presenter.shown
            assert "result yet" in verify.result.verdict.text()
            actions["main_action"].trigger()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert "person" in verify.result.verdict.text().lower()

            dialog = window.show_shortcuts()
            text = dialog.table.text()
            for key, _what in SHORTCUTS:
                assert key in text
            dialog.close()
            window.close()

    qloop.run_until_complete(scenario())


def test_the_open_dialog_starts_in_the_last_folder(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch, ui_service: Any
) -> None:
    from ui.tasks import TaskRunner
    from ui.widgets.image_pair import ImagePair

    asked: list[str] = []
    answer = str(SAMPLES / "ada-selfie.jpg")

    def fake_dialog(_parent: object, _title: str, folder: str, _filter: str) -> tuple[str, str]:
        asked.append(folder)
        return answer, ""

    monkeypatch.setattr(image_slot.QFileDialog, "getOpenFileName", fake_dialog)
    tasks = TaskRunner(on_error=lambda exc, retry: None)
    pair = ImagePair(ui_service, tasks, "veriff")
    qtbot.addWidget(pair)

    async def scenario() -> None:
        pair.selfie.open_file_dialog()
        await tasks.wait_idle()
        pair.id_photo.open_file_dialog()
        await tasks.wait_idle()

    qloop.run_until_complete(scenario())
    assert asked == ["", str(SAMPLES)]
