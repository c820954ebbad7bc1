"""Property tests: whatever the size, mode, format, truncation or rules, the pipeline returns a
valid JPEG/PNG within the rules with no metadata left, or a clean ImageError; never a crash."""

from __future__ import annotations

import contextlib
import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app import imaging
from app.domain import ImageFormat, UploadRules
from app.errors import ImageError
from tests.unit.test_imaging import assert_clean, exif_with

MODES = ("RGB", "L", "P", "RGBA", "LA", "CMYK", "1", "I;16")
FORMATS = {
    "JPEG": ("RGB", "L", "CMYK"),
    "PNG": ("RGB", "L", "P", "RGBA", "LA", "1", "I;16"),
    "WEBP": ("RGB", "RGBA"),
    "GIF": ("P", "L"),
    "TIFF": ("RGB", "L", "CMYK", "RGBA", "1"),
    "BMP": ("RGB", "L", "P", "1"),
}


def make(width: int, height: int, mode: str, fmt: str, seed: int, metadata: bool) -> bytes:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    image = image.convert("L").convert("I").point(lambda v: v * 257) if mode == "I;16" else image
    image = image.convert(mode)
    params: dict[str, object] = {}
    if metadata and fmt in ("JPEG", "PNG", "WEBP"):
        params["exif"] = exif_with(orientation=rng.randint(1, 8))
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@st.composite
def inputs(draw: st.DrawFn) -> tuple[bytes, UploadRules]:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    width = draw(st.integers(1, 300))
    height = draw(st.integers(1, 300))
    data = make(width, height, mode, fmt, draw(st.integers(0, 10**6)), draw(st.booleans()))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    formats = draw(
        st.sampled_from(
            [(ImageFormat.JPEG, ImageFormat.PNG), (ImageFormat.JPEG,), (ImageFormat.PNG,)]
        )
    )
    rules = UploadRules(
        max_bytes=draw(st.integers(2_000, 400_000)),
        min_bytes=draw(st.sampled_from([0, 0, 1024])),
        formats=formats,
        min_dimension=draw(st.sampled_from([1, 1, 36])),
        max_dimension=draw(st.sampled_from([None, 1920, 150])),
        recommended_max_dimension=draw(st.sampled_from([None, 200])),
        limit_applies_to_base64=draw(st.booleans()),
    )
    return data, rules


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inputs())
def test_output_is_valid_and_clean_or_a_clean_image_error(case):
    data, rules = case
    error: ImageError | None = None
    try:
        encoded = imaging.prepare(imaging.load(data, "case"), rules)
    except ImageError as exc:
        error = exc
    if error is not None:
        assert error.user_message.startswith("case ")
        return
    image = assert_clean(encoded, rules)
    if rules.max_dimension:
        assert max(image.size) <= rules.max_dimension
    assert min(image.size) >= rules.min_dimension


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=2048))
def test_arbitrary_bytes_never_crash(data):
    with contextlib.suppress(ImageError):
        imaging.load(data, "junk")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 64), st.binary(min_size=1, max_size=8))
def test_corrupted_jpeg_bytes_are_rejected_or_decoded(seed, position, garbage):
    data = bytearray(make(64, 48, "RGB", "JPEG", seed, metadata=True))
    offset = position * len(data) // 65
    data[offset : offset + len(garbage)] = garbage
    try:
        encoded = imaging.prepare(imaging.load(bytes(data), "case"), UploadRules(max_bytes=50_000))
    except ImageError:
        return
    assert_clean(encoded, UploadRules(max_bytes=50_000))
