"""Deterministic, image-derived stand-ins for face biometrics, shared by every emulated vendor.

NOT BIOMETRIC. The sandbox must answer consistently without any face model, so it uses
perceptual hashes: the same photo re-encoded, resized or slightly cropped scores high, and
different photos score low. The conventions an operator can rely on when demoing:

- a nearly uniform image (a blank frame) contains no face;
- an image at least 1.8× wider than tall is a "group" strip: one face per square-ish slice;
- anything else contains one face, centred;
- a grayscale image (no colour) is treated as a photo of a printout: liveness says spoof.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat

MAX_PIXELS = 60_000_000
_CACHE_SIZE = 64


class NotAnImage(ValueError):
    """The bytes are not an image the sandbox can decode."""


@dataclass(frozen=True, slots=True)
class FaceBox:
    left: int
    top: int
    width: int
    height: int
    signature: int  # 128-bit perceptual hash of the face region


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    format: str
    width: int
    height: int
    faces: tuple[FaceBox, ...]
    grayscale: bool
    digest: str


def sniff_format(data: bytes) -> str | None:
    """The real format from the magic bytes (vendors never trust names or part headers)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _dhash(image: Image.Image) -> int:
    gray = image.convert("L")
    horizontal = gray.resize((9, 8), Image.Resampling.BILINEAR)
    vertical = gray.resize((8, 9), Image.Resampling.BILINEAR)
    hp = horizontal.load()
    vp = vertical.load()
    assert hp is not None
    assert vp is not None
    bits = 0
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | int(hp[x, y] > hp[x + 1, y])  # type: ignore[operator]
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | int(vp[x, y] > vp[x, y + 1])  # type: ignore[operator]
    return bits


def _face_boxes(image: Image.Image) -> tuple[FaceBox, ...]:
    width, height = image.size
    stat = ImageStat.Stat(image.convert("L"))
    if stat.stddev[0] < 6.0:
        return ()
    count = 1
    if width >= 1.8 * height:
        count = max(1, min(5, round(width / height)))
    boxes = []
    slice_width = width / count
    for index in range(count):
        x0 = int(index * slice_width)
        left = x0 + int(slice_width * 0.2)
        top = int(height * 0.15)
        box_w = max(1, int(slice_width * 0.6))
        box_h = max(1, int(height * 0.7))
        crop = image.crop((left, top, left + box_w, top + box_h))
        boxes.append(FaceBox(left, top, box_w, box_h, _dhash(crop)))
    return tuple(boxes)


_cache: OrderedDict[str, ImageAnalysis] = OrderedDict()
_cache_lock = threading.Lock()


def analyse(data: bytes) -> ImageAnalysis:
    """Decode and describe an image; raises NotAnImage for anything undecodable."""
    digest = hashlib.sha256(data).hexdigest()
    with _cache_lock:
        cached = _cache.get(digest)
        if cached is not None:
            _cache.move_to_end(digest)
            return cached
    fmt = sniff_format(data)
    if fmt is None:
        raise NotAnImage("unrecognised image format")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise NotAnImage("image too large to analyse")
                opened.draft("RGB", (1024, 1024))
                image = ImageOps.exif_transpose(opened).convert("RGB")
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise NotAnImage(str(exc)) from exc
    small = image.copy()
    small.thumbnail((512, 512))
    hsv = small.convert("HSV")
    saturation = ImageStat.Stat(hsv).mean[1]
    result = ImageAnalysis(
        format=fmt,
        width=image.width,
        height=image.height,
        faces=_face_boxes(small),
        grayscale=saturation < 12.0,
        digest=digest,
    )
    # Face boxes were found on the thumbnail; scale them back to the full image.
    scale_x = image.width / small.width
    scale_y = image.height / small.height
    result = ImageAnalysis(
        format=result.format,
        width=result.width,
        height=result.height,
        faces=tuple(
            FaceBox(
                int(f.left * scale_x),
                int(f.top * scale_y),
                int(f.width * scale_x),
                int(f.height * scale_y),
                f.signature,
            )
            for f in result.faces
        ),
        grayscale=result.grayscale,
        digest=digest,
    )
    with _cache_lock:
        _cache[digest] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def face_similarity(a: FaceBox, b: FaceBox) -> float:
    """0..1: about 0.85-1.0 for the same photo re-encoded or resized, near 0 for different ones."""
    distance = (a.signature ^ b.signature).bit_count()
    return round(max(0.0, min(1.0, 1.0 - distance / 48.0)), 5)


def similarity(a: ImageAnalysis, b: ImageAnalysis) -> float | None:
    """Similarity of the largest face in each image, or None when either has no face."""
    if not a.faces or not b.faces:
        return None
    return face_similarity(a.faces[0], b.faces[0])


def spoof_probability(analysis: ImageAnalysis) -> float:
    """0..1 chance of a presentation attack: grayscale reads as a printout, colour as live."""
    spread = (int(analysis.digest[:8], 16) % 1000) / 1000.0
    if analysis.grayscale:
        return round(0.85 + 0.14 * spread, 5)
    return round(0.01 + 0.2 * spread, 5)
