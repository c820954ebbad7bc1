"""Draws the synthetic sample portraits shipped in resources/samples (no real person in them).

Run: .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "resources" / "samples"


def portrait(
    seed: int,
    skin: tuple[int, int, int],
    hair: tuple[int, int, int],
    background: tuple[int, int, int],
    size: tuple[int, int] = (600, 750),
) -> Image.Image:
    rng = random.Random(seed)
    w, h = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for y in range(h):  # soft vertical gradient
        shade = int(30 * y / h)
        draw.line([(0, y), (w, y)], fill=tuple(max(0, c - shade) for c in background))
    cx, cy = w // 2, int(h * 0.42)
    hw, hh = int(w * (0.22 + rng.random() * 0.04)), int(h * (0.22 + rng.random() * 0.03))
    draw.ellipse(
        (cx - int(w * 0.42), int(h * 0.78), cx + int(w * 0.42), h + int(h * 0.3)),
        fill=tuple(rng.randrange(40, 160) for _ in range(3)),
    )  # shoulders
    draw.rectangle((cx - hw // 3, cy + hh - 20, cx + hw // 3, int(h * 0.82)), fill=skin)  # neck
    draw.ellipse((cx - hw - 12, cy - hh - 30, cx + hw + 12, cy + hh - 40), fill=hair)
    draw.ellipse((cx - hw, cy - hh, cx + hw, cy + hh), fill=skin)
    eye_dx, eye_y = int(hw * (0.38 + rng.random() * 0.1)), cy - int(hh * 0.15)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse((ex - 22, eye_y - 11, ex + 22, eye_y + 11), fill=(250, 250, 250))
        draw.ellipse(
            (ex - 9, eye_y - 9, ex + 9, eye_y + 9),
            fill=tuple(rng.randrange(30, 120) for _ in range(3)),
        )
        draw.line((ex - 26, eye_y - 30 - rng.randrange(6), ex + 24, eye_y - 32), fill=hair, width=7)
    draw.line(
        (cx, eye_y + 10, cx - 12, cy + int(hh * 0.3)), fill=tuple(c - 40 for c in skin), width=5
    )
    mouth_y = cy + int(hh * (0.52 + rng.random() * 0.08))
    draw.arc((cx - 45, mouth_y - 20, cx + 45, mouth_y + 18), 15, 165, fill=(150, 60, 60), width=6)
    noisy = image.filter(ImageFilter.GaussianBlur(1.2))
    pixels = noisy.load()
    assert pixels is not None
    for _ in range(w * h // 6):
        x, y = rng.randrange(w), rng.randrange(h)
        r, g, b = pixels[x, y]  # type: ignore[misc]
        d = rng.randrange(-12, 13)
        pixels[x, y] = (max(0, min(255, r + d)), max(0, min(255, g + d)), max(0, min(255, b + d)))
    return noisy


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ada = portrait(7, skin=(224, 180, 150), hair=(60, 40, 30), background=(196, 214, 232))
    ben = portrait(21, skin=(150, 105, 80), hair=(20, 20, 24), background=(225, 225, 205))
    ada.save(OUT / "ada-id-photo.jpg", quality=90)
    selfie = ada.crop((18, 24, 588, 738)).resize((480, 600))
    selfie = ImageEnhance.Brightness(selfie).enhance(1.08)
    # A phone selfie carries metadata an operator must not forward: FaceDesk strips it.
    exif = Image.Exif()
    exif[0x010F] = "ExamplePhone Inc."  # Make
    exif[0x0110] = "Example X1"  # Model
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 5.5), 3: "E", 4: (4.0, 53.0, 38.2)}  # GPS
    selfie.save(OUT / "ada-selfie.jpg", quality=82, exif=exif)
    ben.resize((480, 600)).save(OUT / "ben-selfie.jpg", quality=85)
    ada.convert("L").convert("RGB").resize((480, 600)).save(
        OUT / "ada-printout-spoof.jpg", quality=85
    )
    group = Image.new("RGB", (1440, 600))
    group.paste(ada.resize((480, 600)), (0, 0))
    group.paste(ben.resize((480, 600)), (480, 0))
    group.paste(
        portrait(33, (200, 160, 120), (110, 70, 30), (210, 230, 210)).resize((480, 600)), (960, 0)
    )
    group.save(OUT / "group-three-faces.jpg", quality=85)
    Image.new("RGB", (480, 600), (201, 190, 180)).save(OUT / "blank-no-face.jpg", quality=90)


if __name__ == "__main__":
    main()
