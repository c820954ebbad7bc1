"""The GLAIR Vision tab: face match, image liveness (passive / active) and liveness sessions.

Everything goes through `VerificationService` typed by the Protocols in app.vendors.glair.types.
GLAIR cannot list sessions, so the sessions panel lists the session registry; every session
created or opened is written there, and pending ones are watched until they finish or expire.

Why one module past ~600 lines: it is widget building and display only (the session, audit,
paging and sandbox rules are in app/workflows/sessions.py and sandbox_controls.py); splitting
it into ui/panels/glair/<feature>.py waits for the vendor packages
(app/vendors/glair/) to land, so the panel package mirrors them in one move.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.capabilities import Capability, SupportsFaceMatch, SupportsImageLiveness
from app.clipboard import ClipRole
from app.domain import CheckResult, SessionRecord, Verdict
from app.errors import NotFound
from app.vendors.glair.types import (
    GESTURES,
    GlairActiveLiveness,
    GlairLivenessSessions,
    GlairSession,
    SessionKind,
    SessionStatus,
)
from app.workflows.sandbox_controls import GlairEndUserOutcome
from app.workflows.sessions import Audited, WatchSet, seconds_left, shown_time, status_text
from ui.dialogs.confirm import confirm_destructive
from ui.panels.base import Panel, PanelContext
from ui.widgets.copy_field import CopyField
from ui.widgets.list_filter import ListFilter, find_shortcut
from ui.widgets.qr import QrCode
from ui.widgets.result_card import ResultCard


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


# The provider of the tab's active connection, typed as the capability each panel uses.
def _face_match(ctx: PanelContext) -> SupportsFaceMatch:
    return ctx.service.provider(ctx.provider_id, SupportsFaceMatch)


def _passive(ctx: PanelContext) -> SupportsImageLiveness:
    return ctx.service.provider(ctx.provider_id, SupportsImageLiveness)


def _active(ctx: PanelContext) -> GlairActiveLiveness:
    return ctx.service.provider(ctx.provider_id, GlairActiveLiveness)


def _sessions(ctx: PanelContext) -> GlairLivenessSessions:
    return ctx.service.provider(ctx.provider_id, GlairLivenessSessions)


class GlairFaceMatchPanel(Panel):
    """1:1 face match: the ID photo is GLAIR's stored_image, the selfie its captured_image."""

    title = "Face match"
    main_actions = ("match_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _hint(
                "Compares the ID photo (GLAIR's stored image) with the selfie (captured image). "
                "The answer is MATCH / NOT_MATCH, or why no comparison was possible."
            )
        )
        row = QHBoxLayout()
        self.match_button = QPushButton("Match faces")
        self.match_button.clicked.connect(self._on_match_clicked)
        row.addWidget(self.match_button)
        self.busy = QLabel()
        row.addWidget(self.busy, 1)
        layout.addLayout(row)
        self.result = ResultCard()
        layout.addWidget(self.result)
        layout.addStretch(1)

    @Slot()
    def _on_match_clicked(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("face_match"), self._match, label="GLAIR face match"
        )

    async def _match(self) -> None:
        self.match_button.setEnabled(False)
        self.busy.setText("Matching…")
        try:
            inputs = self.ctx.stamp(self.ctx.images.id_photo, self.ctx.images.selfie)
            reference = await self.ctx.prepared(self.ctx.images.id_photo)
            probe = await self.ctx.prepared(self.ctx.images.selfie)
            provider = _face_match(self.ctx)
            result = await provider.match_faces(reference, probe)
        finally:
            self.match_button.setEnabled(True)
            self.busy.clear()
        self.result.show_result(result, inputs=inputs)
        self.result.check_stale(self.ctx.pair)  # an image replaced while matching

    def on_connection_changed(self) -> None:
        self.result.clear()


