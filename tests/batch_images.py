"""Synthetic face photos for batch tests: distinct people, and re-encoded variants of each.

The sandbox's 1:N index compares perceptual hashes (app.sandbox.similarity), so a blocky-noise
picture stands for a person: the same seed re-encoded or resized is the same "face", another
seed a stranger.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image


def person(seed: int, size: tuple[int, int] = (400, 500)) -> Image.Image:
    rng = random.Random(seed)
    cols, rows = size[0] // 25, size[1] // 25
    small = Image.new("RGB", (cols, rows))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(cols * rows)]
    )
    return small.resize(size, Image.Resampling.NEAREST)


def encoded(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def original(seed: int) -> bytes:
    return encoded(person(seed), "JPEG", quality=92)


def variants(seed: int) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """Two re-encodings of one person: a low-quality smaller JPEG and a resized PNG."""
    image = person(seed)
    smaller = image.resize((320, 400), Image.Resampling.BILINEAR)
    larger = image.resize((480, 600), Image.Resampling.BICUBIC)
    return (("jpg", encoded(smaller, "JPEG", quality=55)), ("png", encoded(larger, "PNG")))


def write_people(folder: Path, seeds: range | list[int], prefix: str = "person") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"{prefix}-{seed:03d}.jpg"
        path.write_bytes(original(seed))
        paths.append(path)
    return paths
