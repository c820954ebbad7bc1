"""The image pipeline against a corpus the tests generate: formats, normalisation, stripping,
fitting the vendor's rules and refusing unsafe files with an operator message."""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from app import imaging
from app.domain import EncodedImage, ImageFormat, LoadedImage, UploadRules
from app.errors import ImageError

RULES_5MB = UploadRules(max_bytes=5_000_000)
AZURE_LIKE = UploadRules(max_bytes=6_000_000, min_bytes=1024)


def photo(width: int = 400, height: int = 300, seed: int = 1, mode: str = "RGB") -> Image.Image:
    """A colourful, noisy picture: blocks of colour upscaled plus grain."""
    rng = random.Random(seed)
    small = Image.frombytes(
        "RGB",
        (max(1, width // 16), max(1, height // 16)),
        rng.randbytes(max(1, width // 16) * max(1, height // 16) * 3),
    )
    base = small.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 8).convert("RGB")
    image = Image.blend(base, grain, 0.15)
    return image if mode == "RGB" else image.convert(mode)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def exif_with(orientation: int = 1, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ACME"
    exif[0x0110] = "PhoneCam 9"
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (52.0, 22.0, 7.5)
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = "SN-123456"
    return exif.tobytes()


def assert_clean(encoded: EncodedImage, rules: UploadRules) -> Image.Image:
    """The output is a valid JPEG/PNG within the rules with no metadata at all."""
    assert rules.min_bytes <= len(encoded.data) <= rules.effective_raw_limit
    assert encoded.format in rules.formats
    image = Image.open(io.BytesIO(encoded.data))
    assert image.format == encoded.format.value
    assert image.size == (encoded.width, encoded.height)
    image.load()
    assert not image.getexif()
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"):
        assert key not in image.info
    for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"Photoshop 3.0", b"ICC_PROFILE"):
        assert marker not in encoded.data
    assert b"ACME" not in encoded.data
    assert b"SN-123456" not in encoded.data
    return image


def prepared(data: bytes, rules: UploadRules = RULES_5MB, name: str = "photo") -> EncodedImage:
    return imaging.prepare(imaging.load(data, name), rules)


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "shown"),
    [
        ("JPEG", {"quality": 90}, "JPEG"),
        ("PNG", {}, "PNG"),
        ("WEBP", {"quality": 80}, "WebP"),
        ("BMP", {}, "BMP"),
        ("TIFF", {}, "TIFF"),
        ("GIF", {}, "GIF"),
        ("AVIF", {"quality": 60}, "AVIF"),
    ],
)
def test_every_supported_format_loads_and_prepares_from_bytes(fmt, params, shown):
    data = encode(photo(), fmt, **params)
    # The name lies on purpose: the format comes from the bytes.
    loaded = imaging.load(data, "upload.bin")
    assert loaded.info.format == shown
    assert (loaded.info.width, loaded.info.height) == (400, 300)
    thumb = Image.open(io.BytesIO(loaded.thumbnail_png))
    assert thumb.format == "PNG"
    assert max(thumb.size) <= imaging.THUMBNAIL_SIZE
    assert_clean(imaging.prepare(loaded, RULES_5MB), RULES_5MB)


HEIC_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "phone-photo.heic"


def test_heic_from_a_phone_is_decoded_upright_and_stripped():
    # pi-heif decodes only, so the corpus cannot make a HEIC: tests/data/phone-photo.heic is a
    # synthetic 320×400 picture saved by an HEVC encoder with EXIF orientation 6 and a camera
    # make (see tests/data/README.md). It must come out upright (400×320) as a clean JPEG.
    assert "HEIF" in Image.OPEN
    loaded = imaging.load(HEIC_SAMPLE.read_bytes(), "IMG_0001.HEIC")
    assert loaded.info.format.startswith("HEIC")
    assert (loaded.info.width, loaded.info.height) == (400, 320)
    assert "camera make/model" in loaded.info.metadata
    prepared = imaging.prepare(loaded, RULES_5MB)
    assert_clean(prepared, RULES_5MB)
    assert (prepared.width, prepared.height) == (400, 320)
    assert "camera make/model removed" in prepared.removed


# --- orientation and normalisation -------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_exif_orientations_come_out_upright(orientation):
    # A marker square top-left in the upright picture, stored as the camera would store it.
    upright = Image.new("RGB", (120, 80), "white")
    upright.paste((255, 0, 0), (0, 0, 30, 30))
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    data = encode(stored, "JPEG", quality=95, exif=exif_with(orientation))
    result = prepared(data)
    image = assert_clean(result, RULES_5MB).convert("RGB")
    assert image.size == (120, 80)
    red, green, _ = image.getpixel((10, 10))
    assert red > 200
    assert green < 60
    assert image.getpixel((110, 70))[1] > 200
    if orientation != 1:
        assert "rotated per EXIF orientation" in result.removed
    else:
        assert "kept the original JPEG data (not re-encoded)" in result.removed


def test_cmyk_jpeg_becomes_rgb():
    data = encode(photo(mode="CMYK"), "JPEG", quality=90)
    result = prepared(data)
    assert_clean(result, RULES_5MB)
    assert Image.open(io.BytesIO(result.data)).mode == "RGB"
    assert "converted CMYK to RGB" in result.removed


def test_16_bit_greyscale_png_keeps_its_levels():
    gradient = Image.frombytes("L", (256, 1), bytes(range(256))).resize((256, 64)).convert("I")
    sixteen = gradient.point(lambda v: v * 257).convert("I;16")
    result = prepared(encode(sixteen, "PNG"))
    image = assert_clean(result, RULES_5MB).convert("L")
    assert "converted 16-bit to 8-bit" in result.removed
    assert image.getpixel((2, 32)) < 20
    assert image.getpixel((250, 32)) > 230


def test_palette_with_transparency_is_flattened_on_white():
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (16, 16, 48, 48))
    data = encode(image, "PNG", transparency=0)
    result = prepared(data)
    out = assert_clean(result, RULES_5MB).convert("RGB")
    assert out.getpixel((2, 2)) == (255, 255, 255)
    assert out.getpixel((32, 32))[0] > 200
    assert "flattened transparency on white" in result.removed