class GlairImageLivenessPanel(Panel):
    """Passive liveness on one photo, and active liveness: does it show a chosen gesture?"""

    title = "Image liveness"
    main_actions = ("passive_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.source = QComboBox()
        self.source.addItem("Selfie", "selfie")
        self.source.addItem("ID photo", "id_photo")
        form.addRow("Image:", self.source)
        self.gesture = QComboBox()
        for code, description in GESTURES.items():
            self.gesture.addItem(f"{description}  ({code})", code)
        self.gesture.currentIndexChanged.connect(self._on_gesture_changed)
        form.addRow("Gesture (active):", self.gesture)
        self.gesture_help = _hint("")
        form.addRow("", self.gesture_help)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.passive_button = QPushButton("Check passive liveness")
        self.passive_button.clicked.connect(self._on_passive_clicked)
        self.active_button = QPushButton("Check active liveness (gesture)")
        self.active_button.clicked.connect(self._on_active_clicked)
        row.addWidget(self.passive_button)
        row.addWidget(self.active_button)
        self.busy = QLabel()
        row.addWidget(self.busy, 1)
        layout.addLayout(row)
        self.result = ResultCard()
        layout.addWidget(self.result)
        layout.addStretch(1)
        self._on_gesture_changed()

    def select_gesture(self, code: str) -> None:
        self.gesture.setCurrentIndex(self.gesture.findData(code))

    @Slot()
    def _on_gesture_changed(self) -> None:
        code = str(self.gesture.currentData() or "")
        kind = "hand" if code.startswith("HAND_") else "head"
        self.gesture_help.setText(
            f"The person must show: {GESTURES.get(code, code)}. GLAIR checks the {kind} "
            "gesture in the photo."
        )

    @Slot()
    def _on_passive_clicked(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("passive_liveness"),
            lambda: self._check(active=False),
            label="GLAIR passive liveness",
        )

    @Slot()
    def _on_active_clicked(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("active_liveness"),
            lambda: self._check(active=True),
            label="GLAIR active liveness",
        )

    async def _check(self, *, active: bool) -> None:
        buttons = (self.passive_button, self.active_button)
        for button in buttons:
            button.setEnabled(False)
        self.busy.setText("Checking…")
        try:
            slot = (
                self.ctx.images.selfie
                if self.source.currentData() == "selfie"
                else self.ctx.images.id_photo
            )
            inputs = self.ctx.stamp(slot)
            image = await self.ctx.prepared(slot)
            result: CheckResult
            if active:
                gesture = str(self.gesture.currentData())
                provider = _active(self.ctx)
                result = await provider.check_active_liveness(image, gesture)
            else:
                passive = _passive(self.ctx)
                result = await passive.check_liveness(image)
        finally:
            for button in buttons:
                button.setEnabled(True)
            self.busy.clear()
        self.result.show_result(result, inputs=inputs)
        self.result.check_stale(self.ctx.pair)

    def on_connection_changed(self) -> None:
        self.result.clear()


_KINDS = tuple(kind.value for kind in SessionKind)
_LIST_COLUMNS = ("Session id", "Type", "Status", "Created (local)")


def _countdown(expires_at: datetime | None) -> str:
    if expires_at is None:
        return "Expiry not given by GLAIR."
    left = seconds_left(expires_at) or 0
    if left <= 0:
        return "Expired (GLAIR sessions last 24 hours)."
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"Expires in {hours} h {minutes:02d} min {seconds:02d} s"


class GlairSessionsPanel(Panel):
    """Hosted passive / active liveness sessions: create, open, watch, simulate, forget."""

    title = "Liveness sessions"
    main_actions = ("create_button",)
    refresh_actions = ("refresh_button",)
    # Seconds between the first polls of a watched session (tests shorten it).
    watch_interval = 2.0
    watch_max_interval = 20.0

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.session: GlairSession | None = None
        self.records: list[SessionRecord] = []
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self._build_create())
        left.addWidget(self._build_list(), 1)
        outer.addLayout(left, 2)
        outer.addWidget(self._build_view(), 3)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._listed_once = False
        # sid -> number of live watch coroutines (a restarted watch overlaps its cancelled one)
        self._watching = WatchSet()
        self._show_session(None)

    def showEvent(self, event: QShowEvent) -> None:  # Qt's name
        """List the registry when the panel is first shown (no loop runs in __init__)."""
        super().showEvent(event)
        if not self._listed_once:
            self._listed_once = True
            self.refresh_sessions()

    # --- layout --------------------------------------------------------------------------------

    def _build_create(self) -> QWidget:
        box = QGroupBox("New session")
        form = QFormLayout(box)
        self.kind = QComboBox()
        for kind in SessionKind:
            self.kind.addItem(kind.label, kind.value)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        form.addRow("Type:", self.kind)
        self.gestures = QSpinBox()
        self.gestures.setRange(1, 10)
        self.gestures.setValue(1)
        self.gestures.setToolTip("How many gestures the end user must perform (GLAIR default 1)")
        form.addRow("Number of gestures:", self.gestures)
        self.success_url = QLineEdit()
        self.success_url.setPlaceholderText("https://your-site.example/done (GLAIR adds ?sid=…)")
        form.addRow("Success URL:", self.success_url)
        self.cancel_url = QLineEdit()
        self.cancel_url.setPlaceholderText("optional: where the back button leads")
        form.addRow("Cancel URL:", self.cancel_url)
        self.create_button = QPushButton("Create session")
        self.create_button.clicked.connect(self._on_create_clicked)
        form.addRow(self.create_button)
        self._on_kind_changed()
        self._fill_default_urls()
        return box

    def _build_list(self) -> QWidget:
        box = QGroupBox("Sessions (from this computer's registry: GLAIR cannot list them)")
        layout = QVBoxLayout(box)
        self.table = QTableWidget(0, len(_LIST_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(_LIST_COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.cellDoubleClicked.connect(self._on_row_activated)
        self.sessions_filter = ListFilter(self.table, "Filter sessions (id, kind, status, time)")
        layout.addWidget(self.sessions_filter)
        layout.addWidget(self.table, 1)
        self.filter_shortcut = find_shortcut(self, [self.sessions_filter])
        row = QHBoxLayout()
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.refresh_button = QPushButton("Refresh statuses")
        self.refresh_button.setToolTip("Retrieve every pending session from GLAIR")
        self.refresh_button.clicked.connect(self._on_refresh_clicked)
        self.forget_button = QPushButton("Forget…")
        self.forget_button.setToolTip("Remove the session from this computer's list")
        self.forget_button.clicked.connect(self._on_forget_clicked)
        for button in (self.open_button, self.refresh_button, self.forget_button):
            row.addWidget(button)
        layout.addLayout(row)
        paste = QHBoxLayout()
        self.paste_sid = QLineEdit()
        self.paste_sid.setPlaceholderText("Paste a session id (sid) to look it up")
        self.paste_kind = QComboBox()
        for kind in SessionKind:
            self.paste_kind.addItem(kind.label, kind.value)
        self.lookup_button = QPushButton("Look up")
        self.lookup_button.clicked.connect(self._on_lookup_clicked)
        paste.addWidget(self.paste_sid, 1)
        paste.addWidget(self.paste_kind)
        paste.addWidget(self.lookup_button)
        layout.addLayout(paste)
        return box

    def _build_view(self) -> QWidget:
        box = QGroupBox("Session")
        layout = QVBoxLayout(box)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("font-size: 13pt; font-weight: 600;")
        layout.addWidget(self.status)
        self.countdown = QLabel()
        layout.addWidget(self.countdown)
        form = QFormLayout()
        self.sid_field = CopyField()
        form.addRow("Session id:", self.sid_field)
        self.url_field = CopyField(role=ClipRole.SESSION_URL)
        form.addRow("Hosted page:", self.url_field)
        layout.addLayout(form)
        url_row = QHBoxLayout()
        self.open_browser_button = QPushButton("Open in browser")
        self.open_browser_button.clicked.connect(self._on_open_browser_clicked)
        url_row.addWidget(self.open_browser_button)
        self.watch_button = QPushButton("Watch")
        self.watch_button.setToolTip("Poll GLAIR until the session finishes or expires")
        self.watch_button.clicked.connect(self._on_watch_clicked)
        url_row.addWidget(self.watch_button)
        self.retrieve_button = QPushButton("Retrieve now")
        self.retrieve_button.clicked.connect(self._on_retrieve_clicked)
        url_row.addWidget(self.retrieve_button)
        url_row.addStretch(1)
        layout.addLayout(url_row)
        self.watch_state = QLabel()
        layout.addWidget(self.watch_state)
        self.qr_row = QWidget()
        qr_row = QHBoxLayout(self.qr_row)
        qr_row.setContentsMargins(0, 0, 0, 0)
        self.qr = QrCode(size=170)
        qr_row.addWidget(self.qr)
        self.qr_hint = _hint("")
        qr_row.addWidget(self.qr_hint, 1)
        layout.addWidget(self.qr_row)
        self.simulate_row = QWidget()
        simulate = QHBoxLayout(self.simulate_row)
        simulate.setContentsMargins(0, 0, 0, 0)
        simulate.addWidget(QLabel("Sandbox:"))
        self.simulate_live_button = QPushButton("Simulate end user: live")
        self.simulate_live_button.clicked.connect(self._on_simulate_live_clicked)
        self.simulate_spoof_button = QPushButton("Simulate end user: spoof")
        self.simulate_spoof_button.clicked.connect(self._on_simulate_spoof_clicked)
        simulate.addWidget(self.simulate_live_button)
        simulate.addWidget(self.simulate_spoof_button)
        simulate.addStretch(1)
        layout.addWidget(self.simulate_row)
        self.result = ResultCard()
        layout.addWidget(self.result)
        layout.addStretch(1)
        return box

    def _fill_default_urls(self) -> None:
        """On the Sandbox, point the success URL at the sandbox's own landing page."""
        if self.ctx.service.is_sandbox(self.ctx.provider_id):
            base = self.ctx.service.connection_fields(self.ctx.provider_id).get("base_url", "")
            if base and not self.success_url.text():
                self.success_url.setText(base.rstrip("/") + "/hosted/return")

    # --- showing a session ---------------------------------------------------------------------

    def _show_session(self, session: GlairSession | None) -> None:
        self.session = session
        has = session is not None
        for widget in (
            self.open_browser_button,
            self.watch_button,
            self.retrieve_button,
            self.simulate_live_button,
            self.simulate_spoof_button,
        ):
            widget.setEnabled(has)
        self.simulate_row.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))
        self._update_watch_state()
        if session is None:
            self.status.setText("No session open. Create one, or pick one from the list.")
            self.countdown.clear()
            self.sid_field.set_value("")
            self.url_field.set_value("")
            self.qr.set_text("")
            self.qr_row.hide()
            self.result.clear()
            self._timer.stop()
            return
        pending = session.status is SessionStatus.PENDING
        gestures = (
            f", {session.number_of_gestures} gesture(s)" if session.number_of_gestures else ""
        )
        words = {
            SessionStatus.PENDING: "waiting for the end user",
            SessionStatus.FINISHED: "finished",
            SessionStatus.EXPIRED: "expired: no longer retrievable",
        }
        self.status.setText(f"{session.kind.label}{gestures}: {words[session.status]}")
        self.sid_field.set_value(session.sid)
        self.url_field.set_value(session.url)
        on_sandbox = self.ctx.service.is_sandbox(self.ctx.provider_id)
        self.qr_row.setVisible(pending)
        # The in-process sandbox has no address a browser or phone could reach.
        self.qr.setVisible(not on_sandbox)
        self.qr.set_text(session.url if pending and not on_sandbox else "")
        self.qr_hint.setText(
            "In-process sandbox: this page exists only inside FaceDesk. Use “Simulate end "
            "user” below, or serve the sandbox with `python -m app.sandbox` and connect a "
            "profile to it to open the page in a browser."
            if on_sandbox
            else "Send the end user to the hosted page (copy the link, or let them scan the "
            "QR code with a phone). When they finish, GLAIR sends them to the success URL and "
            "the result appears here by itself."
        )
        self.simulate_live_button.setEnabled(pending)
        self.simulate_spoof_button.setEnabled(pending)
        self.open_browser_button.setEnabled(pending and not on_sandbox)
        self.watch_button.setEnabled(pending)
        if session.result is not None:
            self.result.show_result(session.result, copyable={"Session id": session.sid})
        elif session.status is SessionStatus.PENDING:
            self.result.show_result(
                CheckResult(
                    Verdict.PENDING,
                    "Waiting for the end user",
                    reasons=("The result appears here once GLAIR reports FINISHED.",),
                    raw=session.raw,
                    request_id=session.request_id,
                )
            )
        else:
            self.result.show_result(
                CheckResult(
                    Verdict.INCONCLUSIVE,
                    "No result" if session.status is SessionStatus.FINISHED else "Expired",
                    reasons=(
                        "GLAIR gave no result for this session."
                        if session.status is SessionStatus.FINISHED
                        else "The session expired before a result could be read.",
                    ),
                    raw=session.raw,
                )
            )
        self._on_timer_timeout()
        if pending:
            self._timer.start()
        else:
            self._timer.stop()

    @Slot()
    def _on_timer_timeout(self) -> None:
        session = self.session
        if session is None or session.status is not SessionStatus.PENDING:
            self.countdown.setText("")
            return
        self.countdown.setText(_countdown(session.expires_at))

    def _watch_name(self, sid: str) -> str:
        return self.ctx.task_name(f"watch:{sid}")

    def _update_watch_state(self) -> None:
        session = self.session
        watching = session is not None and session.sid in self._watching
        self.watch_state.setText("Watching: checks GLAIR with growing pauses…" if watching else "")
        self.watch_button.setText("Stop watching" if watching else "Watch")
        if session is not None:
            self.watch_button.setEnabled(watching or session.status is SessionStatus.PENDING)

    # --- registry list -------------------------------------------------------------------------

    def refresh_sessions(self) -> None:
        self.ctx.tasks.start(self.ctx.task_name("sessions_list"), self._load_list())

    async def _load_list(self) -> None:
        self.records = await self.ctx.sessions.tracked(_KINDS)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            created = shown_time(record.created_at)
            values = (
                record.session_id,
                SessionKind(record.kind).label,
                status_text(record.status),
                created.text,
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == len(values) - 1:
                    item.setToolTip(created.tooltip)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def _selected(self) -> SessionRecord | None:
        row = self.table.currentRow()
        return self.records[row] if 0 <= row < len(self.records) else None

    async def _record(self, session: GlairSession) -> None:
        extra = {"url": session.url, "success_url": session.success_url}
        if session.expires_at is not None:
            extra["expires_at"] = session.expires_at.isoformat()
        await self.ctx.sessions.record(
            session.sid,
            kind=session.kind.value,
            status=session.status.value,
            extra=extra,
        )

    # --- actions -------------------------------------------------------------------------------

    @Slot()
    def _on_kind_changed(self) -> None:
        self.gestures.setEnabled(self.kind.currentData() == SessionKind.ACTIVE.value)

    @Slot()
    def _on_create_clicked(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("create_session"), self._create(), label="GLAIR create session"
        )

    async def _create(self) -> None:
        kind = SessionKind(self.kind.currentData())
        self.create_button.setEnabled(False)
        try:
            provider = _sessions(self.ctx)
            success_url = self.success_url.text().strip()
            cancel_url = self.cancel_url.text().strip() or None
            gestures = self.gestures.value() if kind is SessionKind.ACTIVE else None
            session = await self.ctx.audited(
                Audited.GLAIR_CREATE_SESSION,
                lambda: provider.create_session(
                    kind,
                    success_url=success_url,
                    cancel_url=cancel_url,
                    number_of_gestures=gestures,
                ),
            )
            await self._record(session)
        finally:
            self.create_button.setEnabled(True)
        self._show_session(session)
        # Nothing more for the operator to do: the result arrives by itself.
        self.start_watch(session)
        await self._load_list()

    @Slot(int, int)
    def _on_row_activated(self, _row: int, _column: int) -> None:
        self._on_open_clicked()

    @Slot()
    def _on_open_clicked(self) -> None:
        record = self._selected()
        if record is not None:
            self.open_session(SessionKind(record.kind), record.session_id)

    @Slot()
    def _on_lookup_clicked(self) -> None:
        sid = self.paste_sid.text().strip()
        if sid:
            self.open_session(SessionKind(self.paste_kind.currentData()), sid)

    @Slot()
    def _on_retrieve_clicked(self) -> None:
        if self.session is not None:
            self.open_session(self.session.kind, self.session.sid)

    def open_tracked(self, record: SessionRecord) -> bool:
        if record.kind not in _KINDS:
            return False
        self.open_session(SessionKind(record.kind), record.session_id)
        return True

    def open_session(self, kind: SessionKind, sid: str) -> None:
        self.ctx.tasks.start(self.ctx.task_name("open_session"), self._open(kind, sid))

    async def _open(self, kind: SessionKind, sid: str) -> None:
        provider = _sessions(self.ctx)
        try:
            session = await provider.get_session(kind, sid)
        except NotFound:
            await self._mark_expired(kind, sid)
            raise  # the presenter explains (expired, other type, other credentials)
        await self._record(session)
        self._show_session(session)
        if session.status is SessionStatus.PENDING:
            self.start_watch(session)
        await self._load_list()

    async def _mark_expired(self, kind: SessionKind, sid: str) -> None:
        """§4b: GLAIR forgets expired sessions; a listed or shown one of this kind is marked."""
        shown = self.session is not None and (self.session.sid, self.session.kind) == (sid, kind)
        if await self.ctx.sessions.mark_expired(sid, kind.value) is not None:
            await self._load_list()
        if shown and self.session is not None:
            self._show_session(replace(self.session, status=SessionStatus.EXPIRED))

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("refresh_sessions"), self._refresh(), label="GLAIR refresh"
        )

    async def _refresh(self) -> None:
        """Retrieve every pending registry session; expired ones are marked, not dropped."""
        self.refresh_button.setEnabled(False)
        try:
            provider = _sessions(self.ctx)
            # §4b: an expired session is no longer retrievable; it is kept, marked.
            outcome = await self.ctx.sessions.refresh(
                _KINDS,
                is_open=lambda record: record.status == SessionStatus.PENDING.value,
                fetch=lambda record: provider.get_session(
                    SessionKind(record.kind), record.session_id
                ),
                record=self._record,
                gone=(NotFound,),
            )
            for session in outcome.updated:
                if self.session is not None and self.session.sid == session.sid:
                    self._show_session(session)
        finally:
            self.refresh_button.setEnabled(True)
        await self._load_list()

    @Slot()
    def _on_watch_clicked(self) -> None:
        session = self.session
        if session is None:
            return
        name = self._watch_name(session.sid)
        if self.ctx.tasks.is_running(name):
            self.ctx.tasks.cancel(name)
        else:
            self.start_watch(session)

    def start_watch(self, session: GlairSession) -> None:
        if session.status is not SessionStatus.PENDING:
            return
        sid = session.sid
        task = self.ctx.tasks.start(
            self._watch_name(sid),
            self._watch(session.kind, sid),
            label=f"Watching GLAIR session {sid[:8]}…",
        )
        self._watching.started(sid)
        # A done-callback also fires for a watch cancelled before it ever ran.
        task.add_done_callback(lambda _task: self._watch_ended(sid))
        self._update_watch_state()

    def _watch_ended(self, sid: str) -> None:
        self._watching.ended(sid)
        self._update_watch_state()

    async def _watch(self, kind: SessionKind, sid: str) -> None:
        provider = _sessions(self.ctx)

        def show(update: GlairSession) -> None:
            if self.session is not None and self.session.sid == sid:
                self._show_session(update)

        final = await self.ctx.sessions.watch(
            provider.watch_session(
                kind,
                sid,
                initial_interval=self.watch_interval,
                max_interval=self.watch_max_interval,
            ),
            record=self._record,
            on_update=show,
        )

        await self._load_list()
        if final is not None and final.is_final:
            self._notify(final)

    def _notify(self, session: GlairSession) -> None:
        if session.status is SessionStatus.FINISHED and session.result is not None:
            outcome = session.result.headline
        else:
            outcome = session.status.value.lower()
        self.ctx.presenter.info(f"GLAIR session {session.sid[:8]}… {outcome}.")
        QApplication.alert(self.window())

    @Slot()
    def _on_simulate_live_clicked(self) -> None:
        self._simulate(GlairEndUserOutcome.LIVE)

    @Slot()
    def _on_simulate_spoof_clicked(self) -> None:
        self._simulate(GlairEndUserOutcome.SPOOF)

    def _simulate(self, outcome: GlairEndUserOutcome) -> None:
        session = self.session
        if session is None:
            return
        self.ctx.tasks.start(
            self.ctx.task_name("simulate"), self._simulate_end_user(session, outcome)
        )

    async def _simulate_end_user(self, session: GlairSession, outcome: GlairEndUserOutcome) -> None:
        """Sandbox only: finish the session as the end user would on the hosted page."""
        await self.ctx.sandbox.glair_complete(session.sid, outcome)
        if not self.ctx.tasks.is_running(self._watch_name(session.sid)):
            self.start_watch(session)

    @Slot()
    def _on_open_browser_clicked(self) -> None:
        if self.session is not None:
            QDesktopServices.openUrl(QUrl(self.session.url))

    @Slot()
    def _on_forget_clicked(self) -> None:
        record = self._selected()
        if record is not None:
            self.ctx.tasks.start(self.ctx.task_name("forget_session"), self._forget(record))

    async def _forget(self, record: SessionRecord) -> None:
        label = SessionKind(record.kind).label.lower()
        confirmed = await confirm_destructive(
            self,
            title="Forget GLAIR session?",
            text=f"Remove {label} session {record.session_id} ({record.status}) from this "
            "computer's list?",
            details="GLAIR cannot list sessions, so FaceDesk will no longer show it. The "
            "session itself stays at GLAIR until it expires; keep its id if you may need it.",
            confirm_label="Forget",
        )
        if not confirmed:
            return
        self.ctx.tasks.cancel(self._watch_name(record.session_id))
        await self.ctx.sessions.forget(record.session_id, audit=Audited.GLAIR_FORGET_SESSION)
        if self.session is not None and self.session.sid == record.session_id:
            self._show_session(None)
        await self._load_list()

    def on_connection_changed(self) -> None:
        self.ctx.tasks.cancel_prefix(self.ctx.task_name("watch:"))
        self._show_session(None)
        self.success_url.clear()
        self._fill_default_urls()
        self.refresh_sessions()


PANELS: dict[Capability, type[Panel]] = {
    Capability.FACE_MATCH: GlairFaceMatchPanel,
    Capability.IMAGE_LIVENESS: GlairImageLivenessPanel,
    Capability.LIVENESS_SESSIONS: GlairSessionsPanel,
}
