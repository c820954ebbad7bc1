"""The image pipeline: load any photo, preview it, and prepare it for a vendor's upload rules.

`load(data, name)` identifies the file from its bytes, refuses what is unsafe (byte cap before
decoding, pixel cap before decoding, truncated or damaged data), validates the whole image with a
draft-mode decode and makes a small PNG thumbnail. `prepare(loaded, rules)` returns the
highest-fidelity JPEG or PNG the vendor accepts, with every piece of metadata gone:

1. **Lossless paths.** A JPEG that already fits the rules loses its metadata segments (APP1-APP13,
   APP15, COM, data after EOI) by a segment-level rewrite: the entropy-coded data is copied
   byte for byte, so there is no generation loss. A plain 8-bit RGB/grey PNG that fits keeps its
   IDAT chunks and loses its text/eXIf/iCCP chunks the same way.
2. **Re-encode path.** Otherwise the JPEG is decoded in draft mode (libjpeg's DCT scaling: the
   reduction is done during the IDCT, which is both faster and lighter than decoding the full
   image and resizing it), downscaled only as far as the rules or the byte budget need, converted
   to 8-bit sRGB, turned upright, and encoded with a quality search that predicts sizes from a
   model of JPEG size against quality, calibrated by each encode: usually two or three encodes.

Colour profiles: an sRGB ICC profile is dropped (sRGB is what every decoder assumes without one,
and a profile can name the device or the software that made it); any other profile (Display P3,
Adobe RGB, a CMYK press profile, a grey gamma) is converted to sRGB with LittleCMS, which forces
the re-encode path. Outputs never carry ICC, EXIF, XMP, IPTC or comments.

Decisions worth knowing (see `prepare`):
- When the byte budget forces a JPEG to shrink and the image is large, the scale is rounded down
  to the next DCT scale (1/2, 1/4, 1/8) as long as the long side stays at least
  `SNAP_MIN_LONG_SIDE` px; the spare bytes go into quality instead. A face vendor gains nothing
  from 8000 px, while a full decode plus resampling of a 48 MP photo costs four to five times the
  time and twice the memory.
- Quality stays in 85-95 while pixels can still be traded for bytes; lower qualities (down to 50)
  are used only when the vendor's minimum dimension forbids shrinking further.
- Every failure is an `ImageError` whose message names the file, says what is wrong with it and
  what the operator can do.

One module past ~600 lines because it is one pipeline whose steps hand each other decoded
state (draft decode, orientation, colour conversion, metadata report, lossless rewrite, quality
search); STYLE §1b's app/imaging/ package split is part of the workspace redesign still open.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pi_heif
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from app.domain import EncodedImage, ImageFormat, ImageInfo, LoadedImage, UploadRules
from app.errors import ImageError

# Decimal megabytes, so the number in messages ("100 MB") is the number in the constant.
MAX_INPUT_BYTES = 100_000_000
# 108 MP phone sensors and 12000x9000 scans are real photos; a bomb declares far more. The
# check runs on the header, before a single pixel is decoded.
MAX_PIXELS = 120_000_000
THUMBNAIL_SIZE = 320
# Below this long side a DCT-scale shortcut would cost detail a face vendor might use.
SNAP_MIN_LONG_SIDE = 2048
# JPEG quality bands: preferred range while pixels can be traded; the floor when they cannot.
Q_MAX = 95
Q_PREFERRED_MIN = 85
Q_ABSOLUTE_MIN = 50
# Huffman optimisation buffers every DCT coefficient (about 3 bytes per pixel); above this size
# the 5-8 % it saves is not worth the memory.
OPTIMIZE_MAX_PIXELS = 4_000_000
# Lossless inputs this small may stay lossless (PNG) when the vendor accepts PNG and it fits.
PNG_OUTPUT_MAX_PIXELS = 4_000_000
MAX_ENCODES = 10

# Formats we decode, sniffed from the bytes in this order (multi-picture JPEGs open as "MPO";
# AVIF before HEIF: both are ISO-BMFF and the HEIF opener would claim AVIF files it can't decode).
_READABLE = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "AVIF", "HEIF")
_DISPLAY_FORMAT = {"MPO": "JPEG", "WEBP": "WebP", "HEIF": "HEIC/HEIF"}
_SUPPORTED_TEXT = "JPEG, PNG, WebP, BMP, TIFF, GIF, AVIF or HEIC"

# What a damaged file can make Pillow's decoders raise; anything here becomes an ImageError.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    RuntimeError,
    MemoryError,
    Image.DecompressionBombError,
)

pi_heif.register_heif_opener()

# Relative JPEG size against quality (libjpeg, 4:2:0), normalised to q90; measured on photos
# from smooth to very noisy. Each encode recalibrates it, so only its shape matters.
_SIZE_CURVE: tuple[tuple[int, float], ...] = (
    (1, 0.05),
    (20, 0.16),
    (40, 0.27),
    (50, 0.32),
    (60, 0.38),
    (70, 0.47),
    (75, 0.54),
    (80, 0.63),
    (85, 0.76),
    (90, 1.0),
    (92, 1.12),
    (95, 1.48),
    (97, 1.88),
    (100, 3.1),
)

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Metadata labels (LoadedImage.info.metadata) and the words for their removal.
_REMOVED_WORDS = {
    "GPS": "GPS location removed",
    "camera make/model": "camera make/model removed",
    "camera serial number": "camera serial number removed",
    "maker notes": "camera maker notes removed",
    "capture date": "capture date and time removed",
    "author/copyright": "author and copyright removed",
    "software": "software name removed",
    "EXIF thumbnail": "embedded EXIF thumbnail removed",
    "EXIF": "EXIF removed",
    "XMP": "XMP removed",
    "IPTC": "IPTC removed",
    "comment": "comment removed",
    "text chunks": "text chunks removed",
    "ICC profile": "ICC profile removed",
    "extra embedded images": "extra embedded images removed",
    "data after image end": "data after the image end removed",
    "vendor segments": "vendor-specific segments removed",
}


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrepareStats:
    """How `prepare` got its result: for the benchmark, the CLI and the tests."""

    path: str  # "lossless-jpeg", "lossless-png" or "re-encoded"
    work_width: int = 0  # the decoded image actually worked on (0 on lossless paths)
    work_height: int = 0
    work_mode: str = ""
    encodes: int = 0
    qualities: tuple[int, ...] = ()

    @property
    def work_bytes(self) -> int:
        """Nominal decoded size of the working image (bands x pixels)."""
        return self.work_width * self.work_height * len(self.work_mode or "")


@dataclass(slots=True)
class _Source:
    """What the header (and a metadata scan) tells us, before any pixel is decoded."""

    name: str
    data: bytes
    image: Image.Image
    format: str
    width: int
    height: int
    orientation: int
    frames: int
    metadata: list[str] = field(default_factory=list)
    icc: bytes | None = None
    icc_is_srgb: bool = True
    icc_name: str = ""
    jpeg: _JpegLayout | None = None
    jpeg_quality: int = 90  # estimated from the quantisation tables (JPEG only)


# --- opening and metadata --------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    # Pillow warns about odd-but-readable files (corrupt EXIF, palette transparency); those are
    # not the operator's problem. Bombs are refused by our own check on the header.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _sniff_hint(data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"%PDF"):
        return " It is a PDF document: export the page as a JPEG first."
    if head[:4] in (b"PK\x03\x04", b"Rar!") or head.startswith(b"7z\xbc\xaf"):
        return " It is an archive: extract the photo first."
    if head.lstrip()[:1] in (b"<", b"{") or all(32 <= b < 127 or b in b"\r\n\t" for b in head):
        return " It contains text, not an image."
    return ""


def _open(data: bytes, name: str) -> _Source:
    if not data:
        raise ImageError(f"{name} is empty (0 bytes). Choose the photo again or use another file.")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(
            f"{name} is {len(data) / 1e6:.0f} MB; FaceDesk reads images up to "
            f"{MAX_INPUT_BYTES // 1_000_000} MB. Use a smaller export of the photo."
        )
    try:
        with _quiet():
            image = Image.open(io.BytesIO(data), formats=_READABLE)
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{name} is not a picture FaceDesk can read ({_SUPPORTED_TEXT})."
            f"{_sniff_hint(data)} Export it as a JPEG and try again."
        ) from exc
    except Image.DecompressionBombError as exc:
        raise _bomb_error(name, None) from exc
    except _DECODE_ERRORS as exc:
        raise _damaged(name, "its header") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _damaged(name, "its header")
    if width * height > MAX_PIXELS:
        raise _bomb_error(name, (width, height))
    fmt = image.format or "unknown"
    try:
        with _quiet():
            source = _Source(
                name=name,
                data=data,
                image=image,
                format=fmt,
                width=width,
                height=height,
                orientation=_orientation_of(image, data),
                frames=int(getattr(image, "n_frames", 1) or 1),
            )
            _scan_metadata(source)
    except ImageError:
        raise
    except _DECODE_ERRORS as exc:
        raise _damaged(name, "its metadata") from exc
    return source


def _bomb_error(name: str, size: tuple[int, int] | None) -> ImageError:
    claimed = (
        f" claims {size[0]}×{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP)," if size else ""
    )
    return ImageError(
        f"{name}{claimed} is larger than the {MAX_PIXELS // 1_000_000} MP FaceDesk decodes; it may "
        "be a decompression bomb. Use a smaller export of the photo."
    )


def _damaged(name: str, where: str = "its image data") -> ImageError:
    return ImageError(
        f"{name} is damaged: {where} cannot be decoded. Get the original file again or "
        "re-export it as a JPEG."
    )


def _truncated(name: str) -> ImageError:
    return ImageError(
        f"{name} is incomplete: the file ends before the image does (an interrupted download "
        "or copy?). Get the original file again."
    )


def _png_chunks(data: bytes) -> dict[bytes, list[bytes]]:
    """Ancillary PNG chunks by type (IDAT skipped), from the chunk headers alone."""
    chunks: dict[bytes, list[bytes]] = {}
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind != b"IDAT":
            chunks.setdefault(kind, []).append(data[pos + 8 : pos + 8 + length])
        if kind == b"IEND":
            break
        pos += 12 + length
    return chunks


def _exif_of(image: Image.Image, data: bytes) -> Image.Exif:
    # Pillow's PNG getexif()/text load every pixel to reach chunks after IDAT: read them here.
    if image.format == "PNG":
        exif = Image.Exif()
        raw = _png_chunks(data).get(b"eXIf")
        if raw:
            exif.load(raw[0])
        return exif
    return image.getexif()


def _orientation_of(image: Image.Image, data: bytes) -> int:
    try:
        value = _exif_of(image, data).get(_EXIF_ORIENTATION, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _scan_metadata(source: _Source) -> None:
    """Fill source.metadata with what a recipient could learn beyond the pixels."""
    image, info, found = source.image, source.image.info, source.metadata

    def add(label: str) -> None:
        if label not in found:
            found.append(label)

    if source.format in ("JPEG", "MPO"):
        source.jpeg = _jpeg_layout(source.data)
        source.jpeg_quality = _estimate_jpeg_quality(image)
        for label in source.jpeg.metadata:
            add(label)
    exif = _exif_of(image, source.data)
    if source.format == "TIFF":
        # A TIFF's "EXIF" is its own tag directory; only the EXIF/GPS sub-IFDs are metadata.
        tiff_tags = getattr(image, "tag_v2", {})
        if ExifTags.IFD.Exif in tiff_tags:
            add("EXIF")
        if 33723 in tiff_tags or 34377 in tiff_tags:
            add("IPTC")
        if 700 in tiff_tags:
            add("XMP")
    elif len(exif) or info.get("exif"):
        add("EXIF")
    _scan_exif(exif, add)
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        add("XMP")
    if info.get("comment"):
        add("comment")
    if source.format == "PNG":
        chunks = _png_chunks(source.data)
        if b"eXIf" in chunks:
            add("EXIF")
        texts = [c for kind in (b"tEXt", b"zTXt", b"iTXt") for c in chunks.get(kind, [])]
        if any(c.startswith(b"XML:com.adobe.xmp") for c in texts):
            add("XMP")
        if any(not c.startswith(b"XML:com.adobe.xmp") for c in texts):
            add("text chunks")
    icc = info.get("icc_profile")
    if isinstance(icc, bytes) and icc:
        add("ICC profile")
        source.icc = icc
        source.icc_name, source.icc_is_srgb = _describe_icc(icc)
    if source.frames > 1 and source.format == "MPO":
        add("extra embedded images")


def _scan_exif(exif: Image.Exif, add: Callable[[str], None]) -> None:
    if ExifTags.IFD.GPSInfo in exif:
        try:
            if exif.get_ifd(ExifTags.IFD.GPSInfo):
                add("GPS")
        except _DECODE_ERRORS:
            add("GPS")
    if ExifTags.Base.Make in exif or ExifTags.Base.Model in exif:
        add("camera make/model")
    if ExifTags.Base.Artist in exif or ExifTags.Base.Copyright in exif:
        add("author/copyright")
    if ExifTags.Base.Software in exif:
        add("software")
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif) if ExifTags.IFD.Exif in exif else {}
    except _DECODE_ERRORS:
        sub = {}
    serials = (ExifTags.Base.BodySerialNumber, ExifTags.Base.LensSerialNumber, 0xA420)
    if any(tag in sub for tag in serials):
        add("camera serial number")
    if ExifTags.Base.MakerNote in sub:
        add("maker notes")
    if ExifTags.Base.DateTimeOriginal in sub or ExifTags.Base.DateTime in exif:
        add("capture date")
    try:
        if exif.get_ifd(ExifTags.IFD.IFD1):
            add("EXIF thumbnail")
    except _DECODE_ERRORS:
        pass


def _describe_icc(icc: bytes) -> tuple[str, bool]:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile).strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return "unreadable", False
    return description, "srgb" in description.lower().replace(" ", "")


# --- JPEG segments -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _JpegLayout:
    """The marker structure of the first image in a JPEG file."""

    segments: tuple[tuple[int, int, int], ...]  # (marker, start, end) in the file
    complete: bool  # an EOI was found
    trailing: int  # bytes after EOI (MPF images, motion-photo videos, junk)
    sof: int | None  # the SOFn marker
    precision: int
    metadata: tuple[str, ...]
    metadata_bytes: int


def _jpeg_layout(data: bytes) -> _JpegLayout:
    segments: list[tuple[int, int, int]] = []
    labels: list[str] = []
    meta_bytes = 0
    sof: int | None = None
    precision = 8
    pos = 2
    size = len(data)
    complete = False
    end_of_image = size
    while pos < size:
        if data[pos] != 0xFF:
            break  # garbage between segments: Pillow decides whether it can cope
        while pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 1 >= size:
            break
        marker = data[pos + 1]
        if marker == 0xD9:
            complete = True
            end_of_image = pos + 2
            break
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if pos + 4 > size:
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            break
        if marker == 0xDA:
            end = _entropy_end(data, end)
        segments.append((marker, pos, end))
        payload = data[pos + 4 : pos + 4 + 32]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and sof is None:
            sof = marker
            precision = data[pos + 4] if pos + 4 < size else 8
        label = _jpeg_segment_label(marker, payload)
        if label:
            meta_bytes += end - pos
            if label not in labels:
                labels.append(label)
        pos = end
    trailing = size - end_of_image if complete else 0
    if trailing > 0 and any(byte for byte in data[end_of_image : end_of_image + 4096]):
        labels.append("data after image end")
    return _JpegLayout(
        segments=tuple(segments),
        complete=complete,
        trailing=trailing,
        sof=sof,
        precision=precision,
        metadata=tuple(labels),
        metadata_bytes=meta_bytes,
    )


# The first marker after entropy-coded data: 0xFF followed by anything but a stuffed 0x00,
# a restart marker (RST0-7) or another fill 0xFF. One C-level search instead of a Python loop
# over every stuffed byte (a 12 MB photo has tens of thousands).
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")  # a literal first byte: fast path


def _entropy_end(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data (skipping stuffed 0xFF00 and RSTn)."""
    found = _NEXT_MARKER.search(data, pos)
    return len(data) if found is None else found.start()


