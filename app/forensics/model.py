"""What an inspection reports: metadata entries, findings with their limits, fingerprints."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """How much a finding says about the photo's history (never a verdict on its own)."""

    INFO = "info"  # a fact about the file, no sign either way
    NOTICE = "notice"  # consistent with processing after capture; worth a look
    ALERT = "alert"  # a strong sign the picture changed after the camera wrote it


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation: what was found, how strongly it points somewhere, and its limits.

    `proves` is the one line an investigator needs: what this finding can and cannot prove.
    `data` holds the machine-readable figures (JSON-safe values only).
    """

    key: str
    title: str
    value: str
    level: Level
    proves: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "value": self.value,
            "level": self.level.value,
            "proves": self.proves,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class MetadataEntry:
    """One metadata field the upload strips: group ("EXIF", "GPS", "XMP" ...), tag and value."""

    group: str
    tag: str
    value: str
    sensitive: bool = False  # location, serial numbers, names: identifying on their own

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "tag": self.tag,
            "value": self.value,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True)
class GpsPosition:
    latitude: float
    longitude: float
    altitude_m: float | None = None

    @property
    def map_url(self) -> str:
        lat, lon = f"{self.latitude:.6f}", f"{self.longitude:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "latitude": round(self.latitude, 7),
            "longitude": round(self.longitude, 7),
            "altitude_m": self.altitude_m,
            "map_url": self.map_url,
        }


@dataclass(frozen=True, slots=True)
class ForensicsReport:
    """Everything `inspect_image` found in one file."""

    name: str
    format: str
    width: int
    height: int
    byte_size: int
    sha256: str  # of the file's bytes, hex
    fingerprint: str  # the case fingerprint of the same bytes ("sha256:" + 16 hex)
    dhash: str  # 64-bit difference hash of the pixels, hex
    phash: str  # 64-bit DCT hash of the pixels, hex
    metadata: tuple[MetadataEntry, ...]
    findings: tuple[Finding, ...]
    gps: GpsPosition | None = None
    jpeg_quality: int | None = None
    ela_png: bytes | None = None  # error-level analysis overlay, PNG

    def finding(self, key: str) -> Finding | None:
        return next((f for f in self.findings if f.key == key), None)

    @property
    def alerts(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.ALERT)

    def as_dict(self, *, with_ela: bool = False) -> dict[str, Any]:
        """JSON-safe form; the ELA image (base64 PNG) only when asked, it is large."""
        document: dict[str, Any] = {
            "file": self.name,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.byte_size,
            "sha256": self.sha256,
            "fingerprint": self.fingerprint,
            "dhash": self.dhash,
            "phash": self.phash,
            "jpeg_quality": self.jpeg_quality,
            "gps": self.gps.as_dict() if self.gps else None,
            "metadata": [entry.as_dict() for entry in self.metadata],
            "findings": [finding.as_dict() for finding in self.findings],
        }
        if with_ela and self.ela_png is not None:
            document["ela_png_base64"] = base64.b64encode(self.ela_png).decode("ascii")
        return document
