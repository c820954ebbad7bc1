"""Image forensics: what a photo hides and what its bytes say about its history (Qt-free).

`inspect_image(data, name)` opens the file under the same caps and checks as the upload
pipeline (`app.imaging.open_checked`) and returns a `ForensicsReport`:

- the metadata the upload will strip (EXIF with GPS, XMP, IPTC, ICC, PNG text), as a table;
- SHA-256 of the bytes (and the case fingerprint), dHash and pHash of the pixels;
- findings, each with a level (info / notice / alert) and one line on what it can and cannot
  prove: camera, GPS (decimal degrees, OpenStreetMap link), dates, editing-software traces
  (EXIF Software, XMP CreatorTool/History, Photoshop APP13, Adobe APP14, comments), JPEG quality
  and table origin, double-compression signs, the EXIF thumbnail against the main picture, and
  error-level analysis (an overlay PNG on the report).

No finding is a verdict: metadata can be written by anyone, and its absence proves nothing.
Modules: `model` (report types), `metadata`, `jpeg`, `pixels`; this module draws conclusions.
Blocking (a second or two for a large photo): call it through asyncio.to_thread from async code.
"""

from __future__ import annotations

import hashlib

from PIL import Image

from app import imaging
from app.errors import ImageError
from app.forensics import jpeg, metadata, pixels
from app.forensics.model import Finding, ForensicsReport, GpsPosition, Level, MetadataEntry
from app.workflows.cases import image_fingerprint

__all__ = [
    "Finding",
    "ForensicsReport",
    "GpsPosition",
    "Level",
    "MetadataEntry",
    "inspect_image",
]

# Words in Software / CreatorTool / comments that name an editor rather than camera firmware.
EDITOR_WORDS = (
    "photoshop", "lightroom", "adobe", "gimp", "paint.net", "affinity", "pixelmator",
    "snapseed", "picsart", "facetune", "faceapp", "canva", "photopea", "gd-jpeg", "imagemagick",
    "graphicsmagick", "darktable", "rawtherapee", "capture one", "luminar", "acdsee", "corel",
    "paintshop", "photoscape", "fotor", "airbrush", "meitu", "youcam", "photodirector",
    "photo editor", "editor", "xnview", "irfanview", "preview", "photos",
)  # fmt: skip

_PROVES = {
    "sha256": "Identifies these exact bytes: any change (even re-saving or editing metadata) "
    "changes it; it says nothing about what the picture shows or where it came from.",
    "phash": "Finds the same picture after re-saving, resizing or light edits (compare the "
    "Hamming distance); it cannot show where a picture was altered or prove two are unrelated.",
    "camera": "Names the device the file claims to come from; anyone can write these fields, "
    "and their absence only says the file was exported, screenshotted or stripped.",
    "gps": "Where the device believed it was when the file was written; it can be edited or "
    "spoofed, and a missing position proves nothing.",
    "dates": "What the writing software claims about capture and change; clocks can be wrong "
    "and dates edited; equal dates do not prove an unedited file.",
    "software": "Software that wrote or touched the file left its name; an editor can leave "
    "none, so no trace proves nothing, and a trace does not say what was changed.",
    "quality": "How strongly the last save compressed the picture; it cannot tell how many "
    "times the file was saved before.",
    "tables": "Standard libjpeg tables are typical of editors and software encoders; camera "
    "firmware mostly uses its own. Many phones use the standard tables too: this is a hint.",
    "double": "Gaps in DCT histograms show an earlier, coarser JPEG save; a first save finer "
    "than the last, or a resized or cropped picture, leaves none, so no sign proves nothing.",
    "thumbnail": "A thumbnail showing another picture means the main image was replaced or "
    "edited after the camera wrote it; a matching one does not rule out later edits.",
    "ela": "Bright areas recompress differently from the rest (edges and texture always do); "
    "it guides the eye, it proves nothing on its own.",
    "format": "A lossless file without camera metadata is typical of a screenshot or export; "
    "it cannot say what the picture was made from.",
}


def inspect_image(data: bytes, name: str, *, with_ela: bool = True) -> ForensicsReport:
    """Everything FaceDesk can tell about `data` without sending it anywhere.

    Raises:
        ImageError: the file is empty, too large, not an image, a bomb, truncated or damaged.
    """
    checked = imaging.open_checked(data, name, ycbcr=True)
    try:
        return _inspect(data, name, checked, with_ela)
    except imaging.DECODE_ERRORS as exc:
        raise ImageError(
            f"{name} is damaged: FaceDesk could read its header but not inspect it. Get the "
            "original file again."
        ) from exc


