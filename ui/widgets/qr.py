"""A QR code for a hosted-session URL, so the operator can hand it to a phone."""

from __future__ import annotations

import io

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget


class QrCode(QLabel):
    def __init__(self, parent: QWidget | None = None, *, size: int = 180) -> None:
        super().__init__(parent)
        self._size = size
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedSize(size, size)
        self.setToolTip("Scan with a phone to open the session")

    def set_text(self, text: str) -> None:
        if not text:
            self.clear()
            return
        code = segno.make(text, error="m")
        buffer = io.BytesIO()
        code.save(buffer, kind="png", scale=6, border=2, dark="#000000", light="#ffffff")
        pixmap = QPixmap()
        pixmap.loadFromData(buffer.getvalue())
        self.setPixmap(
            pixmap.scaled(
                self._size,
                self._size,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )
