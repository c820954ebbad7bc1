"""The image pipeline: load any photo, preview it, and prepare it for a vendor's upload rules.

(First version: decode, orient, strip metadata, fit the byte limit. See load() and prepare().)
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from app.domain import EncodedImage, ImageFormat, ImageInfo, LoadedImage, UploadRules
from app.errors import ImageError

MAX_INPUT_BYTES = 100 * 1024 * 1024
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = 320


def _open(data: bytes, name: str) -> Image.Image:
    if not data:
        raise ImageError(f"{name} is empty (0 bytes). Choose another file.")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(f"{name} is larger than 100 MB. Choose a smaller image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"{name} has too many pixels to be a photo. Use a smaller image.")
            image.load()
    except ImageError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise ImageError(f"{name} is not an image FaceDesk can read. Use a JPEG or PNG.") from exc
    return image


def load(data: bytes, name: str) -> LoadedImage:
    image = _open(data, name)
    info = ImageInfo(
        format=image.format or "unknown",
        width=image.width,
        height=image.height,
        byte_size=len(data),
        metadata=tuple(k for k in ("exif", "xmp", "icc_profile") if k in image.info),
    )
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    thumb.save(out, "PNG")
    return LoadedImage(name=name, data=data, info=info, thumbnail_png=out.getvalue())


def prepare(loaded: LoadedImage, rules: UploadRules) -> EncodedImage:
    image = ImageOps.exif_transpose(_open(loaded.data, loaded.name)).convert("RGB")
    limit = rules.effective_raw_limit
    if rules.max_dimension and max(image.size) > rules.max_dimension:
        image.thumbnail((rules.max_dimension, rules.max_dimension))
    for quality in (92, 85, 75, 65, 50, 40):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= limit:
            return EncodedImage(
                data=out.getvalue(),
                format=ImageFormat.JPEG,
                width=image.width,
                height=image.height,
                removed=("metadata",),
                source_name=loaded.name,
            )
        image.thumbnail((int(image.width * 0.8), int(image.height * 0.8)))
    raise ImageError(f"{loaded.name} cannot be made small enough for this vendor.")