def _inspect(
    data: bytes, name: str, checked: imaging.CheckedImage, with_ela: bool
) -> ForensicsReport:
    header, decoded = checked.header, checked.pixels
    is_jpeg = checked.format in ("JPEG", "MPO")
    rgb = decoded.convert("RGB") if decoded.mode in ("YCbCr", "CMYK") else decoded
    scan = metadata.scan(header, decoded)
    segments = jpeg.header_segments(data) if is_jpeg else []
    findings: list[Finding] = []
    digest = hashlib.sha256(data).hexdigest()
    d_hash, p_hash = pixels.dhash(rgb), pixels.phash(rgb)
    findings.append(
        Finding("file.sha256", "SHA-256", digest, Level.INFO, _PROVES["sha256"], {"sha256": digest})
    )
    findings.append(
        Finding(
            "pixels.hash",
            "Perceptual hash",
            f"pHash {p_hash} · dHash {d_hash}",
            Level.INFO,
            _PROVES["phash"],
            {"phash": p_hash, "dhash": d_hash},
        )
    )
    findings.append(_camera(scan))
    if scan.gps is not None:
        findings.append(_gps(scan.gps))
    dates = _dates(scan)
    if dates is not None:
        findings.append(dates)
    findings.append(_software(scan, segments))
    quality: int | None = None
    if is_jpeg:
        tables = dict(getattr(header, "quantization", None) or {})
        estimate = jpeg.estimate_quality(tables)
        if estimate is not None:
            quality = estimate.quality
            findings.extend(_tables(estimate, scan))
            luma = decoded.getchannel(0) if decoded.mode == "YCbCr" else decoded.convert("L")
            findings.append(_double(jpeg.double_compression(luma, tables[0])))
    else:
        findings.append(_lossless(checked, scan))
    thumbnail = _thumbnail(scan, rgb, name)
    if thumbnail is not None:
        findings.append(thumbnail)
    ela_png = None
    if with_ela:
        levels = pixels.error_levels(rgb)
        findings.append(_ela(levels))
        ela_png = levels.overlay_png if levels else None
    return ForensicsReport(
        name=name,
        format=checked.display_format,
        width=header.width,
        height=header.height,
        byte_size=len(data),
        sha256=digest,
        fingerprint=image_fingerprint(data),
        dhash=d_hash,
        phash=p_hash,
        metadata=tuple(scan.entries),
        findings=tuple(findings),
        gps=scan.gps,
        jpeg_quality=quality,
        ela_png=ela_png,
    )


def _camera(scan: metadata.MetadataScan) -> Finding:
    exif = scan.exif
    make, model = exif.get("Make", ""), exif.get("Model", "")
    serials = {k: exif[k] for k in metadata.SERIAL_NAMES if k in exif}
    serials.update({k: v for k, v in scan.xmp.items() if "serial" in k.lower()})
    if not (make or model):
        value = "no camera make or model" + ("" if scan.has_exif else "; no EXIF at all")
        return Finding("camera", "Camera", value, Level.INFO, _PROVES["camera"], {})
    parts = [" ".join(p for p in (make, model) if p and not model.startswith(make)) or model]
    if model.startswith(make) and make:
        parts = [model]
    parts += [f"{k} {v}" for k, v in serials.items()]
    lens = exif.get("LensModel")
    if lens:
        parts.append(f"lens {lens}")
    return Finding(
        "camera",
        "Camera",
        " · ".join(parts),
        Level.INFO,
        _PROVES["camera"],
        {"make": make, "model": model, "serial_numbers": serials, "lens": lens},
    )


def _gps(position: GpsPosition) -> Finding:
    altitude = f", {position.altitude_m:.0f} m" if position.altitude_m is not None else ""
    value = f"{position.latitude:.6f}, {position.longitude:.6f}{altitude} · {position.map_url}"
    return Finding("gps", "GPS position", value, Level.NOTICE, _PROVES["gps"], position.as_dict())


