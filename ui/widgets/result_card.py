"""ResultCard: how an operator reads a vendor's answer.

The decision first, then the vendor's score on its own scale with what it means, then the
details (ids copyable), then the raw JSON. A result made from images names them (thumbnail and
short fingerprint), its connection and local time; once one of those images is replaced or
cleared the card no longer shows the verdict, only that it is out of date.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
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
from app.workflows.pair import ImagePairModel, InputStamp
from ui.clipboard import copy_text
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


THUMB_PX = 32
STALE_STYLE = (
    "QLabel#verdict { color: palette(window-text); background: palette(alternate-base);"
    " font-size: 12pt; font-weight: 600; padding: 8px; border-radius: 6px;"
    " border: 1px dashed palette(mid); }"
)


class ProvenanceRow(QWidget):
    """Which images (thumbnail + short fingerprint), connection and time a result came from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._widgets: list[QWidget] = []
        self.summary = ""  # the row as plain text (copy, tests)

    def show_stamp(self, stamp: InputStamp) -> None:
        self.clear()
        for slot, image in stamp.inputs:
            thumb = QLabel()
            pixmap = QPixmap()
            pixmap.loadFromData(image.image.thumbnail_png)
            if not pixmap.isNull():
                thumb.setPixmap(
                    pixmap.scaled(
                        THUMB_PX,
                        THUMB_PX,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
            thumb.setToolTip(f"{slot.label}: {image.image.name}\nSHA-256 {image.fingerprint}")
            text = QLabel(f"{slot.label} <code>{image.short}</code>")
            text.setToolTip(thumb.toolTip())
            self._add(thumb)
            self._add(text)
        local = stamp.at.astimezone()
        when = QLabel(f"· {stamp.connection} · {local:%H:%M:%S}")
        when.setToolTip(f"{local:%Y-%m-%d %H:%M:%S %Z} (UTC {stamp.at:%Y-%m-%d %H:%M:%S})")
        self._add(when)
        self.summary = " ".join(
            [f"{slot.label} {image.short}" for slot, image in stamp.inputs]
            + [f"· {stamp.connection} · {local:%H:%M:%S}"]
        )
        self._layout.addStretch(1)
        self.show()

    def clear(self) -> None:
        for widget in self._widgets:
            widget.deleteLater()
        self._widgets = []
        self.summary = ""
        while self._layout.count():
            self._layout.takeAt(0)
        self.hide()

    def _add(self, widget: QWidget) -> None:
        self._widgets.append(widget)
        self._layout.addWidget(widget)


class ResultCard(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.stamp: InputStamp | None = None
        self.stale = False
        layout = QVBoxLayout(self)
        self.provenance = ProvenanceRow()
        layout.addWidget(self.provenance)
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
        # The raw reply may hold a token or a signed link: the rule in copy_text decides.
        self.copy_raw.clicked.connect(lambda: copy_text(self.raw.toPlainText()))
        self.clear()

    def clear(self) -> None:
        self.stamp = None
        self.stale = False
        self.provenance.clear()
        self._details_host.show()
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

    def check_stale(self, pair: ImagePairModel) -> bool:
        """Mark the result out of date when an image it was made from is no longer loaded."""
        if self.stamp is None or self.stale:
            return self.stale
        reason = pair.stale_reason(self.stamp)
        if reason:
            self.mark_stale(reason)
        return self.stale

    def mark_stale(self, reason: str) -> None:
        """Withdraw the verdict: it describes images that are no longer on screen."""
        self.stale = True
        self.verdict.setText(f"⟳  Out of date: {reason}. Run it again for the images shown.")
        self.verdict.setStyleSheet(STALE_STYLE)
        for label in (self.score, self.reasons, self.warnings):
            label.hide()
        self._details_host.hide()
        self.provenance.setToolTip("The result was made from these images")

    def show_result(
        self,
        result: CheckResult,
        *,
        copyable: Mapping[str, str] | None = None,
        inputs: InputStamp | None = None,
    ) -> None:
        """Show a result; `copyable` adds label → value rows with a Copy button (ids).

        `inputs` names the images, connection and time the result was made from.
        """
        self.stale = False
        self.stamp = inputs
        self._details_host.show()
        if inputs is not None:
            self.provenance.show_stamp(inputs)
        else:
            self.provenance.clear()
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
