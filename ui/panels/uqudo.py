"""uqudo tab: face match with match levels, face sessions, the 1:N face index, session results.

Why one module past ~600 lines: it is widget building and display only (the session, audit,
paging and sandbox rules are in app/workflows/sessions.py and sandbox_controls.py); splitting
it into ui/panels/uqudo/<feature>.py waits for the vendor packages
(app/vendors/uqudo/) to land, so the panel package mirrors them in one move.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.capabilities import (
    Capability,
    SupportsOneToNDelete,
    SupportsOneToNEnroll,
    SupportsOneToNSearch,
)
from app.domain import CheckResult, SessionRecord, Verdict
from app.errors import OperationRefused
from app.vendors.uqudo.sessions import (
    FACE_SESSION_KIND,
    FOUND,
    INSERTED,
    SELFIE_DELETED,
    face_session_label,
    image_fingerprint,
    record_one_to_n,
)
from app.vendors.uqudo.types import (
    DEFAULT_MATCH_LEVEL,
    DELETE_CONSEQUENCE,
    DETAIL_ALREADY_KNOWN,
    DETAIL_VERIFICATION_ID,
    MATCH_LEVEL_MEANINGS,
    MATCH_LEVEL_SHORT,
    PURGE_CONSEQUENCE,
    FaceSession,
    SessionImage,
    UqudoFaceMatch,
    UqudoFaceSessions,
    UqudoSessionResults,
)
from app.workflows.sessions import Audited, seconds_left
from ui.dialogs.confirm import confirm_destructive
from ui.panels.base import Panel, PanelContext
from ui.widgets.copy_field import CopyField
from ui.widgets.image_slot import ImageSlot
from ui.widgets.result_card import ResultCard


class _UqudoPanel(Panel):
    """Shared busy state: a progress bar and a Cancel button for the panel's running task."""

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.layout_ = QVBoxLayout(self)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(8)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self._actions: list[QWidget] = []
        self._current: str | None = None

    def _add_busy_row(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.layout_.addLayout(row)

    @contextmanager
    def _busy(self, operation: str) -> Iterator[None]:
        self._current = self.ctx.task_name(operation)
        for widget in self._actions:
            widget.setEnabled(False)
        self.progress.show()
        self.cancel_button.show()
        try:
            yield
        finally:
            for widget in self._actions:
                widget.setEnabled(True)
            self.progress.hide()
            self.cancel_button.hide()
            self._current = None

    # service.provider is keyed by Protocol classes, which mypy will not pass as type[P]
    # (type-abstract); one typed accessor per protocol keeps that to this block.
    def _matcher(self) -> UqudoFaceMatch:
        return self.ctx.service.provider(self.ctx.provider_id, UqudoFaceMatch)

    def _face_sessions(self) -> UqudoFaceSessions:
        return self.ctx.service.provider(self.ctx.provider_id, UqudoFaceSessions)

    def _searcher(self) -> SupportsOneToNSearch:
        return self.ctx.service.provider(self.ctx.provider_id, SupportsOneToNSearch)

    def _enroller(self) -> SupportsOneToNEnroll:
        return self.ctx.service.provider(self.ctx.provider_id, SupportsOneToNEnroll)

    def _deleter(self) -> SupportsOneToNDelete:
        return self.ctx.service.provider(self.ctx.provider_id, SupportsOneToNDelete)

    def _results(self) -> UqudoSessionResults:
        return self.ctx.service.provider(self.ctx.provider_id, UqudoSessionResults)

    def _start(
        self,
        operation: str,
        coro: Coroutine[Any, Any, None] | Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self.ctx.tasks.start(self.ctx.task_name(operation), coro)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self._current is not None:
            self.ctx.tasks.cancel(self._current)


# What an achieved level says about this pair. MATCH_LEVEL_MEANINGS describes the minimum-level
# setting ("not recommended"), which reads wrongly as the description of a result.
ACHIEVED_LEVEL_MEANINGS = {
    1: "uqudo's lowest level: the faces barely resemble each other.",
    2: "Low resemblance: often reached by different people.",
    3: "Moderate resemblance: uqudo's default threshold for a match.",
    4: "Good resemblance.",
    5: "uqudo's highest level: very likely the same person.",
}
ALREADY_KNOWN_WARNING = (
    "Already known can mean a returning customer or a face reused for another identity: "
    "check the earlier verification before accepting."
)


def _as_achieved_level(result: CheckResult) -> CheckResult:
    """The score's meaning describes the level reached, not the setting of that name."""
    score = result.score
    if score is None:
        return result
    level = int(score.value)
    meaning = ACHIEVED_LEVEL_MEANINGS.get(level, score.meaning)
    return replace(result, score=replace(score, meaning=meaning))


def _as_review(result: CheckResult) -> CheckResult:
    """A 1:N hit is not a pass: a face already in the index may be a reused one."""
    if result.verdict is not Verdict.POSITIVE or result.details.get(DETAIL_ALREADY_KNOWN) != "yes":
        return result
    return replace(
        result,
        verdict=Verdict.INCONCLUSIVE,
        warnings=(*result.warnings, ALREADY_KNOWN_WARNING),
    )


def _level_label(level: int) -> str:
    return f"{level} — {MATCH_LEVEL_SHORT[level]}"


class FaceMatchPanel(_UqudoPanel):
    title = "Face match"
    main_actions = ("match_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        intro = QLabel(
            "Compare the ID photo with the selfie on uqudo's server (no liveness). uqudo answers "
            "with a match level from 1 to 5; it is a match when the level reaches your minimum."
        )
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        form = QFormLayout()
        self.level_combo = QComboBox()
        for level in sorted(MATCH_LEVEL_MEANINGS):
            self.level_combo.addItem(_level_label(level), level)
            self.level_combo.setItemData(
                self.level_combo.count() - 1,
                MATCH_LEVEL_MEANINGS[level],
                Qt.ItemDataRole.ToolTipRole,
            )
        self.level_combo.setCurrentIndex(self.level_combo.findData(DEFAULT_MATCH_LEVEL))
        form.addRow("Minimum match level:", self.level_combo)
        self.level_meaning = QLabel()
        self.level_meaning.setWordWrap(True)
        form.addRow("", self.level_meaning)
        self.layout_.addLayout(form)
        self.level_combo.setMaximumWidth(360)
        self.match_button = QPushButton("Match ID photo ↔ selfie")
        self._actions.append(self.match_button)
        button_row = QHBoxLayout()
        button_row.addWidget(self.match_button)
        button_row.addStretch(1)
        self.layout_.addLayout(button_row)
        self._add_busy_row()
        self.result_card = ResultCard()
        self.layout_.addWidget(self.result_card)
        self.layout_.addStretch(1)
        self.level_combo.currentIndexChanged.connect(self._on_level_combo_changed)
        self.match_button.clicked.connect(self._on_match_button_clicked)
        self._on_level_combo_changed()

    @property
    def minimum_level(self) -> int:
        return int(self.level_combo.currentData())

    @Slot()
    def _on_level_combo_changed(self) -> None:
        self.level_meaning.setText(MATCH_LEVEL_MEANINGS[self.minimum_level])

    @Slot()
    def _on_match_button_clicked(self) -> None:
        self._start("face_match", self._match)

    async def _match(self) -> None:
        with self._busy("face_match"):
            inputs = self.ctx.stamp(self.ctx.images.id_photo, self.ctx.images.selfie)
            reference = await self.ctx.prepared(self.ctx.images.id_photo)
            probe = await self.ctx.prepared(self.ctx.images.selfie)
            provider = self._matcher()
            result = await provider.match_faces(reference, probe, minimum_level=self.minimum_level)
        self.result_card.show_result(_as_achieved_level(result), inputs=inputs)
        self.result_card.check_stale(self.ctx.pair)  # an image replaced while matching

    def on_connection_changed(self) -> None:
        self.result_card.clear()


class FaceSessionPanel(_UqudoPanel):
    title = "Face session"
    main_actions = ("create_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        intro = QLabel(
            "Upload the ID photo to start a face session. The end user's uqudo SDK runs liveness "
            "and the match against it; the session id is valid for 10 minutes."
        )
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        self.create_button = QPushButton("Create face session from ID photo")
        self._actions.append(self.create_button)
        create_row = QHBoxLayout()
        create_row.addWidget(self.create_button)
        create_row.addStretch(1)
        self.layout_.addLayout(create_row)
        self._add_busy_row()
        form = QFormLayout()
        self.session_field = CopyField()
        form.addRow("Session id:", self.session_field)
        self.countdown = QLabel("No session yet.")
        form.addRow("Valid for:", self.countdown)
        self.layout_.addLayout(form)

        self.simulate_box = QGroupBox("Sandbox: simulate the end user")
        simulate = QHBoxLayout(self.simulate_box)
        self.outcome_combo = QComboBox()
        self.outcome_combo.addItem("Selfie matches", "match")
        self.outcome_combo.addItem("No match (incomplete session)", "no_match")
        self.include_one_to_n = QCheckBox("Run 1:N on the selfie")
        self.simulate_button = QPushButton("Complete session")
        self.simulate_button.setEnabled(False)
        simulate.addWidget(self.outcome_combo)
        simulate.addWidget(self.include_one_to_n)
        simulate.addWidget(self.simulate_button)
        simulate.addStretch(1)
        self.simulate_box.setToolTip(
            "Plays the end user's Face Session Flow in the sandbox, using the selfie slot if "
            "it holds an image; fetch the signed result in Session results."
        )
        self.layout_.addWidget(self.simulate_box)
        self.layout_.addStretch(1)
        self._session: FaceSession | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.create_button.clicked.connect(self._on_create_button_clicked)
        self.simulate_button.clicked.connect(self._on_simulate_button_clicked)
        self._update_sandbox_box()

    @property
    def session(self) -> FaceSession | None:
        return self._session

    def _update_sandbox_box(self) -> None:
        self.simulate_box.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))

    @Slot()
    def _on_create_button_clicked(self) -> None:
        self._start("face_session", self._create())

    async def _create(self) -> None:
        with self._busy("face_session"):
            inputs = self.ctx.stamp(self.ctx.images.id_photo)
            photo = await self.ctx.prepared(self.ctx.images.id_photo)
            provider = self._face_sessions()
            session = await self.ctx.audited(
                Audited.UQUDO_CREATE_SESSION, lambda: provider.create_face_session(photo)
            )
            await self.ctx.sessions.record(
                session.session_id,
                kind=FACE_SESSION_KIND,
                status="created",
                label=face_session_label(inputs),
                extra={"expires_at": session.expires_at.isoformat(timespec="seconds")},
            )
        self._session = session
        self.session_field.set_value(session.session_id)
        self.simulate_button.setEnabled(True)
        self._timer.start()
        self._on_timer_timeout()

    def remaining_seconds(self) -> int:
        if self._session is None:
            return 0
        return seconds_left(self._session.expires_at) or 0

    @Slot()
    def _on_timer_timeout(self) -> None:
        left = self.remaining_seconds()
        if left <= 0:
            self._timer.stop()
            self.countdown.setText("Expired: uqudo has deleted the session and its ID photo.")
            self.countdown.setStyleSheet("color: #b3261e;")
            self.simulate_button.setEnabled(False)
            return
        minutes, seconds = divmod(left, 60)
        self.countdown.setText(f"{minutes}:{seconds:02d} (of 10:00)")
        self.countdown.setStyleSheet("color: #8a5a00;" if left < 120 else "")

    @Slot()
    def _on_simulate_button_clicked(self) -> None:
        self._start("face_session_simulate", self._simulate())

    async def _simulate(self) -> None:
        if self._session is None:
            raise OperationRefused("Create a face session first.")
        session_id = self._session.session_id
        with self._busy("face_session_simulate"):
            selfie = None
            if self.ctx.images.selfie.loaded is not None:
                selfie = await self.ctx.prepared(self.ctx.images.selfie)
            await self.ctx.sandbox.uqudo_complete(
                session_id,
                str(self.outcome_combo.currentData()),
                one_to_n=self.include_one_to_n.isChecked(),
                selfie=selfie,
            )
            await self.ctx.sessions.record(
                session_id,
                kind=FACE_SESSION_KIND,
                status="completed (sandbox)",
            )
        self.ctx.presenter.info(
            "The sandbox completed the face session. Fetch its signed result in Session results."
        )

    def on_connection_changed(self) -> None:
        self._timer.stop()
        self._session = None
        self.session_field.set_value("")
        self.countdown.setText("No session yet.")
        self.countdown.setStyleSheet("")
        self.simulate_button.setEnabled(False)
        self._update_sandbox_box()


