"""Generated photos for the forensics tests: a camera JPEG, its editor re-save, a swapped
thumbnail and a PNG screenshot. Everything is built here with Pillow (EXIF by Image.Exif, the
thumbnail directory and the Adobe segments by hand), so no binary fixture is checked in.
"""

from __future__ import annotations

import io
import random
import struct

from PIL import Image, ImageDraw, ImageFilter, TiffImagePlugin

from app.forensics.jpeg import IJG_CHROMA, IJG_LUMA

# Position 48°51'29.6"N 2°17'40.2"E (the Eiffel Tower), as a camera writes it.
GPS_LATITUDE = 48 + 51 / 60 + 29.6 / 3600
GPS_LONGITUDE = 2 + 17 / 60 + 40.2 / 3600
CAMERA_MAKE = "ACME Optics"
CAMERA_MODEL = "ACME X100"
CAMERA_SERIAL = "AC12345678"
EDITOR = "Adobe Photoshop 25.0 (Windows)"

# A camera's own tables: libjpeg's at about quality 75 with every entry nudged, as firmware
# tables are (none of them equals a scaled standard table).
CAMERA_LUMA = [max(1, (v * 50 + 50) // 100 + (i % 3 == 0)) for i, v in enumerate(IJG_LUMA)]
CAMERA_CHROMA = [max(1, (v * 50 + 50) // 100 + (i % 4 == 1)) for i, v in enumerate(IJG_CHROMA)]


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: smooth light, shapes and fine grain; each seed a different one."""
    rng = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new(
        "RGB", size, (rng.randrange(60, 200), rng.randrange(60, 200), rng.randrange(60, 200))
    )
    image = Image.blend(image, tint, 0.55)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, width // 4)
        colour = (rng.randrange(30, 225), rng.randrange(30, 225), rng.randrange(30, 225))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    grain = Image.frombytes("L", (width // 2, height // 2), rng.randbytes(width * height // 4))
    grain = grain.resize(size, Image.Resampling.BICUBIC).point(lambda v: 118 + v * 20 // 255)
    return Image.blend(image, Image.merge("RGB", (grain, grain, grain)), 0.25)


def _rational(value: float) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(round(value * 1000), 1000)


def _dms(degrees: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = (degrees - whole - minutes / 60) * 3600
    return (_rational(whole), _rational(minutes), _rational(seconds))


def camera_exif(*, software: str | None = None, changed: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = CAMERA_MODEL
    exif[0x0132] = changed or "2026:03:14 09:26:53"
    if software:
        exif[0x0131] = software
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2026:03:14 09:26:53"
    sub[0x9004] = "2026:03:14 09:26:53"
    sub[0xA431] = CAMERA_SERIAL
    sub[0xA434] = "ACME 28mm F2"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = _dms(GPS_LATITUDE)
    gps[3] = "E"
    gps[4] = _dms(GPS_LONGITUDE)
    gps[5] = b"\x00"
    gps[6] = _rational(35.0)
    return exif


def exif_with_thumbnail(exif: Image.Exif, thumbnail_jpeg: bytes) -> bytes:
    """EXIF bytes whose IFD1 points at `thumbnail_jpeg` (Pillow writes no IFD1 itself)."""
    raw = exif.tobytes()
    assert raw.startswith(b"Exif\x00\x00")
    tiff = bytearray(raw[6:])
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0 = struct.unpack(order + "I", tiff[4:8])[0]
    count = struct.unpack(order + "H", tiff[ifd0 : ifd0 + 2])[0]
    next_pointer = ifd0 + 2 + 12 * count
    if len(tiff) % 2:
        tiff += b"\x00"
    ifd1 = len(tiff)
    entries = 3
    data_offset = ifd1 + 2 + 12 * entries + 4
    tiff[next_pointer : next_pointer + 4] = struct.pack(order + "I", ifd1)
    tiff += struct.pack(order + "H", entries)
    tiff += struct.pack(order + "HHIHH", 0x0103, 3, 1, 6, 0)  # Compression: JPEG
    tiff += struct.pack(order + "HHII", 0x0201, 4, 1, data_offset)
    tiff += struct.pack(order + "HHII", 0x0202, 4, 1, len(thumbnail_jpeg))
    tiff += struct.pack(order + "I", 0)
    tiff += thumbnail_jpeg
    return b"Exif\x00\x00" + bytes(tiff)


def thumbnail_of(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail((160, 120))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def camera_jpeg(seed: int = 1, *, thumbnail_seed: int | None = None) -> bytes:
    """The camera's JPEG: custom tables, Make/Model/serial, GPS, dates, an EXIF thumbnail.

    `thumbnail_seed` puts another scene's thumbnail in it (the swapped-thumbnail case).
    """
    picture = scene(seed)
    thumbnail = thumbnail_of(scene(thumbnail_seed) if thumbnail_seed is not None else picture)
    out = io.BytesIO()
    picture.save(
        out,
        "JPEG",
        qtables=[CAMERA_LUMA, CAMERA_CHROMA],
        subsampling="4:2:2",
        exif=exif_with_thumbnail(camera_exif(), thumbnail),
    )
    return _without_jfif(out.getvalue())


EDITOR_XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
    'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    f'xmp:CreatorTool="{EDITOR}" xmp:ModifyDate="2026-03-20T17:02:11+01:00" '
    'photoshop:ColorMode="3">'
    "<xmpMM:History><rdf:Seq>"
    '<rdf:li stEvt:action="created" stEvt:when="2026-03-14T09:26:53+01:00" '
    'stEvt:softwareAgent="ACME X100 firmware 1.0"/>'
    f'<rdf:li stEvt:action="saved" stEvt:when="2026-03-20T17:02:11+01:00" '
    f'stEvt:softwareAgent="{EDITOR}" stEvt:changed="/"/>'
    "</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _photoshop_irb() -> bytes:
    iptc = b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x41\x00\x09Photoshop"
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc))
    resource += iptc + (b"\x00" if len(iptc) % 2 else b"")
    return b"Photoshop 3.0\x00" + resource


def _insert_after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def _without_jfif(data: bytes) -> bytes:
    """Cameras start with EXIF, not JFIF: drop the APP0 Pillow writes."""
    if data[2:4] == b"\xff\xe0":
        length = struct.unpack(">H", data[4:6])[0]
        return data[:2] + data[4 + length :]
    return data


def editor_resave(camera: bytes) -> bytes:
    """The camera photo opened and saved by an editor: standard tables at quality 95, the
    camera's EXIF kept (no thumbnail) with the editor's Software tag, XMP, APP13 and APP14."""
    with Image.open(io.BytesIO(camera)) as original:
        picture = original.convert("RGB")
    exif = camera_exif(software=EDITOR, changed="2026:03:20 17:02:11")
    out = io.BytesIO()
    picture.save(
        out, "JPEG", quality=95, subsampling="4:4:4", exif=exif.tobytes(), xmp=EDITOR_XMP.encode()
    )
    adobe = _segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, 1))
    return _insert_after_soi(out.getvalue(), _segment(0xED, _photoshop_irb()), adobe)


def screenshot_png() -> bytes:
    """A screenshot-like PNG: flat panels and text, a screenshot tool's Software chunk."""
    from PIL import PngImagePlugin

    image = Image.new("RGB", (800, 500), (236, 239, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 800, 40), fill=(46, 52, 64))
    for row in range(8):
        draw.rectangle((20, 60 + row * 50, 780, 100 + row * 50), outline=(180, 180, 190))
        draw.text((30, 70 + row * 50), f"Row {row}: Lorem ipsum dolor sit amet", fill=(20, 20, 20))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "gnome-screenshot")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_at(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()