def _dates(scan: metadata.MetadataScan) -> Finding | None:
    exif, xmp = scan.exif, scan.xmp
    captured = exif.get("DateTimeOriginal") or xmp.get("exif:DateTimeOriginal")
    digitised = exif.get("DateTimeDigitized") or xmp.get("xmp:CreateDate")
    changed = exif.get("DateTime") or xmp.get("xmp:ModifyDate")
    if not (captured or digitised or changed):
        return None
    shown = [
        f"{label} {value}"
        for label, value in (("taken", captured), ("digitised", digitised), ("changed", changed))
        if value
    ]
    later = bool(captured and changed and _date_key(changed) > _date_key(captured))
    level = Level.NOTICE if later else Level.INFO
    value = " · ".join(shown) + (" (changed after it was taken)" if later else "")
    data = {"taken": captured, "digitised": digitised, "changed": changed, "changed_later": later}
    return Finding("dates", "Dates", value, level, _PROVES["dates"], data)


def _date_key(text: str) -> str:
    # EXIF "2024:05:01 10:00:00" and XMP "2024-05-01T10:00:00+02:00" compare as digits.
    return "".join(ch for ch in text if ch.isdigit())[:14]


def _software(scan: metadata.MetadataScan, segments: list[jpeg.Segment]) -> Finding:
    traces: list[str] = []
    for key in ("Software", "ProcessingSoftware", "HostComputer"):
        if scan.exif.get(key):
            traces.append(f"EXIF {key}: {scan.exif[key]}")
    if scan.xmp.get("xmp:CreatorTool"):
        traces.append(f"XMP CreatorTool: {scan.xmp['xmp:CreatorTool']}")
    agents = [e.get("softwareAgent", "") for e in scan.xmp_history if e.get("softwareAgent")]
    if scan.xmp_history:
        actions = ", ".join(
            f"{e.get('action', '?')} by {e.get('softwareAgent', '?')}" for e in scan.xmp_history
        )
        traces.append(f"XMP History ({len(scan.xmp_history)} events): {actions}")
    if any(k.startswith(("photoshop:", "crs:", "lr:")) for k in scan.xmp):
        traces.append("XMP written by Adobe software (photoshop/crs/lr namespaces)")
    for key in ("OriginatingProgram", "ProgramVersion"):
        if scan.iptc.get(key):
            traces.append(f"IPTC {key}: {scan.iptc[key]}")
    for key in ("Software", "Creator", "Comment"):
        if scan.text_chunks.get(key):
            traces.append(f"PNG {key}: {scan.text_chunks[key]}")
    resources = jpeg.photoshop_resources(segments)
    if resources:
        listed = ", ".join(f"0x{r:04X}" for r in resources[:8])
        traces.append(f"Photoshop APP13 image resources ({listed})")
    adobe = jpeg.adobe_app14(segments)
    if adobe is not None:
        traces.append(f"Adobe APP14 segment (version {adobe.version}, transform {adobe.transform})")
    traces += [f"JPEG comment: {text}" for text in jpeg.comments(segments)]
    names = [t.lower() for t in (*traces, *agents)]
    editor = any(word in text for text in names for word in EDITOR_WORDS) or bool(resources)
    if not traces:
        return Finding(
            "software", "Editing software", "no software traces", Level.INFO, _PROVES["software"]
        )
    level = Level.ALERT if editor else Level.NOTICE
    prefix = "editor traces: " if editor else ""
    return Finding(
        "software",
        "Editing software",
        prefix + " · ".join(traces),
        level,
        _PROVES["software"],
        {"traces": traces, "editor": editor},
    )


def _tables(estimate: jpeg.QualityEstimate, scan: metadata.MetadataScan) -> list[Finding]:
    kind = estimate.table_kind
    data = {
        "quality": estimate.quality,
        "table_kind": kind,
        "mean_table_error": estimate.mean_error,
        "tables": estimate.tables,
    }
    approx = "" if estimate.exact else "about "
    quality = Finding(
        "jpeg.quality",
        "JPEG quality",
        f"{approx}{estimate.quality} (from the quantisation tables)",
        Level.INFO,
        _PROVES["quality"],
        data,
    )
    camera = scan.exif.get("Make") or scan.exif.get("Model")
    if kind == "standard":
        value = (
            f"libjpeg (IJG) standard tables at quality {estimate.quality}: typical of editors and "
            "software encoders"
        )
        level = Level.NOTICE if camera else Level.INFO
        if camera:
            value += f"; unusual straight from the camera it names ({camera}), though some phones"
            value += " use them"
    else:
        value = (
            f"custom tables (not libjpeg's; closest to quality {estimate.quality}, mean "
            f"difference {estimate.mean_error} per entry): typical of "
            "camera firmware or Photoshop; FaceDesk has no table database to name the device"
        )
        level = Level.INFO
    return [
        quality,
        Finding("jpeg.tables", "Quantisation tables", value, level, _PROVES["tables"], data),
    ]


