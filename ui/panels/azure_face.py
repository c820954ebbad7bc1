"""Azure AI Face tab: liveness sessions (version-aware), face verify, and person groups.

Why one module past ~600 lines: it is widget building and display only (the session, audit,
paging and sandbox rules are in app/workflows/sessions.py and sandbox_controls.py); splitting
it into ui/panels/azure_face/<feature>.py waits for the vendor packages
(app/vendors/azure_face/) to land, so the panel package mirrors them in one move.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.capabilities import Capability
from app.domain import CheckResult, EncodedImage, SessionRecord, Verdict
from app.errors import NotFound, OperationRefused
from app.vendors.azure_face.types import (
    SINGLE_MODAL_VERSIONS,
    AzureFaceVerify,
    AzureLivenessSessions,
    AzurePersonGroups,
    Detection,
    FaceRect,
    LivenessSession,
    OperationMode,
    SessionKind,
    SessionOptions,
)
from app.workflows.pair import InputStamp, PairSlot
from app.workflows.sandbox_controls import AzureDeviceOutcome
from app.workflows.sessions import (
    Audited,
    ShownTime,
    read_pages,
    shown_time,
    status_text,
)
from ui.dialogs.confirm import confirm_destructive
from ui.panels.base import Panel, PanelContext
from ui.privacy import Private, mark_private
from ui.widgets.copy_field import CopyField
from ui.widgets.list_filter import ListFilter, find_shortcut
from ui.widgets.result_card import ResultCard

KIND_LABELS = {
    SessionKind.LIVENESS: "Liveness",
    SessionKind.LIVENESS_WITH_VERIFY: "Liveness with verify (reference = ID photo)",
}
LIST_PAGE_SIZE = 100  # `top` per list call (Azure allows 1..1000)
LIST_PAGES = 10  # pages read per Refresh / More… before the list is shown


class FaceView(QLabel):
    """A photo with Azure's face rectangles drawn on it; the chosen face is highlighted."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(caption, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 140)
        self.setFrameShape(QLabel.Shape.StyledPanel)
        self.rects: tuple[FaceRect, ...] = ()

    def show_faces(self, data: bytes, rects: Sequence[FaceRect], selected: int) -> None:
        self.rects = tuple(rects)
        pixmap = QPixmap()
        pixmap.loadFromData(data)
        if pixmap.isNull():
            return
        painter = QPainter(pixmap)
        width = max(4, pixmap.width() // 90)  # stays visible once scaled to the preview
        for index, rect in enumerate(rects):
            colour = QColor("#1b9e3e") if index == selected else QColor("#d08a00")
            painter.setPen(QPen(colour, width))
            painter.drawRect(QRect(rect.left, rect.top, rect.width, rect.height))
            painter.drawText(rect.left + 4, rect.top + 4 + 12 * width // 2, f"{index + 1}")
        painter.end()
        self.setPixmap(
            pixmap.scaled(
                260,
                260,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


def _created_time(created_at: str) -> ShownTime:
    """Azure's ISO creation time in local time, UTC in the tooltip (its own text if not ISO)."""
    try:
        return shown_time(datetime.fromisoformat(created_at.replace("Z", "+00:00")))
    except ValueError:
        return ShownTime(text=created_at[:19], tooltip=created_at)


def _busy(buttons: Sequence[QPushButton], busy: bool) -> None:
    for button in buttons:
        button.setEnabled(not busy)


class AzureSessionsPanel(Panel):
    """Create, list, look up, audit and delete liveness sessions in the profile's API version."""

    title = "Liveness sessions"
    main_actions = ("create_button",)
    refresh_actions = ("refresh_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._token: str | None = None
        # Reference photos sent with verify sessions created here (session id → bytes), so
        # Azure's reference face rectangle can be drawn on them.
        self._reference: dict[str, bytes] = {}
        self._session: LivenessSession | None = None
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        layout.addLayout(left, 1)
        self.version_label = QLabel()
        self.version_label.setWordWrap(True)
        left.addWidget(self.version_label)

        form_box = QGroupBox("New session")
        form = QFormLayout(form_box)
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.mode = QComboBox()
        for mode in OperationMode:
            self.mode.addItem(mode.value, mode)
        self.ttl = QSpinBox()
        self.ttl.setRange(60, 86400)
        self.ttl.setValue(600)
        self.ttl.setSuffix(" s")
        self.device_id = QLineEdit()
        self.device_id.setMaxLength(64)
        self.device_id.setPlaceholderText("device correlation id (≤ 64 characters)")
        self.set_in_client = QCheckBox("Device sets its own correlation id")
        self.session_image = QCheckBox("Keep the session image")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setSpecialValueText("Azure default")
        form.addRow("Kind:", self.kind)
        form.addRow("Operation mode:", self.mode)
        form.addRow("Token lifetime:", self.ttl)
        form.addRow("Device id:", self.device_id)
        form.addRow("", self.set_in_client)
        form.addRow("", self.session_image)
        form.addRow("Verify threshold:", self.threshold)
        self.create_button = QPushButton("Create session")
        form.addRow(self.create_button)
        left.addWidget(form_box)

        list_box = QGroupBox("Sessions (newest first)")
        list_layout = QVBoxLayout(list_box)
        self.sessions = QListWidget()
        self.sessions_filter = ListFilter(self.sessions, "Filter sessions (id, status, time)")
        list_layout.addWidget(self.sessions_filter)
        list_layout.addWidget(self.sessions)
        self.filter_shortcut = find_shortcut(self, [self.sessions_filter])
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh list")
        self.more_button = QPushButton("More…")
        self.more_button.hide()
        row.addWidget(self.refresh_button)
        row.addWidget(self.more_button)
        list_layout.addLayout(row)
        left.addWidget(list_box, 1)

        right = QVBoxLayout()
        layout.addLayout(right, 2)
        lookup = QHBoxLayout()
        self.session_id = QLineEdit()
        self.session_id.setPlaceholderText("session id")
        self.get_button = QPushButton("Get result")
        self.audit_button = QPushButton("Audit entries")
        self.delete_button = QPushButton("Delete…")
        for widget in (self.session_id, self.get_button, self.audit_button, self.delete_button):
            lookup.addWidget(widget, 1 if widget is self.session_id else 0)
        right.addLayout(lookup)
        token_row = QHBoxLayout()
        self.token_button = QPushButton("Show device auth token")
        self.token_field = CopyField(secret=True)
        self.token_field.hide()
        token_row.addWidget(self.token_button)
        token_row.addWidget(self.token_field, 1)
        right.addLayout(token_row)
        simulate_row = QHBoxLayout()
        self.outcome = QComboBox()
        for outcome in AzureDeviceOutcome:
            self.outcome.addItem(outcome.value, outcome.value)
        self.simulate_button = QPushButton("Simulate device (sandbox)")
        simulate_row.addWidget(QLabel("Outcome:"))
        simulate_row.addWidget(self.outcome)
        simulate_row.addWidget(self.simulate_button)
        simulate_row.addStretch(1)
        right.addLayout(simulate_row)
        self.result = ResultCard()
        right.addWidget(self.result)
        image_row = QGridLayout()
        self.image_button = QPushButton("Show session image")
        # The issue: face rectangles drawn on the photos (Azure's reference face on the ID
        # photo, the captured face on the session image).
        self.reference_view = FaceView("")
        self.session_image_view = FaceView("")
        self.reference_box = QGroupBox("Reference photo sent (Azure's reference face)")
        self.session_image_box = QGroupBox("Session image (the face Azure judged)")
        for box, view in (
            (self.reference_box, self.reference_view),
            (self.session_image_box, self.session_image_view),
        ):
            QVBoxLayout(box).addWidget(view)
            box.hide()
        image_row.addWidget(self.image_button, 0, 0, 1, 2, Qt.AlignmentFlag.AlignLeft)
        image_row.addWidget(self.reference_box, 1, 0)
        image_row.addWidget(self.session_image_box, 1, 1)
        right.addLayout(image_row)
        self.audit = QPlainTextEdit()
        self.audit.setReadOnly(True)
        self.audit.setMaximumHeight(140)
        self.audit.setPlaceholderText("Audit entries (singleModal API versions) appear here.")
        right.addWidget(self.audit)
        right.addStretch(1)
        self._buttons = [
            self.create_button,
            self.refresh_button,
            self.more_button,
            self.get_button,
            self.audit_button,
            self.delete_button,
            self.simulate_button,
            self.image_button,
        ]
        self._next_start: str | None = None
        self._rows: dict[str, tuple[str, str]] = {}  # session id → (created, row text)
        self.create_button.clicked.connect(self._on_create_clicked)
        self.refresh_button.clicked.connect(self._relist)
        self.more_button.clicked.connect(lambda: self._start("list", self._list(more=True)))
        self.get_button.clicked.connect(lambda: self._start("get", self._get))
        self.audit_button.clicked.connect(lambda: self._start("audit", self._audit))
        self.delete_button.clicked.connect(lambda: self._start("delete", self._delete()))
        self.simulate_button.clicked.connect(lambda: self._start("simulate", self._simulate()))
        self.image_button.clicked.connect(lambda: self._start("image", self._image))
        self.token_button.clicked.connect(self._on_token_clicked)
        self.sessions.currentItemChanged.connect(self._on_session_picked)
        self.set_in_client.toggled.connect(lambda on: self.device_id.setEnabled(not on))
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.on_connection_changed()

    # --- helpers ---

    @property
    def provider(self) -> AzureLivenessSessions:
        return self.ctx.service.provider(self.ctx.provider_id, AzureLivenessSessions)

    @property
    def version(self) -> str:
        fields = self.ctx.service.connection_fields(self.ctx.provider_id)
        return fields.get("api_version") or "v1.2"

    @property
    def can_list(self) -> bool:
        return self.version in SINGLE_MODAL_VERSIONS

    @property
    def current_kind(self) -> SessionKind:
        # Qt hands enum members back as plain strings: rebuild the member.
        return SessionKind(self.kind.currentData())

    def _start(
        self,
        operation: str,
        coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    ) -> None:
        self.ctx.tasks.start(self.ctx.task_name(f"sessions:{operation}"), coro)

    def _sync_form(self) -> None:
        verify = self.current_kind is SessionKind.LIVENESS_WITH_VERIFY
        self.threshold.setEnabled(verify and self.version != "v1.1-preview.1")
        self.session_image.setEnabled(self.version != "v1.1-preview.1")
        self.audit_button.setVisible(self.can_list)
        self.audit.setVisible(self.can_list)
        self.simulate_button.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))
        self.outcome.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))

    def _on_kind_changed(self) -> None:
        # The list, and what Get / Delete act on, must be of the kind now selected: a session
        # picked from a list of the other kind would be looked up (or deleted) on the wrong path.
        self._sync_form()
        self.sessions.clear()
        self._rows = {}
        self.result.clear()
        self._relist()

    def _relist(self) -> None:
        """Reload the list as one named task: a newer reload cancels an older one."""
        self._start("list", lambda: self._list(more=False))

    def on_connection_changed(self) -> None:
        family = (
            "singleModal sessions: Azure lists sessions and keeps audit entries"
            if self.can_list
            else "-sessions: Azure cannot list sessions, so the list shows the sessions "
            "FaceDesk created or looked up"
        )
        self.version_label.setText(f"API version <b>{self.version}</b> ({family}).")
        self.sessions.clear()
        self._rows = {}
        self.result.clear()
        self.audit.clear()
        self._forget_token()
        self._hide_photos()
        self._sync_form()

    def _hide_photos(self) -> None:
        self._session = None
        self.reference_box.hide()
        self.session_image_box.hide()

    def _forget_token(self) -> None:
        self._token = None
        self.token_field.set_value("")
        self.token_field.hide()

    def _set_busy(self, busy: bool) -> None:
        _busy(self._buttons, busy)

    def _show(self, session: LivenessSession) -> None:
        if self._session is None or self._session.session_id != session.session_id:
            self.session_image_box.hide()  # another session's capture
        self._session = session
        reference = self._reference.get(session.session_id)
        face = session.verify_reference.face if session.verify_reference else None
        if reference is not None and face is not None:
            self.reference_view.show_faces(reference, [face], 0)
            self.reference_box.show()
        else:
            self.reference_box.hide()
        if session.auth_token:
            self._token = session.auth_token
        self.session_id.setText(session.session_id)
        self.result.show_result(session.check_result(), copyable={"Session id": session.session_id})
        latest = session.latest
        self.image_button.setEnabled(bool(latest and latest.session_image_id))

    async def _record(self, session: LivenessSession) -> None:
        await self.ctx.sessions.record(
            session.session_id,
            kind=str(session.kind),
            status=session.status,
            label=f"{KIND_LABELS[session.kind].split(' (')[0]} · {session.api_version}",
            extra={"api_version": session.api_version},
        )

    # --- operations ---

    def _on_create_clicked(self) -> None:
        self._start("create", self._create())

    async def _create(self) -> None:
        self._set_busy(True)
        try:
            kind = self.current_kind
            reference = None
            if kind is SessionKind.LIVENESS_WITH_VERIFY:
                reference = await self.ctx.prepared(self.ctx.images.id_photo)
            set_in_client = self.set_in_client.isChecked()
            if not set_in_client and not self.device_id.text().strip():
                # Azure requires one unless the device sets its own: make one the operator sees.
                self.device_id.setText(str(uuid.uuid4()))
            options = SessionOptions(
                operation_mode=OperationMode(self.mode.currentData()),
                auth_token_ttl=self.ttl.value(),
                device_correlation_id=None if set_in_client else self.device_id.text().strip(),
                set_in_client=set_in_client,
                enable_session_image=self.session_image.isChecked()
                and self.session_image.isEnabled(),
                verify_image=reference,
                verify_confidence_threshold=self.threshold.value() or None,
            )
            self._forget_token()
            provider = self.provider
            session = await self.ctx.audited(
                Audited.AZURE_CREATE_SESSION, lambda: provider.create_session(kind, options)
            )
            if reference is not None:
                self._reference[session.session_id] = reference.data
            await self._record(session)
            self._show(session)
            self.ctx.presenter.info("Session created. Give the auth token to the device.")
        finally:
            self._set_busy(False)
        self._relist()

    async def _list(self, *, more: bool) -> None:
        self._set_busy(True)
        try:
            kind = self.current_kind
            if not more:
                self._next_start = None
            rows: dict[str, tuple[str, str]] = {} if not more else dict(self._rows)
            if self.can_list:
                # Azure pages by ascending session id (a GUID, so in no time order): read every
                # page, up to LIST_PAGES of them, then sort the whole list newest first.
                provider = self.provider
                read = await read_pages(
                    lambda start: provider.list_sessions(kind, start=start, top=LIST_PAGE_SIZE),
                    start=self._next_start or "",
                    max_pages=LIST_PAGES,
                )
                for summary in read.items:
                    state = status_text("expired" if summary.expired else "active")
                    started = " · started" if summary.started_at else ""
                    rows[summary.session_id] = (
                        summary.created_at,
                        f"{_created_time(summary.created_at).text}  {state}{started}",
                    )
                self._next_start = read.next_start
            else:
                self._next_start = None
                for record in await self.ctx.sessions.tracked(str(kind), api_version=self.version):
                    rows[record.session_id] = (
                        record.created_at.isoformat(),
                        f"{shown_time(record.created_at).text}  {status_text(record.status)}",
                    )
            self._rows = rows
            self.sessions.clear()
            ordered = sorted(rows.items(), key=lambda item: item[1][0], reverse=True)
            for session_id, (created, text) in ordered:
                item = QListWidgetItem(f"{text}  {session_id}")
                item.setData(Qt.ItemDataRole.UserRole, session_id)
                item.setToolTip(f"{session_id}\ncreated {_created_time(created).tooltip}")
                self.sessions.addItem(item)
            self.more_button.setVisible(self._next_start is not None)
        finally:
            self._set_busy(False)

    def _on_session_picked(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.session_id.setText(str(item.data(Qt.ItemDataRole.UserRole)))
            self._forget_token()

    def open_tracked(self, record: SessionRecord) -> bool:
        if record.kind not in {kind.value for kind in SessionKind}:
            return False
        index = next(
            (i for i in range(self.kind.count()) if str(self.kind.itemData(i)) == record.kind), -1
        )
        if index >= 0 and index != self.kind.currentIndex():
            self.kind.setCurrentIndex(index)  # relists for that kind
        self.session_id.setText(record.session_id)
        self._start("get", self._get)
        return True

    def _require_id(self) -> str:
        session_id = self.session_id.text().strip()
        if not session_id:
            raise OperationRefused("Enter or pick a session id first.")
        return session_id

    async def _get(self) -> None:
        self._set_busy(True)
        try:
            session = await self.provider.get_session(self.current_kind, self._require_id())
            await self._record(session)
            self._show(session)
        finally:
            self._set_busy(False)
        self._relist()  # the registry row now carries the new status

    async def _audit(self) -> None:
        self._set_busy(True)
        try:
            page = await self.provider.audit_entries(self.current_kind, self._require_id(), top=50)
            lines = []
            for entry in page.items:
                attempt = entry.attempt
                verify = (
                    f", match {attempt.match_confidence:.3f} identical={attempt.is_identical}"
                    if attempt.match_confidence is not None
                    else ""
                )
                outcome = attempt.decision or attempt.error_code or "no decision"
                lines.append(
                    f"#{entry.entry_id} {entry.received_at or ''} HTTP {entry.status_code}: "
                    f"{outcome}{verify}"
                )
            self.audit.setPlainText("\n".join(lines) or "No audit entries yet.")
        finally:
            self._set_busy(False)

    async def _delete(self) -> None:
        session_id = self._require_id()
        kind = self.current_kind
        confirmed = await confirm_destructive(
            self,
            title="Delete liveness session",
            text=f"Delete the {KIND_LABELS[kind].split(' (')[0].lower()} session {session_id}?",
            details="Azure deletes its results and revokes the device's auth token; a device "
            "still using it will fail. This cannot be undone.",
        )
        if not confirmed:
            return
        self._set_busy(True)
        try:
            try:
                provider = self.provider
                await self.ctx.audited(
                    Audited.AZURE_DELETE_SESSION,
                    lambda: provider.delete_session(kind, session_id),
                    session_id,
                )
                done = f"Session {session_id} deleted."
            except NotFound:
                # The goal is met either way: an earlier attempt whose reply was lost (DELETE is
                # retried after a dropped connection), expiry, or a delete made elsewhere.
                done = (
                    f"Azure no longer has session {session_id}: it was already deleted or has "
                    "expired. It is removed from the list."
                )
            await self.ctx.sessions.forget(session_id)
            self._reference.pop(session_id, None)
            self._hide_photos()
            self.result.clear()
            self._forget_token()
            self.ctx.presenter.info(done)
        finally:
            self._set_busy(False)
        self._relist()

    async def _simulate(self) -> None:
        session_id = self._require_id()
        outcome = AzureDeviceOutcome(self.outcome.currentData())
        image = None
        if self.ctx.images.selfie.loaded is not None:
            image = await self.ctx.prepared(self.ctx.images.selfie)
        self._set_busy(True)
        try:
            await self.ctx.sandbox.azure_simulate_device(session_id, outcome, image)
        finally:
            self._set_busy(False)
        await self._get()

    async def _image(self) -> None:
        latest = self._session.latest if self._session else None
        if latest is None or not latest.session_image_id:
            raise OperationRefused("This session has no session image.")
        self._set_busy(True)
        try:
            data = await self.provider.session_image(latest.session_image_id)
        finally:
            self._set_busy(False)
        rects = [latest.face] if latest.face is not None else []
        self.session_image_view.show_faces(data, rects, 0)
        self.session_image_box.show()

    def _on_token_clicked(self) -> None:
        if not self._token:
            self.ctx.presenter.info(
                "Azure returns the auth token only when the session is created; FaceDesk keeps "
                "it in memory until you leave the session."
            )
            return
        self.token_field.set_value(self._token)
        self.token_field.show()


class AzureVerifyPanel(Panel):
    """Detect on both photos, let the operator pick a face, then verify 1:1."""

    title = "Face verify (1:1)"
    main_actions = ("verify_button", "detect_button")

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._detections: dict[str, tuple[EncodedImage, Detection]] = {}
        # The images the current detections (and their face ids) were made from.
        self._detected_from: InputStamp | None = None
        layout = QVBoxLayout(self)
        views = QGridLayout()
        self.reference_view = FaceView("ID photo: press Detect")
        self.probe_view = FaceView("Selfie: press Detect")
        self.reference_pick = QComboBox()
        self.probe_pick = QComboBox()
        views.addWidget(self.reference_view, 0, 0)
        views.addWidget(self.probe_view, 0, 1)
        views.addWidget(self.reference_pick, 1, 0)
        views.addWidget(self.probe_pick, 1, 1)
        row = QHBoxLayout()
        self.detect_button = QPushButton("Detect faces")
        self.verify_button = QPushButton("Verify")
        self.verify_button.setEnabled(False)
        self.limited_access = QCheckBox("Sandbox: Limited Access not granted")
        row.addWidget(self.detect_button)
        row.addWidget(self.verify_button)
        row.addStretch(1)
        row.addWidget(self.limited_access)
        layout.addLayout(row)
        self.result = ResultCard()
        layout.addWidget(self.result)
        # The detected faces come after the action and the verdict: those must fit unscrolled
        # at 1024×700, the pictures are there to check which face was compared.
        layout.addLayout(views)
        layout.addStretch(1)
        self.detect_button.clicked.connect(
            lambda: ctx.tasks.start(ctx.task_name("verify:detect"), self._detect)
        )
        self.verify_button.clicked.connect(
            lambda: ctx.tasks.start(ctx.task_name("verify:verify"), self._verify)
        )
        self.reference_pick.currentIndexChanged.connect(lambda _i: self._redraw())
        self.probe_pick.currentIndexChanged.connect(lambda _i: self._redraw())
        self.limited_access.toggled.connect(
            lambda on: ctx.tasks.start(
                ctx.task_name("verify:limited"),
                ctx.sandbox.set_azure_limited_access(on),
            )
        )
        self.on_connection_changed()

    @property
    def provider(self) -> AzureFaceVerify:
        return self.ctx.service.provider(self.ctx.provider_id, AzureFaceVerify)

    def on_connection_changed(self) -> None:
        self.limited_access.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))
        self._forget_detections()
        self.result.clear()

    def _redraw(self) -> None:
        for key, view, pick in (
            ("reference", self.reference_view, self.reference_pick),
            ("probe", self.probe_view, self.probe_pick),
        ):
            if key in self._detections:
                image, detection = self._detections[key]
                view.show_faces(image.data, [f.rect for f in detection.faces], pick.currentIndex())

    def on_images_changed(self, slot: PairSlot) -> None:
        """Face ids belong to the images they were detected on: drop them, Verify waits."""
        super().on_images_changed(slot)
        self._forget_detections()

    def _forget_detections(self) -> None:
        self._detections.clear()
        self._detected_from = None
        self.verify_button.setEnabled(False)
        self.verify_button.setToolTip("Detect faces on the images shown first")
        for view, pick, caption in (
            (self.reference_view, self.reference_pick, "ID photo: press Detect"),
            (self.probe_view, self.probe_pick, "Selfie: press Detect"),
        ):
            view.clear()
            view.setText(caption)
            view.rects = ()
            pick.clear()

    async def _detect(self) -> None:
        _busy([self.detect_button, self.verify_button], True)
        self._forget_detections()
        inputs = self.ctx.stamp(self.ctx.images.id_photo, self.ctx.images.selfie)
        try:
            reference = await self.ctx.prepared(self.ctx.images.id_photo)
            probe = await self.ctx.prepared(self.ctx.images.selfie)
            self.result.clear()
            for key, image, pick in (
                ("reference", reference, self.reference_pick),
                ("probe", probe, self.probe_pick),
            ):
                detection = await self.provider.detect(image)
                self._detections[key] = (image, detection)
                pick.blockSignals(True)
                pick.clear()
                for index, face in enumerate(detection.faces):
                    quality = f", quality {face.quality}" if face.quality else ""
                    pick.addItem(f"Face {index + 1}: {face.rect.as_text()}{quality}")
                pick.setEnabled(len(detection.faces) > 1)
                pick.blockSignals(False)
            self._redraw()
            missing = [
                name
                for name, key in (("ID photo", "reference"), ("selfie", "probe"))
                if not self._detections[key][1].faces
            ]
            if missing:
                self.result.show_result(
                    CheckResult(
                        Verdict.INCONCLUSIVE,
                        f"No face found in the {' and '.join(missing)}",
                        reasons=("Use a clearer photo with a visible face.",),
                    ),
                    inputs=inputs,
                )
            elif any(len(d.faces) > 1 for _i, d in self._detections.values()):
                self.ctx.presenter.info("Several faces found: pick the face to compare.")
        finally:
            _busy([self.detect_button], False)
            if self.ctx.pair.is_current(inputs) and len(self._detections) == 2:
                self._detected_from = inputs
            else:  # an image was replaced or cleared while detecting
                self._forget_detections()
            ready = (
                self._detected_from is not None
                and len(self._detections) == 2
                and all(d.faces for _i, d in self._detections.values())
            )
            self.verify_button.setEnabled(ready)
            self.verify_button.setToolTip("" if ready else "Detect faces on the images shown first")

    async def _verify(self) -> None:
        _busy([self.detect_button, self.verify_button], True)
        try:
            inputs = self._detected_from
            if inputs is None or not self.ctx.pair.is_current(inputs):
                self._forget_detections()
                raise OperationRefused("Detect faces again: the photos changed since Detect.")
            first = self._detections["reference"][1].faces[self.reference_pick.currentIndex()]
            second = self._detections["probe"][1].faces[self.probe_pick.currentIndex()]
            if first.face_id is None or second.face_id is None:
                raise OperationRefused("Detect the faces again: Azure returned no face ids.")
            result = await self.provider.verify_faces(first.face_id, second.face_id)
            self.result.show_result(result, inputs=inputs)
            self.result.check_stale(self.ctx.pair)  # an image replaced while verifying
        finally:
            _busy([self.detect_button], False)
            self.verify_button.setEnabled(self._detected_from is not None)


