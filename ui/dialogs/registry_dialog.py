"""The session registry across every vendor: find a session again, label it, forget it.

Vendors that cannot list sessions (GLAIR, uqudo, Veriff, Azure's `-sessions` family) are
reachable only through this registry, so the operator can give each session a label of their
own (a case or ticket number). Labels stay on this machine.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain import SessionRecord
from app.services import VerificationService
from ui.dialogs.confirm import confirm_destructive
from ui.tasks import TaskRunner

COLUMNS = (
    "Provider",
    "Connection",
    "Session id",
    "Kind",
    "Status",
    "Created (UTC)",
    "Last seen (UTC)",
    "Label",
)
LABEL_COLUMN = COLUMNS.index("Label")


class RegistryDialog(QDialog):
    def __init__(
        self, service: VerificationService, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._records: list[SessionRecord] = []
        self._names = {info.id: info.display_name for info in service.providers}
        self.setWindowTitle("Session registry")
        self.resize(1180, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every session FaceDesk created or looked up, for every vendor and connection. "
            "Double-click a label to give the session your own name (e.g. a case number)."
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
        row.addWidget(self.provider_filter)
        row.addWidget(self.search, 1)
        layout.addLayout(row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.DoubleClicked)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy session id")
        self.forget_button = QPushButton("Forget…")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.forget_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.provider_filter.currentIndexChanged.connect(lambda _i: self._fill())
        self.search.textChanged.connect(lambda _t: self._fill())
        self.table.itemChanged.connect(self._on_item_changed)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.forget_button.clicked.connect(self._on_forget_clicked)
        self.refresh()

    def refresh(self) -> None:
        self._tasks.start("registry:load", self._load, label="Loading session registry")

    async def _load(self) -> None:
        self._records = await self._service.all_sessions()
        self._fill()

    def visible_records(self) -> list[SessionRecord]:
        provider = self.provider_filter.currentData()
        needle = self.search.text().strip().lower()
        return [
            r
            for r in self._records
            if (provider is None or r.provider == provider)
            and (
                not needle
                or any(needle in v.lower() for v in (r.session_id, r.status, r.label, r.kind))
            )
        ]

    def _fill(self) -> None:
        self.table.blockSignals(True)
        records = self.visible_records()
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            cells = (
                self._names.get(record.provider, record.provider),
                record.profile,
                record.session_id,
                record.kind,
                record.status,
                record.created_at.strftime("%Y-%m-%d %H:%M"),
                record.last_seen_at.strftime("%Y-%m-%d %H:%M"),
                record.label,
            )
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column != LABEL_COLUMN:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)

    def _selected(self) -> SessionRecord | None:
        row = self.table.currentRow()
        records = self.visible_records()
        return records[row] if 0 <= row < len(records) else None

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != LABEL_COLUMN:
            return
        records = self.visible_records()
        if not 0 <= item.row() < len(records):
            return
        record = records[item.row()]
        self._tasks.start("registry:label", self._relabel(record, item.text()))

    async def _relabel(self, record: SessionRecord, label: str) -> None:
        await self._service.set_session_label(record, label)
        await self._load()

    def _on_copy_clicked(self) -> None:
        record = self._selected()
        if record is not None:
            QGuiApplication.clipboard().setText(record.session_id)

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
        await self._load()
