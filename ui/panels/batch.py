"""The Batch panel: one batch job of this vendor over a folder (or a list of ids), live.

Only displays and forwards: the rules (retries, slow-down, resume, audit) are in
app.workflows.batch. Pause holds new requests, Cancel stops after the requests in flight (run
again to continue), Open in tab loads a row's image into the window's pair.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.workflows import batch
from app.workflows.batch import BatchJob, BatchKind, BatchRow, BatchSpec
from app.workflows.batch_jobs import open_batch_store
from app.workflows.connections import resolve
from app.workflows.pair import PairSlot
from ui.dialogs.confirm import confirm_destructive
from ui.panels.base import Panel, PanelContext

HEADERS = ("#", "File", "State", "Outcome", "Match id", "Score", "Inserted", "Request id", "Note")
JOB_LABELS = {
    BatchKind.SEARCH: "1:N search",
    BatchKind.MATCH: "Face match against a reference",
    BatchKind.SESSIONS: "Session lookup (ids from a text file)",
}


def batch_kinds(provider_id: str) -> tuple[BatchKind, ...]:
    return tuple(kind for kind, vendors in batch.VENDORS.items() if provider_id in vendors)


class BatchTableModel(QAbstractTableModel):
    """The job's rows, one per input in input order, updated as they change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[BatchRow] = []

    def reset(self, rows: list[BatchRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def update(self, row: BatchRow) -> None:
        if 0 <= row.position < len(self.rows):
            self.rows[row.position] = row
            self.dataChanged.emit(
                self.index(row.position, 0), self.index(row.position, len(HEADERS) - 1)
            )

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row = self.rows[index.row()]
        record = row.record
        score = record.get("score")
        inserted = record.get("inserted")
        note = record.get("error") or row.note
        if row.resumed and not note:
            note = "done in an earlier run"
        cells = (
            str(row.position + 1),
            row.name,
            row.state.value,
            record.get("outcome", ""),
            record.get("match_id", ""),
            "" if score is None else f"{score:.4g}",
            "" if inserted is None else ("yes" if inserted else "no"),
            record.get("request_id", ""),
            note,
        )
        return cells[index.column()]


class BatchPanel(Panel):
    title = "Batch"
    main_actions = ("start_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.job: BatchJob | None = None
        self.sources: dict[int, str] = {}
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind_combo = QComboBox()
        for kind in batch_kinds(ctx.provider_id):
            self.kind_combo.addItem(JOB_LABELS[kind], kind.value)
        form.addRow("Job:", self.kind_combo)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("the folder of images (JPEG, PNG, HEIC, WebP…)")
        self.folder_button = QPushButton("Choose…")
        form.addRow("Inputs:", _row(self.folder_edit, self.folder_button))
        self.reference_edit = QLineEdit()
        self.reference_button = QPushButton("Choose…")
        self.reference_label = QLabel("Reference photo:")
        form.addRow(self.reference_label, _row(self.reference_edit, self.reference_button))
        self.group_edit = QLineEdit()
        self.group_label = QLabel("Person group id:")
        form.addRow(self.group_label, self.group_edit)
        self.insert_check = QCheckBox("Insert faces not found (asks before starting)")
        form.addRow("", self.insert_check)
        self.concurrency_spin = QSpinBox()
        self.concurrency_spin.setRange(1, batch.MAX_CONCURRENCY)
        self.concurrency_spin.setValue(batch.DEFAULT_CONCURRENCY)
        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setRange(0.0, 1000.0)
        self.rate_spin.setSpecialValueText("no cap")
        self.rate_spin.setSuffix(" /s")
        self.concurrency_spin.setMaximumWidth(90)
        self.rate_spin.setMaximumWidth(120)
        limits = _row(self.concurrency_spin, QLabel("  Rate cap:"), self.rate_spin)
        limits.layout().addStretch(1)  # type: ignore[union-attr]
        form.addRow("Requests at once:", limits)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("optional: a CSV written in input order as rows finish")
        self.out_button = QPushButton("Save as…")
        form.addRow("Rows to:", _row(self.out_edit, self.out_button))
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.open_button = QPushButton("Open in tab")
        self.open_button.setToolTip("Load the selected row's image as this tab's selfie")
        for button in (self.start_button, self.pause_button, self.cancel_button, self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_label = QLabel("No batch yet.")
        self.progress_label.setWordWrap(True)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)
        self.model = BatchTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(220)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        layout.addWidget(self.table, 1)

        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.folder_button.clicked.connect(self._choose_inputs)
        self.reference_button.clicked.connect(self._choose_reference)
        self.out_button.clicked.connect(self._choose_out)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_selected)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self._on_kind_changed()
        self._set_running(False)

    # --- options -------------------------------------------------------------------------------

    @property
    def kind(self) -> BatchKind:
        return BatchKind(self.kind_combo.currentData())

    def _on_kind_changed(self, _index: int = 0) -> None:
        kind = self.kind
        match = kind is BatchKind.MATCH
        for widget in (self.reference_label, self.reference_edit, self.reference_button):
            widget.setVisible(match)
        group = kind is BatchKind.SEARCH and self.ctx.provider_id == "azure_face"
        self.group_label.setVisible(group)
        self.group_edit.setVisible(group)
        self.insert_check.setVisible(kind is BatchKind.SEARCH)
        self.folder_edit.setPlaceholderText(
            "a text file of session ids, one a line"
            if kind is BatchKind.SESSIONS
            else "the folder of images (JPEG, PNG, HEIC, WebP…)"
        )

    def _choose_inputs(self) -> None:
        if self.kind is BatchKind.SESSIONS:
            path, _ = QFileDialog.getOpenFileName(self, "Session ids", "", "Text (*.txt)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder of images")
        if path:
            self.folder_edit.setText(path)

    def _choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Reference photo")
        if path:
            self.reference_edit.setText(path)

    def _choose_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save rows as CSV", "batch.csv")
        if path:
            self.out_edit.setText(path)

    async def spec(self) -> BatchSpec:
        """The job the form describes; BatchUsageError says what to fix.

        The folder listing (or the ids file) is read in a worker thread: a folder on a network
        share can take seconds to list.
        """
        kind, source = self.kind, self.folder_edit.text().strip()
        if not source:
            raise batch.BatchUsageError("Choose the inputs first.")
        read = batch.read_session_ids if kind is BatchKind.SESSIONS else batch.list_images
        items = await asyncio.to_thread(read, source)
        reference = self.reference_edit.text().strip()
        return BatchSpec(
            kind=kind,
            vendor=self.ctx.provider_id,
            connection=resolve(self.ctx.service, self.ctx.provider_id),
            items=items,
            group=self.group_edit.text().strip() or None,
            insert_if_not_found=kind is BatchKind.SEARCH and self.insert_check.isChecked(),
            reference=Path(reference) if kind is BatchKind.MATCH and reference else None,
            concurrency=self.concurrency_spin.value(),
            rate=self.rate_spin.value() or None,
            case_ref=self.ctx.service.active_case,
        )

    # --- running -------------------------------------------------------------------------------

    def start(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("batch"), self._run(), label=f"Batch {self.kind.value}"
        )

    async def _run(self) -> None:
        try:
            spec = await self.spec()
        except batch.BatchUsageError as exc:
            self.ctx.presenter.info(str(exc), severity="warning")
            return
        if spec.insert_if_not_found:
            target = f"group {spec.group}" if spec.group else "the tenant's 1:N index"
            confirmed = await confirm_destructive(
                self,
                title="Insert into the 1:N index?",
                text=f"Faces not found are added to {target} ({len(spec.items)} inputs).",
                details="Added faces stay in the index until deleted one by one.",
                confirm_label="Insert",
            )
            if not confirmed:
                return
        service = self.ctx.service
        store = await asyncio.to_thread(open_batch_store, service.store)
        out = self.out_edit.text().strip()
        writer = batch.RowWriter(out) if out else None
        job = BatchJob(service, spec, store, writer=writer, on_row=self._on_row)
        self.job = job
        self.sources = {item.position: item.source for item in spec.items}
        self.model.reset(job.rows)
        self._set_running(True)
        try:
            summary = await job.run()
        finally:
            self._set_running(False)
            await asyncio.to_thread(store.close)
        self._show_progress()
        if summary.stop_reason:
            self.ctx.presenter.info(summary.stop_reason, severity="warning")
        elif summary.stopped:
            self.progress_label.setText(
                self.progress_label.text() + " Stopped: start again to continue."
            )

    def _on_row(self, row: BatchRow) -> None:
        self.model.update(row)
        self._show_progress()

    def _show_progress(self) -> None:
        if self.job is None:
            return
        state = self.job.progress()
        self.progress_bar.setRange(0, state.total)
        self.progress_bar.setValue(state.done)
        eta = "" if state.eta_seconds is None else f", ETA {state.eta_seconds:.0f} s"
        held = self.job.gate.hold_remaining()
        slowed = f" Rate limited: waiting {held:.0f} s." if held >= 1 else ""
        self.progress_label.setText(
            f"{state.done} of {state.total} done, {state.failed} errors, "
            f"{state.rate:.1f}/s{eta}.{slowed}"
        )

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Pause")

    def toggle_pause(self) -> None:
        job = self.job
        if job is None:
            return
        pausing = not job.gate.paused
        self.pause_button.setText("Resume" if pausing else "Pause")
        self.ctx.tasks.start(
            self.ctx.task_name("batch:pause"), job.pause() if pausing else job.resume()
        )

    def cancel(self) -> None:
        """Stop after the requests in flight; finished rows are kept for the next start."""
        if self.job is not None:
            self.job.stop()
            self.ctx.tasks.start(self.ctx.task_name("batch:pause"), self.job.resume())
            self.cancel_button.setEnabled(False)

    # --- rows ----------------------------------------------------------------------------------

    def open_selected(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected:
            self.open_row(selected[0].row())

    def open_row(self, position: int) -> None:
        """Load the row's image into the window's pair (sessions: copy the id)."""
        source = self.sources.get(position)
        if source is None or self.job is None:
            return
        if self.job.spec.kind is BatchKind.SESSIONS:
            QGuiApplication.clipboard().setText(source)
            self.ctx.presenter.info("Session id copied: paste it in the sessions panel.")
            return
        self.ctx.tasks.start(self.ctx.task_name("batch:open"), self._open(source))

    async def _open(self, source: str) -> None:
        loaded = await self.ctx.service.load_image_file(source)
        self.ctx.pair.set(PairSlot.SELFIE, loaded)


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    line = QHBoxLayout(holder)
    line.setContentsMargins(0, 0, 0, 0)
    for index, widget in enumerate(widgets):
        stretch = 1 if index == 0 and isinstance(widget, QLineEdit) else 0
        line.addWidget(widget, stretch)
    return holder
