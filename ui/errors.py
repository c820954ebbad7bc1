"""ErrorPresenter: every error the operator can see leaves through here.

Typed `AppError`s become non-modal banners with actions (Retry, Open credentials, Copy
details); anything else is a bug and opens the crash dialog with the traceback and log path.
`sys.excepthook` and the asyncio loop's exception handler both route here (see ui/main.py).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)

from app.errors import (
    AppError,
    AuthenticationFailed,
    ConfigurationError,
    CredentialsMissing,
    ImageError,
    PermissionDenied,
    RateLimited,
)
from ui.clipboard import copy_text

log = logging.getLogger("facedesk.ui.errors")


class StatusBanner(QFrame):
    """A dismissable, non-modal message strip with up to three actions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.icon)
        layout.addWidget(self.message, 1)
        self.retry_button = QPushButton("Retry")
        self.credentials_button = QPushButton("Open credentials")
        self.copy_button = QPushButton("Copy details")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        for button in (self.retry_button, self.credentials_button, self.copy_button):
            layout.addWidget(button)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_message(self, text: str, *, severity: str = "error") -> None:
        colours = {
            "error": ("#fbe6e4", "#b3261e", "⚠"),
            "warning": ("#fff3d6", "#8a5a00", "⚠"),
            "info": ("#e6effc", "#1d4ed8", "ℹ"),
        }
        background, foreground, icon = colours[severity]
        self.setStyleSheet(
            f"#statusBanner {{ background: {background}; border: 1px solid {foreground};"
            f" border-radius: 6px; }} #statusBanner QLabel {{ color: {foreground}; }}"
        )
        self.icon.setText(icon)
        self.message.setText(text)
        self.show()


class ErrorPresenter(QObject):
    """Routes errors to the banner or the crash dialog. `shown` records messages (tests)."""

    credentials_requested = Signal(str)  # provider display name, "" when unknown

    def __init__(self, banner: StatusBanner | None, log_path: Path | None = None) -> None:
        super().__init__()
        self._banner = banner
        self._log_path = log_path
        self._retry: Callable[[], None] | None = None
        self._details = ""
        self._provider = ""
        self._failed_task: str | None = None  # the action whose failure the banner shows
        self.shown: list[str] = []
        self.crashes: list[str] = []
        if banner is not None:
            banner.retry_button.clicked.connect(self._on_retry_clicked)
            banner.copy_button.clicked.connect(self._on_copy_clicked)
            banner.credentials_button.clicked.connect(self._on_credentials_clicked)

    def task_failed(self, name: str) -> None:
        """The banner now shows this action's failure (see `task_succeeded`)."""
        self._failed_task = name

    def task_succeeded(self, name: str) -> None:
        """An action that failed earlier worked this time: its error banner no longer applies."""
        if name == self._failed_task:
            self._failed_task = None
            if self._banner is not None:
                self._banner.hide()

    def show(self, exc: BaseException, retry: Callable[[], None] | None = None) -> None:
        self._failed_task = None  # set again by task_failed when a task raised it
        if isinstance(exc, AppError):
            self.show_app_error(exc, retry)
        else:
            self.show_crash(exc)

    def info(self, text: str, *, severity: str = "info") -> None:
        self._failed_task = None  # a newer message replaced the failure
        self.shown.append(text)
        if self._banner is not None:
            self._banner.retry_button.hide()
            self._banner.credentials_button.hide()
            self._banner.copy_button.hide()
            self._banner.show_message(text, severity=severity)

    def show_app_error(self, exc: AppError, retry: Callable[[], None] | None = None) -> None:
        log.info(
            "operator shown %s (provider=%s request_id=%s)",
            type(exc).__name__,
            exc.provider,
            exc.request_id,
        )
        self.shown.append(exc.user_message)
        self._retry = retry if exc.retryable else None
        self._details = exc.details().as_text()
        self._provider = exc.provider or ""
        if self._banner is None:
            return
        wants_credentials = isinstance(
            exc, AuthenticationFailed | CredentialsMissing | PermissionDenied
        ) or (isinstance(exc, ConfigurationError) and "credential" in exc.user_message.lower())
        self._banner.retry_button.setVisible(self._retry is not None)
        self._banner.credentials_button.setVisible(wants_credentials)
        self._banner.copy_button.setVisible(True)
        severity = "warning" if isinstance(exc, ImageError | RateLimited) else "error"
        self._banner.show_message(exc.user_message, severity=severity)

    def show_crash(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("unexpected error\n%s", text)
        self.crashes.append(text)
        from ui.dialogs.crash_dialog import CrashDialog

        parent = self._banner.window() if self._banner is not None else None
        dialog = CrashDialog(text, self._log_path, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_retry_clicked(self) -> None:
        retry, self._retry = self._retry, None
        if self._banner is not None:
            self._banner.hide()
        if retry is not None:
            retry()

    def _on_copy_clicked(self) -> None:
        copy_text(self._details)

    def _on_credentials_clicked(self) -> None:
        self.credentials_requested.emit(self._provider)
