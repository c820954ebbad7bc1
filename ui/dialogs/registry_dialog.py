"""The session registry across every vendor: find a session again, label it, forget it.

Vendors that cannot list sessions (GLAIR, uqudo, Veriff, Azure's `-sessions` family) are
reachable only through this registry, so the operator can give each session a label of their
own (a case or ticket number). Labels stay on this machine.

The table is a model over paged store queries (`PagedTableModel`): the filter runs in SQL and
only the rows on screen are read, so 100,000 sessions open as fast as ten.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.clipboard import ClipRole
from app.domain import SessionRecord
from app.services import VerificationService
from app.workflows.sessions import shown_time, status_text
from ui.clipboard import copy_text
from ui.dialogs.confirm import confirm_destructive
from ui.dialogs.paged_model import PagedTableModel
from ui.tasks import TaskRunner

COLUMNS = (
    "Provider",
    "Connection",
    "Session id",
    "Kind",
    "Status",
    "Created (local)",
    "Last seen (local)",
    "Label",
)
LABEL_COLUMN = COLUMNS.index("Label")
COLUMN_WIDTHS = (120, 110, 300, 90, 110, 130, 130)  # interactive; the label column stretches


def configure_table(table: QTableView, widths: tuple[int, ...]) -> None:
    """Fixed row height and interactive columns: nothing is measured per row, ever."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        header.resizeSection(column, width)
    header.setStretchLastSection(True)
    rows = table.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(table.fontMetrics().height() + 8)
    rows.hide()
    table.setWordWrap(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)


class RegistryDialog(QDialog):
    # A row was double-clicked outside its label: the window opens it in its vendor's tab.
    session_opened = Signal(object)

    def __init__(
        self, service: VerificationService, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._names = {info.id: info.display_name for info in service.providers}
        self.setWindowTitle("Session registry")
        self.resize(1180, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every session FaceDesk created or looked up, for every vendor and connection. "
            "Double-click a session to open it in its tab; double-click a label to give the "
            "session your own name (e.g. a case number). Ctrl+F filters."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.provider_filter = QComboBox()
        self.provider_filter.addItem("All providers", None)
        for provider_id, name in self._names.items():
            self.provider_filter.addItem(name, provider_id)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by id, status or label")
        self.search.setClearButtonEnabled(True)
        self.filter_shortcut = QShortcut(QKeySequence.StandardKey.Find, self)
        self.filter_shortcut.activated.connect(self.focus_filter)
        self.count_label = QLabel()
        row.addWidget(self.provider_filter)
        row.addWidget(self.search, 1)
        row.addWidget(self.count_label)
        layout.addLayout(row)
        self.model = PagedTableModel(
            COLUMNS, self._cells, tasks, "registry", self, tooltips=self._tooltips
        )
        self.model.editable_column = LABEL_COLUMN
        self.model.on_edit = self._on_label_edited
        self.model.loaded.connect(self._on_loaded)
        self.table = QTableView()
        self.table.setModel(self.model)
        configure_table(self.table, COLUMN_WIDTHS)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy session id")
        self.forget_button = QPushButton("Forget…")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.forget_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.provider_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.forget_button.clicked.connect(self._on_forget_clicked)
        self.table.doubleClicked.connect(self._on_row_double_clicked)
        self.refresh()

    def focus_filter(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_row_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == LABEL_COLUMN:
            return  # the label cell edits instead
        record = self.record_at(index.row())
        if record is not None:
            self.session_opened.emit(record)

    def refresh(self) -> None:
        """Query the registry with the current filters (in SQL, in a thread)."""
        provider = self.provider_filter.currentData()
        needle = self.search.text().strip()

        async def count() -> int:
            return await self._service.registry_count(provider, needle)

        async def page(offset: int, limit: int) -> list[SessionRecord]:
            return await self._service.registry_page(provider, needle, offset, limit)

        self.model.set_source(count, page)

    def _on_loaded(self) -> None:
        total = self.model.rowCount()
        self.count_label.setText(f"{total:,} session{'s' if total != 1 else ''}")

    def _cells(self, record: SessionRecord) -> tuple[str, ...]:
        return (
            self._names.get(record.provider, record.provider),
            record.profile,
            record.session_id,
            record.kind,
            status_text(record.status),
            shown_time(record.created_at).text,
            shown_time(record.last_seen_at).text,
            record.label,
        )

    def _tooltips(self, record: SessionRecord) -> tuple[str, ...]:
        """As the cells, but the times in UTC (what vendors' consoles and logs show)."""
        cells = list(self._cells(record))
        cells[COLUMNS.index("Created (local)")] = shown_time(record.created_at).tooltip
        cells[COLUMNS.index("Last seen (local)")] = shown_time(record.last_seen_at).tooltip
        return tuple(cells)

    def visible_records(self) -> list[SessionRecord]:
        """The rows loaded for the current filter, in table order."""
        return list(self.model.loaded_items())

    def record_at(self, row: int) -> SessionRecord | None:
        item: Any = self.model.item(row)
        return item if isinstance(item, SessionRecord) else None

    def _selected(self) -> SessionRecord | None:
        index = self.table.currentIndex()
        return self.record_at(index.row()) if index.isValid() else None

    def _on_label_edited(self, record: SessionRecord, label: str) -> SessionRecord:
        # Shown at once and written in the background: no reload of the table.
        self._tasks.start(
            f"registry:label:{record.provider}:{record.profile}:{record.session_id}",
            self._service.set_session_label(record, label),
        )
        return replace(record, label=label.strip())

    def _on_copy_clicked(self) -> None:
        record = self._selected()
        if record is not None:
            copy_text(record.session_id, ClipRole.ID)

    def _on_forget_clicked(self) -> None:
        record = self._selected()
        if record is not None:
            self._tasks.start("registry:forget", self._forget(record))

    async def _forget(self, record: SessionRecord) -> None:
        name = self._names.get(record.provider, record.provider)
        if not await confirm_destructive(
            self,
            title="Forget session",
            text=f"Remove {name} session {record.session_id} from this registry?",
            details="Only FaceDesk's local record goes: nothing is sent to the vendor and the "
            "session itself is not deleted. For vendors that cannot list sessions you will "
            "need its id to find it again.",
            confirm_label="Forget",
        ):
            return
        await self._service.forget_registry_entry(record)
        await self.model.reload()
