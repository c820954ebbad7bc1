"""A read-only value with a Copy button; secret values stay masked until "Show" is pressed.

Copies go through `ui.clipboard.copy_text` with the field's role: tokens and hosted URLs are
concealed from clipboard managers and wiped later, ids are copied plainly. In the privacy view
the field shows `••••1a2b` (the value stays intact for Copy).
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.clipboard import ClipRole
from app.privacy import mask_identifier
from ui.clipboard import copy_text
from ui.privacy import privacy_view


class CopyField(QWidget):
    def __init__(
        self,
        value: str = "",
        *,
        secret: bool = False,
        role: ClipRole | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._value = value
        self.role = role if role is not None else (ClipRole.AUTH_TOKEN if secret else ClipRole.ID)
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
        privacy_view().changed.connect(self._show_value)
        self._show_value()

    def set_value(self, value: str) -> None:
        self._value = value
        self._show_value()
        self.copy_button.setEnabled(bool(value))  # nothing to copy is not a copy
        if self._secret:
            self.show_button.setChecked(False)

    def value(self) -> str:
        return self._value

    def _show_value(self, *_args: object) -> None:
        masked = privacy_view().enabled and bool(self._value)
        self.edit.setText(mask_identifier(self._value) if masked else self._value)
        self.edit.setCursorPosition(0)  # long URLs and ids read from their start
        self.show_button.setEnabled(not masked)

    def _on_show_toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_button.setText("Hide" if shown else "Show")

    def _on_copy_clicked(self) -> None:
        copy_text(self._value, self.role)
