"""uqudo's own types: match levels in operator words, face sessions and signed session results.

The UI imports this module for types; the client is app/vendors/uqudo/client.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from app.capabilities import Capability
from app.domain import CheckResult, EncodedImage

PROVIDER_ID = "uqudo"

MIN_MATCH_LEVEL = 1
MAX_MATCH_LEVEL = 5
DEFAULT_MATCH_LEVEL = 3  # shared/providers/uqudo.md §3, §8: the default threshold everywhere
FACE_SESSION_VALIDITY_SECONDS = 600  # §2: session and image deleted after 10 minutes

# shared/providers/uqudo.md §8, in the words an operator choosing a threshold needs.
MATCH_LEVEL_MEANINGS: Mapping[int, str] = {
    1: "Lowest accuracy. Only for very poor ID photos; not recommended.",
    2: "Still accepts a fair number of wrong people. Lowest sensible level for scanned photos.",
    3: "Moderate accuracy. uqudo's default threshold.",
    4: "Good accuracy.",
    5: "Best accuracy: the identity can be treated as approved.",
}

MATCH_LEVEL_SHORT: Mapping[int, str] = {
    1: "lowest",
    2: "low",
    3: "moderate (default)",
    4: "good",
    5: "best",
}

# Keys of CheckResult.details for 1:N results, so the UI can pick the id out for copying.
DETAIL_VERIFICATION_ID = "oneToNVerificationId"
DETAIL_ALREADY_KNOWN = "Already in the index"
DETAIL_INSERTED = "Added to the index"
# Keys of CheckResult.details for face match results.
DETAIL_ACHIEVED_LEVEL = "Achieved level"
DETAIL_MINIMUM_LEVEL = "Minimum level"

DELETE_CONSEQUENCE = (
    "uqudo deletes the stored selfie for this id. The face features it indexed stay in the "
    "tenant's 1:N index under the same id, so later searches can still match this face."
)
PURGE_CONSEQUENCE = (
    "uqudo deletes the cached result and its images (such as the audit-trail selfie) for this "
    "session. It cannot be fetched again from the Info API afterwards."
)


def clamp_level(level: int) -> int:
    """§8: values below 1 count as 1 and values above 5 as 5."""
    return max(MIN_MATCH_LEVEL, min(MAX_MATCH_LEVEL, level))


@dataclass(frozen=True, slots=True)
class FaceSession:
    """A face session created from an ID photo; the SDK runs the rest on the end user's device."""

    session_id: str
    created_at: datetime  # local UTC time when uqudo answered
    expires_at: datetime  # created_at + 10 minutes (§2)
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class FaceObject:
    """The `face` object of a signed SDK result (§7); every field may be absent."""

    match: bool | None
    match_level: int | None
    audit_trail_image_id: str | None
    one_to_n_verification_id: str | None
    one_to_n_verification_match: bool | None


@dataclass(frozen=True, slots=True)
class SessionResult:
    """A face session result fetched from the Info API, its JWS signature verified."""

    session_id: str  # the id it was fetched by (the JWS `jti`)
    key_id: str  # `kid` of the JWKS key that verified the signature
    algorithm: str
    claims: Mapping[str, Any]  # the whole verified payload, for the raw JSON view
    face: FaceObject | None
    check: CheckResult  # decision first, then level, then details, for the ResultCard
    data_session_id: str | None = None  # `data.sessionId`: the face session the SDK ran
    nonce: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    image_ids: Mapping[str, str] = field(default_factory=dict)  # label → downloadable image id


@dataclass(frozen=True, slots=True)
class SessionImage:
    image_id: str
    data: bytes
    content_type: str

    @property
    def extension(self) -> str:
        return ".png" if self.content_type == "image/png" else ".jpg"


@runtime_checkable
class UqudoFaceMatch(Protocol):
    async def match_faces(
        self,
        reference: EncodedImage,
        probe: EncodedImage,
        *,
        minimum_level: int = DEFAULT_MATCH_LEVEL,
    ) -> CheckResult:
        """Face match (§3); `match` is true when the achieved level reaches `minimum_level`.

        Raises:
            OperationRefused: minimum_level outside 1..5 (nothing was sent).
            ProviderError: the call failed (see the AppError tree).
        """
        ...


@runtime_checkable
class UqudoFaceSessions(Protocol):
    async def create_face_session(self, id_photo: EncodedImage) -> FaceSession:
        """Upload the ID photo (§2); the session id is valid for 10 minutes.

        Raises:
            ProviderError: the call failed (PermissionDenied when the tenant lacks the feature).
        """
        ...


@runtime_checkable
class UqudoSessionResults(Protocol):
    async def fetch_session_result(
        self, session_id: str, *, id_in_header: bool = False
    ) -> SessionResult:
        """Fetch the signed result (§7) and verify it against the JWKS.

        Raises:
            OperationRefused: the id is not a UUID (nothing was sent).
            NotFound: unknown, purged or expired.
            UnexpectedResponse: the signature does not verify or the token is malformed.
        """
        ...

    async def download_image(self, image_id: str) -> SessionImage:
        """Download an image of a result, e.g. the audit-trail selfie (§7).

        Raises:
            NotFound: unknown or expired.
        """
        ...

    async def purge_session(self, session_id: str) -> None:
        """Delete the cached result and its images early (§7).

        Raises:
            OperationRefused: the id is not a UUID (nothing was sent).
        """
        ...


PROTOCOLS: Mapping[Capability, type] = {
    Capability.FACE_MATCH: UqudoFaceMatch,
    Capability.LIVENESS_SESSIONS: UqudoFaceSessions,
    Capability.SESSION_RESULTS: UqudoSessionResults,
}
"""The vendor-shaped Protocols behind its capabilities; INFO declares them (no registry)."""
