"""The bundled resources folder and the app icon, in a source tree and a PyInstaller bundle.

Kept apart from the About box so that the window's shell can set its icon before anything
heavier is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    """The `resources/` folder: beside the packages in a source tree and in a frozen bundle."""
    # PyInstaller sets __file__ of bundled modules inside sys._MEIPASS, so one rule covers
    # both; _MEIPASS is checked first in case a future bootloader changes that.
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "resources").is_dir():
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def app_icon() -> QIcon:
    """The FaceDesk icon at every rendered size; the desktop theme's icon if none is bundled."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in ICON_SIZES:
        path = folder / f"facedesk-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    if icon.isNull():
        return QIcon.fromTheme("facedesk")
    return icon
