"""Azure AI Face: domain types and capability Protocols the UI types against.

Two liveness path families exist (shared/providers/azure-face.md §0): the singleModal family
(v1.1-preview.1, v1.2-preview.1) can list sessions and read audit entries; the `-sessions`
family (v1.2, v1.3-preview.1) cannot, and keeps its results in `results.attempts[]`. These
types cover both so the UI shows one shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from app.capabilities import Capability
from app.domain import CheckResult, EncodedImage, Score, Verdict

T = TypeVar("T")

API_VERSIONS = ("v1.1-preview.1", "v1.2-preview.1", "v1.2", "v1.3-preview.1")
SINGLE_MODAL_VERSIONS = ("v1.1-preview.1", "v1.2-preview.1")


class SessionKind(StrEnum):
    LIVENESS = "liveness"
    LIVENESS_WITH_VERIFY = "liveness_with_verify"


class OperationMode(StrEnum):
    PASSIVE = "Passive"
    PASSIVE_ACTIVE = "PassiveActive"


@dataclass(frozen=True, slots=True)
class FaceRect:
    left: int
    top: int
    width: int
    height: int

    def as_text(self) -> str:
        return f"{self.width}×{self.height} at ({self.left}, {self.top})"


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """What the operator chooses when creating a session."""

    operation_mode: OperationMode = OperationMode.PASSIVE
    auth_token_ttl: int = 600
    device_correlation_id: str | None = None  # None together with set_in_client=True
    set_in_client: bool = False
    enable_session_image: bool = False
    verify_image: EncodedImage | None = None  # required for LIVENESS_WITH_VERIFY
    verify_confidence_threshold: float | None = None
    return_verify_image_hash: bool = False


@dataclass(frozen=True, slots=True)
class VerifyReference:
    face: FaceRect | None
    quality: str | None
    reference_type: str | None = None


@dataclass(frozen=True, slots=True)
class LivenessAttempt:
    """One device call: a GA attempt or a preview audit entry / latest result."""

    attempt_id: int
    status: str
    decision: str | None  # lower case: realface | spoofface | uncertain
    face: FaceRect | None = None
    match_confidence: float | None = None
    is_identical: bool | None = None
    session_image_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    received_at: str | None = None
    digest: str | None = None

    def describe(self) -> str:
        """One line for the operator: status, then the decision or the error code."""
        if self.decision:
            text = f"{self.status}: {self.decision}"
            if self.match_confidence is not None:
                same = "identical" if self.is_identical else "not identical"
                text += f", matchConfidence {self.match_confidence:.3f} ({same})"
            return text
        if self.error_code:
            return f"{self.status}: {self.error_code}"
        return self.status


@dataclass(frozen=True, slots=True)
class LivenessSession:
    """A session as create or get-result reported it."""

    session_id: str
    kind: SessionKind
    api_version: str
    status: str
    auth_token: str | None = field(default=None, repr=False)  # bearer for the device: never log
    created_at: str | None = None
    started_at: str | None = None
    expired: bool | None = None
    device_correlation_id: str | None = None
    attempts: tuple[LivenessAttempt, ...] = ()  # newest first
    verify_reference: VerifyReference | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    request_id: str | None = None

    @property
    def latest(self) -> LivenessAttempt | None:
        return self.attempts[0] if self.attempts else None

    def check_result(self) -> CheckResult:
        """The session read as an operator reads it: decision first, then the score."""
        attempt = self.latest
        details = {"Status": self.status}
        if attempt is None or attempt.decision is None:
            if attempt is not None and attempt.error_code:
                details["Attempt error"] = attempt.error_code
                return CheckResult(
                    Verdict.INCONCLUSIVE,
                    f"The device attempt failed: {attempt.error_code}",
                    reasons=(attempt.error_message or "",),
                    details=details,
                    raw=self.raw,
                    request_id=self.request_id,
                )
            return CheckResult(
                Verdict.PENDING,
                "No result yet: the end user has not finished the liveness check.",
                details=details,
                raw=self.raw,
                request_id=self.request_id,
            )
        decision = attempt.decision
        verdict = {
            "realface": Verdict.POSITIVE,
            "spoofface": Verdict.NEGATIVE,
        }.get(decision, Verdict.INCONCLUSIVE)
        headline = {
            "realface": "Live person (realface)",
            "spoofface": "Presentation attack suspected (spoofface)",
        }.get(decision, "Liveness uncertain")
        score = None
        if attempt.match_confidence is not None:
            same = "the same person" if attempt.is_identical else "not the same person"
            headline += f"; verify: {same}"
            if not attempt.is_identical and verdict is Verdict.POSITIVE:
                verdict = Verdict.NEGATIVE
            score = Score(
                attempt.match_confidence,
                "matchConfidence 0–1",
                "Azure's similarity of the captured face to the reference photo; isIdentical "
                "is true at or above the session's threshold (0.5 unless set).",
            )
        if attempt.face is not None:
            details["Face"] = attempt.face.as_text()
        if attempt.session_image_id:
            details["Session image id"] = attempt.session_image_id
        if self.verify_reference is not None and self.verify_reference.face is not None:
            quality = self.verify_reference.quality or "unknown"
            details["Reference face"] = f"{self.verify_reference.face.as_text()}, quality {quality}"
        if len(self.attempts) > 1:
            # The issue asks for each attempt's decision, not only the latest one's.
            for earlier in self.attempts:
                details[f"Attempt {earlier.attempt_id}"] = earlier.describe()
        return CheckResult(
            verdict,
            headline,
            score=score,
            details=details,
            raw=self.raw,
            request_id=self.request_id,
        )


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of the singleModal list operation."""

    session_id: str
    created_at: str
    expired: bool
    started_at: str | None = None
    device_correlation_id: str | None = None
    auth_token_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One singleModal audit entry (a device call on the session)."""

    entry_id: int
    request_id: str | None
    received_at: str | None
    method: str | None
    url: str | None
    status_code: int | None
    attempt: LivenessAttempt
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_start: str | None  # pass as `start` for the next page; None when this was the last


@dataclass(frozen=True, slots=True)
class DetectedFace:
    face_id: str | None
    rect: FaceRect
    quality: str | None = None


@dataclass(frozen=True, slots=True)
class Detection:
    faces: tuple[DetectedFace, ...]  # largest first, as Azure returns them
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class PersonGroup:
    group_id: str
    name: str
    user_data: str | None = None
    recognition_model: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    name: str
    user_data: str | None = None
    face_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrainingStatus:
    status: str  # notStarted | running | succeeded | failed
    created_at: str | None = None
    last_action_at: str | None = None
    last_success_at: str | None = None
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: str
    confidence: float
    name: str | None = None
    user_data: str | None = None


@dataclass(frozen=True, slots=True)
class Identification:
    face: DetectedFace | None  # None when the selfie has no face
    candidates: tuple[Candidate, ...]
    result: CheckResult


@runtime_checkable
class AzureLivenessSessions(Protocol):
    """Liveness and liveness-with-verify sessions in the connection's API version."""

    @property
    def api_version(self) -> str: ...

    @property
    def can_list(self) -> bool:
        """True for the singleModal family (list + audit); False for `-sessions`."""
        ...

    async def create_session(self, kind: SessionKind, options: SessionOptions) -> LivenessSession:
        """Create a session. Raises RequestRejected on validation codes (§8)."""
        ...

    async def get_session(self, kind: SessionKind, session_id: str) -> LivenessSession:
        """The session's result. Raises NotFound for unknown, deleted or expired ids."""
        ...

    async def list_sessions(
        self, kind: SessionKind, *, start: str = "", top: int = 20
    ) -> Page[SessionSummary]:
        """Only in the singleModal family; raises CapabilityNotSupported otherwise."""
        ...

    async def audit_entries(
        self, kind: SessionKind, session_id: str, *, start: str = "", top: int = 20
    ) -> Page[AuditEntry]:
        """Only in the singleModal family; raises CapabilityNotSupported otherwise."""
        ...

    async def session_image(self, session_image_id: str) -> bytes: ...

    async def delete_session(self, kind: SessionKind, session_id: str) -> None:
        """Delete exactly as the version answers (200 empty or 204); anything else raises."""
        ...


