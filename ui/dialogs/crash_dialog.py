"""Shown for errors FaceDesk did not expect: what happened, the traceback, and the log path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.clipboard import copy_text


class CrashDialog(QDialog):
    def __init__(self, traceback_text: str, log_path: Path | None, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("FaceDesk hit an unexpected error")
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        where = f" The full log is in {log_path}." if log_path else ""
        intro = QLabel(
            "Something went wrong that FaceDesk did not expect. Your loaded images and sessions "
            f"are untouched; you can keep working.{where} Please send the details below to "
            "support (they contain no credentials)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.details = QPlainTextEdit(traceback_text)
        self.details.setReadOnly(True)
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy details")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: copy_text(traceback_text))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
