"""Veriff: the verification-session types and the Protocol the Veriff tab types against.

Words for Veriff's codes live here (the UI shows them next to the numbers): decision codes
(shared/providers/veriff.md §5), reason codes (§5; wording from Veriff's public tables), and
the rules the deletion dialog explains (§3.10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from app.capabilities import Capability
from app.domain import CheckResult, EncodedImage, Verdict

PROVIDER_ID = "veriff"
SESSION_KIND = "verification"

DECISION_CODES: Mapping[int, str] = {
    7001: "Started: the end user entered the flow",
    7002: "Submitted: the data is with Veriff",
    9001: "Approved: positive and final",
    9102: "Declined: negative and final; a new session is needed to retry",
    9103: "Resubmission requested: not final, the same link is used again",
    9104: "Expired or abandoned: nothing was submitted within 7 days",
    9121: "Review: a person at Veriff has to look at it",
}

# §5: decline and resubmission reason codes. [INFERRED] the words follow Veriff's published
# reason-code table; §5 lists the numbers only.
REASON_CODES: Mapping[int, str] = {
    102: "Suspected document tampering",
    103: "Person showing the document does not match the document photo",
    105: "Suspicious behaviour",
    106: "Known fraud",
    108: "Velocity/abuse: duplicated user",
    109: "Velocity/abuse: duplicated device",
    110: "Velocity/abuse: duplicated ID",
    112: "Restricted IP location",
    113: "Suspicious behaviour: identity farming",
    201: "Video and/or photos missing",
    204: "Poor image quality",
    205: "Document damaged",
    206: "Document type not supported",
    207: "Document expired",
    502: "Multiple parties present in session",
    503: "Attempted deceit",
    504: "Attempted deceit: device screen used",
    505: "Attempted deceit: printout used",
    506: "Presented document tampered: data cross-reference",
    507: "Presented document tampered: similarity to specimen",
    539: "Resubmission limit exceeded",
}

STATUS_WORDS: Mapping[str, str] = {
    "created": "Created: the end user has not opened the link yet",
    "started": "Started: the end user is in the flow",
    "submitted": "Submitted: Veriff is deciding",
    "approved": "Approved",
    "declined": "Declined",
    "resubmission_requested": "Resubmission requested",
    "review": "In review at Veriff",
    "expired": "Expired (never started)",
    "abandoned": "Abandoned (started, never submitted)",
    "inflow_completed": "Flow completed",
}

DOCUMENT_TYPES = ("PASSPORT", "ID_CARD", "DRIVERS_LICENSE", "RESIDENCE_PERMIT")
UPLOAD_CONTEXTS = ("face", "document-front", "document-back")

# §3.10: deletable statuses (current docs); 1306 while submitted, 1305 otherwise.
DELETABLE_STATUSES = frozenset(
    {"created", "started", "approved", "declined", "resubmission_requested", "expired", "abandoned"}
)
UNFINISHED_STATUSES = frozenset({"created", "started", "resubmission_requested"})
DELETE_LIMITS = ((3600, 5), (86400, 10))  # (window seconds, deletions) per integration
DELETION_CONSEQUENCES = (
    "The session disappears from Veriff's portal and from every API call at once; "
    "Veriff erases its data within 12 hours. This cannot be undone."
)
UNFINISHED_CONSEQUENCE = (
    "The session is unfinished, so Veriff will send a decision webhook (expired or abandoned) "
    "to the integration's webhook URL."
)


def reason_words(code: int | None) -> str:
    if code is None:
        return ""
    return REASON_CODES.get(code, f"Reason code {code} (not in FaceDesk's table)")


def decision_words(code: int | None) -> str:
    if code is None:
        return ""
    return DECISION_CODES.get(code, f"Code {code}")


@dataclass(frozen=True, slots=True)
class VeriffSessionRequest:
    """What the operator fills in to create a session; empty values are not sent (§6.3)."""

    first_name: str = ""
    last_name: str = ""
    id_number: str = ""
    date_of_birth: str = ""  # YYYY-MM-DD
    gender: str = ""
    document_type: str = ""
    document_country: str = ""
    document_number: str = ""
    vendor_data: str = ""
    callback: str = ""
    end_user_id: str = ""


@dataclass(frozen=True, slots=True)
class VeriffSession:
    """A created or submitted session (§3.1, §3.2)."""

    id: str
    status: str
    url: str
    host: str
    vendor_data: str | None
    end_user_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RiskLabel:
    label: str
    category: str
    session_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VeriffDecision:
    """GET decision (§3.4). `status` is "pending" while Veriff has no decision yet."""

    session_id: str
    status: str
    verdict: Verdict
    code: int | None
    reason: str | None
    reason_code: int | None
    attempt_id: str | None = None
    decision_time: datetime | None = None
    acceptance_time: datetime | None = None
    vendor_data: str | None = None
    end_user_id: str | None = None
    person: Mapping[str, str] = field(default_factory=dict)
    document: Mapping[str, str] = field(default_factory=dict)
    risk_labels: tuple[RiskLabel, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def decided(self) -> bool:
        return self.verdict is not Verdict.PENDING

    @property
    def headline(self) -> str:
        if not self.decided:
            return "No decision yet"
        return STATUS_WORDS.get(self.status, self.status)

    def as_check_result(self) -> CheckResult:
        """The decision as a ResultCard shows it: verdict, then code and reason, then details."""
        reasons: list[str] = []
        if self.code is not None:
            reasons.append(f"{self.code}: {decision_words(self.code)}")
        if self.reason_code is not None:
            reasons.append(f"Reason {self.reason_code}: {reason_words(self.reason_code)}")
        elif self.reason:
            reasons.append(self.reason)
        reasons += [f"Risk: {r.label} ({r.category})" for r in self.risk_labels]
        # Ids are left to the caller, which shows them with Copy buttons.
        details: dict[str, str] = {"Status": self.status}
        if self.decision_time:
            details["Decision time (UTC)"] = self.decision_time.isoformat(timespec="seconds")
        if self.vendor_data:
            details["vendorData"] = self.vendor_data
        details.update({f"Person: {k}": v for k, v in self.person.items()})
        details.update({f"Document: {k}": v for k, v in self.document.items()})
        return CheckResult(
            verdict=self.verdict,
            headline=self.headline,
            reasons=tuple(reasons),
            details=details,
            raw=self.raw,
            request_id=self.request_id,
            warnings=self.warnings,
        )


@dataclass(frozen=True, slots=True)
class VeriffPerson:
    """GET person (§3.7): the person fields Veriff holds and the PEP/sanction matches."""

    session_id: str
    fields: Mapping[str, str]
    pep_sanction_matches: int
    raw: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VeriffAttempt:
    id: str
    status: str
    created_time: datetime | None


@dataclass(frozen=True, slots=True)
class VeriffMedia:
    """One image or video in a media list (§3.5) or an upload answer (§3.3)."""

    id: str
    context: str
    name: str
    mimetype: str
    size: int | None
    is_video: bool = False
    duration: float | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class VeriffMediaList:
    images: tuple[VeriffMedia, ...]
    videos: tuple[VeriffMedia, ...]
    raw: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MediaContent:
    """GET /v1/media/{id} (§3.6): the file itself."""

    media_id: str
    data: bytes
    content_type: str
    warnings: tuple[str, ...] = ()

    @property
    def extension(self) -> str:
        base = self.content_type.split(";")[0].strip().lower()
        return {
            "image/jpeg": ".jpg",
            "image/jpg": ".jpg",
            "image/png": ".png",
            "image/webp": ".webp",
            "image/heif": ".heif",
            "video/webm": ".webm",
            "video/mp4": ".mp4",
            "application/json": ".json",
        }.get(base, ".bin")


@dataclass(frozen=True, slots=True)
class VeriffWatchlist:
    """GET watchlist-screening (§3.9); `available` is False when the integration lacks it."""

    available: bool
    match_status: str = ""
    check_type: str = ""
    total_hits: int = 0
    hits: tuple[Mapping[str, Any], ...] = ()
    note: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VeriffSessionView:
    """Everything the session view shows, loaded together."""

    session_id: str
    status: str
    decision: VeriffDecision
    person: VeriffPerson | None
    attempts: tuple[VeriffAttempt, ...]
    media: VeriffMediaList
    watchlist: VeriffWatchlist

    @property
    def warnings(self) -> tuple[str, ...]:
        seen: list[str] = []
        for part in (self.decision, self.person, self.media, self.watchlist):
            for warning in getattr(part, "warnings", ()):
                if warning not in seen:
                    seen.append(warning)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class DeletionQuota:
    """Veriff's deletion limits as FaceDesk's own ledger sees them (§3.10)."""

    used_last_hour: int
    used_last_day: int
    remaining: int
    next_possible_at: datetime | None  # None: a deletion is possible now

    @property
    def summary(self) -> str:
        text = (
            f"{self.remaining} deletion(s) possible now "
            f"({self.used_last_hour}/5 in the last hour, {self.used_last_day}/10 in 24 hours)"
        )
        if self.next_possible_at is not None:
            text += f"; next possible at {self.next_possible_at.astimezone():%Y-%m-%d %H:%M}"
        return text


@dataclass(frozen=True, slots=True)
class DeletionPreview:
    """What the confirmation dialog shows before the operator decides."""

    session_id: str
    status: str
    allowed: bool
    refusal: str  # the vendor's own reason (1305/1306) or the quota, when not allowed
    consequences: tuple[str, ...]
    quota: DeletionQuota


@dataclass(frozen=True, slots=True)
class DeletionResult:
    session_id: str
    previous_status: str
    webhook_expected: bool
    quota: DeletionQuota
    request_id: str | None = None
    warnings: tuple[str, ...] = ()
    # True when a DELETE retried after a lost reply got 404: the first attempt deleted it.
    vendor_already_gone: bool = False

    @property
    def audit_outcome(self) -> str:
        if self.vendor_already_gone:
            return "deleted (the vendor no longer has it)"
        return "succeeded"


@runtime_checkable
class VeriffVerificationSessions(Protocol):
    """Veriff's verification sessions as the Veriff tab uses them."""

    async def create_session(self, request: VeriffSessionRequest) -> VeriffSession: ...

    async def get_decision(self, session_id: str) -> VeriffDecision: ...

    async def get_person(self, session_id: str) -> VeriffPerson: ...

    async def list_attempts(self, session_id: str) -> tuple[VeriffAttempt, ...]: ...

    async def list_media(
        self, session_id: str, *, attempt_id: str | None = None
    ) -> VeriffMediaList: ...

    async def download_media(self, media_id: str) -> MediaContent: ...

    async def get_watchlist(self, session_id: str) -> VeriffWatchlist: ...

    async def load_session(self, session_id: str) -> VeriffSessionView: ...

    async def session_status(self, session_id: str) -> str: ...

    async def upload_media(
        self, session_id: str, image: EncodedImage, context: str
    ) -> VeriffMedia: ...

    async def submit_session(self, session_id: str) -> VeriffSession: ...

    async def follow_decision(
        self, session_id: str, *, interval: float = 2.0, give_up_after: float = 120.0
    ) -> VeriffDecision: ...

    async def deletion_quota(self) -> DeletionQuota: ...

    async def preview_deletion(self, session_id: str) -> DeletionPreview: ...

    async def delete_session(self, session_id: str) -> DeletionResult: ...


PROTOCOLS: Mapping[Capability, type] = {
    Capability.VERIFICATION_SESSIONS: VeriffVerificationSessions,
}
"""The vendor-shaped Protocols behind its capabilities; INFO declares them (no registry)."""
