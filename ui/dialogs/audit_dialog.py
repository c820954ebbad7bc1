"""The audit trail, read-only: who did what to which id, when, and how it ended."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain import AuditEntry
from app.services import VerificationService
from ui.tasks import TaskRunner

COLUMNS = (
    "Time (UTC)",
    "OS user",
    "Provider",
    "Connection",
    "Operation",
    "Targets",
    "Outcome",
    "Vendor request id",
)


class AuditDialog(QDialog):
    def __init__(
        self, service: VerificationService, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._entries: list[AuditEntry] = []
        self.setWindowTitle("Audit trail")
        self.resize(1100, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every consequential operation is recorded here (append-only): the attempt and its "
            "outcome. No images, secrets or names are stored."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("Provider:"))
        self.provider_filter = QComboBox()
        self.provider_filter.addItem("All providers", None)
        for info in service.providers:
            self.provider_filter.addItem(info.display_name, info.id)
        row.addWidget(self.provider_filter)
        row.addStretch(1)
        self.refresh_button = QPushButton("Refresh")
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy as TSV")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh_button.clicked.connect(self.refresh)
        self.provider_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.refresh()

    def refresh(self) -> None:
        self._tasks.start("audit:load", self._load(), label="Loading audit trail")

    async def _load(self) -> None:
        provider = self.provider_filter.currentData()
        self._entries = await self._service.audit_entries(provider)
        self.table.setRowCount(len(self._entries))
        for row, entry in enumerate(self._entries):
            for column, value in enumerate(self._cells(entry)):
                self.table.setItem(row, column, QTableWidgetItem(value))

    @staticmethod
    def _cells(entry: AuditEntry) -> tuple[str, ...]:
        return (
            entry.time_utc.strftime("%Y-%m-%d %H:%M:%S"),
            entry.os_user,
            entry.provider,
            entry.profile,
            entry.operation,
            ", ".join(entry.targets),
            entry.outcome,
            entry.request_id or "",
        )

    def _on_copy_clicked(self) -> None:
        lines = ["\t".join(COLUMNS)] + ["\t".join(self._cells(e)) for e in self._entries]
        QGuiApplication.clipboard().setText("\n".join(lines))
