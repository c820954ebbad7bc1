"""The Veriff tab: create sessions, read them (decision first), verify loaded photos, delete.

Everything goes through `VerificationService` and the `VeriffVerificationSessions` Protocol;
every session created or opened is written to the session registry; deletes are confirmed with
the session, its status, the consequences and the remaining quota, then audited.

Why one module past ~600 lines: it is widget building and display only (the session, audit,
paging and sandbox rules are in app/workflows/sessions.py and sandbox_controls.py); splitting
it into ui/panels/veriff/<feature>.py waits for the vendor packages
(app/vendors/veriff/) to land, so the panel package mirrors them in one move.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.capabilities import Capability
from app.clipboard import ClipRole
from app.domain import CheckResult, EncodedImage, SessionRecord
from app.errors import OperationRefused
from app.vendors.veriff.types import (
    DOCUMENT_TYPES,
    SESSION_KIND,
    STATUS_WORDS,
    MediaContent,
    VeriffMedia,
    VeriffSession,
    VeriffSessionRequest,
    VeriffSessionView,
    VeriffVerificationSessions,
    decision_words,
    reason_words,
)
from app.workflows.sandbox_controls import VeriffDecision
from app.workflows.sessions import DELETED, Audited, shown_time, status_text
from ui.dialogs.confirm import confirm_destructive
from ui.panels.base import Panel, PanelContext
from ui.widgets.copy_field import CopyField
from ui.widgets.list_filter import ListFilter, find_shortcut
from ui.widgets.qr import QrCode
from ui.widgets.result_card import ResultCard

THUMBNAIL = 140
SIMULATED_OUTCOMES = (
    ("Approved", "approved"),
    ("Declined", "declined"),
    ("Resubmission requested", "resubmission_requested"),
    ("Review", "review"),
    ("Expired", "expired"),
    ("Abandoned", "abandoned"),
    ("Started (end user in the flow)", "started"),
)


SANDBOX_URL_HINT = (
    "In-process sandbox: this hosted page exists only inside FaceDesk, so no QR code or "
    "browser can open it. Use the sandbox controls below, or serve the sandbox with "
    "`python -m app.sandbox` and connect a profile to it."
)


class MediaTile(QFrame):
    """One image or video: thumbnail (images), context, copyable id, full-size download."""

    def __init__(self, media: VeriffMedia, panel: VeriffSessionsPanel) -> None:
        super().__init__()
        self.media = media
        self._panel = panel
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(THUMBNAIL + 170)
        layout = QVBoxLayout(self)
        self.picture = QLabel("video" if media.is_video else "loading…")
        self.picture.setFixedSize(THUMBNAIL, THUMBNAIL)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setStyleSheet("background: #eceff3; color: #4b5563;")
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        what = media.context or media.name
        if media.is_video and media.duration is not None:
            what += f" · {media.duration:g} s"
        if media.size is not None:
            what += f" · {media.size / 1024:.0f} KB"
        caption = QLabel(what)
        caption.setWordWrap(True)
        layout.addWidget(caption)
        self.id_field = CopyField(media.id)
        layout.addWidget(self.id_field)
        self.download_button = QPushButton("Download full size…")
        self.download_button.clicked.connect(self._on_download_clicked)
        layout.addWidget(self.download_button)

    def set_thumbnail(self, content: MediaContent) -> None:
        pixmap = QPixmap()
        if pixmap.loadFromData(content.data):
            self.picture.setPixmap(
                pixmap.scaled(
                    THUMBNAIL,
                    THUMBNAIL,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.picture.setText(content.content_type)

    @Slot()
    def _on_download_clicked(self) -> None:
        self._panel.download(self.media)


class VeriffSessionsPanel(Panel):
    """Verification sessions: list and create on the left, the open session on the right."""

    title = "Verification sessions"
    main_actions = ("create_button",)
    refresh_actions = ("refresh_list_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.session_id = ""
        self.view: VeriffSessionView | None = None
        self.hosted_url = ""
        self.known_vendor_data = ""
        self.tiles: list[MediaTile] = []
        self._listed_once = False

        outer = QHBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter)
        splitter.addWidget(self._build_sidebar())
        splitter.addWidget(self._build_session_view())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        self._show_session(None)

    # --- layout --------------------------------------------------------------------------------

    def _build_sidebar(self) -> QWidget:
        self.sidebar = QTabWidget()
        self.sidebar.setMinimumWidth(340)

        create_box = QWidget()
        form = QFormLayout(create_box)
        self.first_name = QLineEdit()
        self.first_name.setPlaceholderText("Sandbox: Approve / Decline / Resubmit")
        self.last_name = QLineEdit()
        self.date_of_birth = QLineEdit()
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD")
        self.document_type = QComboBox()
        self.document_type.addItem("(not given)", "")
        for doc_type in DOCUMENT_TYPES:
            self.document_type.addItem(doc_type.replace("_", " ").title(), doc_type)
        self.document_country = QLineEdit()
        self.document_country.setPlaceholderText("EE, DE, … (ISO alpha-2)")
        self.document_country.setMaxLength(2)
        self.document_number = QLineEdit()
        self.vendor_data = QLineEdit()
        self.vendor_data.setPlaceholderText("your reference (≤ 1000 characters)")
        self.vendor_data.setMaxLength(1000)
        self.end_user_id = QLineEdit()
        self.end_user_id.setPlaceholderText("UUID (optional)")
        self.callback = QLineEdit()
        self.callback.setPlaceholderText("https://… (optional)")
        form.addRow("First name:", self.first_name)
        form.addRow("Last name:", self.last_name)
        form.addRow("Date of birth:", self.date_of_birth)
        form.addRow("Document type:", self.document_type)
        form.addRow("Document country:", self.document_country)
        form.addRow("Document number:", self.document_number)
        form.addRow("vendorData:", self.vendor_data)
        form.addRow("endUserId:", self.end_user_id)
        form.addRow("Callback URL:", self.callback)
        self.create_button = QPushButton("Create session")
        self.create_button.clicked.connect(self._on_create_clicked)
        form.addRow(self.create_button)
        list_box = QWidget()
        list_layout = QVBoxLayout(list_box)
        self.sessions_list = QListWidget()
        self.sessions_list.itemActivated.connect(self._on_session_activated)
        self.sessions_list.itemClicked.connect(self._on_session_activated)
        self.sessions_filter = ListFilter(self.sessions_list, "Filter sessions (id, status, label)")
        list_layout.addWidget(self.sessions_filter)
        list_layout.addWidget(self.sessions_list, 1)
        self.filter_shortcut = find_shortcut(self, [self.sessions_filter])
        paste_row = QHBoxLayout()
        self.paste_id = QLineEdit()
        self.paste_id.setPlaceholderText("Paste a session id")
        self.paste_id.returnPressed.connect(self._on_open_pasted_clicked)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._on_open_pasted_clicked)
        paste_row.addWidget(self.paste_id, 1)
        paste_row.addWidget(self.open_button)
        list_layout.addLayout(paste_row)
        self.refresh_list_button = QPushButton("Refresh list")
        self.refresh_list_button.clicked.connect(self.refresh_sessions)
        list_layout.addWidget(self.refresh_list_button)
        self.sidebar.addTab(list_box, "Sessions")
        self.sidebar.addTab(create_box, "New session")
        return self.sidebar

    def _build_session_view(self) -> QWidget:
        main = QWidget()
        layout = QVBoxLayout(main)
        layout.setContentsMargins(0, 0, 0, 0)

        header = QHBoxLayout()
        ids = QFormLayout()
        self.id_field = CopyField()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.url_field = CopyField(role=ClipRole.SESSION_URL)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url_field, 1)
        self.open_url_button = QPushButton("Open")
        self.open_url_button.clicked.connect(self._on_open_url_clicked)
        url_row.addWidget(self.open_url_button)
        self.vendor_data_label = QLabel()
        ids.addRow("Session id:", self.id_field)
        ids.addRow("Status:", self.status_label)
        ids.addRow("Hosted flow:", url_row)
        ids.addRow("vendorData:", self.vendor_data_label)
        header.addLayout(ids, 1)
        self.qr = QrCode(size=150)
        header.addWidget(self.qr)
        self.qr_hint = QLabel(SANDBOX_URL_HINT)
        self.qr_hint.setWordWrap(True)
        self.qr_hint.setMaximumWidth(260)
        self.qr_hint.hide()
        header.addWidget(self.qr_hint)
        layout.addLayout(header)

        actions = QHBoxLayout()
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self._on_reload_clicked)
        self.verify_button = QPushButton("Verify loaded photos (API)")
        self.verify_button.setToolTip(
            "Uploads the ID photo as document-front and the selfie as face, submits the "
            "session, then waits for Veriff's decision."
        )
        self.verify_button.clicked.connect(self._on_verify_clicked)
        # The tab's image slots hold the ID photo and the selfie; the back is picked here.
        self.back_path = ""
        self.back_button = QPushButton("Add document back…")
        self.back_button.setToolTip(
            "Optional: a photo of the document's back, uploaded as document-back by "
            "“Verify loaded photos”. Click again to remove it."
        )
        self.back_button.clicked.connect(self._on_back_clicked)
        self.cancel_button = QPushButton("Stop waiting")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.cancel_button.hide()
        self.delete_button = QPushButton("Delete session…")
        self.delete_button.setStyleSheet("QPushButton:enabled { color: #b3261e; }")
        self.delete_button.clicked.connect(self._on_delete_clicked)
        actions.addWidget(self.reload_button)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.back_button)
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)
        actions.addWidget(self.delete_button)
        layout.addLayout(actions)

        self.simulate_row = QWidget()
        simulate = QHBoxLayout(self.simulate_row)
        simulate.setContentsMargins(0, 0, 0, 0)
        simulate.addWidget(QLabel("Sandbox:"))
        self.simulate_outcome = QComboBox()
        for label, value in SIMULATED_OUTCOMES:
            self.simulate_outcome.addItem(label, value)
        self.simulate_reason = QSpinBox()
        self.simulate_reason.setRange(0, 999)
        self.simulate_reason.setSpecialValueText("default reason")
        self.simulate_reason.setToolTip("Reason code for declined / resubmission (0: default)")
        self.simulate_button = QPushButton("Simulate decision")
        self.simulate_button.clicked.connect(self._on_simulate_clicked)
        simulate.addWidget(self.simulate_outcome)
        simulate.addWidget(self.simulate_reason)
        simulate.addWidget(self.simulate_button)
        simulate.addStretch(1)
        layout.addWidget(self.simulate_row)

        self.progress = QLabel()
        self.progress.setWordWrap(True)
        layout.addWidget(self.progress)

        self.sections = QTabWidget()
        self.decision_card = ResultCard()
        decision_page = QWidget()
        decision_layout = QVBoxLayout(decision_page)
        decision_layout.addWidget(self.decision_card)
        decision_layout.addStretch(1)
        self.sections.addTab(decision_page, "Decision")
        self.person_host = QWidget()
        self.person_form = QFormLayout(self.person_host)
        self.sections.addTab(self.person_host, "Person && document")
        self.attempts_table = QTableWidget(0, 3)
        self.attempts_table.setHorizontalHeaderLabels(["Attempt id", "Status", "Created (local)"])
        self.attempts_table.horizontalHeader().setStretchLastSection(True)
        self.attempts_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.sections.addTab(self.attempts_table, "Attempts")
        self.media_host = QWidget()
        self.media_grid = QGridLayout(self.media_host)
        self.media_grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.sections.addTab(self.media_host, "Media")
        self.watchlist_label = QLabel()
        self.watchlist_label.setWordWrap(True)
        self.watchlist_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.watchlist_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sections.addTab(self.watchlist_label, "Watchlist")
        layout.addWidget(self.sections, 1)
        return main

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def provider(self) -> VeriffVerificationSessions:
        # A Protocol is the key the service checks against; mypy calls it abstract.
        return self.ctx.service.provider(
            self.ctx.provider_id,
            VeriffVerificationSessions,
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.simulate_row.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))
        if not self._listed_once:
            self._listed_once = True
            self.refresh_sessions()

    def on_connection_changed(self) -> None:
        self.ctx.tasks.cancel_prefix(self.ctx.task_name("session"))
        self._show_session(None)
        self.simulate_row.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))
        self.refresh_sessions()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        for button in (
            self.create_button,
            self.open_button,
            self.reload_button,
            self.verify_button,
            self.back_button,
            self.delete_button,
            self.simulate_button,
        ):
            button.setEnabled(not busy)
        if (not busy and self.session_id) or not self.session_id:
            self._update_session_buttons()
        self.progress.setText(text)

    def _update_session_buttons(self) -> None:
        has = bool(self.session_id)
        for button in (self.reload_button, self.verify_button, self.delete_button):
            button.setEnabled(has)
        self.simulate_button.setEnabled(has)

    # --- sessions list -------------------------------------------------------------------------

    @Slot()
    def refresh_sessions(self) -> None:
        self.ctx.tasks.start(self.ctx.task_name("sessions_list"), self._refresh_sessions())

    async def _refresh_sessions(self) -> None:
        records = await self.ctx.sessions.tracked(SESSION_KIND)
        self.sessions_list.clear()
        for record in records:
            label = record.label or record.extra.get("vendorData", "")
            seen = shown_time(record.last_seen_at)
            text = f"{record.session_id[:8]}…  {status_text(record.status)}  {seen.text}"
            if label:
                text += f"  · {label}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, record.session_id)
            item.setToolTip(f"{record.session_id}\nlast seen {seen.tooltip}")
            self.sessions_list.addItem(item)

    @Slot(QListWidgetItem)
    def _on_session_activated(self, item: QListWidgetItem) -> None:
        self.open_session(str(item.data(Qt.ItemDataRole.UserRole)))

    @Slot()
    def _on_open_pasted_clicked(self) -> None:
        session_id = self.paste_id.text().strip()
        if session_id:
            self.open_session(session_id)

    def open_tracked(self, record: SessionRecord) -> bool:
        if record.kind != SESSION_KIND:
            return False
        self.open_session(record.session_id)
        return True

    def open_session(self, session_id: str) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name("session"), self._load(session_id), label="Loading session"
        )

    # --- create --------------------------------------------------------------------------------

    def session_request(self) -> VeriffSessionRequest:
        return VeriffSessionRequest(
            first_name=self.first_name.text(),
            last_name=self.last_name.text(),
            date_of_birth=self.date_of_birth.text(),
            document_type=str(self.document_type.currentData() or ""),
            document_country=self.document_country.text(),
            document_number=self.document_number.text(),
            vendor_data=self.vendor_data.text(),
            callback=self.callback.text(),
            end_user_id=self.end_user_id.text(),
        )

    @Slot()
    def _on_create_clicked(self) -> None:
        self.ctx.tasks.start(self.ctx.task_name("create"), self._create(), label="Creating session")

    async def _create(self) -> None:
        request = self.session_request()
        self._set_busy(True, "Creating a Veriff session…")
        try:
            provider = self.provider
            # A create is audited by the id Veriff gives, never by vendorData (personal data).
            session = await self.ctx.audited(
                Audited.VERIFF_CREATE_SESSION, lambda: provider.create_session(request)
            )
            await self._remember(session)
            self.hosted_url = session.url
        finally:
            self._set_busy(False)
        self.sidebar.setCurrentIndex(0)
        await self.refresh_sessions_now()
        await self._load(session.id)

    async def _remember(self, session: VeriffSession) -> None:
        extra = {"url": session.url}
        if session.vendor_data:
            extra["vendorData"] = session.vendor_data
        if session.end_user_id:
            extra["endUserId"] = session.end_user_id
        await self.ctx.sessions.record(
            session.id,
            kind=SESSION_KIND,
            status=session.status,
            label=session.vendor_data or "",
            extra=extra,
        )

    async def refresh_sessions_now(self) -> None:
        await self._refresh_sessions()

    # --- the session view ----------------------------------------------------------------------

    async def _load(self, session_id: str) -> None:
        self._set_busy(True, "Reading the session from Veriff…")
        try:
            view = await self.provider.load_session(session_id)
            extra = await self._record_view(view)
            self.hosted_url = extra.get("url", "")
            self.known_vendor_data = extra.get("vendorData", "")
            self._show_session(view)
            await self._refresh_sessions()
        finally:
            self._set_busy(False)
        await self._load_thumbnails()

    async def _record_view(self, view: VeriffSessionView) -> dict[str, str]:
        """Record the session (keeping vendorData / URL already known); return what is known."""
        extra: dict[str, str] = {}
        if view.decision.vendor_data:
            extra["vendorData"] = view.decision.vendor_data
        if view.decision.end_user_id:
            extra["endUserId"] = view.decision.end_user_id
        recorded = await self.ctx.sessions.record(
            view.session_id,
            kind=SESSION_KIND,
            status=view.status,
            extra=extra,
            keep_known=True,
            label_from="vendorData",
        )
        return dict(recorded.extra)

    def _show_session(self, view: VeriffSessionView | None) -> None:
        self.view = view
        self.session_id = view.session_id if view else ""
        self.id_field.set_value(self.session_id)
        self._clear_media()
        while self.person_form.rowCount():
            self.person_form.removeRow(0)
        self.attempts_table.setRowCount(0)
        if view is None:
            self.status_label.setText("Create a session, pick one from the list, or paste an id.")
            self.url_field.set_value("")
            self.qr.set_text("")
            self.qr_hint.hide()
            self.vendor_data_label.clear()
            self.decision_card.clear()
            self.watchlist_label.clear()
            self._update_session_buttons()
            return
        self.status_label.setText(f"<b>{STATUS_WORDS.get(view.status, view.status)}</b>")
        self.url_field.set_value(self.hosted_url)
        # As in GLAIR: the in-process sandbox has no address a browser or phone could reach.
        on_sandbox = self.ctx.service.is_sandbox(self.ctx.provider_id)
        self.qr.setVisible(not on_sandbox)
        self.qr.set_text("" if on_sandbox else self.hosted_url)
        self.qr_hint.setVisible(on_sandbox and bool(self.hosted_url))
        self.open_url_button.setEnabled(bool(self.hosted_url) and not on_sandbox)
        self.open_url_button.setToolTip(SANDBOX_URL_HINT if on_sandbox else "")
        # GET decision carries vendorData only once decided; the registry has it from creation.
        self.vendor_data_label.setText(view.decision.vendor_data or self.known_vendor_data)
        copyable = {"Session id": view.session_id}
        if view.decision.attempt_id:
            copyable["Attempt id"] = view.decision.attempt_id
        card = view.decision.as_check_result()
        if view.warnings:
            card = _with_warnings(card, view.warnings)
        self.decision_card.show_result(card, copyable=copyable)
        self._fill_person(view)
        for attempt in view.attempts:
            row = self.attempts_table.rowCount()
            self.attempts_table.insertRow(row)
            created = shown_time(attempt.created_time) if attempt.created_time else None
            for column, text in enumerate(
                (
                    attempt.id,
                    STATUS_WORDS.get(attempt.status, attempt.status),
                    created.text if created else "",
                )
            ):
                item = QTableWidgetItem(text)
                if column == 2 and created is not None:
                    item.setToolTip(created.tooltip)  # local in the cell, UTC here
                self.attempts_table.setItem(row, column, item)
        self.attempts_table.resizeColumnsToContents()
        self._fill_media(view)
        self._fill_watchlist(view)
        self._update_session_buttons()

    def _fill_person(self, view: VeriffSessionView) -> None:
        decision = view.decision
        rows: list[tuple[str, str]] = []
        if decision.code is not None:
            rows.append(("Decision code", f"{decision.code} — {decision_words(decision.code)}"))
        if decision.reason_code is not None:
            rows.append(
                ("Reason", f"{decision.reason_code} — {reason_words(decision.reason_code)}")
            )
        if decision.decision_time:
            rows.append(("Decision time (UTC)", f"{decision.decision_time:%Y-%m-%d %H:%M:%S}"))
        for risk in decision.risk_labels:
            rows.append(("Risk label", f"{risk.label} ({risk.category})"))
        rows += [(f"Person · {k}", v) for k, v in decision.person.items()]
        rows += [(f"Document · {k}", v) for k, v in decision.document.items()]
        if view.person is not None:
            shown = set(decision.person)
            rows += [
                (f"Person record · {k}", v)
                for k, v in view.person.fields.items()
                if k not in shown and k != "id"
            ]
            rows.append(("PEP / sanction matches", str(view.person.pep_sanction_matches)))
        if not rows:
            rows.append(("", "Veriff has no person or document data for this session yet."))
        for label, value in rows:
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.person_form.addRow(f"{label}:" if label else "", text)

    def _fill_media(self, view: VeriffSessionView) -> None:
        items = list(view.media.images) + list(view.media.videos)
        if not items:
            self.media_grid.addWidget(QLabel("No media in the latest attempt."), 0, 0)
            return
        for index, media in enumerate(items):
            tile = MediaTile(media, self)
            self.tiles.append(tile)
            self.media_grid.addWidget(tile, index // 4, index % 4)

    def _clear_media(self) -> None:
        self.tiles = []
        while self.media_grid.count():
            widget = self.media_grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def _fill_watchlist(self, view: VeriffSessionView) -> None:
        watchlist = view.watchlist
        if not watchlist.available:
            self.watchlist_label.setText(watchlist.note or "No watchlist screening.")
            return
        lines = [
            f"<b>{watchlist.match_status.replace('_', ' ') or 'unknown'}</b> "
            f"({watchlist.total_hits} hit(s), {watchlist.check_type.replace('_', ' ')})"
        ]
        for hit in watchlist.hits:
            name = hit.get("matchedName") or "(unnamed)"
            countries = ", ".join(str(c) for c in hit.get("countries") or ())
            types = ", ".join(str(t) for t in hit.get("matchTypes") or ())
            lines.append(f"• {name} — {countries} — {types}")
        self.watchlist_label.setText("<br>".join(lines))

    async def _load_thumbnails(self) -> None:
        provider = self.provider
        for tile in list(self.tiles):
            if tile.media.is_video:
                continue
            content = await provider.download_media(tile.media.id)
            if tile in self.tiles:
                tile.set_thumbnail(content)

    @Slot()
    def _on_reload_clicked(self) -> None:
        if self.session_id:
            self.open_session(self.session_id)

    @Slot()
    def _on_open_url_clicked(self) -> None:
        if self.hosted_url:
            QDesktopServices.openUrl(QUrl(self.hosted_url))

    # --- media download ------------------------------------------------------------------------

    def download(self, media: VeriffMedia) -> None:
        self.ctx.tasks.start(
            self.ctx.task_name(f"download:{media.id}"),
            self._download(media),
            label="Downloading media",
        )

    async def _download(self, media: VeriffMedia) -> None:
        content = await self.provider.download_media(media.id)
        suggested = f"veriff-{media.context or 'media'}-{media.id[:8]}{content.extension}"
        path, _filter = QFileDialog.getSaveFileName(self, "Save media", suggested)
        if not path:
            return
        await asyncio.to_thread(Path(path).write_bytes, content.data)
        self.ctx.presenter.info(f"Saved {Path(path).name} ({len(content.data) / 1024:.0f} KB).")

    # --- API-only verification -----------------------------------------------------------------

    @Slot()
    def _on_verify_clicked(self) -> None:
        if self.session_id:
            self.ctx.tasks.start(
                self.ctx.task_name("session"),
                self._verify(self.session_id),
                label="Verifying loaded photos",
            )

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self.ctx.tasks.cancel(self.ctx.task_name("session"))

    @Slot()
    def _on_back_clicked(self) -> None:
        if self.back_path:
            self.back_path = ""
        else:
            path, _filter = QFileDialog.getOpenFileName(
                self,
                "Photo of the document's back",
                "",
                "Images (*.jpg *.jpeg *.png *.heic *.heif *.webp)",
            )
            self.back_path = path
        name = Path(self.back_path).name
        self.back_button.setText(f"Remove document back ({name})" if name else "Add document back…")

    async def _verify(self, session_id: str) -> None:
        document = await self.ctx.prepared(self.ctx.images.id_photo)
        face = await self.ctx.prepared(self.ctx.images.selfie)
        back: EncodedImage | None = None
        if self.back_path:
            loaded = await self.ctx.service.load_image_file(self.back_path)
            back = await self.ctx.service.prepare_image(self.ctx.provider_id, loaded)
        provider = self.provider
        self._set_busy(True, "Uploading the ID photo (document-front)…")
        self.cancel_button.show()
        try:
            uploads: list[tuple[str, EncodedImage, str]] = [
                ("document-front", document, "Uploading the selfie (face)…"),
                ("face", face, "Submitting the session…"),
            ]
            if back is not None:
                uploads.insert(1, ("document-back", back, "Uploading the selfie (face)…"))
                uploads[0] = ("document-front", document, "Uploading the document back…")
            for context, image, next_step in uploads:
                await provider.upload_media(session_id, image, context)
                self.progress.setText(next_step)
            await self.ctx.audited(
                Audited.VERIFF_SUBMIT_SESSION,
                lambda: provider.submit_session(session_id),
                session_id,
            )
            self.progress.setText(
                "Submitted. Waiting for Veriff's decision (Stop waiting to stop)…"
            )
            decision = await provider.follow_decision(session_id, interval=1.0, give_up_after=300)
            if not decision.decided:
                self.ctx.presenter.info(
                    "Veriff has not decided yet. Reload the session later to see the decision."
                )
        finally:
            self.cancel_button.hide()
            self._set_busy(False)
        await self._load(session_id)

    # --- sandbox: simulate a decision ----------------------------------------------------------

    @Slot()
    def _on_simulate_clicked(self) -> None:
        if self.session_id:
            self.ctx.tasks.start(
                self.ctx.task_name("session"),
                self._simulate(self.session_id),
                label="Simulating a decision",
            )

    async def _simulate(self, session_id: str) -> None:
        decision = VeriffDecision(self.simulate_outcome.currentData())
        await self.ctx.sandbox.veriff_decide(
            session_id, decision, self.simulate_reason.value() or None
        )
        await self._load(session_id)

    # --- delete --------------------------------------------------------------------------------

    @Slot()
    def _on_delete_clicked(self) -> None:
        if self.session_id:
            self.ctx.tasks.start(
                self.ctx.task_name("session"),
                self._delete(self.session_id),
                label="Deleting session",
            )

    async def _delete(self, session_id: str) -> None:
        provider = self.provider
        self._set_busy(True, "Checking the session's status and the deletion quota…")
        try:
            preview = await provider.preview_deletion(session_id)
        finally:
            self._set_busy(False)
        if not preview.allowed:
            raise OperationRefused(
                f"FaceDesk did not delete session {session_id}: {preview.refusal}",
                provider="Veriff",
                operation="delete session",
            )
        status_words = STATUS_WORDS.get(preview.status, preview.status)
        details = "\n\n".join(
            [
                *preview.consequences,
                "Deletion quota: " + preview.quota.summary + ". Veriff allows 5 deletions per "
                "rolling hour and 10 per 24 hours for the integration.",
            ]
        )
        confirmed = await confirm_destructive(
            self,
            title="Delete Veriff session",
            text=f"Delete Veriff session {session_id}?\nStatus: {status_words}.",
            details=details,
        )
        if not confirmed:
            return
        self._set_busy(True, "Deleting the session at Veriff…")
        try:
            result = await self.ctx.audited(
                Audited.VERIFF_DELETE_SESSION,
                lambda: provider.delete_session(session_id),
                session_id,
            )
            await self.ctx.sessions.record(session_id, kind=SESSION_KIND, status=DELETED)
        finally:
            self._set_busy(False)
        self._show_session(None)
        await self._refresh_sessions()
        message = f"Session {session_id} deleted. {result.quota.summary}."
        if result.webhook_expected:
            message += " Veriff will send a decision webhook (expired/abandoned)."
        self.ctx.presenter.info(message)


def _with_warnings(card: CheckResult, warnings: tuple[str, ...]) -> CheckResult:
    return replace(card, warnings=warnings)


PANELS: dict[Capability, type[Panel]] = {Capability.VERIFICATION_SESSIONS: VeriffSessionsPanel}
