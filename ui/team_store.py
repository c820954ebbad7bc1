"""The window's side of a team store: its banner, live refresh, and Settings › Team store.

- When the store cannot be reached (an action failed with StoreUnavailable, or the check after
  the first paint did), a banner says so and that nothing is recorded or done until it is back.
  Meanwhile the store is tried again every few seconds, off the GUI thread; the banner goes
  when it answers. That retry runs only during an outage.
- Other workstations' changes arrive by LISTEN/NOTIFY (`VerificationService.watch_store`) on a
  worker thread; `changed` re-emits them on the GUI thread, and open views refresh.
- The dialog saves the team store's URL; a password typed into it goes to the keyring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import AppError
from app.store import ChangeSubscription, StoreChange, StoreUnavailable
from ui.errors import StatusBanner

if TYPE_CHECKING:
    from app.services import VerificationService
    from ui.tasks import TaskRunner

RETRY_MILLISECONDS = 3000
COALESCE_MILLISECONDS = 300
OUTAGE_TEXT = (
    "The team store cannot be reached ({where}). Nothing is recorded and no audited action is "
    "done until it is back; FaceDesk keeps trying."
)


class TeamStoreWatch(QObject):
    """Owns the outage banner and the change feed of one window."""

    changed = Signal(object)  # StoreChange, on the GUI thread
    _arrived = Signal(object)  # emitted from the listener thread, queued to this object's thread
    reachable_again = Signal()

    def __init__(
        self, service: VerificationService, tasks: TaskRunner, banner: StatusBanner
    ) -> None:
        super().__init__()
        self._service = service
        self._tasks = tasks
        self.banner = banner
        self.banner.retry_button.hide()
        self.banner.copy_button.hide()
        self.banner.credentials_button.hide()
        self.banner.hide()
        self.outage = False
        self._subscription: ChangeSubscription | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(RETRY_MILLISECONDS)
        self._timer.timeout.connect(self.check)
        # Changes are passed on at most every COALESCE_MILLISECONDS, each distinct one once: a
        # batch run on another workstation must not reload this one's views a hundred times.
        self._pending: list[StoreChange] = []
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MILLISECONDS)
        self._coalesce.timeout.connect(self._flush)
        self._arrived.connect(self._collect)

    def start(self) -> None:
        """Check the store once and, for a team store, start listening for changes."""
        if not self._service.store_is_shared:
            return
        self.check()
        self._subscription = self._service.watch_store(self._arrived.emit)

    def stop(self) -> None:
        """End the retry and the change feed; nothing is passed on after this returns."""
        self._timer.stop()
        if self._subscription is not None:
            self._subscription.stop()
            self._subscription = None
        self._coalesce.stop()
        self._pending.clear()

    def _collect(self, change: StoreChange) -> None:
        if self._subscription is None:  # queued before `stop`, delivered after it
            return
        if change not in self._pending:
            self._pending.append(change)
        if not self._coalesce.isActive():
            self._coalesce.start()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for change in pending:
            self.changed.emit(change)

    def on_error(self, exc: BaseException) -> None:
        """Every error the window shows passes here; an unreachable store starts the outage."""
        if isinstance(exc, StoreUnavailable):
            self._begin_outage()

    def check(self) -> None:
        self._tasks.start("team-store:check", self._check(), label="Checking the team store")

    async def _check(self) -> None:
        try:
            await self._service.check_store()
        except StoreUnavailable:
            self._begin_outage()
            return
        except AppError as exc:  # e.g. the schema needs `facedesk db upgrade`: say so, stay
            self._timer.stop()
            self.banner.show_message(exc.user_message, severity="error")
            return
        if self.outage:
            self.outage = False
            self._timer.stop()
            self.banner.hide()
            self.reachable_again.emit()
            # What others did while this one was away: views reload once.
            self.changed.emit(StoreChange("audit"))

    def _begin_outage(self) -> None:
        self.outage = True
        self.banner.show_message(
            OUTAGE_TEXT.format(where=self._service.store_description()), severity="error"
        )
        if not self._timer.isActive():
            self._timer.start()


class TeamStoreDialog(QDialog):
    """Settings › Team store: the PostgreSQL URL this workstation uses from its next start."""

    def __init__(
        self, service: VerificationService, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self.setWindowTitle("Team store")
        layout = QVBoxLayout(self)
        self.current = QLabel(f"Now: {service.store_description()}.")
        self.current.setWordWrap(True)
        layout.addWidget(self.current)
        explain = QLabel(
            "A review team shares cases, the session registry and the audit trail in "
            "PostgreSQL. Enter postgresql://LOGIN@HOST:PORT/DATABASE (your own database login). "
            "A password typed into the URL is kept in the keyring, never in the settings file; "
            "a pgpass file works too. Leave it empty to use this workstation's own store. "
            "FACEDESK_DATABASE_URL, when set, overrides this. Takes effect at the next start."
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self.url_edit = QLineEdit(service.settings.team_store_url)
        self.url_edit.setPlaceholderText("postgresql://alice@db.example.org:5432/facedesk")
        layout.addWidget(self.url_edit)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 0)

    def save(self) -> None:
        self._tasks.start("team-store:save", self._save(), label="Saving the team store")

    async def _save(self) -> None:
        try:
            saved = await self._service.set_team_store_url(self.url_edit.text())
        except AppError as exc:
            self.message.setText(exc.user_message)
            return
        self.url_edit.setText(saved)
        self.message.setText(
            "Saved. FaceDesk uses "
            + (f"the team store {saved}" if saved else "this workstation's own store")
            + " from its next start."
        )