def test_la_and_one_bit_images_are_normalised():
    la = Image.merge("LA", (Image.new("L", (50, 50), 0), Image.new("L", (50, 50), 0)))
    result = prepared(encode(la, "PNG"))
    assert assert_clean(result, RULES_5MB).convert("L").getpixel((5, 5)) == 255
    bilevel = Image.new("1", (50, 50), 1)
    assert_clean(prepared(encode(bilevel, "PNG")), RULES_5MB)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], comment=b"hi")
    loaded = imaging.load(out.getvalue(), "a.gif")
    assert "3 frames" in loaded.info.metadata
    result = imaging.prepare(loaded, RULES_5MB)
    image = assert_clean(result, RULES_5MB).convert("RGB")
    assert image.getpixel((20, 20))[0] > 200
    assert "used the first of 3 frames" in result.removed


def test_multi_page_tiff_uses_first_page():
    pages = [Image.new("RGB", (40, 40), colour) for colour in ("green", "red")]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    result = prepared(out.getvalue())
    image = assert_clean(result, RULES_5MB).convert("RGB")
    assert image.getpixel((20, 20))[1] > 100
    assert "used the first of 2 pages" in result.removed


def test_non_srgb_profile_is_converted_to_srgb():
    # Pillow can only build sRGB/LAB/XYZ profiles; renaming the sRGB one ("wide RGB") makes
    # FaceDesk treat it as a foreign RGB profile, which must go through LittleCMS.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    icc = srgb.replace("sRGB".encode("utf-16-be"), "wide".encode("utf-16-be"))
    data = encode(photo(), "JPEG", quality=90, icc_profile=icc)
    loaded = imaging.load(data, "p3.jpg")
    assert "ICC profile" in loaded.info.metadata
    result = imaging.prepare(loaded, RULES_5MB)
    assert_clean(result, RULES_5MB)
    assert any("to sRGB" in change for change in result.removed), result.removed


