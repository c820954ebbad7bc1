"""The lock screen: covers the main window and hides its dialogs until the operator unlocks.

`LockController` feeds input events to `app.workflows.lock.IdleLock`, polls it on a timer, and on
lock: clears every half-typed credential (editable password fields), hides FaceDesk's other
windows (dialogs, the zoom view), disables the menus and the window's shortcuts, and raises the
`LockScreen` over everything. Tasks keep running underneath; the lock screen says how many.

Unlocking checks the OS account password (`app.unlock.account_check`) where the platform has a
check and the settings ask for it, else the FaceDesk passphrase. With no passphrase set yet, the
lock screen asks for a new one (twice) and that unlocks: until then the lock only hides the
screen, which the Lock and privacy settings say.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.unlock import AccountCheck, Unlocker, account_check, passphrase_problem
from app.workflows.lock import IdleLock, LockReason

if TYPE_CHECKING:
    from ui.main_window import MainWindow

INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
POLL_MS = 1000


class LockScreen(QFrame):
    """Opaque cover over the whole window: a title, what unlocks, one or two fields, a button."""

    submitted = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QVBoxLayout()
        self.title = QLabel(f"<h1>{APP_NAME} is locked</h1>")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt = QLabel()
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setWordWrap(True)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setMinimumWidth(320)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setPlaceholderText("the same passphrase again")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.running = QLabel()
        self.running.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.prompt, self.secret, self.repeat):
            box.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.unlock_button)
        button_row.addStretch(1)
        box.addLayout(button_row)
        box.addWidget(self.message)
        box.addWidget(self.running)
        outer.addLayout(box)
        outer.addStretch(2)
        self.secret.returnPressed.connect(self.submitted)
        self.repeat.returnPressed.connect(self.submitted)
        self.unlock_button.clicked.connect(self.submitted)
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.cover()
        return False

    def cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()

    def ask(self, prompt: str, *, choosing: bool) -> None:
        self.prompt.setText(prompt)
        self.secret.setPlaceholderText("new passphrase" if choosing else "")
        self.repeat.setVisible(choosing)
        self.unlock_button.setText("Set passphrase and unlock" if choosing else "Unlock")
        self.secret.clear()
        self.repeat.clear()
        self.message.clear()


class LockController(QObject):
    """Owns the idle lock of one main window (see the module docstring)."""

    locked = Signal()
    unlocked = Signal()

    def __init__(
        self,
        window: MainWindow,
        *,
        idle_minutes: int,
        clock: Callable[[], float] = time.monotonic,
        poll_ms: int = POLL_MS,
        account: AccountCheck | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.idle = IdleLock(idle_minutes * 60, clock)
        self._account = account
        self._unlocker: Unlocker | None = None
        self._choosing = False
        self._hidden_windows: list[QWidget] = []
        self._disabled_actions: list[QAction] = []
        self._title = ""
        self.screen = LockScreen(window)
        self.screen.submitted.connect(self._on_submitted)
        window.tasks.changed.connect(self._show_running)
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.check_idle)
        self.timer.start()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.installEventFilter(self)

    @property
    def is_locked(self) -> bool:
        return self.idle.locked

    def set_idle_minutes(self, minutes: int) -> None:
        self.idle.set_timeout(minutes * 60)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self.idle.activity()
        return False

    def check_idle(self) -> None:
        if self.idle.poll():
            self._engage()

    def lock(self) -> None:
        if self.idle.lock(LockReason.MANUAL):
            self._engage()

    def account(self) -> AccountCheck:
        if self._account is None:
            self._account = account_check()
        return self._account

    # --- locking -------------------------------------------------------------------------------

    def _engage(self) -> None:
        window = self.window
        self._clear_credentials()
        self._hidden_windows = []
        for widget in QApplication.topLevelWidgets():
            if widget is window or not widget.isVisible() or not widget.isWindow():
                continue
            widget.hide()
            if not isinstance(widget, QMenu):  # an open menu is not reopened
                self._hidden_windows.append(widget)
        self._disabled_actions = [a for a in window.actions() if a.isEnabled()]
        for action in self._disabled_actions:
            action.setEnabled(False)
        window.menuBar().setEnabled(False)
        central = window.centralWidget()
        if central is not None:
            central.setEnabled(False)
        self._title = window.windowTitle()
        window.setWindowTitle(f"{APP_NAME} (locked)")
        self.screen.ask("Checking what unlocks FaceDesk…", choosing=False)
        self.screen.unlock_button.setEnabled(False)
        self.screen.cover()
        self.screen.show()
        self.screen.secret.setFocus()
        self._show_running()
        self.locked.emit()
        window.tasks.start("lock:prepare", self._prepare_prompt(), cancellable=False)

    def _clear_credentials(self) -> None:
        """Empty every half-typed password field FaceDesk shows (never a read-only value)."""
        for top in QApplication.topLevelWidgets():
            for edit in top.findChildren(QLineEdit):
                if self.screen.isAncestorOf(edit):
                    continue
                if edit.echoMode() != QLineEdit.EchoMode.Normal and not edit.isReadOnly():
                    edit.clear()

    async def _prepare_prompt(self) -> None:
        account = self.account()
        settings = self.window.service.settings.safety
        if settings.unlock_with == "account" and account.unlocker is not None:
            self._unlocker, self._choosing = account.unlocker, False
            prompt = account.unlocker.prompt
        else:
            passphrase = self.window.service.lock_passphrase()
            self._unlocker = passphrase
            self._choosing = not await asyncio.to_thread(passphrase.is_set)
            prompt = (
                "No FaceDesk lock passphrase is set yet: choose one (at least 8 characters) to "
                "unlock. It will be asked for every time FaceDesk is locked."
                if self._choosing
                else "FaceDesk lock passphrase"
            )
            if settings.unlock_with == "account" and account.reason:
                prompt += f"\n({account.reason})"
        if self.idle.locked:
            self.screen.ask(prompt, choosing=self._choosing)
            self.screen.unlock_button.setEnabled(True)
            self.screen.secret.setFocus()

    # --- unlocking -----------------------------------------------------------------------------

    def _on_submitted(self) -> None:
        if not self.idle.locked or self._unlocker is None:
            return
        wait = self.idle.retry_in()
        if wait > 0:
            self.screen.message.setText(f"Too many wrong attempts: try again in {wait:.0f} s.")
            return
        secret, repeated = self.screen.secret.text(), self.screen.repeat.text()
        self.screen.secret.clear()
        self.screen.repeat.clear()
        if self._choosing:
            problem = passphrase_problem(secret, repeated)
            if problem is not None:
                self.screen.message.setText(problem)
                return
        self.screen.unlock_button.setEnabled(False)
        self.screen.message.setText("Checking…")
        self.window.tasks.start("lock:unlock", self._check(secret), cancellable=False)

    async def _check(self, secret: str) -> None:
        unlocker = self._unlocker
        assert unlocker is not None
        try:
            if self._choosing:
                passphrase = self.window.service.lock_passphrase()
                await asyncio.to_thread(passphrase.set, secret)
                ok = True
            else:
                ok = await asyncio.to_thread(unlocker.check, secret)
        finally:
            self.screen.unlock_button.setEnabled(True)
        if ok:
            self._release()
            return
        delay = self.idle.failed()
        self.screen.message.setText(
            "That is not right. Try again."
            if delay == 0
            else f"That is not right. Try again in {delay:.0f} s."
        )

    def _release(self) -> None:
        self.idle.unlocked()
        self.screen.hide()
        window = self.window
        window.setWindowTitle(self._title)
        window.menuBar().setEnabled(True)
        central = window.centralWidget()
        if central is not None:
            central.setEnabled(True)
        for action in self._disabled_actions:
            action.setEnabled(True)
        self._disabled_actions = []
        for widget in self._hidden_windows:
            try:
                widget.show()
            except RuntimeError:  # closed and deleted while locked
                continue
        self._hidden_windows = []
        self.unlocked.emit()

    def _show_running(self) -> None:
        if not self.idle.locked:
            return
        count = sum(1 for t in self.window.tasks.running() if not t.name.startswith("lock:"))
        self.screen.running.setText(
            ""
            if not count
            else (
                "1 operation is still running."
                if count == 1
                else f"{count} operations are running."
            )
        )
