"""ResultCard: how an operator reads a vendor's answer.

The decision first, then the vendor's score on its own scale with what it means, then the
details (ids copyable), then the raw JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import CheckResult, Verdict
from ui.theme import VERDICT_COLOURS
from ui.widgets.copy_field import CopyField

VERDICT_WORDS = {
    Verdict.POSITIVE: "✔",
    Verdict.NEGATIVE: "✖",
    Verdict.INCONCLUSIVE: "?",
    Verdict.PENDING: "…",
}


# Called with (card, result) after every shown result: the window attaches results to the
# active case from here, so no vendor panel needs to know about cases.
RESULT_LISTENERS: list[Callable[[QWidget, CheckResult], None]] = []


class ResultCard(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.verdict = QLabel()
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.verdict)
        self.score = QLabel()
        self.score.setWordWrap(True)
        layout.addWidget(self.score)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        layout.addWidget(self.reasons)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5a00;")
        layout.addWidget(self.warnings)
        self._details_host = QWidget()
        self.details = QFormLayout(self._details_host)
        self.details.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._details_host)
        raw_row = QHBoxLayout()
        self.raw_toggle = QToolButton()
        self.raw_toggle.setText("Raw response ▸")
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setAutoRaise(True)
        self.copy_raw = QPushButton("Copy JSON")
        raw_row.addWidget(self.raw_toggle)
        raw_row.addStretch(1)
        raw_row.addWidget(self.copy_raw)
        layout.addLayout(raw_row)
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.raw.setMaximumHeight(220)
        self.raw.hide()
        layout.addWidget(self.raw)
        self.raw_toggle.toggled.connect(self._on_raw_toggled)
        self.copy_raw.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.raw.toPlainText())
        )
        self.clear()

    def clear(self) -> None:
        self.verdict.setText("No result yet.")
        self.verdict.setStyleSheet("")
        for label in (self.score, self.reasons, self.warnings):
            label.clear()
            label.hide()
        self._clear_details()
        self.raw.clear()
        self.raw_toggle.hide()
        self.copy_raw.hide()

    def _clear_details(self) -> None:
        while self.details.rowCount():
            self.details.removeRow(0)

    def show_result(
        self, result: CheckResult, *, copyable: Mapping[str, str] | None = None
    ) -> None:
        """Show a result; `copyable` adds label → value rows with a Copy button (ids)."""
        foreground, background = VERDICT_COLOURS[result.verdict.value]
        self.verdict.setText(f"{VERDICT_WORDS[result.verdict]}  {result.headline}")
        self.verdict.setStyleSheet(
            f"QLabel#verdict {{ color: {foreground}; background: {background};"
            " font-size: 15pt; font-weight: 600; padding: 8px; border-radius: 6px; }"
        )
        if result.score is not None:
            self.score.setText(
                f"<b>{result.score.value:g}</b> on the vendor's scale ({result.score.scale}): "
                f"{result.score.meaning}"
            )
            self.score.show()
        else:
            self.score.hide()
        if result.reasons:
            self.reasons.setText("\n".join(f"• {r}" for r in result.reasons))
            self.reasons.show()
        else:
            self.reasons.hide()
        if result.warnings:
            self.warnings.setText("\n".join(f"⚠ {w}" for w in result.warnings))
            self.warnings.show()
        else:
            self.warnings.hide()
        self._clear_details()
        for label, value in result.details.items():
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details.addRow(f"{label}:", text)
        for label, value in (copyable or {}).items():
            self.details.addRow(f"{label}:", CopyField(value))
        if result.request_id:
            self.details.addRow("Vendor request id:", CopyField(result.request_id))
        if result.raw:
            self.raw.setPlainText(json.dumps(result.raw, indent=2, ensure_ascii=False))
            self.raw_toggle.show()
            self.copy_raw.show()
        for listener in list(RESULT_LISTENERS):
            listener(self, result)

    def _on_raw_toggled(self, shown: bool) -> None:
        self.raw.setVisible(shown)
        self.raw_toggle.setText("Raw response ▾" if shown else "Raw response ▸")