def _jpeg_segment_label(marker: int, payload: bytes) -> str:
    if marker == 0xE1:
        if payload.startswith(b"Exif\x00"):
            return "EXIF"
        if payload.startswith(b"http://ns.adobe.com/xa") or payload.startswith(b"XMP"):
            return "XMP"
        return "vendor segments"
    if marker == 0xE2:
        if payload.startswith(b"ICC_PROFILE"):
            return "ICC profile"
        if payload.startswith(b"MPF"):
            return "extra embedded images"
        return "vendor segments"
    if marker == 0xED:
        return "IPTC"
    if marker == 0xFE:
        return "comment"
    if marker == 0xE0:
        return "" if payload.startswith(b"JFIF\x00") else "vendor segments"
    if 0xE3 <= marker <= 0xEF and marker != 0xEE:
        return "vendor segments"
    return ""


def _strip_jpeg(data: bytes, layout: _JpegLayout) -> bytes:
    """Rebuild the JPEG from its coding segments only; entropy-coded data is copied unchanged."""
    out = bytearray(b"\xff\xd8")
    for marker, start, end in layout.segments:
        if marker == 0xE0:
            payload = data[start + 4 : end]
            if payload.startswith(b"JFIF\x00") and len(payload) >= 14:
                # Keep version and density; drop the optional JFIF thumbnail (width/height 0).
                out += b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00"
            continue
        if marker == 0xEE or not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            # APP14 "Adobe" carries the colour transform flag decoders need: no personal data.
            out += data[start:end]
    out += b"\xff\xd9"
    return bytes(out)