class OneToNPanel(_UqudoPanel):
    title = "1:N face index"
    main_actions = ("search_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        intro = QLabel(
            "Your uqudo tenant's face index: check whether a face is already known, add a face, "
            "or delete a stored selfie by its oneToNVerificationId."
        )
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Photo:"))
        self.source_combo = QComboBox()
        self.source_combo.addItem("Selfie", "selfie")
        self.source_combo.addItem("ID photo", "id_photo")
        source_row.addWidget(self.source_combo)
        source_row.addStretch(1)
        # Issue 5: let the operator see what a tenant without the 1:N permission gets (403).
        self.permission_check = QCheckBox("Sandbox: tenant without the 1:N permission")
        source_row.addWidget(self.permission_check)
        self.layout_.addLayout(source_row)

        search_box = QGroupBox("Search")
        search = QHBoxLayout(search_box)
        self.insert_check = QCheckBox("Insert if not found (adds the face to the index)")
        self.insert_check.setChecked(False)
        self.search_button = QPushButton("Search index")
        search.addWidget(self.insert_check, 1)
        search.addWidget(self.search_button)
        self.layout_.addWidget(search_box)

        insert_box = QGroupBox("Insert")
        insert = QHBoxLayout(insert_box)
        insert.addWidget(QLabel("Add the photo to the index directly (asks first)."), 1)
        self.insert_button = QPushButton("Add to index…")
        insert.addWidget(self.insert_button)
        self.layout_.addWidget(insert_box)

        delete_box = QGroupBox("Delete")
        delete = QHBoxLayout(delete_box)
        self.delete_id = QLineEdit()
        self.delete_id.setPlaceholderText("oneToNVerificationId")
        self.delete_button = QPushButton("Delete stored selfie…")
        delete.addWidget(self.delete_id, 1)
        delete.addWidget(self.delete_button)
        self.layout_.addWidget(delete_box)
        note = QLabel(DELETE_CONSEQUENCE)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        self.layout_.addWidget(note)

        self._actions += [self.search_button, self.insert_button, self.delete_button]
        self._add_busy_row()
        self.result_card = ResultCard()
        self.layout_.addWidget(self.result_card)
        self.layout_.addStretch(1)
        self.search_button.clicked.connect(self._on_search_button_clicked)
        self.insert_button.clicked.connect(self._on_insert_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.permission_check.toggled.connect(self._on_permission_check_toggled)
        self._update_sandbox_controls()

    def _update_sandbox_controls(self) -> None:
        self.permission_check.setVisible(self.ctx.service.is_sandbox(self.ctx.provider_id))

    @Slot(bool)
    def _on_permission_check_toggled(self, without: bool) -> None:
        self._start(
            "one_to_n_permission",
            self.ctx.sandbox.set_uqudo_one_to_n_permission(not without),
        )

    def _slot(self) -> ImageSlot:
        images = self.ctx.images
        return images.id_photo if self.source_combo.currentData() == "id_photo" else images.selfie

    async def _record(self, verification_id: str, status: str) -> None:
        await record_one_to_n(self.ctx.sessions, verification_id, status)

    def _show(self, result_id: str | None, result: CheckResult) -> None:
        # The id moves from the plain details to a copyable row.
        copyable = {"oneToNVerificationId": result_id} if result_id else None
        details = {k: v for k, v in result.details.items() if k != DETAIL_VERIFICATION_ID}
        shown = _as_review(replace(result, details=details))
        self.result_card.show_result(shown, copyable=copyable)
        if result_id:
            self.delete_id.setText(result_id)

    @Slot()
    def _on_search_button_clicked(self) -> None:
        self._start("one_to_n", self._search)

    async def _search(self) -> None:
        insert = self.insert_check.isChecked()
        with self._busy("one_to_n"):
            photo = await self.ctx.prepared(self._slot())
            provider = self._searcher()
            if insert:
                # Insert-if-not-found may change the tenant's index: keep it in the audit trail.
                result = await self.ctx.audited(
                    Audited.UQUDO_SEARCH_INSERT,
                    lambda: provider.search_face(photo, insert_if_missing=True),
                    image_fingerprint(photo),
                )
            else:
                result = await provider.search_face(photo, insert_if_missing=False)
            result_id = result.details.get(DETAIL_VERIFICATION_ID)
            if result_id:
                known = result.verdict is Verdict.POSITIVE
                await self._record(result_id, FOUND if known else INSERTED)
        self._show(result_id, result)

    @Slot()
    def _on_insert_button_clicked(self) -> None:
        self._start("one_to_n", self._insert())

    async def _insert(self) -> None:
        slot = self._slot()
        if slot.loaded is None:
            await self.ctx.prepared(slot)  # raises the "load a photo first" message
        confirmed = await confirm_destructive(
            self,
            title="Add face to the uqudo index?",
            text=f"Add the {self.source_combo.currentText().lower()} to your tenant's 1:N face "
            "index?",
            details="Later searches in this tenant will report this face as already known.",
            confirm_label="Add to index",
        )
        if not confirmed:
            return
        with self._busy("one_to_n"):
            photo = await self.ctx.prepared(slot)
            provider = self._enroller()
            result = await self.ctx.audited(
                Audited.UQUDO_INSERT, lambda: provider.enroll_face(photo), image_fingerprint(photo)
            )
            result_id = result.details.get(DETAIL_VERIFICATION_ID)
            if result_id:
                await self._record(result_id, INSERTED)
        self._show(result_id, result)

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        self._start("one_to_n", self._delete())

    async def _delete(self) -> None:
        face_id = self.delete_id.text().strip()
        if not face_id:
            raise OperationRefused("Enter the oneToNVerificationId to delete.")
        confirmed = await confirm_destructive(
            self,
            title="Delete the stored selfie?",
            text=f"Delete the selfie stored for oneToNVerificationId {face_id}?",
            details=DELETE_CONSEQUENCE,
        )
        if not confirmed:
            return
        with self._busy("one_to_n"):
            provider = self._deleter()
            await self.ctx.audited(
                Audited.UQUDO_DELETE, lambda: provider.delete_face(face_id), face_id
            )
            await self._record(face_id, SELFIE_DELETED)
        self.result_card.clear()
        self.ctx.presenter.info(
            f"uqudo deleted the stored selfie for {face_id}. Its face features stay indexed, "
            "so searches can still find this face."
        )

    def on_connection_changed(self) -> None:
        self.result_card.clear()
        self.delete_id.clear()
        self._update_sandbox_controls()


class SessionResultsPanel(_UqudoPanel):
    title = "Session results"
    main_actions = ("fetch_button",)

    def __init__(self, ctx: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        intro = QLabel(
            "Fetch a face session's signed result from uqudo's Info API. FaceDesk verifies the "
            "signature against uqudo's published keys before showing anything."
        )
        intro.setWordWrap(True)
        self.layout_.addWidget(intro)
        row = QHBoxLayout()
        self.session_combo = QComboBox()
        self.session_combo.setEditable(True)
        self.session_combo.setMinimumWidth(320)
        line = self.session_combo.lineEdit()
        assert line is not None
        line.setPlaceholderText("Session id (8-4-4-4-12 hexadecimal)")
        self.header_check = QCheckBox("Send id in UQ-Session-ID header")
        self.fetch_button = QPushButton("Fetch and verify")
        row.addWidget(self.session_combo, 1)
        row.addWidget(self.header_check)
        row.addWidget(self.fetch_button)
        self.layout_.addLayout(row)
        self._add_busy_row()
        self.signature = QLabel()
        self.signature.setWordWrap(True)
        self.layout_.addWidget(self.signature)
        self.result_card = ResultCard()
        self.layout_.addWidget(self.result_card)
        image_row = QHBoxLayout()
        self.image_preview = QLabel()
        self.image_preview.setMinimumHeight(0)
        self.download_button = QPushButton("Show audit-trail image")
        self.download_button.setEnabled(False)
        self.save_button = QPushButton("Save image…")
        self.save_button.setEnabled(False)
        self.purge_button = QPushButton("Purge session data…")
        image_row.addWidget(self.download_button)
        image_row.addWidget(self.save_button)
        image_row.addStretch(1)
        image_row.addWidget(self.purge_button)
        self.layout_.addLayout(image_row)
        self.layout_.addWidget(self.image_preview)
        self.layout_.addStretch(1)
        self._actions += [self.fetch_button, self.purge_button]
        self._image_id: str | None = None
        self._image: SessionImage | None = None
        self.fetch_button.clicked.connect(self._on_fetch_button_clicked)
        self.download_button.clicked.connect(self._on_download_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.purge_button.clicked.connect(self._on_purge_button_clicked)

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        # Refresh when shown, not in __init__: the panel may be built before the loop runs.
        super().showEvent(event)
        self._start("results_refresh", self.refresh_sessions())

    @property
    def session_id(self) -> str:
        return self.session_combo.currentText().strip()

    def set_session_id(self, session_id: str) -> None:
        self.session_combo.setEditText(session_id)

    def open_tracked(self, record: SessionRecord) -> bool:
        if record.kind != FACE_SESSION_KIND:
            return False
        self.set_session_id(record.session_id)
        self._start("session_result", self._fetch)
        return True

    async def refresh_sessions(self) -> None:
        """Offer the face sessions in the registry (uqudo cannot list them)."""
        records = await self.ctx.sessions.tracked(FACE_SESSION_KIND)
        current = self.session_id
        self.session_combo.clear()
        for record in records:
            self.session_combo.addItem(f"{record.session_id}", record.session_id)
        self.session_combo.setEditText(current)

    def _clear_result(self) -> None:
        self.signature.clear()
        self.result_card.clear()
        self.image_preview.clear()
        self._image_id = None
        self._image = None
        self.download_button.setEnabled(False)
        self.save_button.setEnabled(False)

    @Slot()
    def _on_fetch_button_clicked(self) -> None:
        self._start("session_result", self._fetch)

    async def _fetch(self) -> None:
        session_id = self.session_id
        self._clear_result()
        with self._busy("session_result"):
            provider = self._results()
            result = await provider.fetch_session_result(
                session_id, id_in_header=self.header_check.isChecked()
            )
            await self.ctx.sessions.record(
                session_id,
                kind=FACE_SESSION_KIND,
                status="result fetched",
            )
        self.signature.setText(
            f"✔ Signature verified: {result.algorithm}, key {result.key_id}."
            + (f" Issued {result.issued_at:%Y-%m-%d %H:%M:%S} UTC." if result.issued_at else "")
        )
        copyable = {}
        if result.face and result.face.one_to_n_verification_id:
            copyable["oneToNVerificationId"] = result.face.one_to_n_verification_id
        copyable["Session id (jti)"] = result.session_id
        # Ids move from the plain details to copyable rows.
        details = {k: v for k, v in result.check.details.items() if k != DETAIL_VERIFICATION_ID}
        self.result_card.show_result(replace(result.check, details=details), copyable=copyable)
        self._image_id = next(iter(result.image_ids.values()), None)
        self.download_button.setEnabled(self._image_id is not None)

    @Slot()
    def _on_download_button_clicked(self) -> None:
        self._start("session_image", self._download)

    async def _download(self) -> None:
        if self._image_id is None:
            raise OperationRefused("Fetch a session result with an audit-trail image first.")
        with self._busy("session_image"):
            provider = self._results()
            image = await provider.download_image(self._image_id)
        self._image = image
        pixmap = QPixmap()
        pixmap.loadFromData(image.data)
        if not pixmap.isNull():
            self.image_preview.setPixmap(pixmap.scaledToHeight(min(240, pixmap.height())))
        self.save_button.setEnabled(True)

    @Slot()
    def _on_save_button_clicked(self) -> None:
        if self._image is None:
            return
        dialog = QFileDialog(self, "Save audit-trail image")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(f"uqudo-{self._image.image_id}{self._image.extension}")
        dialog.fileSelected.connect(
            lambda path: self._start("session_image_save", self.save_image_to(Path(path)))
        )
        dialog.open()

    async def save_image_to(self, path: Path) -> None:
        """Write the downloaded image: the only way it reaches the disk (an explicit export)."""
        if self._image is None:
            raise OperationRefused("Show the audit-trail image first.")
        await asyncio.to_thread(path.write_bytes, self._image.data)
        self.ctx.presenter.info(f"Saved the image to {path.name}.")

    @Slot()
    def _on_purge_button_clicked(self) -> None:
        self._start("session_purge", self._purge())

    async def _purge(self) -> None:
        session_id = self.session_id
        if not session_id:
            raise OperationRefused("Enter the session id to purge.")
        confirmed = await confirm_destructive(
            self,
            title="Purge session data?",
            text=f"Purge uqudo's cached data for session {session_id}?",
            details=PURGE_CONSEQUENCE,
            confirm_label="Purge",
        )
        if not confirmed:
            return
        with self._busy("session_purge"):
            provider = self._results()
            await self.ctx.audited(
                Audited.UQUDO_PURGE, lambda: provider.purge_session(session_id), session_id
            )
            await self.ctx.sessions.record(session_id, kind=FACE_SESSION_KIND, status="purged")
        self._clear_result()
        self.ctx.presenter.info(f"uqudo purged the data of session {session_id}.")

    def on_connection_changed(self) -> None:
        self._clear_result()
        self._start("results_refresh", self.refresh_sessions())


PANELS: dict[Capability, type[Panel]] = {
    Capability.FACE_MATCH: FaceMatchPanel,
    Capability.LIVENESS_SESSIONS: FaceSessionPanel,
    Capability.ONE_TO_N_SEARCH: OneToNPanel,
    Capability.ONE_TO_N_ENROLL: OneToNPanel,
    Capability.ONE_TO_N_DELETE: OneToNPanel,
    Capability.SESSION_RESULTS: SessionResultsPanel,
}
