"""GLAIR Vision types the UI may import: gestures, liveness sessions and their Protocols.

Wire details live in app/vendors/glair/client.py; this module holds only what an operator sees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from app.capabilities import Capability
from app.domain import CheckResult, EncodedImage

PROVIDER_ID = "glair"

# shared/providers/glair.md §3: hand codes are five-bit finger masks, thumb → little finger
# (1 = raised). Head codes: HEAD_xy eyes with 1 = open.
GESTURES: Mapping[str, str] = {
    "HAND_00000": "Fist: no finger raised",
    "HAND_01000": "Index finger raised (pointing up)",
    "HAND_01100": "Index and middle fingers raised (V sign)",
    "HAND_01110": "Index, middle and ring fingers raised",
    "HAND_01111": "Four fingers raised, thumb folded",
    "HAND_10000": "Thumb raised only (thumbs up)",
    "HAND_11000": "Thumb and index finger raised (L shape)",
    "HAND_11001": "Thumb, index and little finger raised",
    "HAND_11111": "Open hand: all five fingers raised",
    "HEAD_00": "Both eyes closed",
    "HEAD_01": "One eye closed (pattern 0-1: first eye closed, second open)",
    "HEAD_10": "One eye closed (pattern 1-0: first eye open, second closed)",
    "HEAD_11": "Both eyes open",
    "HEAD_LEFT": "Head turned to the left",
    "HEAD_RIGHT": "Head turned to the right",
    "HEAD_UP": "Head tilted up",
    "HEAD_DOWN": "Head tilted down",
    "HEAD_OPEN_MOUTH": "Mouth open",
    "HEAD_CLOSE_MOUTH": "Mouth closed",
}


def describe_gesture(code: str) -> str:
    """The human description of a gesture code, or the code itself when it is unknown."""
    return GESTURES.get(code, code)


class SessionKind(StrEnum):
    """GLAIR's two hosted session types; the value is the session registry's `kind`."""

    PASSIVE = "passive_liveness"
    ACTIVE = "active_liveness"

    @property
    def label(self) -> str:
        return "Passive liveness" if self is SessionKind.PASSIVE else "Active liveness"


class SessionStatus(StrEnum):
    """PENDING and FINISHED are GLAIR's; EXPIRED is FaceDesk's name for "no longer retrievable"."""

    PENDING = "PENDING"
    FINISHED = "FINISHED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class GlairSession:
    """A hosted liveness session as last retrieved from GLAIR."""

    kind: SessionKind
    sid: str
    status: SessionStatus
    url: str
    success_url: str
    cancel_url: str | None = None
    expires_at: datetime | None = None
    number_of_gestures: int | None = None
    result: CheckResult | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status is not SessionStatus.PENDING


@runtime_checkable
class GlairActiveLiveness(Protocol):
    """Active liveness on one still image: does the person show the requested gesture?"""

    async def check_active_liveness(self, image: EncodedImage, gesture_code: str) -> CheckResult:
        """Raises: ProviderError subclasses; an unknown gesture code raises RequestRejected."""
        ...


@runtime_checkable
class GlairLivenessSessions(Protocol):
    """Hosted passive / active liveness sessions (GLAIR cannot list them: use the registry)."""

    async def create_session(
        self,
        kind: SessionKind,
        *,
        success_url: str,
        cancel_url: str | None = None,
        number_of_gestures: int | None = None,
    ) -> GlairSession:
        """Create a session; raises RequestRejected for bad URLs, other ProviderErrors."""
        ...

    async def get_session(self, kind: SessionKind, sid: str) -> GlairSession:
        """Retrieve a session; raises NotFound when it is unknown or expired."""
        ...

    def watch_session(
        self,
        kind: SessionKind,
        sid: str,
        *,
        initial_interval: float = 2.0,
        max_interval: float = 20.0,
    ) -> AsyncIterator[GlairSession]:
        """Poll with backoff; yields every retrieval and stops after FINISHED or EXPIRED."""
        ...


PROTOCOLS: Mapping[Capability, type] = {
    Capability.IMAGE_LIVENESS: GlairActiveLiveness,
    Capability.LIVENESS_SESSIONS: GlairLivenessSessions,
}
"""The vendor-shaped Protocols behind its capabilities; INFO declares them (no registry)."""