@runtime_checkable
class AzureFaceVerify(Protocol):
    async def detect(self, image: EncodedImage) -> Detection:
        """Detect with detection_03 / recognition_04 / returnFaceId (403 → PermissionDenied)."""
        ...

    async def verify_faces(self, face_id1: str, face_id2: str) -> CheckResult: ...

    async def match_faces(self, reference: EncodedImage, probe: EncodedImage) -> CheckResult: ...


@runtime_checkable
class AzurePersonGroups(Protocol):
    async def list_groups(self) -> tuple[PersonGroup, ...]: ...

    async def create_group(self, group_id: str, name: str, user_data: str = "") -> PersonGroup: ...

    async def delete_group(self, group_id: str) -> None: ...

    async def list_persons(self, group_id: str) -> tuple[Person, ...]: ...

    async def create_person(self, group_id: str, name: str, user_data: str = "") -> Person: ...

    async def add_person_face(
        self, group_id: str, person_id: str, image: EncodedImage, target: FaceRect | None = None
    ) -> str: ...

    async def delete_person(self, group_id: str, person_id: str) -> None: ...

    async def train(self, group_id: str) -> str:
        """Start training; returns the Operation-Location URL to follow."""
        ...

    async def training_status(self, group_id: str) -> TrainingStatus: ...

    def follow_training(
        self, group_id: str, *, interval: float = 1.0, max_wait: float = 300.0
    ) -> AsyncIterator[TrainingStatus]:
        """Start training and yield each status until it succeeds or fails."""
        ...

    async def identify(
        self, group_id: str, image: EncodedImage, *, max_candidates: int = 5
    ) -> Identification: ...


PROTOCOLS: Mapping[Capability, type] = {
    Capability.LIVENESS_SESSIONS: AzureLivenessSessions,
    Capability.FACE_MATCH: AzureFaceVerify,
    Capability.PERSON_GROUPS: AzurePersonGroups,
}
"""The vendor-shaped Protocols behind its capabilities; INFO declares them (no registry)."""
