"""Value types shared by the service layer and the UI: images, verdicts, sessions, tasks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ImageFormat(StrEnum):
    JPEG = "JPEG"
    PNG = "PNG"


@dataclass(frozen=True, slots=True)
class UploadRules:
    """What a vendor accepts for one image, as its contract documents it."""

    max_bytes: int
    min_bytes: int = 0
    formats: tuple[ImageFormat, ...] = (ImageFormat.JPEG, ImageFormat.PNG)
    min_dimension: int = 1
    max_dimension: int | None = None
    recommended_max_dimension: int | None = None
    min_face_px: int | None = None
    base64_in_json: bool = False
    # True when the vendor's byte limit applies to the base64 text, not to the raw file.
    limit_applies_to_base64: bool = False
    note: str = ""

    @property
    def effective_raw_limit(self) -> int:
        """The largest raw file that satisfies the documented limit."""
        if self.limit_applies_to_base64:
            return (self.max_bytes // 4) * 3
        return self.max_bytes


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the operator sees on an image badge."""

    format: str
    width: int
    height: int
    byte_size: int
    metadata: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """An image as the operator loaded it: original bytes kept in memory, never written."""

    name: str
    data: bytes
    info: ImageInfo
    thumbnail_png: bytes


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """An image ready to leave the machine: JPEG or PNG, metadata stripped."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    removed: tuple[str, ...] = ()
    source_name: str = ""

    @property
    def mime_type(self) -> str:
        return "image/jpeg" if self.format is ImageFormat.JPEG else "image/png"

    @property
    def extension(self) -> str:
        return ".jpg" if self.format is ImageFormat.JPEG else ".png"


class Verdict(StrEnum):
    """How the operator should read a vendor's answer, before any score."""

    POSITIVE = "positive"  # match / live / approved
    NEGATIVE = "negative"  # no match / spoof / declined
    INCONCLUSIVE = "inconclusive"  # no face, many faces, uncertain, review
    PENDING = "pending"  # not finished yet


@dataclass(frozen=True, slots=True)
class Score:
    """A vendor's own score on its own scale, with what it means."""

    value: float
    scale: str  # e.g. "0–1 fraction", "level 1–5"
    meaning: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to a direct check (face match, image liveness, verify)."""

    verdict: Verdict
    headline: str
    score: Score | None = None
    reasons: tuple[str, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One row of the session registry: sessions stay findable where vendors cannot list them."""

    provider: str
    profile: str
    session_id: str
    kind: str
    created_at: datetime
    last_seen_at: datetime
    status: str
    label: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time_utc: datetime
    os_user: str
    provider: str
    profile: str
    operation: str
    targets: tuple[str, ...]
    outcome: str
    request_id: str | None
