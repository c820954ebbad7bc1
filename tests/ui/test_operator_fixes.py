"""What an operator hit: connection dialog, Azure device id, theme, status bar wording."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QGroupBox, QLabel

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.vendors.azure_face.types import SessionKind
from tests.ui.conftest import settle
from ui.main_window import MainWindow
from ui.panels.azure_face import AzureSessionsPanel
from ui.tasks import readable_task_name
from ui.theme import apply_theme


def test_delete_on_a_new_connection_is_not_offered_and_cannot_crash(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            dialog = window.provider_tabs["azure_face"].open_connection_dialog(new=True)
            assert not dialog.delete_button.isVisibleTo(dialog)
            assert not dialog.delete_button.isEnabled()
            dialog._on_delete_clicked()  # even if reached, a new connection just closes
            await window.tasks.wait_idle()
            assert window.presenter.crashes == []
            assert not dialog.isVisible()
            # Without a keyring, nothing in the dialog claims the keyring keeps credentials.
            assert not service.secrets_persistent
            texts = " ".join(
                [label.text() for label in dialog.findChildren(QLabel)]
                + [box.title() for box in dialog.findChildren(QGroupBox)]
            )
            assert "kept in memory" in texts
            assert "stored in the system keyring" not in texts
            window.close()

    qloop.run_until_complete(scenario())


def test_azure_create_session_on_the_untouched_form_makes_a_device_id(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, panel_context_factory: Any, presenter: Any
) -> None:
    ctx = panel_context_factory("azure_face")
    panel = AzureSessionsPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.device_id.text() == ""

    async def scenario() -> None:
        panel.create_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert presenter.shown[-1].startswith("Session created"), presenter.shown
    assert len(panel.device_id.text()) == 36  # a UUID the operator can see and reuse
    assert panel.current_kind is SessionKind.LIVENESS


def test_theme_switch_recolours_the_sandbox_note(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    palette, style = QPalette(app.palette()), app.style().name()

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            await window.tasks.wait_idle()
            note = window.provider_tabs["veriff"].connection_state
            assert "Sandbox" in note.text()
            assert note.foregroundRole() is QPalette.ColorRole.Link
            assert note.styleSheet() == ""  # a style sheet would keep the old theme's colour
            apply_theme(app, "dark")
            app.processEvents()  # palette changes reach widgets as events
            dark = note.palette().color(QPalette.ColorRole.Link)
            apply_theme(app, "light")
            app.processEvents()
            light = note.palette().color(QPalette.ColorRole.Link)
            assert dark == QColor(120, 170, 255)
            assert light != dark
            window.close()

    try:
        qloop.run_until_complete(scenario())
    finally:  # leave the application as other tests expect it
        app.setStyle(style)
        app.setPalette(palette)


def test_the_status_bar_never_shows_internal_task_names() -> None:
    vendors = {"uqudo": "uqudo", "azure_face": "Azure AI Face"}
    assert readable_task_name("uqudo:face_match", vendors) == "uqudo: Face match"
    assert readable_task_name("azure_face:sessions:list", vendors) == (
        "Azure AI Face: Sessions list"
    )
    assert readable_task_name("settings:theme", vendors) == "Settings theme"
