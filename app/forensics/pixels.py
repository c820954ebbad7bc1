"""Pixel fingerprints and pictures: perceptual hashes, error-level analysis, thumbnail check.

Hashes (64 bits, hex): dHash compares neighbouring pixels of a 9x8 grey reduction; pHash keeps
the signs (against the median) of the 8x8 lowest DCT frequencies of a 32x32 grey reduction.
Both survive re-encoding and resizing; their Hamming distance says how different two pictures
look (0-64; a few bits for the same picture re-saved, about 32 for unrelated pictures).
"""

from __future__ import annotations

import io
import math
import statistics
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageOps, ImageStat

ELA_QUALITY = 90
ELA_MAX_PIXELS = 40_000_000  # re-encoding larger images costs seconds and hundreds of MB
ELA_OVERLAY_SIDE = 1200
THUMB_MATCH_BITS = 10  # pHash distance up to which a thumbnail shows the same picture
THUMB_MISMATCH_BITS = 18  # from here on it shows another picture (or a heavily edited one)


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _grey(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = flat
    if image.mode == "YCbCr":
        return image.getchannel(0)
    return image.convert("L")


def dhash(image: Image.Image) -> str:
    small = _grey(image).resize((9, 8), Image.Resampling.LANCZOS)
    values = list(small.tobytes())
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (values[row * 9 + col] < values[row * 9 + col + 1])
    return f"{bits:016x}"


_COS32 = tuple(tuple(math.cos((2 * x + 1) * u * math.pi / 64) for x in range(32)) for u in range(8))


def phash(image: Image.Image) -> str:
    small = _grey(image).resize((32, 32), Image.Resampling.LANCZOS)
    values = list(small.tobytes())
    rows = [values[y * 32 : y * 32 + 32] for y in range(32)]
    # Separable DCT-II, keeping only the 8 lowest frequencies each way.
    partial = [
        [sum(c * v for c, v in zip(_COS32[u], row, strict=True)) for u in range(8)] for row in rows
    ]
    low = [sum(_COS32[v][y] * partial[y][u] for y in range(32)) for v in range(8) for u in range(8)]
    median = statistics.median(low)
    bits = 0
    for value in low:
        bits = (bits << 1) | (value > median)
    return f"{bits:016x}"


# --- error-level analysis ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorLevels:
    overlay_png: bytes  # the error map (hot colours) over a dimmed grey copy of the photo
    mean: float  # mean absolute difference per channel, 0-255
    peak: float  # 99.5th percentile difference
    spread: float  # how uneven the error is across 32x32-pixel regions (coefficient of variation)
    quality: int


def error_levels(image: Image.Image, quality: int = ELA_QUALITY) -> ErrorLevels | None:
    """Re-save at `quality`, map where the picture changed most; None above ELA_MAX_PIXELS."""
    if image.width * image.height > ELA_MAX_PIXELS:
        return None
    rgb = image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=quality)
    with Image.open(buffer) as resaved:
        diff = ImageChops.difference(rgb, resaved.convert("RGB"))
    levels = _strongest_channel(diff)
    histogram = levels.histogram()
    count = sum(histogram) or 1
    mean = sum(i * n for i, n in enumerate(histogram)) / count
    peak = _percentile(histogram, 0.995)
    region_means = levels.reduce(32) if min(levels.size) >= 64 else levels
    stat = ImageStat.Stat(region_means)
    spread = stat.stddev[0] / stat.mean[0] if stat.mean[0] > 0 else 0.0
    gain = 255 / max(peak, 1.0)
    bright = levels.point(lambda v: min(255, round(v * gain)))
    heat = ImageOps.colorize(bright, black="#000000", white="#ffe000", mid="#ff2000")
    base = ImageOps.grayscale(rgb).point(lambda v: v * 45 // 100).convert("RGB")
    overlay = ImageChops.add(base, heat)
    overlay.thumbnail((ELA_OVERLAY_SIDE, ELA_OVERLAY_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    overlay.save(out, "PNG", optimize=False, compress_level=6)
    return ErrorLevels(out.getvalue(), round(mean, 2), round(peak, 1), round(spread, 2), quality)


def _strongest_channel(diff: Image.Image) -> Image.Image:
    red, green, blue = diff.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def _percentile(histogram: list[int], share: float) -> float:
    target = sum(histogram) * share
    running = 0
    for value, count in enumerate(histogram):
        running += count
        if running >= target:
            return float(value)
    return 255.0


# --- EXIF thumbnail ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThumbnailComparison:
    width: int
    height: int
    distance: int  # pHash bits between the thumbnail and the main picture reduced to its size
    aspect_difference: float  # relative, after trimming the thumbnail's black padding


def compare_thumbnail(main: Image.Image, thumbnail: Image.Image) -> ThumbnailComparison:
    """How far the embedded thumbnail is from the main picture (same stored orientation)."""
    trimmed = _trim_padding(thumbnail.convert("RGB"))
    main_aspect = main.width / main.height
    thumb_aspect = trimmed.width / trimmed.height
    aspect = abs(main_aspect - thumb_aspect) / main_aspect
    reduced = main.convert("RGB").resize(trimmed.size, Image.Resampling.LANCZOS)
    return ThumbnailComparison(
        thumbnail.width,
        thumbnail.height,
        hamming(phash(reduced), phash(trimmed)),
        round(aspect, 3),
    )


def _trim_padding(image: Image.Image) -> Image.Image:
    """Cut the black bars cameras add to fit a 160x120 thumbnail to another aspect ratio."""
    box = image.convert("L").point(lambda v: 255 if v > 12 else 0).getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    if (right - left) * (bottom - top) < image.width * image.height * 0.5:
        return image  # a dark picture, not padding
    return image.crop(box)
