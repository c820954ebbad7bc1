"""Session workflows without Qt: registry tracking, audit rules, paging, sandbox controls."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import app.sandbox.azure_face as azure_sandbox
import app.sandbox.uqudo as uqudo_sandbox
from app.domain import EncodedImage, ImageFormat
from app.errors import NotFound, OperationRefused
from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import NEW_OBJECT_TARGET, VerificationService, open_service
from app.vendors.glair.types import GlairLivenessSessions, SessionKind, SessionStatus
from app.vendors.uqudo.sessions import (
    FOUND,
    INSERTED,
    ONE_TO_N_KIND,
    SELFIE_DELETED,
    image_fingerprint,
    record_one_to_n,
)
from app.workflows import sandbox_controls
from app.workflows.sandbox_controls import (
    AzureDeviceOutcome,
    GlairEndUserOutcome,
    SandboxControls,
    VeriffDecision,
)
from app.workflows.sessions import (
    EXPIRED,
    Audited,
    AuditRule,
    SessionTracker,
    StatusWord,
    WatchSet,
    read_pages,
    run_audited,
    seconds_left,
    shown_time,
    status_text,
    status_word,
)


@pytest.fixture
async def service(
    app_paths: AppPaths, memory_secrets: MemorySecretStore
) -> AsyncIterator[VerificationService]:
    async with open_service(app_paths, secrets=memory_secrets) as opened:
        yield opened


def tracker(service: VerificationService, provider: str = "glair") -> SessionTracker:
    return SessionTracker(service, provider)


# --- tracking -----------------------------------------------------------------------------------


async def test_tracked_keeps_the_kinds_asked_for_and_rows_of_this_api_version(
    service: VerificationService,
) -> None:
    rows = tracker(service, "azure_face")
    await rows.record("a", kind="liveness", status="created", extra={"api_version": "v1.2"})
    await rows.record("b", kind="liveness", status="created", extra={"api_version": "v1.1"})
    await rows.record("c", kind="liveness", status="created")  # recorded before versions
    await rows.record("d", kind="liveness_with_verify", status="created")
    ids = {r.session_id for r in await rows.tracked("liveness", api_version="v1.2")}
    assert ids == {"a", "c"}
    assert {r.session_id for r in await rows.tracked(["liveness_with_verify"])} == {"d"}
    assert len(await rows.tracked()) == 4
    # Another provider's registry is separate.
    assert await tracker(service, "glair").tracked() == []


async def test_a_reload_keeps_what_the_create_knew_and_the_operators_label(
    service: VerificationService,
) -> None:
    rows = tracker(service, "veriff")
    await rows.record(
        "s1", kind="verification", status="created", label="", extra={"url": "https://x/1"}
    )
    recorded = await rows.record(
        "s1",
        kind="verification",
        status="submitted",
        extra={"vendorData": "case-7"},
        keep_known=True,
        label_from="vendorData",
    )
    assert recorded.status == "submitted"
    assert dict(recorded.extra) == {"url": "https://x/1", "vendorData": "case-7"}
    assert recorded.label == "case-7"

    labelled = await rows.record(
        "s2", kind="verification", status="created", label="Case 12 (operator)"
    )
    assert labelled.label == "Case 12 (operator)"
    again = await rows.record(
        "s2",
        kind="verification",
        status="approved",
        extra={"vendorData": "other"},
        keep_known=True,
        label_from="vendorData",
    )
    assert again.label == "Case 12 (operator)"


async def test_a_search_hit_never_hides_that_a_selfie_was_deleted(
    service: VerificationService,
) -> None:
    rows = tracker(service, "uqudo")
    await record_one_to_n(rows, "v-1", INSERTED)
    await record_one_to_n(rows, "v-1", SELFIE_DELETED)
    hit = await record_one_to_n(rows, "v-1", FOUND)
    assert hit.status == SELFIE_DELETED
    fresh = await record_one_to_n(rows, "v-2", FOUND)
    assert fresh.status == FOUND
    # Inserting again after a delete is a new fact and is recorded as such.
    assert (await record_one_to_n(rows, "v-1", INSERTED)).status == INSERTED
    assert {r.kind for r in await rows.tracked()} == {ONE_TO_N_KIND}


async def test_expiry_marks_a_tracked_session_and_leaves_unknown_ids_alone(
    service: VerificationService,
) -> None:
    rows = tracker(service)
    await rows.record("sid-1", kind="passive", status="PENDING")
    marked = await rows.mark_expired("sid-1", "passive")
    assert marked is not None
    assert marked.status == EXPIRED
    assert await rows.mark_expired("never-seen", "passive") is None
    assert await rows.mark_expired("sid-1", "active") is None  # another kind, another row
    assert [r.session_id for r in await rows.tracked()] == ["sid-1"]


@dataclass
class Fresh:
    sid: str
    status: str


async def test_refresh_asks_again_about_open_sessions_only_and_keeps_gone_ones_marked(
    service: VerificationService,
) -> None:
    rows = tracker(service)
    await rows.record("open", kind="passive", status="PENDING")
    await rows.record("gone", kind="passive", status="PENDING")
    await rows.record("done", kind="passive", status="FINISHED")
    await rows.record("other", kind="not-glair", status="PENDING")
    asked: list[str] = []

    async def fetch(record: Any) -> Fresh:
        asked.append(record.session_id)
        if record.session_id == "gone":
            raise NotFound("GLAIR no longer has this session.")
        return Fresh(record.session_id, "FINISHED")

    async def record(fresh: Fresh) -> None:
        await rows.record(fresh.sid, kind="passive", status=fresh.status)

    outcome = await rows.refresh(
        ["passive", "active"],
        is_open=lambda r: r.status == "PENDING",
        fetch=fetch,
        record=record,
        gone=(NotFound,),
    )
    assert sorted(asked) == ["gone", "open"]
    assert outcome.updated == (Fresh("open", "FINISHED"),)
    assert outcome.expired == ("gone",)
    statuses = {r.session_id: r.status for r in await service.sessions("glair")}
    assert statuses == {
        "open": "FINISHED",
        "gone": EXPIRED,
        "done": "FINISHED",
        "other": "PENDING",
    }


async def test_forgetting_with_an_audit_rule_writes_attempt_and_outcome_naming_the_id(
    service: VerificationService,
) -> None:
    rows = tracker(service)
    await rows.record("sid-a", kind="passive", status="PENDING")
    await rows.record("sid-b", kind="passive", status="PENDING")
    await rows.forget("sid-a", audit=Audited.GLAIR_FORGET_SESSION)
    await rows.forget("sid-b")
    assert await rows.tracked() == []
    entries = await service.audit_entries("glair")
    assert sorted(e.outcome for e in entries) == ["attempt", "succeeded"]
    assert {e.operation for e in entries} == {"forget_session"}
    assert {e.targets for e in entries} == {("sid-a",)}


async def test_watch_records_every_update_and_returns_the_last(
    service: VerificationService,
) -> None:
    rows = tracker(service)
    updates = [Fresh("w", "PENDING"), Fresh("w", "PENDING"), Fresh("w", "FINISHED")]
    shown: list[str] = []

    async def poll() -> AsyncIterator[Fresh]:
        for update in updates:
            yield update

    async def record(update: Fresh) -> None:
        await rows.record(update.sid, kind="passive", status=update.status)

    last = await rows.watch(poll(), record=record, on_update=lambda u: shown.append(u.status))
    assert last == Fresh("w", "FINISHED")
    assert shown == ["PENDING", "PENDING", "FINISHED"]
    assert [r.status for r in await rows.tracked()] == ["FINISHED"]

    async def nothing() -> AsyncIterator[Fresh]:
        return
        yield  # pragma: no cover  (makes this an async generator)

    assert await rows.watch(nothing(), record=record) is None


def test_a_restarted_watch_overlapping_its_cancelled_one_still_counts_as_watching() -> None:
    watching = WatchSet()
    watching.started("s")
    watching.started("s")  # the restart begins before the cancelled one has ended
    watching.ended("s")
    assert "s" in watching
    watching.ended("s")
    assert "s" not in watching
    watching.ended("s")  # a done-callback of a watch cancelled before it ran
    assert len(watching) == 0


def test_seconds_left_never_goes_negative() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert seconds_left(now + timedelta(seconds=90.7), now) == 90
    assert seconds_left(now - timedelta(hours=1), now) == 0
    assert seconds_left(None, now) is None


# --- audit rules --------------------------------------------------------------------------------


def test_every_rule_says_how_many_targets_it_takes() -> None:
    rules = [v for v in vars(Audited).values() if isinstance(v, AuditRule)]
    assert len(rules) >= 15
    for rule in rules:
        if rule.operation.startswith("create ") and "session" in rule.operation:
            # A session's form (names, vendorData) is never a target: its new id is.
            assert rule.targets == (), rule
    assert Audited.AZURE_ADD_FACE.target_list("g", "p") == ["g", "p"]
    with pytest.raises(ValueError, match="2 target"):
        Audited.AZURE_ADD_FACE.target_list("g")


@dataclass
class CreatedGlair:
    sid: str
    request_id: str | None = None


async def test_a_create_is_audited_by_the_id_the_vendor_gave(
    service: VerificationService,
) -> None:
    async def create() -> CreatedGlair:
        return CreatedGlair("0f8fad5b-d9cb-469f-a165-70867728950e")

    await run_audited(service, "glair", Audited.GLAIR_CREATE_SESSION, create)
    entries = await service.audit_entries("glair")
    by_outcome = {e.outcome: e.targets for e in entries}
    assert by_outcome == {
        "attempt": (NEW_OBJECT_TARGET,),
        "succeeded": ("0f8fad5b-d9cb-469f-a165-70867728950e",),
    }


async def test_a_failed_audited_action_names_the_error(service: VerificationService) -> None:
    async def delete() -> None:
        raise NotFound("Azure no longer has this session.")

    with pytest.raises(NotFound):
        await run_audited(service, "azure_face", Audited.AZURE_DELETE_SESSION, delete, "s-9")
    outcomes = sorted(e.outcome for e in await service.audit_entries("azure_face"))
    assert outcomes == ["attempt", "failed: NotFound"]


def test_an_image_is_audited_by_fingerprint_not_by_name() -> None:
    image = EncodedImage(data=b"\xff\xd8jpeg bytes", format=ImageFormat.JPEG, width=1, height=1)
    fingerprint = image_fingerprint(image)
    assert fingerprint.startswith("image sha256:")
    assert len(fingerprint) == len("image sha256:") + 16
    assert image_fingerprint(image) == fingerprint


# --- statuses and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "word", "text"),
    [
        ("created", StatusWord.PENDING, "Pending (created)"),
        ("PENDING", StatusWord.PENDING, "Pending"),
        ("FINISHED", StatusWord.DONE, "Done (FINISHED)"),
        ("approved", StatusWord.APPROVED, "Approved"),
        ("resubmission_requested", StatusWord.REVIEW, "Review (resubmission_requested)"),
        (SELFIE_DELETED, StatusWord.DELETED, f"Deleted ({SELFIE_DELETED})"),
        ("zz-new-vendor-value", StatusWord.UNKNOWN, "Unknown (zz-new-vendor-value)"),
        ("", StatusWord.UNKNOWN, "Unknown"),
    ],
)
def test_a_status_shows_one_word_with_the_vendors_value_beside_it(
    raw: str, word: StatusWord, text: str
) -> None:
    assert status_word(raw) is word
    assert status_text(raw) == text


@pytest.fixture
def jakarta_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Jakarta")  # UTC+7, no daylight saving
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_local_with_utc_in_the_tooltip(jakarta_time: None) -> None:
    shown = shown_time(datetime(2026, 3, 1, 20, 30, 15, tzinfo=UTC))
    assert shown.text == "2026-03-02 03:30"
    assert shown.tooltip == "2026-03-01 20:30:15 UTC"
    naive = shown_time(datetime(2026, 3, 1, 20, 30, 15))  # the store's naive times are UTC
    assert naive == shown


# --- paging -------------------------------------------------------------------------------------


@dataclass
class FakePage:
    items: Sequence[int]
    next_start: str | None


def paged(pages: Mapping[str, FakePage], asked: list[str]) -> Any:
    async def fetch(start: str) -> FakePage:
        asked.append(start)
        return pages[start]

    return fetch


async def test_read_pages_follows_the_cursor_until_the_vendor_has_no_more() -> None:
    asked: list[str] = []
    pages = {"": FakePage([1, 2], "b"), "b": FakePage([3], "c"), "c": FakePage([4], None)}
    read = await read_pages(paged(pages, asked), max_pages=10)
    assert read.items == (1, 2, 3, 4)
    assert read.next_start is None
    assert asked == ["", "b", "c"]


async def test_read_pages_stops_at_the_page_limit_and_says_where_more_continues() -> None:
    asked: list[str] = []
    pages = {"": FakePage([1], "b"), "b": FakePage([2], "c"), "c": FakePage([3], None)}
    first = await read_pages(paged(pages, asked), max_pages=2)
    assert (first.items, first.next_start) == ((1, 2), "c")
    more = await read_pages(paged(pages, asked), start=first.next_start or "", max_pages=2)
    assert (more.items, more.next_start) == ((3,), None)
    assert asked == ["", "b", "c"]
    with pytest.raises(ValueError, match="max_pages"):
        await read_pages(paged(pages, asked), max_pages=0)


# --- sandbox controls ---------------------------------------------------------------------------


@dataclass
class RecordingAdmin:
    calls: list[tuple[str, str, Mapping[str, Any] | None]]

    async def sandbox_admin(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> Any:
        self.calls.append((method, path, payload))
        return None


def test_setting_names_are_the_ones_the_sandbox_reads() -> None:
    assert sandbox_controls.AZURE_LIMITED_ACCESS == azure_sandbox.LIMITED_ACCESS
    assert sandbox_controls.UQUDO_ONE_TO_N_PERMISSION == uqudo_sandbox.SETTING_ONE_TO_N


async def test_controls_send_typed_requests_and_refuse_off_the_sandbox() -> None:
    admin = RecordingAdmin([])
    controls = SandboxControls(admin)
    selfie = EncodedImage(data=b"abc", format=ImageFormat.JPEG, width=1, height=1)
    await controls.azure_simulate_device("s1", AzureDeviceOutcome.SPOOF_FACE, selfie)
    await controls.veriff_decide("v1", VeriffDecision.DECLINED, 102)
    await controls.set_uqudo_one_to_n_permission(False)
    assert admin.calls == [
        ("POST", "/azure/sessions/s1/simulate", {"outcome": "spoofface", "image_base64": "YWJj"}),
        ("POST", "/veriff/sessions/v1/status", {"status": "declined", "reasonCode": 102}),
        ("PUT", "/settings", {"uqudo.one_to_n_permission": False}),
    ]
    off = SandboxControls(admin, on_sandbox=False)
    with pytest.raises(OperationRefused, match="Sandbox connection only"):
        await off.glair_complete("g1", GlairEndUserOutcome.LIVE)
    assert len(admin.calls) == 3


async def test_the_end_user_finishing_a_glair_session_in_the_real_sandbox(
    service: VerificationService,
) -> None:
    sessions = service.provider("glair", GlairLivenessSessions)
    created = await sessions.create_session(
        SessionKind.PASSIVE, success_url="https://example.org/done"
    )
    await SandboxControls(service).glair_complete(created.sid, GlairEndUserOutcome.LIVE)
    finished = await sessions.get_session(SessionKind.PASSIVE, created.sid)
    assert finished.status is SessionStatus.FINISHED


async def test_azure_limited_access_toggle_reaches_the_real_sandbox(
    service: VerificationService,
) -> None:
    controls = SandboxControls(service)
    await controls.set_azure_limited_access(True)
    settings = await service.sandbox_admin("GET", "/settings")
    assert settings[sandbox_controls.AZURE_LIMITED_ACCESS] is True
    await controls.set_azure_limited_access(False)
    settings = await service.sandbox_admin("GET", "/settings")
    assert settings[sandbox_controls.AZURE_LIMITED_ACCESS] is False