def _double(result: jpeg.DoubleCompression) -> Finding:
    data = {
        "detected": result.detected,
        "periodic_frequencies": result.periodic,
        "usable_frequencies": result.usable,
        "blocks": result.blocks,
        "primary_quality": result.primary_quality,
        "traces": [
            {"position": list(t.position), "q2": t.q2, "q1": t.q1, "score": t.score}
            for t in result.traces
        ],
    }
    if result.usable < 3:
        value = "not enough textured 8×8 blocks to judge"
        level = Level.INFO
    elif result.detected:
        earlier = (
            f"; its steps are close to libjpeg's at quality {result.primary_quality}"
            if result.primary_quality
            else ""
        )
        value = (
            f"saved as JPEG at least twice: {result.periodic} of {result.usable} DCT frequencies "
            f"show the gaps of an earlier, coarser quantisation{earlier}"
        )
        level = Level.ALERT
    else:
        value = f"no sign of an earlier, coarser JPEG save ({result.usable} frequencies tested)"
        level = Level.INFO
    return Finding(
        "jpeg.double_compression", "Double compression", value, level, _PROVES["double"], data
    )


def _lossless(checked: imaging.CheckedImage, scan: metadata.MetadataScan) -> Finding:
    camera = scan.exif.get("Make") or scan.exif.get("Model")
    lossless = checked.format in ("PNG", "BMP", "GIF", "TIFF")
    if lossless and not camera:
        value = (
            f"{checked.display_format} (lossless) without camera metadata: typical of a "
            "screenshot, a scan or an export"
        )
        level = Level.NOTICE
    else:
        value = f"{checked.display_format}: no JPEG tables to analyse"
        level = Level.INFO
    return Finding("format", "Format", value, level, _PROVES["format"], {"lossless": lossless})


def _thumbnail(scan: metadata.MetadataScan, rgb: Image.Image, name: str) -> Finding | None:
    if scan.thumbnail is None:
        return None
    try:
        thumb = imaging.open_checked(scan.thumbnail, f"the EXIF thumbnail of {name}").pixels
    except ImageError:
        return Finding(
            "thumbnail",
            "EXIF thumbnail",
            "present but unreadable (damaged or not a JPEG)",
            Level.NOTICE,
            _PROVES["thumbnail"],
            {"readable": False},
        )
    result = pixels.compare_thumbnail(rgb, thumb)
    data = {
        "readable": True,
        "width": result.width,
        "height": result.height,
        "phash_distance": result.distance,
        "aspect_difference": result.aspect_difference,
    }
    size = f"{result.width}×{result.height}"
    if result.distance >= pixels.THUMB_MISMATCH_BITS:
        value = (
            f"{size} thumbnail shows a different picture (pHash distance {result.distance}/64): "
            "the main image was replaced or edited after the camera wrote the thumbnail"
        )
        level = Level.ALERT
    elif result.distance > pixels.THUMB_MATCH_BITS or result.aspect_difference > 0.05:
        value = (
            f"{size} thumbnail differs from the main image (pHash distance {result.distance}/64, "
            f"aspect ratio off by {result.aspect_difference:.0%}): cropped or retouched later?"
        )
        level = Level.NOTICE
    else:
        value = f"{size} thumbnail matches the main image (pHash distance {result.distance}/64)"
        level = Level.INFO
    data["matches"] = level is Level.INFO
    return Finding("thumbnail", "EXIF thumbnail", value, level, _PROVES["thumbnail"], data)


def _ela(levels: pixels.ErrorLevels | None) -> Finding:
    if levels is None:
        return Finding(
            "ela",
            "Error-level analysis",
            f"not computed: the image is larger than {pixels.ELA_MAX_PIXELS // 1_000_000} MP",
            Level.INFO,
            _PROVES["ela"],
        )
    value = (
        f"re-saved at quality {levels.quality}: mean error {levels.mean}, peak {levels.peak}, "
        f"unevenness {levels.spread} (see the overlay)"
    )
    data = {
        "quality": levels.quality,
        "mean": levels.mean,
        "peak": levels.peak,
        "spread": levels.spread,
    }
    return Finding("ela", "Error-level analysis", value, Level.INFO, _PROVES["ela"], data)
