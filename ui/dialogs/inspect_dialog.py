"""Inspect…: what a loaded photo hides, shown before the upload strips it.

Display only: `app.forensics.inspect_image` decides everything and runs in a worker thread
(it decodes the whole image and recomputes DCT blocks: tenths of a second per photo).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain import LoadedImage

if TYPE_CHECKING:
    from app.forensics.model import ForensicsReport
    from app.services import VerificationService
    from ui.tasks import TaskRunner

LEVEL_COLOURS = {"alert": "#c62828", "notice": "#b35c00", "info": ""}


class InspectDialog(QDialog):
    """Findings (each with what it can and cannot prove), the metadata table and the ELA map."""

    def __init__(
        self,
        image: LoadedImage,
        service: VerificationService,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Inspect: {image.name}")
        self.resize(900, 640)
        self.image = image
        self.service = service
        self.tasks = tasks
        self.report: ForensicsReport | None = None
        layout = QVBoxLayout(self)
        self.summary = QLabel("Inspecting…")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        self.findings = _table(("Level", "Finding", "Value", "What it can and cannot prove"))
        self.metadata = _table(("Group", "Tag", "Value", "Identifying"))
        self.ela = QLabel("Error-level analysis appears here.")
        self.ela.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ela_scroll = QScrollArea()
        ela_scroll.setWidget(self.ela)
        ela_scroll.setWidgetResizable(True)
        self.tabs.addTab(self.findings, "Findings")
        self.tabs.addTab(self.metadata, "Metadata the upload strips")
        self.tabs.addTab(ela_scroll, "Error-level analysis")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.record_button = QPushButton("Record on the active case")
        self.record_button.setEnabled(False)
        self.record_button.clicked.connect(self.record_on_case)
        buttons.addButton(self.record_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.task = tasks.start(
            f"inspect:{id(self)}", self._inspect(), label=f"Inspecting {image.name}"
        )

    async def _inspect(self) -> None:
        from app.forensics import inspect_image

        report = await asyncio.to_thread(inspect_image, self.image.data, self.image.name)
        self.show_report(report)

    def show_report(self, report: ForensicsReport) -> None:
        self.report = report
        alerts = len(report.alerts)
        quality = f" · JPEG quality ≈ {report.jpeg_quality}" if report.jpeg_quality else ""
        self.summary.setText(
            f"<b>{report.format} · {report.width}×{report.height} · {report.byte_size:,} bytes"
            f"{quality}</b><br>SHA-256 <code>{report.sha256}</code> · perceptual hash "
            f"<code>{report.phash}</code><br>"
            + (
                f"<span style='color:#c62828'>{alerts} alert(s)</span>: signs the picture "
                "changed after the camera wrote it. No finding alone proves a forgery."
                if alerts
                else "No alert. That does not prove the photo is unedited."
            )
        )
        self.findings.setRowCount(len(report.findings))
        for row, finding in enumerate(report.findings):
            colour = LEVEL_COLOURS.get(finding.level.value, "")
            cells = (finding.level.value, finding.title, finding.value, finding.proves)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if colour and column == 0:
                    item.setForeground(QBrush(QColor(colour)))
                self.findings.setItem(row, column, item)
        self.findings.resizeRowsToContents()  # whole sentences: the limits are the point
        self.metadata.setRowCount(len(report.metadata))
        for row, entry in enumerate(report.metadata):
            cells = (entry.group, entry.tag, entry.value, "yes" if entry.sensitive else "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.metadata.setItem(row, column, item)
        self.metadata.resizeRowsToContents()
        if report.ela_png:
            pixmap = QPixmap()
            pixmap.loadFromData(report.ela_png)
            self.ela.setPixmap(pixmap)
            self.ela.setToolTip(
                "Bright areas re-compress differently from the rest: worth a look, never proof "
                "on their own (edges and textures are bright too)."
            )
        self.record_button.setEnabled(self.service.active_case is not None)

    def record_on_case(self) -> None:
        case, report = self.service.active_case, self.report
        if case is None or report is None:
            return
        document = report.as_dict()
        book = self.service.case_book()

        async def record() -> None:
            await asyncio.to_thread(book.record_forensics, case, document)
            self.record_button.setEnabled(False)
            self.record_button.setText(f"Recorded on {case}")

        self.tasks.start(f"inspect-record:{id(self)}", record(), label="Recording findings")


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setWordWrap(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in enumerate((70, 190, 220)[: len(headers) - 1]):
        table.setColumnWidth(column, width)
    return table