def test_srgb_profile_is_dropped_without_reencoding():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo(), "JPEG", quality=90, icc_profile=icc)
    result = prepared(data)
    assert_clean(result, RULES_5MB)
    assert "kept the original JPEG data (not re-encoded)" in result.removed
    assert "ICC profile removed" in result.removed


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_is_listed_on_load_and_removed_in_words():
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = encode(photo(), "JPEG", quality=90, exif=exif_with(), xmp=xmp, comment=b"note")
    loaded = imaging.load(data, "gps.jpg")
    for label in ("EXIF", "GPS", "XMP", "comment", "camera make/model", "camera serial number"):
        assert label in loaded.info.metadata
    result = imaging.prepare(loaded, RULES_5MB)
    assert_clean(result, RULES_5MB)
    assert result.removed[0] == "GPS location removed"
    for words in ("camera make/model removed", "XMP removed", "comment removed"):
        assert words in result.removed


def test_jpeg_within_rules_is_stripped_without_reencoding():
    picture = photo()
    clean = encode(picture, "JPEG", quality=88)
    dirty = encode(picture, "JPEG", quality=88, exif=exif_with(), comment=b"secret")
    result = prepared(dirty)
    assert_clean(result, RULES_5MB)
    # Same entropy-coded data as an encode without metadata: no generation loss.
    start = result.data.index(b"\xff\xda")
    assert result.data[start:] == clean[clean.index(b"\xff\xda") :]
    assert Image.open(io.BytesIO(result.data)).tobytes() == Image.open(io.BytesIO(dirty)).tobytes()


def test_iptc_and_trailing_data_are_removed():
    base = encode(photo(), "JPEG", quality=85)
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x04\x1c\x02\x00\x00"
    segment = b"\xff\xed" + (len(iptc) + 2).to_bytes(2, "big") + iptc
    data = base[:2] + segment + base[2:] + b"MOTIONPHOTO-VIDEO" * 10
    loaded = imaging.load(data, "iptc.jpg")
    assert "IPTC" in loaded.info.metadata
    assert "data after image end" in loaded.info.metadata
    result = imaging.prepare(loaded, RULES_5MB)
    assert_clean(result, RULES_5MB)
    assert b"MOTIONPHOTO" not in result.data
    assert result.data.endswith(b"\xff\xd9")


def test_multi_picture_jpeg_keeps_only_the_first_picture():
    first, second = photo(seed=1), photo(seed=2)
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second], quality=90)
    loaded = imaging.load(out.getvalue(), "camera.jpg")
    assert loaded.info.format == "JPEG"
    assert "extra embedded images" in loaded.info.metadata
    result = imaging.prepare(loaded, RULES_5MB)
    image = assert_clean(result, RULES_5MB)
    assert getattr(image, "n_frames", 1) == 1
    assert result.data.count(b"\xff\xd8") == 1
    assert "extra embedded images removed" in result.removed


def test_unreachable_byte_limit_is_a_clean_error():
    with pytest.raises(ImageError, match="cannot be encoded under 100 bytes"):
        prepared(encode(photo(), "JPEG"), UploadRules(max_bytes=100))


def test_png_that_fits_stays_png_without_text_chunks():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Operator")
    data = encode(photo(200, 150), "PNG", pnginfo=info, exif=exif_with(gps=True))
    result = prepared(data)
    assert result.format is ImageFormat.PNG
    assert_clean(result, RULES_5MB)
    assert b"Jane" not in result.data
    assert b"tEXt" not in result.data
    assert b"eXIf" not in result.data


# --- fitting the rules ---------------------------------------------------------------------------


def test_large_photo_is_fitted_with_few_encodes():
    data = encode(photo(3000, 2000, seed=3), "JPEG", quality=97)
    rules = UploadRules(max_bytes=400_000)
    encoded, stats = imaging.prepare_with_stats(imaging.load(data, "big.jpg"), rules)
    assert_clean(encoded, rules)
    assert stats.path == "re-encoded"
    assert stats.encodes <= 4
    assert len(encoded.data) > 0.6 * rules.max_bytes  # the budget is used, not wasted


