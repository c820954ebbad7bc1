"""The metadata an upload strips, read out before it goes: EXIF (with GPS), XMP, IPTC, ICC, text.

Reads only what the parsed header already holds (Pillow's `info`, `getexif()`, IPTC via
`IptcImagePlugin`); nothing here decodes pixels. XMP is parsed with the standard library's
ElementTree: it resolves no external entities, and the expat it runs on (2.4.1 and later) caps
entity expansion, so a hostile packet cannot blow up; packets over `MAX_XMP_BYTES` are listed by
size only.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import ExifTags, Image, ImageCms, IptcImagePlugin, TiffImagePlugin

from app.forensics.model import GpsPosition, MetadataEntry
from app.imaging import DECODE_ERRORS

MAX_XMP_BYTES = 2_000_000
MAX_VALUE_CHARS = 240

# TIFF structure tags: how the pixels are stored, not what anyone wrote about them.
_TIFF_STRUCTURE = {
    254,
    256,
    257,
    258,
    259,
    262,
    266,
    273,
    277,
    278,
    279,
    284,
    317,
    320,
    322,
    323,
    324,
    325,
    338,
    339,
    340,
    341,
    530,
    531,
    532,
}
# Pointers to sub-directories (shown as their own groups) and the thumbnail's location.
_POINTERS = {0x8769, 0x8825, 0xA005, 0x014A}
SERIAL_NAMES = ("BodySerialNumber", "LensSerialNumber", "ImageUniqueID", "CameraOwnerName")
_SERIAL_TAGS = {
    0xA431: "BodySerialNumber",
    0xA435: "LensSerialNumber",
    0xA420: "ImageUniqueID",
    0xA430: "CameraOwnerName",
}
_PERSONAL_TAGS = {0x013B, 0x8298, 0x9C9D, *_SERIAL_TAGS}  # Artist, Copyright, XPAuthor
_INTEROP_TAGS = {1: "InteroperabilityIndex", 2: "InteroperabilityVersion"}

# XMP namespaces by their usual prefixes, so tags read as in every other tool.
_XMP_PREFIXES = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
    "http://cipa.jp/exif/1.0/": "exifEX",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_SENSITIVE_XMP = re.compile(r"(?i)(serial|owner|creator$|rights|gps|latitude|longitude|author)")

# IPTC-IIM record 2 datasets worth naming (the rest appear by number).
_IPTC_NAMES = {
    (1, 90): "CodedCharacterSet",
    (2, 0): "RecordVersion",
    (2, 5): "ObjectName",
    (2, 15): "Category",
    (2, 25): "Keywords",
    (2, 40): "SpecialInstructions",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 62): "DigitalCreationDate",
    (2, 63): "DigitalCreationTime",
    (2, 65): "OriginatingProgram",
    (2, 70): "ProgramVersion",
    (2, 80): "By-line",
    (2, 85): "By-lineTitle",
    (2, 90): "City",
    (2, 92): "Sub-location",
    (2, 95): "Province-State",
    (2, 101): "Country",
    (2, 103): "OriginalTransmissionReference",
    (2, 105): "Headline",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 120): "Caption-Abstract",
    (2, 122): "Writer-Editor",
}
_IPTC_PERSONAL = {(2, 80), (2, 90), (2, 92), (2, 95), (2, 101), (2, 116), (2, 122)}


@dataclass(slots=True)
class MetadataScan:
    """What the header says, as table rows and as the few values the findings reason about."""

    entries: list[MetadataEntry] = field(default_factory=list)
    exif: dict[str, str] = field(default_factory=dict)  # tag name -> value, all EXIF groups
    gps: GpsPosition | None = None
    xmp: dict[str, str] = field(default_factory=dict)  # "prefix:Name" -> value
    xmp_history: list[dict[str, str]] = field(default_factory=list)
    iptc: dict[str, str] = field(default_factory=dict)
    icc_description: str = ""
    text_chunks: dict[str, str] = field(default_factory=dict)  # PNG tEXt/iTXt/zTXt
    thumbnail: bytes | None = None  # the EXIF IFD1 JPEG thumbnail
    has_exif: bool = False

    def add(self, group: str, tag: str, value: str, *, sensitive: bool = False) -> None:
        self.entries.append(MetadataEntry(group, tag, _clip(value), sensitive))


def scan(header: Image.Image, pixels: Image.Image) -> MetadataScan:
    """Every metadata field of the file; `pixels` is the decoded frame (PNG text after IDAT)."""
    result = MetadataScan()
    _scan_exif(header, result)
    _scan_xmp(_raw_xmp(header, pixels), result)
    _scan_iptc(header, result)
    _scan_icc(header.info.get("icc_profile"), result)
    _scan_text(header, pixels, result)
    return result


# --- values ------------------------------------------------------------------------------------


def _clip(text: str) -> str:
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def format_value(value: object) -> str:
    """An EXIF/IPTC value as a person reads it (bytes as text where they are text)."""
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\x00 ")
        if stripped and all(32 <= b < 127 or b in b"\t\r\n" for b in stripped):
            return stripped.decode("ascii")
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and text.isprintable():
            return text
        if 0 < len(value) <= 4:
            return str(int.from_bytes(value, "big"))  # an UNDEFINED flag or a short number
        return f"{len(value)} bytes of binary data"
    if isinstance(value, TiffImagePlugin.IFDRational):
        if value.denominator == 0:
            return "undefined"
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.6g}"
    if isinstance(value, tuple | list):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).rstrip("\x00 ")


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]  # IFDRational, int, float
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


# --- EXIF --------------------------------------------------------------------------------------


def _scan_exif(header: Image.Image, result: MetadataScan) -> None:
    try:
        exif = header.getexif()
    except DECODE_ERRORS:
        result.add("EXIF", "(unreadable)", "the EXIF block is damaged and cannot be read")
        result.has_exif = True
        return
    is_tiff = header.format == "TIFF"
    base = {k: v for k, v in exif.items() if not (is_tiff and k in _TIFF_STRUCTURE)}
    groups: list[tuple[str, dict[int, Any], dict[int, str]]] = [("EXIF", base, ExifTags.TAGS)]
    for ifd, group, names in (
        (ExifTags.IFD.Exif, "EXIF", ExifTags.TAGS),
        (ExifTags.IFD.GPSInfo, "GPS", ExifTags.GPSTAGS),
        (ExifTags.IFD.Interop, "EXIF interop", _INTEROP_TAGS),
        (ExifTags.IFD.IFD1, "EXIF thumbnail", ExifTags.TAGS),
    ):
        try:
            groups.append((group, dict(exif.get_ifd(ifd)), names))
        except DECODE_ERRORS:
            result.add(group, "(unreadable)", "this EXIF directory is damaged")
    for group, tags, names in groups:
        for tag, value in tags.items():
            if tag in _POINTERS and group != "GPS":
                continue
            name = _SERIAL_TAGS.get(tag) or names.get(tag) or f"Tag 0x{tag:04X}"
            if group != "EXIF thumbnail":
                result.has_exif = True
            if name == "MakerNote":
                text = f"{len(value) if isinstance(value, bytes) else '?'} bytes of maker notes"
            else:
                text = format_value(value)
            sensitive = group == "GPS" or (group == "EXIF" and tag in _PERSONAL_TAGS)
            result.add(group, name, text, sensitive=sensitive)
            key = name if group in ("EXIF", "GPS") else f"{group}:{name}"
            result.exif.setdefault(key, text)
    gps = groups_by_name(groups, "GPS")
    if gps:
        result.gps = gps_position(gps)
        if result.gps is not None:
            result.add("GPS", "Position", result.gps.map_url, sensitive=True)
    result.thumbnail = _exif_thumbnail(header, groups_by_name(groups, "EXIF thumbnail"))


def groups_by_name(
    groups: Iterable[tuple[str, dict[int, Any], Any]], wanted: str
) -> dict[int, Any]:
    merged: dict[int, Any] = {}
    for group, tags, _names in groups:
        if group == wanted:
            merged.update(tags)
    return merged


def gps_position(gps: dict[int, Any]) -> GpsPosition | None:
    """Decimal degrees from the GPS IFD (degrees, minutes, seconds + N/S/E/W); None if unusable."""
    latitude = _degrees(gps.get(2), gps.get(1), "S")
    longitude = _degrees(gps.get(4), gps.get(3), "W")
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    altitude = _number(gps.get(6)) if 6 in gps else None
    if altitude is not None and format_value(gps.get(5, 0)) in ("1", "\x01"):
        altitude = -altitude  # AltitudeRef 1: below sea level
    return GpsPosition(latitude, longitude, altitude)


def _degrees(value: object, ref: object, negative_ref: str) -> float | None:
    if isinstance(value, tuple | list):
        parts = [_number(part) for part in value]
        if not parts or any(part is None for part in parts):
            return None
        numbers = [p for p in parts if p is not None] + [0.0, 0.0]
        degrees = numbers[0] + numbers[1] / 60 + numbers[2] / 3600
    else:
        single = _number(value)
        if single is None:
            return None
        degrees = single
    reference = format_value(ref).strip().upper() if ref is not None else ""
    return -degrees if reference == negative_ref else degrees


def _exif_thumbnail(header: Image.Image, ifd1: dict[int, Any]) -> bytes | None:
    """The JPEG thumbnail IFD1 points at, cut out of the raw EXIF block (offsets are TIFF's)."""
    offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
    raw = header.info.get("exif")
    if not isinstance(offset, int) or not isinstance(length, int) or not isinstance(raw, bytes):
        return None
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    if offset <= 0 or length <= 0 or offset + length > len(tiff):
        return None
    return tiff[offset : offset + length]


# --- XMP ---------------------------------------------------------------------------------------


def _raw_xmp(header: Image.Image, pixels: Image.Image) -> bytes | None:
    for info in (header.info, pixels.info):
        for key in ("xmp", "XML:com.adobe.xmp"):
            value = info.get(key)
            if isinstance(value, str):
                return value.encode("utf-8")
            if isinstance(value, bytes) and value:
                return value
    tags = getattr(header, "tag_v2", None)
    if tags is not None and 700 in tags:
        value = tags[700]
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    return None


def _qualified(name: str) -> str:
    if name.startswith("{"):
        uri, _, local = name[1:].partition("}")
        prefix = _XMP_PREFIXES.get(uri) or uri.rstrip("/#").rsplit("/", 1)[-1] or "ns"
        return f"{prefix}:{local}"
    return name


def _scan_xmp(raw: bytes | None, result: MetadataScan) -> None:
    if raw is None:
        return
    if len(raw) > MAX_XMP_BYTES:
        result.add("XMP", "(packet)", f"{len(raw)} bytes, too large to list")
        return
    start = raw.find(b"<x:xmpmeta")
    start = raw.find(b"<rdf:RDF") if start < 0 else start
    body = raw[start:] if start >= 0 else raw
    end = body.rfind(b">")
    try:
        root = ET.fromstring(body[: end + 1] if end >= 0 else body)
    except ET.ParseError:
        result.add("XMP", "(packet)", f"{len(raw)} bytes that are not well-formed XML")
        return
    for description in root.iter(f"{{{_RDF}}}Description"):
        for attribute, value in description.attrib.items():
            if attribute.startswith(f"{{{_RDF}}}"):
                continue
            _add_xmp(result, _qualified(attribute), value)
        for child in description:
            tag = _qualified(child.tag)
            if tag == "xmpMM:History":
                result.xmp_history.extend(_history(child))
            _add_xmp(result, tag, _flatten(child))


def _add_xmp(result: MetadataScan, tag: str, value: str) -> None:
    if not value or tag in result.xmp:
        return
    result.xmp[tag] = value
    result.add("XMP", tag, value, sensitive=bool(_SENSITIVE_XMP.search(tag)))


def _flatten(element: ET.Element) -> str:
    """A property's value: text, list items joined with "; ", structures as key=value."""
    items = list(element.iter(f"{{{_RDF}}}li"))
    if items:
        return "; ".join(filter(None, (_struct(li) for li in items)))
    fields = {_qualified(k): v for k, v in element.attrib.items() if not k.startswith("{" + _RDF)}
    if fields:
        return ", ".join(f"{k.split(':')[-1]}={v}" for k, v in fields.items())
    nested = [c for c in element if not c.tag.startswith("{" + _RDF)]
    if nested:
        return ", ".join(
            f"{_qualified(c.tag).split(':')[-1]}={(c.text or '').strip()}" for c in nested
        )
    return (element.text or "").strip()


def _struct(element: ET.Element) -> str:
    fields = _struct_fields(element)
    if fields:
        return ", ".join(f"{k.split(':')[-1]}={v}" for k, v in fields.items())
    return (element.text or "").strip()


def _struct_fields(element: ET.Element) -> dict[str, str]:
    fields = {_qualified(k): v for k, v in element.attrib.items() if not k.startswith("{" + _RDF)}
    for child in element.iter():
        if child is element or child.tag.startswith("{" + _RDF):
            for key, value in child.attrib.items() if child is not element else ():
                if not key.startswith("{" + _RDF):
                    fields.setdefault(_qualified(key), value)
            continue
        text = (child.text or "").strip()
        if text:
            fields.setdefault(_qualified(child.tag), text)
    return fields


def _history(element: ET.Element) -> list[dict[str, str]]:
    events = []
    for li in element.iter(f"{{{_RDF}}}li"):
        fields = {k.split(":")[-1]: v for k, v in _struct_fields(li).items()}
        if fields:
            events.append(fields)
    return events


# --- IPTC, ICC, text ---------------------------------------------------------------------------


def _scan_iptc(header: Image.Image, result: MetadataScan) -> None:
    if header.format not in ("JPEG", "MPO", "TIFF"):
        return
    try:
        info = IptcImagePlugin.getiptcinfo(header)  # type: ignore[arg-type]  # an ImageFile
    except DECODE_ERRORS:
        result.add("IPTC", "(unreadable)", "the IPTC block is damaged")
        return
    for key, value in sorted((info or {}).items()):
        name = _IPTC_NAMES.get(key, f"{key[0]}:{key[1]}")
        values = value if isinstance(value, list) else [value]
        text = "; ".join(format_value(v) for v in values)
        result.iptc[name] = text
        result.add("IPTC", name, text, sensitive=key in _IPTC_PERSONAL)


def _scan_icc(icc: object, result: MetadataScan) -> None:
    if not isinstance(icc, bytes) or not icc:
        return
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        result.add("ICC", "(profile)", f"{len(icc)} bytes, unreadable")
        return
    for tag, value in (
        ("Description", profile.profile_description),
        ("Manufacturer", profile.manufacturer),
        ("Model", profile.model),
        ("Copyright", profile.copyright),
        ("Created", profile.creation_date),
    ):
        text = format_value(value).strip() if value is not None else ""
        if text:
            result.add("ICC", tag, text)
    result.icc_description = (profile.profile_description or "").strip()


def _scan_text(header: Image.Image, pixels: Image.Image, result: MetadataScan) -> None:
    if header.format == "PNG":
        chunks = getattr(pixels, "text", None) or {}
        for key, value in chunks.items():
            if key == "XML:com.adobe.xmp":
                continue
            text = format_value(value)
            result.text_chunks[str(key)] = text
            result.add("PNG text", str(key), text, sensitive=str(key) in ("Author", "Copyright"))
    comment = header.info.get("comment")
    if isinstance(comment, bytes | str) and comment:
        result.add("Comment", "Comment", format_value(comment))
