"""The one way FaceDesk puts text on the clipboard.

Bearer material (`app.clipboard.is_bearer`) goes with the formats that ask clipboard managers
and histories to skip it, and is wiped `CONCEAL_SECONDS` later if the clipboard still holds it;
anything else (ids, details) is copied as plain text and stays.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QMimeData, QObject, QTimer
from PySide6.QtGui import QGuiApplication

from app.clipboard import CONCEAL_SECONDS, ClipRole, concealed_formats, is_bearer


class _Concealer(QObject):
    """Remembers the last concealed copy and wipes it when its time is up."""

    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.wipe)
        self.pending: str | None = None

    def hold(self, text: str, seconds: float) -> None:
        self.pending = text
        self.timer.start(max(0, round(seconds * 1000)))

    def wipe(self) -> None:
        """Clear the clipboard only if it still holds our copy: a later copy is the user's."""
        text, self.pending = self.pending, None
        self.timer.stop()
        if text is None:
            return
        clipboard = QGuiApplication.clipboard()
        if clipboard.text() == text:
            clipboard.clear()


_concealer: _Concealer | None = None
clear_after_seconds = CONCEAL_SECONDS  # tests shorten it


def _the_concealer() -> _Concealer:
    global _concealer
    if _concealer is None:
        _concealer = _Concealer()
    return _concealer


def copy_text(text: str, role: ClipRole = ClipRole.TEXT) -> bool:
    """Copy `text`; True when it was treated as bearer material (concealed, wiped later)."""
    clipboard = QGuiApplication.clipboard()
    if not is_bearer(text, role):
        clipboard.setText(text)
        return False
    mime = QMimeData()
    mime.setText(text)
    for name, value in concealed_formats(sys.platform).items():
        mime.setData(name, value)
    clipboard.setMimeData(mime)
    _the_concealer().hold(text, clear_after_seconds)
    return True


def wipe_now() -> None:
    """Wipe a pending concealed copy at once (on quit: nothing bearer outlives the window)."""
    if _concealer is not None:
        _concealer.wipe()
