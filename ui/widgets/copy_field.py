"""A read-only value with a Copy button; secret values stay masked until "Show" is pressed."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget


class CopyField(QWidget):
    def __init__(
        self, value: str = "", *, secret: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(value)
        self.edit.setReadOnly(True)
        self.edit.setCursorPosition(0)
        layout.addWidget(self.edit, 1)
        self._secret = secret
        self.show_button = QPushButton("Show")
        self.show_button.setCheckable(True)
        self.show_button.setVisible(secret)
        self.show_button.toggled.connect(self._on_show_toggled)
        layout.addWidget(self.show_button)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        layout.addWidget(self.copy_button)
        self.copy_button.setEnabled(bool(value))
        if secret:
            self.edit.setEchoMode(QLineEdit.EchoMode.Password)

    def set_value(self, value: str) -> None:
        self.edit.setText(value)
        self.edit.setCursorPosition(0)  # long URLs and ids read from their start
        self.copy_button.setEnabled(bool(value))  # nothing to copy is not a copy
        if self._secret:
            self.show_button.setChecked(False)

    def value(self) -> str:
        return self.edit.text()

    def _on_show_toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_button.setText("Hide" if shown else "Show")

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.edit.text())
