"""The case view: open or create a case, read its timeline, note, decide, export, make active.

Only display and forwarding: every operation is `app.workflows.cases.CaseBook` (through the
service, off the GUI thread). The active case is the service's; the window shows it in its title
and status bar, and audited vendor runs made meanwhile attach to it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.services import VerificationService
from app.store import StoreChange
from app.workflows.cases import CaseFile, CaseState, Note
from app.workflows.report import ExportedFile, export_case_report
from ui.tasks import TaskRunner


class CaseDialog(QDialog):
    def __init__(
        self,
        service: VerificationService,
        tasks: TaskRunner,
        on_active_changed: Callable[[str | None], None],
        current_pair: Callable[[], list[tuple[str, bytes, str]]] = list,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = tasks
        self._on_active_changed = on_active_changed
        self._current_pair = current_pair
        self.case_file: CaseFile | None = None
        self._read_only_reason: str | None = None
        self._operator = ""
        self.exported: list[ExportedFile] = []
        self.setWindowTitle("Cases")
        self.resize(980, 640)
        layout = QHBoxLayout(self)

        left = QVBoxLayout()
        open_row = QHBoxLayout()
        self.reference_edit = QLineEdit()
        self.reference_edit.setPlaceholderText("Reference, e.g. CASE-2026-0042")
        self.open_button = QPushButton("Open or create")
        open_row.addWidget(self.reference_edit, 1)
        open_row.addWidget(self.open_button)
        left.addLayout(open_row)
        self.state_filter = QComboBox()
        self.state_filter.addItem("All states", None)
        for state in CaseState:
            self.state_filter.addItem(state.value.capitalize(), state.value)
        left.addWidget(self.state_filter)
        self.case_list = QListWidget()
        left.addWidget(self.case_list, 1)
        layout.addLayout(left, 1)

        right = QVBoxLayout()
        heading_row = QHBoxLayout()
        self.heading = QLabel("No case open")
        self.heading.setWordWrap(True)
        # Shared work: claim a case; one held by someone else opens read-only with their name.
        self.assign_button = QPushButton("Assign to me")
        self.assign_button.setToolTip("Others see the case read-only until you release it")
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.assign_button)
        self.read_only_note = QLabel()
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        bold = self.read_only_note.font()
        bold.setBold(True)
        self.read_only_note.setFont(bold)
        self.read_only_note.hide()
        self.photos_note = QLabel()
        self.photos_note.setWordWrap(True)
        self.timeline = QTextBrowser()
        right.addLayout(heading_row)
        right.addWidget(self.read_only_note)
        right.addWidget(self.photos_note)
        right.addWidget(self.timeline, 1)
        note_row = QHBoxLayout()
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note")
        self.note_button = QPushButton("Add note")
        note_row.addWidget(self.note_edit, 1)
        note_row.addWidget(self.note_button)
        right.addLayout(note_row)
        decision_row = QHBoxLayout()
        self.decision_combo = QComboBox()
        self.decision_combo.addItems(["approve", "reject", "escalate"])
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Reason (required)")
        self.decide_button = QPushButton("Record decision")
        decision_row.addWidget(self.decision_combo)
        decision_row.addWidget(self.reason_edit, 1)
        decision_row.addWidget(self.decide_button)
        right.addLayout(decision_row)
        actions = QHBoxLayout()
        self.active_button = QPushButton("Make active")
        self.attach_button = QPushButton("Attach current pair")
        self.attach_button.setToolTip("Attach the ID photo and selfie loaded in the current tab")
        self.export_button = QPushButton("Export…")
        self.erase_button = QPushButton("Erase photos")
        self.close_case_button = QPushButton("Close case")
        for button in (
            self.active_button,
            self.attach_button,
            self.export_button,
            self.erase_button,
            self.close_case_button,
        ):
            actions.addWidget(button)
        right.addLayout(actions)
        self.message = QLabel()
        self.message.setWordWrap(True)
        right.addWidget(self.message)
        layout.addLayout(right, 2)

        self.open_button.clicked.connect(lambda: self.open_case(self.reference_edit.text()))
        self.reference_edit.returnPressed.connect(self.open_button.click)
        self.case_list.itemActivated.connect(lambda item: self.open_case(item.text().split()[0]))
        self.state_filter.currentIndexChanged.connect(lambda _i: self.refresh_list())
        self.note_button.clicked.connect(self._on_note)
        self.decide_button.clicked.connect(self._on_decide)
        self.active_button.clicked.connect(self._on_active)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.attach_button.clicked.connect(self._on_attach)
        self.erase_button.clicked.connect(lambda: self._change(lambda b, r: b.erase_photos(r)))
        self.close_case_button.clicked.connect(lambda: self._change(lambda b, r: b.close(r)))
        self.assign_button.clicked.connect(self._on_assign)
        self._set_enabled(False)
        self.refresh_list()

    # --- forwarding ------------------------------------------------------------------------------

    def refresh_list(self) -> None:
        self._tasks.start("cases:list", self._load_list(), label="Loading cases")

    def open_case(self, reference: str) -> None:
        self._tasks.start("cases:open", self._open(reference), label="Opening case")

    def export_to(self, folder: Path) -> None:
        self._tasks.start("cases:export", self._export(folder), label="Exporting case report")

    def _on_note(self) -> None:
        text = self.note_edit.text()
        self._change(lambda b, r: b.add_note(r, text))
        self.note_edit.clear()

    def _on_decide(self) -> None:
        decision, reason = self.decision_combo.currentText(), self.reason_edit.text()
        self._change(lambda b, r: b.decide(r, decision, reason))

    def _on_attach(self) -> None:
        photos = self._current_pair()
        if not photos:
            self.message.setText("Load an ID photo and a selfie in a vendor tab first.")
            return
        self._change(lambda b, r: b.attach_pair(r, photos))

    def _on_active(self) -> None:
        if self.case_file is None:
            return
        reference = self.case_file.case.reference
        active = None if self._service.active_case == reference else reference
        self._service.active_case = active
        self._on_active_changed(active)
        self._show_case(self.case_file)

    def _on_assign(self) -> None:
        if self.case_file is None:
            return
        mine = self.case_file.case.assignee == self._operator
        self._change(lambda b, r: b.release(r) if mine else b.assign_to_me(r))

    def on_store_changed(self, change: StoreChange) -> None:
        """Another workstation changed the store: reload the list, and the case if it is shown."""
        shown = self.case_file.case.reference if self.case_file is not None else None
        if change.table == "cases" or change.case is None:
            self.refresh_list()
        if shown is not None and change.case in (None, shown):
            self._tasks.start("cases:reload", self._open(shown), label="Refreshing case")

    def _on_export_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the evidence report into")
        if folder:
            self.export_to(Path(folder))

    def _change(self, action: Callable[..., object]) -> None:
        if self.case_file is None:
            return
        reference = self.case_file.case.reference

        async def run() -> None:
            book = self._service.case_book()
            await asyncio.to_thread(action, book, reference)
            await self._open(reference)
            await self._load_list()

        self._tasks.start("cases:change", run(), label="Updating case")

    # --- display ---------------------------------------------------------------------------------

    async def _load_list(self) -> None:
        state = self.state_filter.currentData()
        book = self._service.case_book()
        cases = await asyncio.to_thread(
            lambda: book.find(state=CaseState(state) if state else None)
        )
        self.case_list.clear()
        for case in cases:
            tags = f"  [{', '.join(case.tags)}]" if case.tags else ""
            holder = f"  · {case.assignee}" if case.assignee else ""
            self.case_list.addItem(f"{case.reference}  {case.state.value}{holder}{tags}")

    async def _open(self, reference: str) -> None:
        book = self._service.case_book()

        def open_or_create() -> CaseFile:
            if not book.exists(reference):
                book.new_case(reference)
            return book.case_file(reference)

        def load() -> tuple[CaseFile, str | None, str]:
            case_file = open_or_create()
            return case_file, book.read_only_reason(case_file.case), book.operator

        case_file, self._read_only_reason, self._operator = await asyncio.to_thread(load)
        self._show_case(case_file)
        await self._load_list()

    async def _export(self, folder: Path) -> None:
        if self.case_file is None:
            return
        book = self._service.case_book()
        reference = self.case_file.case.reference
        self.exported = await asyncio.to_thread(export_case_report, book, reference, folder)
        self.message.setText(
            "Exported:\n" + "\n".join(f"{f.path.name}  SHA-256 {f.sha256}" for f in self.exported)
        )
        await self._open(reference)

    def _show_case(self, case_file: CaseFile) -> None:
        self.case_file = case_file
        case = case_file.case
        active = " · active" if self._service.active_case == case.reference else ""
        tags = ", ".join(case.tags) or "no tags"
        with_holder = f" · with {html.escape(case.assignee)}" if case.assignee else ""
        self.heading.setText(
            f"<b>{html.escape(case.reference)}</b> · {case.state.value} · "
            f"{html.escape(tags)}{with_holder}{active}"
        )
        self.photos_note.setText(case.photos_note)
        self.photos_note.setVisible(bool(case.photos_note))
        self.active_button.setText("Stop working on this case" if active else "Make active")
        self.timeline.setHtml(timeline_html(case_file))
        self._set_enabled(True)
        holder = case.assignee
        self.assign_button.setText(
            "Release" if holder and holder == self._operator else "Assign to me"
        )
        self.assign_button.setEnabled(holder is None or holder == self._operator)
        self.assign_button.setToolTip(
            f"{holder} has this case; only {holder} can release it"
            if holder and holder != self._operator
            else "Others see the case read-only until you release it"
        )
        reason = self._read_only_reason
        held_by_other = holder is not None and holder != self._operator
        self.read_only_note.setText(reason or "")
        self.read_only_note.setVisible(held_by_other and bool(reason))
        if held_by_other:
            # Read-only: reading and exporting stay; adding to the case waits for its holder.
            for widget in (
                self.note_button,
                self.decide_button,
                self.active_button,
                self.attach_button,
                self.erase_button,
                self.close_case_button,
            ):
                widget.setEnabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.note_button,
            self.decide_button,
            self.active_button,
            self.attach_button,
            self.export_button,
            self.erase_button,
            self.close_case_button,
        ):
            widget.setEnabled(enabled)


def timeline_html(case_file: CaseFile) -> str:
    """The timeline as simple HTML: pairs, vendor runs, the decision, notes."""
    parts = ["<h3>Image pairs</h3>"]
    parts += [
        f"<p>{p.time_utc:%Y-%m-%d %H:%M} · {html.escape(', '.join(p.fingerprints))}"
        f"{' · photos kept' if p.photos_kept else ''}</p>"
        for p in case_file.pairs
    ] or ["<p>None attached.</p>"]
    parts.append("<h3>Vendor runs</h3>")
    for run in case_file.runs:
        score = f" · score {run.score:g} ({html.escape(run.scale or '')})" if run.score else ""
        parts.append(
            f"<p>{run.time_utc:%Y-%m-%d %H:%M} · {html.escape(run.vendor)} "
            f"{html.escape(run.operation)} · {html.escape(run.outcome)} · verdict "
            f"{html.escape(run.verdict or 'not recorded')}{score} · request "
            f"{html.escape(run.request_id or '-')}</p>"
        )
    if not case_file.runs:
        parts.append("<p>None yet: make the case active and run a check.</p>")
    parts.append("<h3>Reviewer decision</h3>")
    decision = case_file.decision
    parts.append(
        f"<p><b>{decision.decision.value}</b>: {html.escape(decision.reason)} "
        f"({html.escape(decision.operator)}, {decision.time_utc:%Y-%m-%d %H:%M})</p>"
        if decision
        else "<p>Not decided.</p>"
    )
    parts.append("<h3>Notes</h3>")
    parts += [_note_html(n, 0) for n in case_file.notes] or ["<p>No notes.</p>"]
    return "".join(parts)


def _note_html(note: Note, depth: int) -> str:
    own = (
        f"<p style='margin-left:{depth * 20}px'>{html.escape(note.operator)}, "
        f"{note.time_utc:%Y-%m-%d %H:%M}: {html.escape(note.text)}</p>"
    )
    return own + "".join(_note_html(r, depth + 1) for r in note.replies)
