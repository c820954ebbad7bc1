"""Render resources/icons/facedesk.svg into every icon file the platforms need.

    .venv/bin/python packaging/make_icons.py            # write the files
    .venv/bin/python packaging/make_icons.py --check    # exit 1 if any file is missing

Writes facedesk-<N>.png (N = 16 … 512) beside the SVG, facedesk.ico (Windows: 16–256) and
facedesk.icns (macOS: 16–1024). Qt's SVG renderer draws each size from the vector source, so
small sizes are rasterised at their own resolution instead of being shrunk from a big PNG.
The outputs are committed: building a bundle never needs this script.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICON_DIR = ROOT / "resources" / "icons"
SVG = ICON_DIR / "facedesk.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def png_path(size: int) -> Path:
    return ICON_DIR / f"facedesk-{size}.png"


def outputs() -> list[Path]:
    return [
        *(png_path(size) for size in PNG_SIZES),
        ICON_DIR / "facedesk.ico",
        ICON_DIR / "facedesk.icns",
    ]


def render(sizes: tuple[int, ...]) -> dict[int, bytes]:
    """PNG bytes of the SVG at each size, transparent outside the tile."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {SVG} is not a valid SVG")
    result: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        result[size] = bytes(data.data())
    return result


def write_all() -> None:
    from PIL import Image

    rendered = render(tuple(sorted({*PNG_SIZES, *ICO_SIZES, *ICNS_SIZES})))
    for size in PNG_SIZES:
        png_path(size).write_bytes(rendered[size])
        print(f"wrote {png_path(size).relative_to(ROOT)}")

    images = {size: Image.open(io.BytesIO(rendered[size])).convert("RGBA") for size in rendered}
    # ICO: the largest frame is the base image, each smaller size is its own rendered frame.
    ico = ICON_DIR / "facedesk.ico"
    largest = images[max(ICO_SIZES)]
    largest.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    print(f"wrote {ico.relative_to(ROOT)}")
    # ICNS: Pillow picks the frames it needs from append_images by size.
    icns = ICON_DIR / "facedesk.icns"
    images[max(ICNS_SIZES)].save(
        icns,
        format="ICNS",
        append_images=[images[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)],
    )
    print(f"wrote {icns.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the files exist")
    args = parser.parse_args(argv)
    if args.check:
        missing = [p for p in outputs() if not p.is_file()]
        for path in missing:
            print(f"missing: {path.relative_to(ROOT)}")
        return 1 if missing else 0
    write_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
