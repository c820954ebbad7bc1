"""JPEG internals: header segments, quantisation tables, quality, double-compression signs.

Quality is the IJG (libjpeg) quality whose scaled standard tables are closest to the file's:
libjpeg scales the Annex K tables by `S = 5000/Q` (Q < 50) or `200 - 2Q`, entry =
`clamp((base*S + 50) // 100, 1, 255)`. Software built on libjpeg (editors, browsers, Pillow,
many phone apps) writes exactly those tables; camera firmware and Photoshop use their own. No
table database ships here, so custom tables are called custom, never matched to a camera model.

Double compression: a JPEG decoded and saved again keeps, in the histograms of its DCT
coefficients, the traces of the first quantisation step q1: when q1 is coarser than the second
step q2, only the values round(k*q1/q2) can occur, so the histogram is periodic with gaps. We
take the decoded Y plane (exactly what libjpeg's IDCT produced), recompute the DCT of sampled
8x8 blocks at low frequencies, divide by q2 and test each frequency for such a lattice.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image

# fmt: off
IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)
IJG_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
)
# The first low frequencies in zigzag order (row, column): where coefficients are rarely zero.
_ZIGZAG_LOW = (
    (0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0),
    (4, 0), (3, 1), (2, 2), (1, 3), (0, 4),
)
# fmt: on

MAX_BLOCKS = 6000  # sampled 8x8 blocks: enough for stable histograms, well under a second
_MIN_SAMPLES = 300  # non-zero coefficients a frequency needs before its histogram counts
_PERIODIC_SCORE = 0.3
_PERIODIC_MASS = 0.85


# --- segments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    marker: int
    payload: bytes

    @property
    def name(self) -> str:
        if 0xE0 <= self.marker <= 0xEF:
            return f"APP{self.marker - 0xE0}"
        return {0xFE: "COM", 0xDB: "DQT", 0xC4: "DHT", 0xDD: "DRI"}.get(
            self.marker, f"0xFF{self.marker:02X}"
        )


def header_segments(data: bytes) -> list[Segment]:
    """The marker segments before the first scan (APPn, COM, DQT ...), in file order."""
    segments: list[Segment] = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte
            continue
        if marker in (0xD8, 0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            break
        segments.append(Segment(marker, data[pos + 4 : pos + 2 + length]))
        if marker in (0xDA, 0xD9):
            break
        pos += 2 + length
    return segments


@dataclass(frozen=True, slots=True)
class AdobeSegment:
    version: int
    transform: int  # 0 unknown/RGB or CMYK, 1 YCbCr, 2 YCCK


def adobe_app14(segments: list[Segment]) -> AdobeSegment | None:
    for segment in segments:
        payload = segment.payload
        if segment.marker == 0xEE and payload.startswith(b"Adobe") and len(payload) >= 12:
            return AdobeSegment(int.from_bytes(payload[5:7], "big"), payload[11])
    return None


def photoshop_resources(segments: list[Segment]) -> list[int]:
    """Image resource ids of APP13 "Photoshop 3.0" blocks (0x0404 IPTC, 0x040C thumbnail ...)."""
    ids: list[int] = []
    for segment in segments:
        if segment.marker != 0xED or not segment.payload.startswith(b"Photoshop 3.0\x00"):
            continue
        data, pos = segment.payload, 14
        while pos + 12 <= len(data) and data[pos : pos + 4] == b"8BIM":
            ids.append(int.from_bytes(data[pos + 4 : pos + 6], "big"))
            name_len = data[pos + 6]
            pos += 6 + (name_len + 1 + ((name_len + 1) & 1))  # Pascal name, padded to even
            if pos + 4 > len(data):
                break
            size = int.from_bytes(data[pos : pos + 4], "big")
            pos += 4 + size + (size & 1)
    return ids


def comments(segments: list[Segment]) -> list[str]:
    texts = []
    for segment in segments:
        if segment.marker == 0xFE:
            text = segment.payload.rstrip(b"\x00").decode("latin-1", "replace").strip()
            if text:
                texts.append(text)
    return texts


# --- quantisation tables and quality -----------------------------------------------------------


@functools.cache
def ijg_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """The libjpeg table for `quality` (1-100), baseline-clamped to 1..255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(max((value * scale + 50) // 100, 1), 255) for value in base)


@dataclass(frozen=True, slots=True)
class QualityEstimate:
    quality: int  # the IJG quality whose tables are closest
    exact: bool  # every table equals libjpeg's at that quality
    mean_error: float  # mean absolute difference per table entry at that quality
    tables: int  # how many tables the file has

    @property
    def table_kind(self) -> str:
        return "standard" if self.exact else "custom"


def estimate_quality(tables: dict[int, list[int]]) -> QualityEstimate | None:
    """Invert IJG scaling: the quality whose luma (and chroma) tables fit the file's best."""
    luma = tables.get(0)
    if not luma or len(luma) != 64:
        return None
    chroma = tables.get(1) if len(tables.get(1) or ()) == 64 else None

    def error(quality: int) -> float:
        total: int = sum(
            abs(a - b) for a, b in zip(luma, ijg_table(IJG_LUMA, quality), strict=True)
        )
        count = 64
        if chroma is not None:
            standard = ijg_table(IJG_CHROMA, quality)
            total += sum(abs(a - b) for a, b in zip(chroma, standard, strict=True))
            count += 64
        return total / count

    # Error is not monotonic near Q 50 and 100 (clamping): search every quality.
    best = min(range(1, 101), key=lambda q: (error(q), -q))
    return QualityEstimate(best, error(best) == 0.0, round(error(best), 2), len(tables))


# --- double compression ------------------------------------------------------------------------


@functools.cache
def _basis(row: int, col: int) -> tuple[float, ...]:
    """JPEG's DCT basis (F = 1/4 C(u) C(v) sum f cos cos) for frequency (row, col), row-major."""
    cu = math.sqrt(0.5) if row == 0 else 1.0
    cv = math.sqrt(0.5) if col == 0 else 1.0
    return tuple(
        0.25
        * cu
        * cv
        * math.cos((2 * y + 1) * row * math.pi / 16)
        * math.cos((2 * x + 1) * col * math.pi / 16)
        for y in range(8)
        for x in range(8)
    )


@dataclass(frozen=True, slots=True)
class FrequencyTrace:
    position: tuple[int, int]  # (row, column) in the 8x8 block
    q2: int  # this file's step at that frequency
    q1: int | None  # the earlier, coarser step the histogram's gaps point to
    score: float  # histogram mass on the q1 lattice minus the share of bins it covers
    samples: int


@dataclass(frozen=True, slots=True)
class DoubleCompression:
    detected: bool
    periodic: int  # frequencies whose histogram is periodic
    usable: int  # frequencies with enough non-zero coefficients to judge
    blocks: int  # 8x8 blocks sampled
    primary_quality: int | None  # IJG quality fitting the earlier steps, when they fit it
    traces: tuple[FrequencyTrace, ...] = field(default_factory=tuple)


def double_compression(luma: Image.Image, table: list[int]) -> DoubleCompression:
    """Test the DCT histograms of the decoded Y plane for a first, coarser quantisation."""
    width, height = luma.size
    columns, rows = width // 8, height // 8
    total = columns * rows
    if total == 0 or len(table) != 64:
        return DoubleCompression(False, 0, 0, 0, None)
    pixels = luma.tobytes()
    stride = max(1, total // MAX_BLOCKS)
    positions = [p for p in _ZIGZAG_LOW if table[p[0] * 8 + p[1]] <= 32]
    bases = [_basis(*p) for p in positions]
    steps = [table[p[0] * 8 + p[1]] for p in positions]
    histograms: list[Counter[int]] = [Counter() for _ in positions]
    blocks = 0
    for index in range(0, total, stride):
        by, bx = divmod(index, columns)
        top, left = by * 8 * width, bx * 8
        block = b"".join(
            pixels[top + r * width + left : top + r * width + left + 8] for r in range(8)
        )
        if b"\x00" in block or b"\xff" in block:
            continue  # clipped pixels break the exact relation to the coefficients
        blocks += 1
        for histogram, basis, step in zip(histograms, bases, steps, strict=True):
            # AC bases sum to zero, so the level shift (-128) does not matter here.
            value = round(sum(map(operator.mul, block, basis)) / step)
            if value:
                histogram[abs(value)] += 1
    traces = [
        _trace(position, step, histogram)
        for position, step, histogram in zip(positions, steps, histograms, strict=True)
        if sum(histogram.values()) >= _MIN_SAMPLES
    ]
    periodic = [t for t in traces if t.q1 is not None]
    detected = len(traces) >= 3 and len(periodic) >= max(3, math.ceil(len(traces) * 0.4))
    primary = _primary_quality(periodic) if detected else None
    return DoubleCompression(detected, len(periodic), len(traces), blocks, primary, tuple(traces))


def _lattice(q1: int, q2: int, top: int) -> set[int]:
    """Bins round(k*q1/q2) can land in, widened by the decoder's rounding noise.

    The colour conversion and 8-bit rounding between the two saves, and recomputing the DCT
    here, add up to about 1.5 units of noise to a coefficient: k*q1/q2 may land up to 1.5/q2
    either side of itself (at least 0.65: a near tie may round either way). k = 0 is
    included: the zero bin of the first save spills into the first bins.
    """
    slack = max(1.5 / q2, 0.65)
    reachable: set[int] = set()
    k = 0
    while (x := k * q1 / q2) <= top + 1:
        reachable.update(range(math.ceil(x - slack), math.floor(x + slack) + 1))
        k += 1
    return {n for n in reachable if 1 <= n <= top}


def _trace(position: tuple[int, int], q2: int, histogram: Counter[int]) -> FrequencyTrace:
    samples = sum(histogram.values())
    # Bins up to where 99 % of the mass lies: the far tail is too thin to say anything.
    running, top = 0, 1
    for value in sorted(histogram):
        running += histogram[value]
        top = value
        if running >= 0.99 * samples:
            break
    scores: dict[int, float] = {}
    if top >= 3:
        for q1 in range(q2 + 1, min(255, 4 * q2 + 8) + 1):
            lattice = _lattice(q1, q2, top)
            if not lattice or len(lattice) >= top:
                continue
            mass = sum(histogram[n] for n in lattice) / samples
            if mass >= _PERIODIC_MASS:
                scores[q1] = mass - len(lattice) / top
    best_score = max(scores.values(), default=0.0)
    if best_score < _PERIODIC_SCORE:
        return FrequencyTrace(position, q2, None, round(best_score, 3), samples)
    # The noise slack lets a slightly larger q1 score as well: among the close candidates,
    # the step whose exact lattice points hold the most coefficients is the earlier one.
    close = [q1 for q1, score in scores.items() if score >= 0.8 * best_score]
    q1 = max(close, key=lambda q: (_core_mass(histogram, q, q2, top), -q))
    return FrequencyTrace(position, q2, q1, round(best_score, 3), samples)


def _core_mass(histogram: Counter[int], q1: int, q2: int, top: int) -> int:
    points = {round(k * q1 / q2) for k in range(1, int((top + 1) * q2 / q1) + 1)}
    return sum(histogram[n] for n in points)


def _primary_quality(traces: list[FrequencyTrace]) -> int | None:
    """The IJG quality whose luma steps explain the earlier steps found (None if none does)."""

    def misfit(quality: int) -> int:
        table = ijg_table(IJG_LUMA, quality)
        return sum(abs(table[t.position[0] * 8 + t.position[1]] - (t.q1 or 0)) for t in traces)

    best = min(range(1, 101), key=misfit)
    return best if misfit(best) <= len(traces) else None
