"""The audit trail, read-only: who did what to which id, when, and how it ended.

A model over paged store queries (`PagedTableModel`): a million entries open and filter by
provider or text (in SQL, the text through the store's trigram index) as fast as a few, and
every one of them is reachable by scrolling.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import AuditEntry
from app.services import VerificationService
from ui.clipboard import copy_text
from ui.dialogs.paged_model import PagedTableModel
from ui.dialogs.registry_dialog import configure_table
from ui.tasks import TaskRunner

COLUMNS = (
    "Time (local)",
    "OS user",
    "Provider",
    "Connection",
    "Operation",
    "Targets",
    "Outcome",
    "Vendor request id",
)
COLUMN_WIDTHS = (150, 90, 100, 110, 140, 260, 220)  # interactive; the last column stretches
# Typing waits this long for the next key before querying: a word typed is one query, not five.
FILTER_DELAY_MS = 150
# A filter's rows show once this many are counted; the exact count (a million matches take a
# quarter of a second) follows.
QUICK_COUNT = 10_000


class AuditDialog(QDialog):
    def __init__(
        self, service: VerificationService, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self.setWindowTitle("Audit trail")
        self.resize(1100, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every consequential operation is recorded here (append-only): the attempt and its "
            "outcome. No images, secrets or names are stored. Ctrl+F filters."
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
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter operation, target, request id, operator…")
        self.search.setClearButtonEnabled(True)
        row.addWidget(self.search, 1)
        self.filter_shortcut = QShortcut(QKeySequence.StandardKey.Find, self)
        self.filter_shortcut.activated.connect(self.focus_filter)
        self.filter_timer = QTimer(self)
        self.filter_timer.setSingleShot(True)
        self.filter_timer.setInterval(FILTER_DELAY_MS)
        self.count_label = QLabel()
        # As wide as its longest text, so the filter box keeps its width while counting.
        self.count_label.setMinimumWidth(
            self.count_label.fontMetrics().horizontalAdvance(f"{QUICK_COUNT:,}+ entries, counting…")
        )
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.count_label)
        self.refresh_button = QPushButton("Refresh")
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        self.model = PagedTableModel(
            COLUMNS, self._cells, tasks, "audit", self, tooltips=self._tooltips
        )
        self.model.loaded.connect(self._on_loaded)
        self.model.counted.connect(self._on_loaded)
        self.table = QTableView()
        self.table.setModel(self.model)
        configure_table(self.table, COLUMN_WIDTHS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy as TSV")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh_button.clicked.connect(self.refresh)
        self.provider_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.search.textChanged.connect(lambda _t: self.filter_timer.start())
        self.filter_timer.timeout.connect(self.refresh)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.refresh()

    def focus_filter(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def refresh(self) -> None:
        """Query the trail with the current filters (in SQL, in a thread), typing or not."""
        self.filter_timer.stop()
        provider = self.provider_filter.currentData()
        text = self.search.text().strip() or None

        async def count() -> int:
            return await self._service.audit_count(provider, text)

        async def quick_count() -> int:
            return await self._service.audit_count(provider, text, QUICK_COUNT)

        async def page(offset: int, limit: int) -> list[AuditEntry]:
            return await self._service.audit_page(provider, offset, limit, text)

        self.model.set_source(count, page, quick_count=(quick_count, QUICK_COUNT))

    def _on_loaded(self) -> None:
        total = self.model.rowCount()
        if self.model.counting:
            self.count_label.setText(f"{total:,}+ entries, counting…")
        else:
            self.count_label.setText(f"{total:,} entr{'ies' if total != 1 else 'y'}")

    @staticmethod
    def _cells(entry: AuditEntry, *, utc: bool = False) -> tuple[str, ...]:
        """The row as shown (local time), or with `utc` as copied (the trail's own clock)."""
        time = entry.time_utc if utc else entry.time_utc.astimezone()
        return (
            time.strftime("%Y-%m-%d %H:%M:%S"),
            entry.os_user,
            entry.provider,
            entry.profile,
            entry.operation,
            ", ".join(entry.targets),
            entry.outcome,
            entry.request_id or "",
        )

    @classmethod
    def _tooltips(cls, entry: AuditEntry) -> tuple[str, ...]:
        """As the cells, but the time in UTC, the clock the trail and the vendors keep."""
        utc = cls._cells(entry, utc=True)
        return (f"{utc[0]} UTC", *cls._cells(entry)[1:])

    def _on_copy_clicked(self) -> None:
        """The loaded entries (the newest first), as tab-separated text, times in UTC."""
        entries = self.model.loaded_items()
        header = ["Time (UTC)", *COLUMNS[1:]]
        lines = ["\t".join(header)] + ["\t".join(self._cells(e, utc=True)) for e in entries]
        copy_text("\n".join(lines))
