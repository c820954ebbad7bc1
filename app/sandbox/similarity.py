"""Deterministic, image-derived stand-ins for face biometrics, shared by every emulated vendor.

NOT BIOMETRIC. The sandbox must answer consistently without any face model, so it uses
perceptual hashes: the same photo re-encoded, resized or slightly cropped scores high, and
different photos score low. The conventions an operator can rely on when demoing:

- a nearly uniform image (a blank frame) contains no face;
- an image at least 1.8× wider than tall is a "group" strip: one face per 4:5 portrait slice;
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

from PIL import Image, ImageChops, ImageOps, ImageStat

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


def _dhash(gray: Image.Image) -> int:
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


def _pack(values: list[int]) -> int:
    packed = 0
    for value in values:
        packed = (packed << 8) | max(0, min(255, value))
    return packed


def _unpack(packed: int, count: int) -> list[int]:
    return [(packed >> (8 * (count - 1 - i))) & 0xFF for i in range(count)]


_LUM_CELLS = 16
_CHROMA_CELLS = 18
_COLOUR_FLAG = 1 << 400


def _signature(region: Image.Image, colourful: bool) -> int:
    """One int (so vendors can store it): structure hash, brightness layout, colour layout.

    Bits 0-127: difference hash (structure); 128-255: 4×4 brightness layout around its mean;
    256-399: 3×3 colour-opponent layout; bit 400: the image has colour.
    """
    gray = region.convert("L")
    structure = _dhash(gray)
    cells = gray.resize((4, 4), Image.Resampling.BOX)
    lum = [int(cells.getpixel((x, y))) for y in range(4) for x in range(4)]  # type: ignore[arg-type]
    mean = sum(lum) / len(lum)
    lum_layout = _pack([int(v - mean) + 128 for v in lum])
    small = region.convert("RGB").resize((3, 3), Image.Resampling.BOX)
    chroma: list[int] = []
    for r, g, b in small.get_flattened_data():  # type: ignore[misc]
        chroma += [int((r - g) / 2) + 128, int((b - (r + g) / 2) / 2) + 128]
    signature = structure | (lum_layout << 128) | (_pack(chroma) << 256)
    return signature | _COLOUR_FLAG if colourful else signature


def _subject_box(image: Image.Image) -> tuple[int, int, int, int]:
    """The subject's bounding box: what differs from the colour of the frame's border."""
    width, height = image.size
    border = [image.getpixel((x, 0)) for x in range(0, width, max(1, width // 16))]
    border += [image.getpixel((0, y)) for y in range(0, height, max(1, height // 16))]
    border += [image.getpixel((width - 1, y)) for y in range(0, height, max(1, height // 16))]
    channels = list(zip(*border, strict=True))
    background = tuple(sorted(c)[len(c) // 2] for c in channels)
    diff = ImageChops.difference(image, Image.new("RGB", image.size, background))
    mask = diff.convert("L").point(lambda v: 255 if v > 28 else 0)
    box = mask.getbbox()
    if box is None or (box[2] - box[0]) * (box[3] - box[1]) < 0.05 * width * height:
        return (int(width * 0.2), int(height * 0.15), int(width * 0.8), int(height * 0.85))
    return box


def _face_boxes(image: Image.Image, colourful: bool) -> tuple[FaceBox, ...]:
    width, height = image.size
    stat = ImageStat.Stat(image.convert("L"))
    if stat.stddev[0] < 6.0:
        return ()
    count = 1
    if width >= 1.8 * height:
        count = max(1, min(5, round(width / (height * 0.8))))
    boxes = []
    slice_width = width / count
    for index in range(count):
        x0 = int(index * slice_width)
        piece = image.crop((x0, 0, int(x0 + slice_width), height))
        left, top, right, bottom = _subject_box(piece)
        signature = _signature(piece.crop((left, top, right, bottom)), colourful)
        box_w, box_h = right - left, bottom - top
        # Report a face-sized rectangle in the upper middle of the subject, as vendors would.
        boxes.append(
            FaceBox(
                x0 + left + int(box_w * 0.15),
                top + int(box_h * 0.05),
                max(1, int(box_w * 0.7)),
                max(1, int(box_h * 0.6)),
                signature,
            )
        )
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
    grayscale = ImageStat.Stat(hsv).mean[1] < 12.0
    result = ImageAnalysis(
        format=fmt,
        width=image.width,
        height=image.height,
        faces=_face_boxes(small, colourful=not grayscale),
        grayscale=grayscale,
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
    """0..1: about 0.85-1.0 for the same photo re-encoded or resized, low for different ones."""
    mask128 = (1 << 128) - 1
    # Each component falls off quadratically: small re-encoding noise barely costs anything,
    # while a different photo differs in most bits and cells.
    structure = ((a.signature ^ b.signature) & mask128).bit_count() / 40.0
    lum_a = _unpack((a.signature >> 128) & mask128, _LUM_CELLS)
    lum_b = _unpack((b.signature >> 128) & mask128, _LUM_CELLS)
    layout = sum(abs(x - y) for x, y in zip(lum_a, lum_b, strict=True)) / _LUM_CELLS / 25.0
    colour = 0.0
    if a.signature & _COLOUR_FLAG and b.signature & _COLOUR_FLAG:
        chroma_mask = (1 << (8 * _CHROMA_CELLS)) - 1
        ca = _unpack((a.signature >> 256) & chroma_mask, _CHROMA_CELLS)
        cb = _unpack((b.signature >> 256) & chroma_mask, _CHROMA_CELLS)
        colour = sum(abs(x - y) for x, y in zip(ca, cb, strict=True)) / _CHROMA_CELLS / 12.0

    def closeness(distance: float) -> float:
        return max(0.0, 1.0 - min(1.0, distance) ** 2)

    score = closeness(structure) * (0.3 + 0.7 * closeness(layout) * closeness(colour))
    return round(score, 5)


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
