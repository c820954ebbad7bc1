"""Image forensics on generated photos: quality, hashes, ELA, GPS, thumbnails, hostile input."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from app import forensics
from app.errors import ImageError
from app.forensics import metadata, pixels
from tests import forensics_fixtures as fx


@pytest.mark.parametrize("quality", [30, 50, 65, 75, 85, 92, 97])
def test_quality_is_estimated_from_the_tables_within_three(quality: int) -> None:
    report = forensics.inspect_image(fx.jpeg_at(fx.scene(3), quality), "q.jpg", with_ela=False)
    assert report.jpeg_quality is not None
    assert abs(report.jpeg_quality - quality) <= 3
    assert report.finding("jpeg.tables").data["table_kind"] == "standard"  # type: ignore[union-attr]


def test_camera_tables_are_called_custom() -> None:
    report = forensics.inspect_image(fx.camera_jpeg(1), "c.jpg", with_ela=False)
    assert report.finding("jpeg.tables").data["table_kind"] == "custom"  # type: ignore[union-attr]


def test_perceptual_hash_survives_reencoding_and_tells_scenes_apart() -> None:
    picture = fx.scene(5)
    original = pixels.phash(picture)
    resaved = Image.open(io.BytesIO(fx.jpeg_at(picture, 60)))
    assert pixels.hamming(original, pixels.phash(resaved)) <= 4
    assert pixels.hamming(pixels.dhash(picture), pixels.dhash(resaved)) <= 6
    assert pixels.hamming(original, pixels.phash(fx.scene(6))) >= 16


def test_ela_overlay_is_a_png_of_bounded_size() -> None:
    levels = pixels.error_levels(fx.scene(2, (1600, 1000)))
    assert levels is not None
    overlay = Image.open(io.BytesIO(levels.overlay_png))
    assert overlay.format == "PNG"
    assert max(overlay.size) == pixels.ELA_OVERLAY_SIDE
    assert levels.peak >= levels.mean > 0


def test_gps_rationals_become_signed_decimal_degrees() -> None:
    exif = fx.camera_exif()
    gps = dict(exif.get_ifd(0x8825))
    position = metadata.gps_position(gps)
    assert position is not None
    assert position.latitude == pytest.approx(fx.GPS_LATITUDE, abs=1e-5)
    assert position.longitude == pytest.approx(fx.GPS_LONGITUDE, abs=1e-5)
    gps[1], gps[3] = "S", "W"
    south_west = metadata.gps_position(gps)
    assert south_west is not None
    assert south_west.latitude < 0
    assert south_west.longitude < 0
    assert "openstreetmap.org/?mlat=-48.858" in south_west.map_url


def test_double_compression_seen_after_a_coarser_first_save_only() -> None:
    picture = fx.scene(4)
    once = fx.jpeg_at(picture, 97)
    twice = fx.jpeg_at(Image.open(io.BytesIO(fx.jpeg_at(picture, 60))).convert("RGB"), 97)

    def detected(data: bytes) -> bool:
        report = forensics.inspect_image(data, "x.jpg", with_ela=False)
        return bool(report.finding("jpeg.double_compression").data["detected"])  # type: ignore[union-attr]

    assert not detected(once)
    assert detected(twice)


def test_truncated_jpeg_is_refused() -> None:
    data = fx.camera_jpeg(1)
    with pytest.raises(ImageError, match=r"incomplete|damaged"):
        forensics.inspect_image(data[: len(data) // 2], "cut.jpg")


def test_text_named_jpg_is_refused() -> None:
    with pytest.raises(ImageError, match="contains text"):
        forensics.inspect_image(b"just some notes\n" * 20, "notes.jpg")


def test_huge_declared_size_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[16:24] = (40000).to_bytes(4, "big") + (40000).to_bytes(4, "big")  # IHDR width/height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ImageError, match="decompression bomb"):
        forensics.inspect_image(bytes(data), "bomb.png")
