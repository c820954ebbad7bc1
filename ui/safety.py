"""Operator safety in the window: the lock, the privacy view and capture exclusion.

Lock now (Ctrl+L), View › Privacy view (Ctrl+Shift+P), Tools › Lock and privacy… (idle minutes,
what unlocks, the passphrase, capture exclusion), and on Windows FaceDesk's windows kept out of
screen captures.

`MainWindow` builds one `OperatorSafety`; everything else lives here so the window's own
code stays short.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.capture import set_capture_exclusion
from app.settings import MAX_IDLE_LOCK_MINUTES, SafetySettings
from app.unlock import AccountCheck, passphrase_problem
from ui.lock_screen import POLL_MS, LockController
from ui.privacy import privacy_view

if TYPE_CHECKING:
    from ui.main_window import MainWindow

LOCK_KEY = "Ctrl+L"
PRIVACY_KEY = "Ctrl+Shift+P"


class OperatorSafety(QObject):
    def __init__(
        self,
        window: MainWindow,
        *,
        clock: Callable[[], float] = time.monotonic,
        poll_ms: int = POLL_MS,
        account: AccountCheck | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        settings = window.service.settings.safety
        self.lock = LockController(
            window,
            idle_minutes=settings.idle_lock_minutes,
            clock=clock,
            poll_ms=poll_ms,
            account=account,
        )
        self.lock_action = QAction("&Lock now", window)
        self.lock_action.setShortcut(QKeySequence(LOCK_KEY))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.triggered.connect(lambda _checked=False: self.lock.lock())
        window.addAction(self.lock_action)
        self.privacy_action = QAction("&Privacy view", window, checkable=True)
        self.privacy_action.setShortcut(QKeySequence(PRIVACY_KEY))
        self.privacy_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.privacy_action.setToolTip("Blur photos and mask ids and names, for demos")
        self.privacy_action.toggled.connect(self._on_privacy_toggled)
        window.addAction(self.privacy_action)
        self.settings_action = QAction("Lock and &privacy…", window)
        self.settings_action.triggered.connect(lambda _checked=False: self.open_settings())
        self._capture_filter: _CaptureExclusion | None = None
        if sys.platform == "win32":  # pragma: no cover - Windows only
            self._capture_filter = _CaptureExclusion(settings.exclude_from_capture)
        self.privacy_action.setChecked(settings.privacy_view)

    def add_menu_entries(self, view_menu: QMenu, tools_menu: QMenu) -> None:
        view_menu.addSeparator()
        view_menu.addAction(self.privacy_action)
        tools_menu.addSeparator()
        tools_menu.addAction(self.lock_action)
        tools_menu.addAction(self.settings_action)

    def _on_privacy_toggled(self, on: bool) -> None:
        privacy_view().set_enabled(on)
        safety = self.window.service.settings.safety
        if safety.privacy_view != on:
            self._save(replace(safety, privacy_view=on))

    def _save(self, safety: SafetySettings) -> None:
        self.window.tasks.start("settings:safety", self.window.service.set_safety(safety))

    def apply(self, safety: SafetySettings) -> None:
        """Settings chosen in the dialog: take effect now and are saved."""
        self.lock.set_idle_minutes(safety.idle_lock_minutes)
        if self._capture_filter is not None:  # pragma: no cover - Windows only
            self._capture_filter.set_exclude(safety.exclude_from_capture)
        self._save(safety)

    def open_settings(self) -> SafetyDialog:
        dialog = SafetyDialog(self, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog


class _CaptureExclusion(QObject):  # pragma: no cover - Windows only
    """Applies the display affinity to every FaceDesk window when it is first shown."""

    def __init__(self, exclude: bool) -> None:
        super().__init__()
        self.exclude = exclude
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.installEventFilter(self)
            for widget in app.topLevelWidgets():
                if widget.isVisible():
                    self._apply(widget)

    def set_exclude(self, exclude: bool) -> None:
        self.exclude = exclude
        for widget in QApplication.topLevelWidgets():
            if widget.isVisible():
                self._apply(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            self._apply(watched)
        return False

    def _apply(self, widget: QWidget) -> None:
        set_capture_exclusion(int(widget.winId()), self.exclude)


class SafetyDialog(QDialog):
    """Tools › Lock and privacy…: idle minutes, what unlocks, the passphrase, capture."""

    def __init__(self, safety: OperatorSafety, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lock and privacy")
        self._safety = safety
        service = safety.window.service
        current = service.settings.safety
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.idle_minutes = QSpinBox()
        self.idle_minutes.setRange(0, MAX_IDLE_LOCK_MINUTES)
        self.idle_minutes.setSuffix(" min")
        self.idle_minutes.setSpecialValueText("never")
        self.idle_minutes.setValue(current.idle_lock_minutes)
        form.addRow("Lock after no input for:", self.idle_minutes)
        self.unlock_with = QComboBox()
        self.unlock_with.addItem("The OS account password", "account")
        self.unlock_with.addItem("A FaceDesk passphrase", "passphrase")
        self.unlock_with.setCurrentIndex(max(0, self.unlock_with.findData(current.unlock_with)))
        form.addRow("Unlock with:", self.unlock_with)
        account = safety.lock.account()
        self.account_note = QLabel(
            f"This machine checks: {account.unlocker.prompt}."
            if account.unlocker is not None
            else f"No OS password check here, so the passphrase is used. {account.reason}"
        )
        self.account_note.setWordWrap(True)
        form.addRow(self.account_note)
        self.exclude_capture = QCheckBox("Keep FaceDesk out of screen shares and screenshots")
        self.exclude_capture.setChecked(current.exclude_from_capture)
        self.exclude_capture.setEnabled(sys.platform == "win32")
        if sys.platform != "win32":
            self.exclude_capture.setToolTip(
                "Windows only; elsewhere use View › Privacy view while sharing."
            )
        form.addRow(self.exclude_capture)
        layout.addLayout(form)

        box = QGroupBox("FaceDesk lock passphrase (kept as a salted hash in the keyring)")
        pform = QFormLayout(box)
        self.current_passphrase = QLineEdit()
        self.new_passphrase = QLineEdit()
        self.repeat_passphrase = QLineEdit()
        for edit in (self.current_passphrase, self.new_passphrase, self.repeat_passphrase):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        pform.addRow("Current:", self.current_passphrase)
        pform.addRow("New:", self.new_passphrase)
        pform.addRow("New again:", self.repeat_passphrase)
        layout.addWidget(box)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)

    def chosen(self) -> SafetySettings:
        current = self._safety.window.service.settings.safety
        return replace(
            current,
            idle_lock_minutes=self.idle_minutes.value(),
            unlock_with=str(self.unlock_with.currentData()),
            exclude_from_capture=self.exclude_capture.isChecked(),
        )

    def _on_save(self) -> None:
        new, repeated = self.new_passphrase.text(), self.repeat_passphrase.text()
        if new or repeated:
            problem = passphrase_problem(new, repeated)
            if problem is not None:
                self.status.setText(problem)
                return
        self.save_button.setEnabled(False)
        self._safety.window.tasks.start(
            "settings:lock-passphrase", self._save(new), cancellable=False
        )

    async def _save(self, new: str) -> None:
        passphrase = self._safety.window.service.lock_passphrase()
        try:
            if new:
                current = self.current_passphrase.text()
                if await asyncio.to_thread(passphrase.is_set) and not await asyncio.to_thread(
                    passphrase.check, current
                ):
                    self.status.setText(
                        "The current passphrase is not right: type it to choose a new one."
                    )
                    return
                await asyncio.to_thread(passphrase.set, new)
            self._safety.apply(self.chosen())
        finally:
            for edit in (self.current_passphrase, self.new_passphrase, self.repeat_passphrase):
                edit.clear()
            self.save_button.setEnabled(True)
        self.accept()