class AzurePersonGroupsPanel(Panel):
    """LargePersonGroups: create, add persons from loaded photos, train, identify, delete."""

    title = "Person groups (1:N)"
    main_actions = ("identify_button",)
    refresh_actions = ("refresh_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        layout.addLayout(left, 1)
        left.addWidget(QLabel("<b>Groups</b>"))
        self.groups = QListWidget()
        self.groups_filter = ListFilter(self.groups, "Filter groups (name, id)")
        left.addWidget(self.groups_filter)
        left.addWidget(self.groups, 1)
        new_group = QHBoxLayout()
        self.group_id = QLineEdit()
        self.group_id.setPlaceholderText("id: a-z 0-9 - _")
        self.group_name = QLineEdit()
        self.group_name.setPlaceholderText("name")
        new_group.addWidget(self.group_id)
        new_group.addWidget(self.group_name)
        left.addLayout(new_group)
        group_buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.create_group_button = QPushButton("Create group")
        self.delete_group_button = QPushButton("Delete group…")
        for button in (self.refresh_button, self.create_group_button, self.delete_group_button):
            group_buttons.addWidget(button)
        left.addLayout(group_buttons)

        middle = QVBoxLayout()
        layout.addLayout(middle, 1)
        middle.addWidget(QLabel("<b>Persons in the group</b>"))
        self.persons = QListWidget()
        self.persons_filter = ListFilter(self.persons, "Filter persons (name)")
        middle.addWidget(self.persons_filter)
        middle.addWidget(self.persons, 1)
        self.person_name = QLineEdit()
        self.person_name.setPlaceholderText("person name")
        self.person_data = QLineEdit()
        self.person_data.setPlaceholderText("user data (optional)")
        middle.addWidget(self.person_name)
        middle.addWidget(self.person_data)
        person_buttons = QHBoxLayout()
        self.add_person_button = QPushButton("Add person with loaded photos")
        self.delete_person_button = QPushButton("Delete person…")
        person_buttons.addWidget(self.add_person_button)
        person_buttons.addWidget(self.delete_person_button)
        middle.addLayout(person_buttons)

        right = QVBoxLayout()
        layout.addLayout(right, 2)
        train_row = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.cancel_train_button = QPushButton("Stop following")
        self.cancel_train_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.training_label = QLabel("Training: –")
        train_row.addWidget(self.train_button)
        train_row.addWidget(self.cancel_train_button)
        train_row.addWidget(self.progress, 1)
        right.addLayout(train_row)
        right.addWidget(self.training_label)
        self.identify_button = QPushButton("Identify the selfie in this group")
        right.addWidget(self.identify_button)
        self.candidates = QListWidget()
        self.candidates.setMaximumHeight(120)
        for names in (self.groups, self.persons, self.candidates):
            mark_private(names, Private.NAMES)  # masked in the privacy view
        self.filter_shortcut = find_shortcut(self, [self.groups_filter, self.persons_filter])
        right.addWidget(self.candidates)
        self.result = ResultCard()
        right.addWidget(self.result)
        right.addStretch(1)
        self._buttons = [
            self.refresh_button,
            self.create_group_button,
            self.delete_group_button,
            self.add_person_button,
            self.delete_person_button,
            self.train_button,
            self.identify_button,
        ]
        self.refresh_button.clicked.connect(lambda: self._start("groups", self._refresh))
        self.create_group_button.clicked.connect(lambda: self._start("create", self._create()))
        self.delete_group_button.clicked.connect(
            lambda: self._start("delete_group", self._delete_group())
        )
        self.add_person_button.clicked.connect(lambda: self._start("person", self._add_person()))
        self.delete_person_button.clicked.connect(
            lambda: self._start("delete_person", self._delete_person())
        )
        self.train_button.clicked.connect(lambda: self._start("train", self._train()))
        self.cancel_train_button.clicked.connect(
            lambda: ctx.tasks.cancel(ctx.task_name("groups:train"))
        )
        self.identify_button.clicked.connect(lambda: self._start("identify", self._identify))
        self.groups.currentItemChanged.connect(self._on_group_picked)

    @property
    def provider(self) -> AzurePersonGroups:
        return self.ctx.service.provider(self.ctx.provider_id, AzurePersonGroups)

    def _on_group_picked(self, item: QListWidgetItem | None, _old: QListWidgetItem | None) -> None:
        if item is not None:
            self._start("persons", self._load_persons())

    def _start(
        self,
        operation: str,
        coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    ) -> None:
        self.ctx.tasks.start(self.ctx.task_name(f"groups:{operation}"), coro)

    def on_connection_changed(self) -> None:
        self.groups.clear()
        self.persons.clear()
        self.candidates.clear()
        self.result.clear()

    def _group(self) -> str:
        item = self.groups.currentItem()
        if item is None:
            raise OperationRefused("Pick a person group first (press Refresh to list them).")
        return str(item.data(Qt.ItemDataRole.UserRole))

    def _set_busy(self, busy: bool) -> None:
        _busy(self._buttons, busy)

    async def _refresh(self, select: str | None = None) -> None:
        self._set_busy(True)
        try:
            current = select or (self._group() if self.groups.currentItem() is not None else None)
            groups = await self.provider.list_groups()
            self.groups.blockSignals(True)
            self.groups.clear()
            for group in groups:
                item = QListWidgetItem(f"{group.name}  ({group.group_id})")
                item.setData(Qt.ItemDataRole.UserRole, group.group_id)
                self.groups.addItem(item)
                if group.group_id == current:
                    self.groups.setCurrentItem(item)
            self.groups.blockSignals(False)
        finally:
            self._set_busy(False)
        if self.groups.currentItem() is not None:
            await self._load_persons()
        else:
            self.persons.clear()

    async def _load_persons(self) -> None:
        group_id = self._group()
        self._set_busy(True)
        try:
            persons = await self.provider.list_persons(group_id)
            self.persons.clear()
            for person in persons:
                item = QListWidgetItem(f"{person.name} · {len(person.face_ids)} face(s)")
                item.setData(Qt.ItemDataRole.UserRole, person.person_id)
                item.setData(Qt.ItemDataRole.UserRole + 1, person.name)
                item.setToolTip(person.person_id)
                self.persons.addItem(item)
            status = await self.provider.training_status(group_id)
            self.training_label.setText(f"Training: {status.status}")
        finally:
            self._set_busy(False)

    async def _create(self) -> None:
        group_id = self.group_id.text().strip()
        name = self.group_name.text().strip() or group_id
        if not group_id:
            raise OperationRefused("Enter an id for the new group (a-z, 0-9, - and _).")
        self._set_busy(True)
        try:
            await self.ctx.audited(
                Audited.AZURE_CREATE_GROUP,
                lambda: self.provider.create_group(group_id, name),
                group_id,
            )
        finally:
            self._set_busy(False)
        await self._refresh(select=group_id)

    async def _delete_group(self) -> None:
        group_id = self._group()
        if not await confirm_destructive(
            self,
            title="Delete person group",
            text=f"Delete the person group {group_id} with all its persons and faces?",
            details="Identify against this group stops working. This cannot be undone.",
        ):
            return
        self._set_busy(True)
        try:
            await self.ctx.audited(
                Audited.AZURE_DELETE_GROUP, lambda: self.provider.delete_group(group_id), group_id
            )
        finally:
            self._set_busy(False)
        await self._refresh()

    async def _add_person(self) -> None:
        group_id = self._group()
        name = self.person_name.text().strip()
        if not name:
            raise OperationRefused("Enter the person's name first.")
        slots = [
            s for s in (self.ctx.images.id_photo, self.ctx.images.selfie) if s.loaded is not None
        ]
        if not slots:
            raise OperationRefused("Load an ID photo or a selfie of the person first.")
        images = [await self.ctx.prepared(slot) for slot in slots]
        self._set_busy(True)
        try:
            person = await self.ctx.audited(
                Audited.AZURE_CREATE_PERSON,
                lambda: self.provider.create_person(group_id, name, self.person_data.text()),
                group_id,
            )
            for image in images:
                await self.ctx.audited(
                    Audited.AZURE_ADD_FACE,
                    lambda image=image: self.provider.add_person_face(  # type: ignore[misc]  # bound per loop
                        group_id, person.person_id, image
                    ),
                    group_id,
                    person.person_id,
                )
            self.ctx.presenter.info(f"Person added with {len(images)} face(s). Train the group.")
        finally:
            self._set_busy(False)
        await self._load_persons()

    async def _delete_person(self) -> None:
        group_id = self._group()
        item = self.persons.currentItem()
        if item is None:
            raise OperationRefused("Pick the person to delete.")
        person_id = str(item.data(Qt.ItemDataRole.UserRole))
        person_name = str(item.data(Qt.ItemDataRole.UserRole + 1) or person_id)
        if not await confirm_destructive(
            self,
            title="Delete person",
            text=f"Delete “{person_name}” and their faces from the group {group_id}?",
            details=f"Person id {person_id}. They will no longer be identified once the group "
            "is trained again.",
        ):
            return
        self._set_busy(True)
        try:
            await self.ctx.audited(
                Audited.AZURE_DELETE_PERSON,
                lambda: self.provider.delete_person(group_id, person_id),
                group_id,
                person_id,
            )
        finally:
            self._set_busy(False)
        await self._load_persons()

    async def _train(self) -> None:
        group_id = self._group()
        self._set_busy(True)
        self.cancel_train_button.setEnabled(True)
        self.progress.setRange(0, 0)  # Azure reports no percentage: an indeterminate bar
        try:
            async for status in self.provider.follow_training(group_id, interval=1.0):
                self.training_label.setText(f"Training: {status.status}")
                if status.status == "failed":
                    self.training_label.setText(f"Training failed: {status.message or ''}")
        finally:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.cancel_train_button.setEnabled(False)
            self._set_busy(False)

    async def _identify(self) -> None:
        group_id = self._group()
        inputs = self.ctx.stamp(self.ctx.images.selfie)
        selfie = await self.ctx.prepared(self.ctx.images.selfie)
        self._set_busy(True)
        try:
            found = await self.provider.identify(group_id, selfie)
            self.candidates.clear()
            for candidate in found.candidates:
                extra = f" · {candidate.user_data}" if candidate.user_data else ""
                self.candidates.addItem(
                    f"{candidate.confidence:.3f}  {candidate.name or candidate.person_id}{extra}"
                )
            copyable = {"Best person id": found.candidates[0].person_id} if found.candidates else {}
            self.result.show_result(found.result, copyable=copyable, inputs=inputs)
            self.result.check_stale(self.ctx.pair)
        finally:
            self._set_busy(False)


PANELS: dict[Capability, type[Panel]] = {
    Capability.LIVENESS_SESSIONS: AzureSessionsPanel,
    Capability.FACE_MATCH: AzureVerifyPanel,
    Capability.PERSON_GROUPS: AzurePersonGroupsPanel,
}
