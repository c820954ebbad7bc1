"""The Compare tab: one pair, a row per vendor with a synchronous face match, side by side.

Everything it shows comes from `app.workflows.compare`; this module only lays it out and
forwards clicks (compare all, cancel / re-run a row, export). Rows are bound to the pair they
answered for: loading another photo marks them stale until they run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import ConfigurationError
from app.services import VerificationService
from app.workflows import compare as workflow
from app.workflows import compare_export
from app.workflows.compare import (
    CompareOptions,
    CompareRow,
    CompareRun,
    FaceBox,
    ImagePair,
    RowState,
    RowVerdict,
)
from app.workflows.connections import Connection
from app.workflows.pair import ImagePairModel, PairSlot
from ui.errors import ErrorPresenter
from ui.tasks import TaskRunner
from ui.widgets.copy_field import CopyField
from ui.widgets.image_slot import ImageSlot

TITLE = "Compare"
COLUMNS = ("Vendor", "Connection", "Verdict", "Score", "Threshold", "Latency", "Request id", "")
NOTES_COLUMN_TEXT = "What it means"
VENDOR_COLOURS = {"azure_face": "#1f77d0", "uqudo": "#d0571f", "glair": "#2a9d4b"}
VERDICT_COLOURS = {
    RowVerdict.MATCH: "#2a9d4b",
    RowVerdict.NO_MATCH: "#c0392b",
    RowVerdict.INCONCLUSIVE: "#b58900",
    RowVerdict.ERROR: "#8e44ad",
}
LEFT_OUT_TEXT = " ".join(workflow.LEFT_OUT.values())
EMPTY_TEXT = "Drop, paste or open an image"


class FacesView(QLabel):
    """A photo's thumbnail with each vendor's face rectangles drawn in that vendor's colour."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._source = QPixmap()
        self._boxes: list[tuple[str, tuple[FaceBox, ...]]] = []
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setText(EMPTY_TEXT)

    def set_thumbnail(self, png: bytes | None) -> None:
        self._source = QPixmap()
        if png:
            self._source.loadFromData(png)
        self._render()

    def set_boxes(self, boxes: Sequence[tuple[str, tuple[FaceBox, ...]]]) -> None:
        self._boxes = list(boxes)
        self._render()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._render()

    @property
    def box_count(self) -> int:
        return sum(len(found) for _, found in self._boxes)

    def _render(self) -> None:
        if self._source.isNull():
            self.setPixmap(QPixmap())
            self.setText(EMPTY_TEXT)
            return
        pixmap = self._source.scaled(
            max(1, self.width() - 8),
            max(1, self.height() - 8),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        painter = QPainter(pixmap)
        for inset, (vendor, found) in enumerate(self._boxes):
            pen = QPen(QColor(VENDOR_COLOURS.get(vendor, "#888888")))
            pen.setWidth(3)
            painter.setPen(pen)
            painter.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            for box in found:
                # Each vendor's box is inset a little so overlapping boxes stay visible.
                painter.drawRect(
                    QRectF(
                        box.left * pixmap.width() + 2 * inset,
                        box.top * pixmap.height() + 2 * inset,
                        box.width * pixmap.width() - 4 * inset,
                        box.height * pixmap.height() - 4 * inset,
                    )
                )
        painter.end()
        self.setPixmap(pixmap)


class _RowControls(QWidget):
    """Per-row progress, Cancel and Re-run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(60)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.rerun_button = QPushButton("Re-run")
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.rerun_button)

    def set_running(self, running: bool, can_run: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.rerun_button.setEnabled(can_run)


class ComparePanel(QWidget):
    """The pair once, a row per vendor, a disagreement marker and exports."""

    def __init__(
        self,
        service: VerificationService,
        tasks: TaskRunner,
        presenter: ErrorPresenter,
        parent: QWidget | None = None,
        *,
        pair: ImagePairModel | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        # The window's one pair: a photo loaded here shows in every vendor tab and back.
        self.pair_model = pair if pair is not None else ImagePairModel()
        self.tasks = tasks
        self.presenter = presenter
        installed = {info.id for info in service.providers}
        self.vendors = tuple(v for v in workflow.COMPARE_VENDORS if v in installed)
        self.run: CompareRun | None = None

        layout = QVBoxLayout(self)
        self.intro = intro = QLabel(
            "One ID photo and one selfie through every vendor's face match at once. Each "
            f"score is on the vendor's own scale. {LEFT_OUT_TEXT}"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        images = QHBoxLayout()
        # Slot ids end in the slot kind; "compare" keeps their load/prepare tasks their own.
        self.id_photo = ImageSlot(
            "ID photo", "azure_face:compare:id", service, tasks, pair=self.pair_model
        )
        self.selfie = ImageSlot(
            "Selfie", "azure_face:compare:selfie", service, tasks, pair=self.pair_model
        )
        self.id_faces = FacesView("ID photo")
        self.selfie_faces = FacesView("Selfie")
        for slot, faces in ((self.id_photo, self.id_faces), (self.selfie, self.selfie_faces)):
            # The pair is shown once: the slot's own preview gives way to the same thumbnail
            # with the vendors' rectangles; loading, dropping and badges stay the slot's.
            slot.keep_large()
            slot_layout = slot.layout()
            if slot_layout is not None:
                slot_layout.replaceWidget(slot.preview, faces)
                slot.preview.hide()
            images.addWidget(slot, 1)
        layout.addLayout(images, 2)
        legend = " ".join(
            f'<span style="color:{VENDOR_COLOURS[v]}">■</span> {service.info(v).display_name}'
            for v in self.vendors
        )
        self.legend = QLabel(f"Face rectangles: {legend} (only vendors that return them)")
        layout.addWidget(self.legend)

        actions = QHBoxLayout()
        self.compare_button = QPushButton("Compare on all vendors")
        self.compare_button.setDefault(True)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_json_button = QPushButton("Export JSON…")
        self.disagreement_label = QLabel()
        self.stale_label = QLabel()
        self.stale_label.setStyleSheet("color: #b35c00;")
        actions.addWidget(self.compare_button)
        actions.addWidget(self.disagreement_label)
        actions.addWidget(self.stale_label)
        actions.addStretch(1)
        actions.addWidget(self.export_csv_button)
        actions.addWidget(self.export_json_button)
        layout.addLayout(actions)

        self.table = QTableWidget(len(self.vendors), len(COLUMNS) + 1)
        self.table.setHorizontalHeaderLabels([*COLUMNS, NOTES_COLUMN_TEXT])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS), QHeaderView.ResizeMode.Stretch)
        self.connection_boxes: dict[str, QComboBox] = {}
        self.request_ids: dict[str, CopyField] = {}
        self.controls: dict[str, _RowControls] = {}
        for index, vendor in enumerate(self.vendors):
            self.table.setItem(index, 0, QTableWidgetItem(service.info(vendor).display_name))
            box = QComboBox()
            box.addItems(service.connections(vendor))
            box.setCurrentText(service.active_connection(vendor))
            self.connection_boxes[vendor] = box
            self.table.setCellWidget(index, 1, box)
            for column in range(2, 6):
                self.table.setItem(index, column, QTableWidgetItem(""))
            self.table.setItem(index, len(COLUMNS), QTableWidgetItem(""))
            self.request_ids[vendor] = CopyField()
            self.table.setCellWidget(index, 6, self.request_ids[vendor])
            controls = _RowControls()
            controls.cancel_button.clicked.connect(lambda _=False, v=vendor: self.cancel_row(v))
            controls.rerun_button.clicked.connect(lambda _=False, v=vendor: self.rerun_row(v))
            self.controls[vendor] = controls
            self.table.setCellWidget(index, 7, controls)
        layout.addWidget(self.table, 1)
        # Which pair, connections and time the rows belong to (a result always says so).
        self.provenance_label = QLabel()
        self.provenance_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.provenance_label)

        self.compare_button.clicked.connect(self.compare_all)
        self.export_csv_button.clicked.connect(lambda: self._export("csv"))
        self.export_json_button.clicked.connect(lambda: self._export("json"))
        for slot in (self.id_photo, self.selfie):
            slot.image_changed.connect(self._on_pair_changed)
        self._refresh()

    # --- state ---------------------------------------------------------------------------------

    def pair(self) -> ImagePair | None:
        if self.id_photo.loaded is None or self.selfie.loaded is None:
            return None
        return ImagePair(self.id_photo.loaded, self.selfie.loaded)

    def row(self, vendor: str) -> CompareRow | None:
        if self.run is None:
            return None
        return next((r for r in self.run.rows if r.vendor == vendor), None)

    def is_stale(self, row: CompareRow) -> bool:
        pair = self.pair()
        return row.state is RowState.DONE and (pair is None or row.pair_key != pair.key)

    def _connection(self, vendor: str) -> Connection | ConfigurationError:
        return Connection(vendor, self.connection_boxes[vendor].currentText())

    # --- actions -------------------------------------------------------------------------------

    def compare_all(self) -> None:
        pair = self.pair()
        if pair is None:
            self.presenter.info("Load an ID photo and a selfie first.", severity="warning")
            return
        if self.run is not None:
            self.run.cancel_all()
        connections = {v: self._connection(v) for v in self.vendors}
        # While a case is active, its runs join it (audit targets and the case's timeline).
        options = CompareOptions(case_ref=self.service.active_case)
        self.run = CompareRun(self.service, pair, connections, options, on_row=self._on_row)
        self.run.start()
        self.tasks.start("compare:all", self._wait(self.run), label="Comparing on every vendor")
        self._refresh()

    def rerun_row(self, vendor: str) -> None:
        pair = self.pair()
        if pair is None:
            self.presenter.info("Load an ID photo and a selfie first.", severity="warning")
            return
        if self.run is None:
            self.compare_all()
            return
        self.run.rerun(vendor, connection=self._connection(vendor), pair=pair)
        self.tasks.start("compare:all", self._wait(self.run), label="Comparing on every vendor")

    def cancel_row(self, vendor: str) -> None:
        if self.run is not None:
            self.run.cancel(vendor)

    async def _wait(self, run: CompareRun) -> None:
        try:
            await run.wait()
        except BaseException:
            # Cancelled from the status bar: stop every row, not only the wait.
            run.cancel_all()
            raise
        self._refresh()

    def _export(self, kind: str) -> None:
        pair = self.pair()
        if self.run is None or pair is None:
            self.presenter.info("Run a comparison first.", severity="warning")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export the comparison as {kind.upper()}", f"comparison.{kind}"
        )
        if path:
            self.export_to(Path(path), kind)

    def export_to(self, path: Path, kind: str) -> None:
        """Write the comparison (the pair by fingerprint, never by file name) to `path`."""
        pair = self.pair()
        if self.run is None or pair is None:
            return
        comparison = self.run.comparison
        text = (
            compare_export.export_csv(comparison, pair)
            if kind == "csv"
            else compare_export.export_json(comparison, pair)
        )
        try:
            path.write_text(text, encoding="utf-8")
        except OSError:
            self.presenter.info(
                f"FaceDesk could not write {path.name}: check the folder and the free space."
            )
            return
        self.presenter.info(f"Comparison exported to {path.name}.")

    # --- display -------------------------------------------------------------------------------

    def _on_pair_changed(self) -> None:
        self.id_faces.set_thumbnail(
            self.id_photo.loaded.thumbnail_png if self.id_photo.loaded else None
        )
        self.selfie_faces.set_thumbnail(
            self.selfie.loaded.thumbnail_png if self.selfie.loaded else None
        )
        self._refresh()

    def _on_row(self, _row: CompareRow) -> None:
        self._refresh()

    def _refresh(self) -> None:
        rows = self.run.rows if self.run is not None else ()
        pair_ready = self.pair() is not None
        self.compare_button.setEnabled(pair_ready)
        self.export_csv_button.setEnabled(bool(rows))
        self.export_json_button.setEnabled(bool(rows))
        id_boxes: list[tuple[str, tuple[FaceBox, ...]]] = []
        selfie_boxes: list[tuple[str, tuple[FaceBox, ...]]] = []
        stale = 0
        for index, vendor in enumerate(self.vendors):
            row = self.row(vendor)
            controls = self.controls[vendor]
            running = row is not None and row.state is RowState.RUNNING
            controls.set_running(running, pair_ready)
            if row is None:
                self._show(index, "—", "", "", "", "")
                self.request_ids[vendor].set_value("")
                continue
            is_stale = self.is_stale(row)
            stale += is_stale
            if row.state is not RowState.DONE:
                self._show(index, "running…", "", "", "", row.headline)
                self.request_ids[vendor].set_value("")
                continue
            verdict = row.verdict.label + (" (stale)" if is_stale else "")
            score = "" if row.score is None else f"{row.score:.4g} ({row.scale})"
            threshold = "" if row.threshold is None else f"{row.threshold:g}"
            latency = "" if row.latency_ms is None else f"{row.latency_ms} ms"
            notes = row.error or "; ".join(
                part for part in (row.headline, row.threshold_meaning) if part
            )
            self._show(index, verdict, score, threshold, latency, notes, row=row, stale=is_stale)
            self.request_ids[vendor].set_value(row.request_id or "")
            if not is_stale:
                id_boxes.append((vendor, row.id_photo_faces))
                selfie_boxes.append((vendor, row.selfie_faces))
        self.id_faces.set_boxes(id_boxes)
        self.selfie_faces.set_boxes(selfie_boxes)
        current = [r for r in rows if not self.is_stale(r)]
        if workflow.disagreement(current):
            self.disagreement_label.setText("⚠ <b>Disagreement</b>: the vendors' verdicts differ")
        else:
            self.disagreement_label.setText("")
        self.stale_label.setText(
            f"{stale} row(s) are for the previous pair: run them again" if stale else ""
        )
        self._show_provenance(current)

    def _show_provenance(self, current: Sequence[CompareRow]) -> None:
        answered = [r.answered_at for r in current if r.answered_at is not None]
        pair = self.pair()
        if not answered or pair is None:
            self.provenance_label.setText("")
            return
        latest = max(answered)
        local = latest.astimezone()
        shared = self.id_photo.pair  # the window's pair: it already holds each fingerprint
        prints = [shared.get(slot) for slot in (PairSlot.ID_PHOTO, PairSlot.SELFIE)]
        id_print, selfie_print = (image.short if image else "?" for image in prints)
        self.provenance_label.setText(
            f"Rows for ID photo <code>{id_print}</code> + selfie <code>{selfie_print}</code>"
            f" · answered by {local:%H:%M:%S}"
        )
        self.provenance_label.setToolTip(
            f"{local:%Y-%m-%d %H:%M:%S %Z} (UTC {latest:%Y-%m-%d %H:%M:%S}); "
            "each row names its connection"
        )

    def _show(
        self,
        index: int,
        verdict: str,
        score: str,
        threshold: str,
        latency: str,
        notes: str,
        *,
        row: CompareRow | None = None,
        stale: bool = False,
    ) -> None:
        values = {2: verdict, 3: score, 4: threshold, 5: latency, len(COLUMNS): notes}
        for column, text in values.items():
            item = self._item(index, column)
            item.setText(text)
            item.setForeground(QBrush())
            if row is not None and column == 2:
                colour = "#888888" if stale else VERDICT_COLOURS[row.verdict]
                item.setForeground(QBrush(QColor(colour)))
            elif stale:
                item.setForeground(QBrush(QColor("#888888")))
        if row is not None:
            tip = "\n".join(
                part
                for part in (
                    row.error,
                    row.headline,
                    row.score_meaning,
                    row.threshold_meaning,
                    *row.reasons,
                    *row.warnings,
                )
                if part
            )
            for column in values:
                self._item(index, column).setToolTip(tip)

    def _item(self, index: int, column: int) -> QTableWidgetItem:
        item = self.table.item(index, column)
        assert item is not None  # every text cell is created in __init__
        return item