def _estimate_jpeg_quality(image: Image.Image) -> int:
    """The IJG quality whose luminance table is closest to the file's (cameras use their own)."""
    tables = getattr(image, "quantization", None) or {}
    table = tables.get(0)
    if not table:
        return 90
    actual = sum(table)
    return min(range(1, 101), key=lambda quality: abs(_ijg_luma_sum(quality) - actual))


@functools.cache
def _ijg_luma_sum(quality: int) -> int:
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return sum(min(max(int((v * scale + 50) // 100), 1), 255) for v in _IJG_LUMA)


# fmt: off
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)
# fmt: on


# --- PNG chunks --------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {b"IHDR", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM"}


def _strip_png(data: bytes) -> bytes | None:
    """Keep only the chunks that draw the image; None when the PNG needs normalising instead."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind == b"IHDR":
            bit_depth, colour_type = data[pos + 16], data[pos + 17]
            if bit_depth != 8 or colour_type not in (0, 2):
                return None
        if kind in (b"tRNS", b"acTL", b"PLTE"):
            return None  # transparency, animation or palette: normalise instead
        if kind in _PNG_KEEP:
            crc = int.from_bytes(data[end - 4 : end], "big")
            if zlib.crc32(data[pos + 4 : end - 4]) != crc:
                return None
            out += data[pos:end]
        if kind == b"IEND":
            return bytes(out)
        pos = end
    return None


# --- decoding and normalising ----------------------------------------------------------------


def _decode(source: _Source, reduce_to: tuple[int, int] | None) -> Image.Image:
    """Decode the first frame from a fresh parse, in draft mode when a smaller size is enough."""
    try:
        with _quiet():
            image = Image.open(io.BytesIO(source.data), formats=_READABLE)
            if image.format in ("JPEG", "MPO") and reduce_to is not None:
                image.draft(image.mode if image.mode in ("L", "CMYK") else "RGB", reduce_to)
            image.load()
    except OSError as exc:
        if "truncated" in str(exc).lower() or "premature" in str(exc).lower():
            raise _truncated(source.name) from exc
        raise _damaged(source.name) from exc
    except _DECODE_ERRORS as exc:
        raise _damaged(source.name) from exc
    if source.jpeg is not None and not source.jpeg.complete:
        # libjpeg pads a missing tail with grey and only warns: we refuse instead.
        raise _truncated(source.name)
    return image


def _reduce_towards(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """A cheap box `reduce` by the largest integer factor that stays 2x above `target`.

    Separate from the resampling so the caller can drop the full-size image in between:
    at most the source and one smaller copy are alive at a time.
    """
    exact = image.width // target[0]
    if exact >= 2 and (image.width, image.height) == (target[0] * exact, target[1] * exact):
        # A snapped scale (1/2, 1/4 ...): box averaging is the whole job, like DCT scaling.
        return image.reduce(exact)
    factor = min(image.width // (2 * target[0]), image.height // (2 * target[1]))
    return image.reduce(factor) if factor >= 2 else image


def _resample(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    return image if image.size == target else image.resize(target, Image.Resampling.LANCZOS)


def _to_resizable(image: Image.Image, changes: list[str]) -> Image.Image:
    """Bring exotic modes to L, RGB or CMYK (flattening transparency on white)."""
    mode = image.mode
    if mode in ("L", "RGB", "CMYK"):
        return image
    if mode == "1":
        changes.append("converted 1-bit to greyscale")
        return image.convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        changes.append("converted 16-bit to 8-bit")
        return _to_8bit(image)
    if mode == "P":
        has_alpha = "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
        if not has_alpha:
            changes.append("converted palette to RGB")
            return image
    if mode in ("PA", "RGBa", "La"):
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("LA", "RGBA"):
        changes.append("flattened transparency on white")
        flat = Image.new(mode[:-1], image.size, 255 if mode == "LA" else (255, 255, 255))
        flat.paste(image.convert(mode[:-1]), mask=image.getchannel("A"))
        return flat
    changes.append(f"converted {mode} to RGB")
    return image.convert("RGB")


def _to_8bit(image: Image.Image) -> Image.Image:
    if image.mode != "F":
        image = image.convert("I")
    low, high = image.getextrema()
    assert isinstance(low, (int, float))
    assert isinstance(high, (int, float))
    if image.mode == "I" and low >= 0 and high <= 65535 and high > 255:
        scale, offset = 255 / 65535, 0.0  # 16-bit data: keep its absolute levels
    else:
        span = float(high - low) or 1.0
        scale, offset = 255 / span, -low * 255 / span
    return image.point(lambda value: value * scale + offset).convert("L")


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(source: _Source, image: Image.Image, changes: list[str]) -> Image.Image:
    """Convert to 8-bit sRGB RGB using the embedded profile where there is one."""
    if source.icc is not None and not source.icc_is_srgb:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(source.icc))
            converted = ImageCms.profileToProfile(
                image,
                profile,
                _SRGB,
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            changes.append("ignored an unreadable colour profile")
        else:
            assert converted is not None
            if image.mode == "CMYK":
                changes.append("converted CMYK to RGB")
            changes.append(f"converted colour profile {source.icc_name!r} to sRGB")
            return converted
    if image.mode == "CMYK":
        changes.append("converted CMYK to RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _upright(image: Image.Image, orientation: int, changes: list[str]) -> Image.Image:
    if orientation in _TRANSPOSE:
        changes.append("rotated per EXIF orientation")
        return image.transpose(_TRANSPOSE[orientation])
    return image


# --- load --------------------------------------------------------------------------------------


def load(data: bytes, name: str, *, thumbnail: bool = True) -> LoadedImage:
    """Identify, validate and thumbnail an image; keep its original bytes in memory.

    `thumbnail=False` (batches, which show no picture) leaves `thumbnail_png` empty: the
    validating decode still runs, the resize and PNG encoding (most of the cost) do not.

    Raises:
        ImageError: the file is empty, too large, not an image, a bomb, truncated or damaged.
    """
    source = _open(data, name)
    box = (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2)
    # The draft decode still reads every entropy-coded byte, so truncation is caught here.
    image = _decode(source, box)
    changes: list[str] = []
    out = io.BytesIO()
    if thumbnail:
        try:
            with _quiet():
                image = _to_resizable(image, changes)
                image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
                image = _upright(_to_srgb(source, image, changes), source.orientation, changes)
                image.save(out, "PNG")
        except _DECODE_ERRORS as exc:
            raise _damaged(name) from exc
    metadata = list(source.metadata)
    if source.frames > 1 and source.format != "MPO":
        metadata.append(f"{source.frames} frames")
    info = ImageInfo(
        format=_DISPLAY_FORMAT.get(source.format, source.format),
        width=source.width,
        height=source.height,
        byte_size=len(data),
        metadata=tuple(metadata),
    )
    return LoadedImage(name=name, data=data, info=info, thumbnail_png=out.getvalue())


# --- prepare -----------------------------------------------------------------------------------


def prepare(loaded: LoadedImage, rules: UploadRules) -> EncodedImage:
    """The highest-fidelity JPEG/PNG within `rules`, metadata stripped, changes listed.

    Raises:
        ImageError: the image cannot satisfy the rules (too small, too narrow, cannot reach the
            byte window) or is unreadable.
    """
    return prepare_with_stats(loaded, rules)[0]


def prepare_with_stats(
    loaded: LoadedImage, rules: UploadRules
) -> tuple[EncodedImage, PrepareStats]:
    """`prepare`, also saying which path it took and what it decoded and encoded."""
    source = _open(loaded.data, loaded.name)
    if not rules.formats:
        raise ImageError("This provider accepts no image format FaceDesk can produce.")
    limit = rules.effective_raw_limit
    cap = _dimension_cap(rules)
    low_side, high_side = sorted((source.width, source.height))
    if low_side < rules.min_dimension:
        raise ImageError(
            f"{loaded.name} is only {source.width}×{source.height} pixels; this provider needs "
            f"at least {rules.min_dimension} px on each side. Use a larger photo."
        )
    fits_dimensions = cap is None or high_side <= cap
    order = list(_REMOVED_WORDS)
    labels = sorted(source.metadata, key=lambda x: order.index(x) if x in order else len(order))
    removed = [_REMOVED_WORDS.get(label, f"{label} removed") for label in labels]
    if source.frames > 1 and source.format != "MPO":
        unit = "page" if source.format == "TIFF" else "frame"
        removed.append(f"used the first of {source.frames} {unit}s")

    lossless = _try_lossless(source, rules, limit, fits_dimensions, removed)
    if lossless is not None:
        return lossless
    return _reencode(source, rules, limit, cap, removed)


def _dimension_cap(rules: UploadRules) -> int | None:
    caps = [c for c in (rules.max_dimension, rules.recommended_max_dimension) if c]
    return min(caps) if caps else None


def _try_lossless(
    source: _Source, rules: UploadRules, limit: int, fits_dimensions: bool, removed: list[str]
) -> tuple[EncodedImage, PrepareStats] | None:
    if not fits_dimensions or source.orientation != 1:
        return None
    if source.icc is not None and not source.icc_is_srgb:
        return None
    layout = source.jpeg
    data: bytes | None = None
    fmt: ImageFormat | None = None
    if (
        layout is not None
        and ImageFormat.JPEG in rules.formats
        and layout.complete
        and layout.sof in (0xC0, 0xC1, 0xC2)
        and layout.precision == 8
        and source.image.mode in ("L", "RGB")
    ):
        data, fmt = _strip_jpeg(source.data, layout), ImageFormat.JPEG
    elif source.format == "PNG" and ImageFormat.PNG in rules.formats and source.frames == 1:
        data, fmt = _strip_png(source.data), ImageFormat.PNG
    if data is None or fmt is None or not (rules.min_bytes <= len(data) <= limit):
        return None
    # The file must decode cleanly before we vouch for it without re-encoding (a draft decode
    # still reads every entropy-coded byte of a JPEG).
    _decode(source, (THUMBNAIL_SIZE, THUMBNAIL_SIZE) if fmt is ImageFormat.JPEG else None)
    path = "lossless-jpeg" if fmt is ImageFormat.JPEG else "lossless-png"
    note = (
        "kept the original JPEG data (not re-encoded)"
        if fmt is ImageFormat.JPEG
        else ("kept the original PNG data (not re-encoded)")
    )
    _verify(data, fmt, source.width, source.height, source.name)
    encoded = EncodedImage(
        data=data,
        format=fmt,
        width=source.width,
        height=source.height,
        removed=(*removed, note),
        source_name=source.name,
    )
    return encoded, PrepareStats(path=path)


def _predict_jpeg_bytes(source: _Source, quality: int, pixels: int) -> float | None:
    """Our encode's size at `quality` for `pixels` pixels, from the source JPEG's own size."""
    if source.jpeg is None:
        return None
    payload = len(source.data) - source.jpeg.metadata_bytes - source.jpeg.trailing
    ratio = pixels / (source.width * source.height)
    return payload * _curve(quality) / _curve(source.jpeg_quality) * ratio


def _probe_jpeg_bytes(image: Image.Image) -> float:
    """Predict the q90 size of a large decoded image from a quick encode of a box-reduced copy.

    A reduced copy has more detail per pixel, so this errs towards shrinking a little more.
    """
    factor = max(1, math.isqrt(image.width * image.height // 1_000_000))
    small = image.reduce(factor) if factor > 1 else image
    out = io.BytesIO()
    small.save(out, "JPEG", quality=90, subsampling="4:2:0")
    return out.tell() * (image.width * image.height) / (small.width * small.height)


def _byte_scale(source: _Source, rules: UploadRules, scale: float, q90_full: float | None) -> float:
    """Shrink `scale` further if the q90 prediction says the byte budget needs it."""
    limit = rules.effective_raw_limit
    long_side = max(source.width, source.height)
    if q90_full is not None:
        predicted = q90_full * scale * scale
        if predicted > limit * 0.95:
            scale *= math.sqrt(limit * 0.95 / predicted)
            # Round down to a DCT/box scale when that keeps plenty of pixels (module docstring).
            for step in (0.5, 0.25, 0.125):
                if step <= scale and long_side * step >= SNAP_MIN_LONG_SIDE:
                    scale = step
                    break
    low_side = min(source.width, source.height)
    if max(1, round(low_side * scale)) < rules.min_dimension:
        scale = min(1.0, rules.min_dimension / low_side)
    return scale


def _target_size(source: _Source, scale: float) -> tuple[int, int]:
    if scale >= 1.0:
        return source.width, source.height
    return max(1, round(source.width * scale)), max(1, round(source.height * scale))


def _reencode(
    source: _Source, rules: UploadRules, limit: int, cap: int | None, removed: list[str]
) -> tuple[EncodedImage, PrepareStats]:
    cap_scale = min(1.0, cap / max(source.width, source.height)) if cap else 1.0
    if rules.max_dimension and rules.min_dimension > 1:
        # Both limits are hard: an extreme strip cannot satisfy them at any scale.
        low_side = min(source.width, source.height) * rules.max_dimension
        if low_side / max(source.width, source.height) < rules.min_dimension:
            raise ImageError(
                f"{source.name} is {source.width}×{source.height} pixels: too long and narrow "
                f"to fit this provider's {rules.max_dimension} px maximum while keeping its "
                f"{rules.min_dimension} px minimum. Crop the photo around the face."
            )
    full_pixels = source.width * source.height
    changes: list[str] = []
    try:
        with _quiet():
            q90 = _predict_jpeg_bytes(source, 90, full_pixels)
            if q90 is not None:
                # JPEG: choose the scale first, so libjpeg decodes straight to (about) it.
                scale = _byte_scale(source, rules, cap_scale, q90)
                target = _target_size(source, scale)
                image = _decode(source, target if scale < 1.0 else None)
                work = (image.width, image.height, image.mode)
                image = _to_resizable(image, changes)
            else:
                image = _decode(source, None)
                work = (image.width, image.height, image.mode)
                image = _to_resizable(image, changes)
                probe = None
                if ImageFormat.JPEG in rules.formats and full_pixels > 2_000_000:
                    probe = _probe_jpeg_bytes(image)
                scale = _byte_scale(source, rules, cap_scale, probe)
                target = _target_size(source, scale)
            image = _reduce_towards(image, target)  # rebinding frees the full-size image
            image = _resample(image, target)
            image = _to_srgb(source, image, changes)
            image = _upright(image, source.orientation, changes)
            search = _Search(source, rules, limit, image)
            del image  # the search owns it now and may replace it with a smaller one
            data, fmt, final = search.run()
    except ImageError:
        raise
    except _DECODE_ERRORS as exc:
        raise _damaged(source.name) from exc
    if final.size not in ((source.width, source.height), (source.height, source.width)):
        changes.append(
            f"downscaled from {source.width}×{source.height} to {final.width}×{final.height}"
        )
    if fmt is ImageFormat.JPEG:
        changes.append(f"re-encoded as JPEG quality {search.chosen_quality}")
    else:
        changes.append("re-encoded as PNG (lossless)")
    _verify(data, fmt, final.width, final.height, source.name)
    encoded = EncodedImage(
        data=data,
        format=fmt,
        width=final.width,
        height=final.height,
        removed=(*removed, *changes),
        source_name=source.name,
    )
    stats = PrepareStats(
        path="re-encoded",
        work_width=work[0],
        work_height=work[1],
        work_mode=work[2],
        encodes=search.encodes,
        qualities=tuple(search.tried),
    )
    return encoded, stats


def _curve(quality: int) -> float:
    points = _SIZE_CURVE
    if quality <= points[0][0]:
        return points[0][1]
    for (q0, r0), (q1, r1) in itertools.pairwise(points):
        if q0 <= quality <= q1:
            t = (quality - q0) / (q1 - q0)
            return math.exp(math.log(r0) + t * (math.log(r1) - math.log(r0)))
    return points[-1][1]


class _TooFewBytesError(ImageError):
    """Even the highest quality stays under the vendor's minimum byte size."""


class _Search:
    """Quality search with size prediction, shrinking the image when quality alone won't do."""

    def __init__(self, source: _Source, rules: UploadRules, limit: int, image: Image.Image):
        self.source, self.rules, self.limit, self.image = source, rules, limit, image
        self.encodes = 0
        self.tried: list[int] = []
        self.chosen_quality = 0

    def run(self) -> tuple[bytes, ImageFormat, Image.Image]:
        lossless_source = self.source.format in ("PNG", "BMP", "TIFF", "GIF")
        if ImageFormat.PNG in self.rules.formats and (
            ImageFormat.JPEG not in self.rules.formats
            or (lossless_source and self.image.width * self.image.height <= PNG_OUTPUT_MAX_PIXELS)
        ):
            png = self._png()
            if png is not None:
                return png, ImageFormat.PNG, self.image
            if ImageFormat.JPEG not in self.rules.formats:
                return self._png_shrinking(), ImageFormat.PNG, self.image
        try:
            return self._jpeg(), ImageFormat.JPEG, self.image
        except _TooFewBytesError:
            # A tiny or flat image: a lossless PNG is larger, and may reach the minimum.
            png = self._png() if ImageFormat.PNG in self.rules.formats else None
            if png is None:
                raise
            return png, ImageFormat.PNG, self.image

    # --- PNG ---

    def _encode_png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "PNG", compress_level=6)
        self.encodes += 1
        return out.getvalue()

    def _png(self) -> bytes | None:
        data = self._encode_png()
        return data if self.rules.min_bytes <= len(data) <= self.limit else None

    def _png_shrinking(self) -> bytes:
        for _ in range(MAX_ENCODES):
            data = self._encode_png()
            if len(data) < self.rules.min_bytes:
                raise self._too_small_bytes(len(data))
            if len(data) <= self.limit:
                return data
            if not self._shrink(math.sqrt(self.limit * 0.9 / len(data))):
                break
        raise self._cannot_fit()

    # --- JPEG ---

    def _encode_jpeg(self, quality: int) -> bytes:
        out = io.BytesIO()
        self.image.save(
            out,
            "JPEG",
            quality=quality,
            subsampling="4:2:0",
            optimize=self.image.width * self.image.height <= OPTIMIZE_MAX_PIXELS,
        )
        self.encodes += 1
        self.tried.append(quality)
        return out.getvalue()

    def _jpeg(self) -> bytes:
        first = 90
        predicted = _predict_jpeg_bytes(self.source, 90, self.image.width * self.image.height)
        if predicted is not None:
            # Our JPEG of a JPEG: the source's own size, scaled to our pixels, is a good start.
            first = self._best_quality({90: predicted}, Q_ABSOLUTE_MIN, Q_MAX) or Q_PREFERRED_MIN
        while True:
            result = self._search_quality(first)
            if result is not None:
                return result
            first = 90

    def _search_quality(self, first: int) -> bytes | None:
        """Search at the current size; None after shrinking the image (search again)."""
        sizes: dict[int, int] = {}
        results: dict[int, bytes] = {}
        quality = first
        floor = Q_PREFERRED_MIN if self._can_shrink() else Q_ABSOLUTE_MIN
        while self.encodes < MAX_ENCODES * 2:
            data = self._encode_jpeg(quality)
            sizes[quality] = len(data)
            if self.rules.min_bytes <= len(data) <= self.limit:
                # Keep only the best fitting encode: each is megabytes.
                results = {quality: data} if quality > max(results, default=0) else results
            fitting = [q for q, n in sizes.items() if self.rules.min_bytes <= n <= self.limit]
            too_big = [q for q, n in sizes.items() if n > self.limit]
            too_small = [q for q, n in sizes.items() if n < self.rules.min_bytes]
            best_fit = max(fitting, default=None)
            lowest_big = min(too_big, default=101)
            if too_small and too_big and not fitting:
                # A narrow byte window: bisect between the last too-small and too-big qualities.
                low_q, high_q = max(too_small), min(too_big)
                if high_q - low_q <= 1:
                    raise self._cannot_fit()
                quality = (low_q + high_q) // 2
                continue
            if too_small and not fitting and not too_big:
                if max(too_small) >= 100:
                    raise self._too_small_bytes(len(data))
                quality = min(100, max(max(too_small) + 5, self._best_quality(sizes, 1, 100) or 0))
                continue
            if best_fit is not None:
                ceiling = min(lowest_big - 1, Q_MAX if best_fit <= Q_MAX else 100)
                candidate = self._best_quality(sizes, best_fit + 1, ceiling)
                if candidate is None or candidate <= best_fit:
                    self.chosen_quality = best_fit
                    return results[best_fit]
                quality = candidate
                continue
            # Everything tried so far is too big.
            lowest = min(sizes)
            candidate = self._best_quality(sizes, floor, lowest - 1)
            if candidate is not None:
                quality = candidate
                continue
            if lowest > floor:
                quality = floor
                continue
            # Even the floor quality is too big: trade pixels, predicted from the floor's size.
            ratio = self.limit * 0.92 / (sizes[lowest] * _curve(90) / _curve(lowest))
            if not self._shrink(math.sqrt(min(ratio, 0.9))):
                if floor > Q_ABSOLUTE_MIN:
                    floor = Q_ABSOLUTE_MIN
                    quality = floor
                    continue
                raise self._cannot_fit()
            return None
        raise self._cannot_fit()

    def _best_quality(self, sizes: Mapping[int, float], low: int, high: int) -> int | None:
        """The highest quality in [low, high] predicted to fit, from the measured sizes."""
        if low > high or not sizes:
            return None
        known = sorted(sizes.items())

        def predict(quality: int) -> float:
            nearest = sorted(known, key=lambda item: abs(item[0] - quality))[:2]
            (q0, s0) = nearest[0]
            if len(nearest) == 1 or nearest[1][0] == q0:
                return s0 * _curve(quality) / _curve(q0)
            (q1, s1) = nearest[1]
            # Fit log(size) = a + b*log(curve) through the two nearest measurements.
            c0, c1 = math.log(_curve(q0)), math.log(_curve(q1))
            b = (math.log(s1) - math.log(s0)) / (c1 - c0) if c1 != c0 else 1.0
            return math.exp(math.log(s0) + b * (math.log(_curve(quality)) - c0))

        target = self.limit * 0.985  # a little headroom: one more encode costs more than 1.5 %
        for quality in range(high, low - 1, -1):
            if predict(quality) <= target:
                return quality
        return None

    def _can_shrink(self) -> bool:
        return min(self.image.size) > self.rules.min_dimension

    def _shrink(self, factor: float) -> bool:
        width, height = self.image.size
        factor = min(factor, 0.95)
        low = min(width, height)
        if low * factor < self.rules.min_dimension:
            factor = self.rules.min_dimension / low
        new = (max(1, math.floor(width * factor)), max(1, math.floor(height * factor)))
        if new == (width, height) or factor >= 1.0:
            return False
        self.image = self.image.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return True

    def _too_small_bytes(self, size: int) -> ImageError:
        return _TooFewBytesError(
            f"{self.source.name} stays at {size} bytes even at the highest quality, below this "
            f"provider's minimum of {self.rules.min_bytes} bytes. Use a larger, more detailed "
            "photo."
        )

    def _cannot_fit(self) -> ImageError:
        window = f"between {self.rules.min_bytes} and " if self.rules.min_bytes else "under "
        keeping = (
            f" while keeping the {self.rules.min_dimension} px this provider needs"
            if self.rules.min_dimension > 1
            else ""
        )
        return ImageError(
            f"{self.source.name} cannot be encoded {window}{self.limit} bytes{keeping}. Crop "
            "the photo around the face, or use a simpler one, and try again."
        )


def _verify(data: bytes, fmt: ImageFormat, width: int, height: int, name: str) -> None:
    """Cheap check that what leaves the machine parses as the image we meant."""
    try:
        with _quiet(), Image.open(io.BytesIO(data), formats=(fmt.value,)) as check:
            ok = check.size == (width, height) and check.format == fmt.value
    except _DECODE_ERRORS as exc:
        raise _damaged(name) from exc
    if not ok:
        raise _damaged(name)


# --- inspection (app.forensics) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """A file that passed `load`'s checks, for reading its metadata and pixels as stored.

    `header` is the parsed file (info, EXIF, quantisation tables; no pixels loaded); `pixels` is
    its first frame fully decoded and not rotated. A colour JPEG decoded with `ycbcr=True` comes
    as YCbCr straight from libjpeg, so its Y plane is exactly what the IDCT produced.
    """

    header: Image.Image
    pixels: Image.Image
    format: str  # Pillow's name: "JPEG", "MPO", "PNG" ...
    display_format: str


# Errors a Pillow call on a checked image can still raise (damaged data past the header).
DECODE_ERRORS = _DECODE_ERRORS


def open_checked(data: bytes, name: str, *, ycbcr: bool = False) -> CheckedImage:
    """Open and fully decode `data` under the byte cap, pixel cap and truncation checks of `load`.

    Raises:
        ImageError: the file is empty, too large, not an image, a bomb, truncated or damaged.
    """
    source = _open(data, name)
    if ycbcr and source.format in ("JPEG", "MPO") and source.image.mode == "RGB":
        try:
            with _quiet():
                image = Image.open(io.BytesIO(data), formats=(source.format,))
                image.draft("YCbCr", None)
                image.load()
        except _DECODE_ERRORS as exc:
            if isinstance(exc, OSError) and "truncated" in str(exc).lower():
                raise _truncated(name) from exc
            raise _damaged(name) from exc
        if source.jpeg is not None and not source.jpeg.complete:
            raise _truncated(name)
        pixels: Image.Image = image
    else:
        pixels = _decode(source, None)
    return CheckedImage(
        header=source.image,
        pixels=pixels,
        format=source.format,
        display_format=_DISPLAY_FORMAT.get(source.format, source.format),
    )