def test_recommended_dimension_and_base64_limit_are_respected():
    data = encode(photo(2400, 1800), "JPEG", quality=90)
    rules = UploadRules(
        max_bytes=400_000, recommended_max_dimension=1000, limit_applies_to_base64=True
    )
    result = prepared(data, rules)
    assert_clean(result, rules)
    assert max(result.width, result.height) == 1000
    assert len(result.data) * 4 / 3 <= rules.max_bytes
    assert "downscaled from 2400×1800 to 1000×750" in result.removed


def test_png_only_vendor_gets_png_within_limit():
    rules = UploadRules(max_bytes=300_000, formats=(ImageFormat.PNG,))
    result = prepared(encode(photo(800, 600), "JPEG", quality=90), rules)
    assert result.format is ImageFormat.PNG
    assert_clean(result, rules)


def test_tiny_image_under_minimum_bytes_is_an_error_not_padding():
    data = encode(Image.new("RGB", (1, 1), "grey"), "JPEG")
    rules = UploadRules(max_bytes=6_000_000, min_bytes=1024, formats=(ImageFormat.JPEG,))
    with pytest.raises(ImageError, match="minimum of 1024 bytes"):
        prepared(data, rules)


def test_one_by_one_image_is_prepared_when_no_minimum():
    assert_clean(prepared(encode(Image.new("RGB", (1, 1), "red"), "PNG")), RULES_5MB)


def test_20000_by_100_strip_is_prepared_or_refused_cleanly():
    data = encode(Image.new("RGB", (20000, 100), "teal"), "PNG")
    assert_clean(prepared(data), RULES_5MB)
    capped = UploadRules(max_bytes=5_000_000, max_dimension=1920, min_dimension=36)
    with pytest.raises(ImageError) as caught:
        prepared(data, capped)
    assert "36 px" in caught.value.user_message


def test_too_small_for_vendor_minimum_dimension():
    rules = UploadRules(max_bytes=5_000_000, min_dimension=50)
    with pytest.raises(ImageError, match="at least 50 px"):
        prepared(encode(photo(40, 40), "PNG"), rules)


# --- safety --------------------------------------------------------------------------------------


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge size, with a tiny compressed payload."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    row = b"\x00" * (width + 1)
    idat = zlib.compress(row * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(20_000, 20_000), (100_000, 100_000)])
def test_decompression_bomb_is_refused_before_decoding(size):
    with pytest.raises(ImageError, match="decompression bomb") as caught:
        imaging.load(bomb_png(*size), "bomb.png")
    assert "smaller export" in caught.value.user_message


def test_truncated_jpeg_is_refused():
    data = encode(photo(), "JPEG", quality=90)
    with pytest.raises(ImageError, match=r"incomplete|damaged"):
        imaging.load(data[: len(data) // 2], "cut.jpg")
    with pytest.raises(ImageError, match="incomplete"):
        imaging.load(data[:-2], "no-eoi.jpg")


def test_truncated_png_is_refused():
    data = encode(photo(), "PNG")
    with pytest.raises(ImageError, match=r"incomplete|damaged"):
        imaging.load(data[: len(data) // 2], "cut.png")


def test_zero_byte_file_is_refused():
    with pytest.raises(ImageError, match="empty"):
        imaging.load(b"", "empty.jpg")


def test_text_file_named_jpg_is_refused_with_a_hint():
    with pytest.raises(ImageError, match="not a picture") as caught:
        imaging.load(b"Dear operator,\nthis is not a photo.\n", "letter.jpg")
    assert "text" in caught.value.user_message


def test_pdf_is_recognised_in_the_message():
    with pytest.raises(ImageError, match="PDF"):
        imaging.load(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "scan.jpg")


def test_byte_cap_applies_before_decoding(monkeypatch):
    monkeypatch.setattr(imaging, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(ImageError, match=r"reads images up to"):
        imaging.load(b"\xff\xd8" + b"\x00" * 2000, "huge.jpg")


def test_loaded_image_keeps_original_bytes():
    data = encode(photo(), "JPEG", quality=90)
    loaded = imaging.load(data, "x.jpg")
    assert isinstance(loaded, LoadedImage)
    assert loaded.data == data
    assert loaded.info.byte_size == len(data)
