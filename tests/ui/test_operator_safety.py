"""Idle lock, concealed clipboard and privacy view in the real window on the sandbox."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit

from app.clipboard import ClipRole, concealed_formats
from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.unlock import AccountCheck
from ui import clipboard as ui_clipboard
from ui.main_window import MainWindow
from ui.privacy import _PrivacyBlur, privacy_view
from ui.safety import OperatorSafety
from ui.widgets.copy_field import CopyField


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _until(condition: Any, limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the conditions are widget states
            await asyncio.sleep(0.01)


def test_idle_lock_hides_the_window_keeps_tasks_running_and_unlocks_by_passphrase(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            window.show()
            clock = FakeClock()
            window.safety = OperatorSafety(
                window, clock=clock, poll_ms=10, account=AccountCheck(None, "test: no PAM")
            )
            lock = window.safety.lock
            await asyncio.to_thread(service.lock_passphrase().set, "correct horse battery")
            tab = next(iter(window.provider_tabs.values()))
            dialog = tab.open_connection_dialog(new=True)
            secret = next(
                e
                for e in dialog.credential_edits.values()
                if e.echoMode() == QLineEdit.EchoMode.Password
            )
            secret.setText("half-typed-secret")
            finished = asyncio.Event()

            async def long_operation() -> None:
                await asyncio.sleep(0.3)
                finished.set()

            window.tasks.start("demo:long", long_operation())
            clock.now += 4 * 60
            await asyncio.sleep(0.05)
            assert not lock.is_locked  # four of five minutes
            clock.now += 60
            await _until(lambda: lock.is_locked)
            assert lock.screen.isVisible()
            assert lock.screen.geometry() == window.rect()
            assert not dialog.isVisible()
            assert secret.text() == ""
            assert not window.menuBar().isEnabled()
            assert "locked" in window.windowTitle()
            await _until(lambda: lock.screen.unlock_button.isEnabled())
            assert "passphrase" in lock.screen.prompt.text()
            await asyncio.wait_for(finished.wait(), 10)  # the task ran on while locked
            lock.screen.secret.setText("wrong passphrase")
            lock.screen.unlock_button.click()
            await _until(lambda: "not right" in lock.screen.message.text())
            assert lock.is_locked
            lock.screen.secret.setText("correct horse battery")
            lock.screen.unlock_button.click()
            await _until(lambda: not lock.is_locked)
            assert not lock.screen.isVisible()
            assert dialog.isVisible()
            assert window.menuBar().isEnabled()
            dialog.reject()
            # Ctrl+L locks on demand.
            window.safety.lock_action.trigger()
            assert lock.is_locked
            await window.tasks.wait_idle()
            lock.screen.secret.setText("correct horse battery")
            lock.screen.unlock_button.click()
            await _until(lambda: not lock.is_locked)
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())


def test_bearer_copies_are_concealed_and_wiped_and_ids_are_not(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ui_clipboard, "clear_after_seconds", 0.05)
    clipboard = QGuiApplication.clipboard()

    async def scenario() -> None:
        token = CopyField("ZXhhbXBsZS1hdXRoLXRva2VuLXZhbHVl", secret=True)
        session_id = CopyField("3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b")
        url = CopyField("https://h.example/hosted/passive/abc", role=ClipRole.SESSION_URL)
        for field in (token, session_id, url):
            qtbot.addWidget(field)
        token.copy_button.click()
        mime = clipboard.mimeData()
        assert mime.text() == token.value()
        for name, value in concealed_formats(sys.platform).items():
            assert bytes(mime.data(name).data()) == value
        await _until(lambda: clipboard.text() == "")
        session_id.copy_button.click()
        assert not clipboard.mimeData().hasFormat("x-kde-passwordManagerHint")
        await asyncio.sleep(0.2)
        assert clipboard.text() == session_id.value()  # a plain id stays
        url.copy_button.click()
        clipboard.setText("something the operator copied since")
        await asyncio.sleep(0.2)
        assert clipboard.text() == "something the operator copied since"  # not ours: kept

    qloop.run_until_complete(scenario())


def test_privacy_view_masks_ids_and_blurs_photos(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            window.show()
            field = CopyField("3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d1a2b")
            window.statusBar().addWidget(field)
            slot = next(iter(window.provider_tabs.values())).images.id_photo
            try:
                window.safety.privacy_action.trigger()
                assert privacy_view().enabled
                assert field.edit.text() == "••••1a2b"
                assert field.value().startswith("3f2c")  # Copy still has the real id
                assert isinstance(slot.preview.graphicsEffect(), _PrivacyBlur)
                # The file name (often the person's name) is blurred with the photo.
                assert isinstance(slot.original_badge.graphicsEffect(), _PrivacyBlur)
                await window.tasks.wait_idle()
                assert service.settings.safety.privacy_view
            finally:
                window.safety.privacy_action.trigger()
            assert field.edit.text().startswith("3f2c")
            assert slot.preview.graphicsEffect() is None
            assert slot.original_badge.graphicsEffect() is None
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
