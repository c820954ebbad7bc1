"""Renders the README screenshot: the GLAIR tab on the Sandbox after a face match.

Run under a display or Xvfb, e.g.
    xvfb-run -a .venv/bin/python scripts/demo_screenshot.py docs/screenshot.png glair
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


async def render(target: Path, tab: str) -> None:
    from app.paths import AppPaths
    from app.secrets import MemorySecretStore
    from app.services import open_service
    from ui.main_window import MainWindow

    scratch = Path(tempfile.mkdtemp(prefix="facedesk-shot-"))
    paths = AppPaths(scratch / "config", scratch / "data", scratch / "logs")
    async with open_service(paths, secrets=MemorySecretStore()) as service:
        window = MainWindow(service)
        window.banner.hide()
        window.resize(1360, 900)
        provider_tab = window.provider_tabs[tab]
        window.tabs.setCurrentWidget(provider_tab)
        window.show()
        await provider_tab.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
        await provider_tab.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
        await window.tasks.wait_idle()
        panel = provider_tab.panels[0]
        button = getattr(panel, "match_button", None)
        if button is not None:
            button.click()
        await asyncio.sleep(0.3)
        await window.tasks.wait_idle()
        await asyncio.sleep(0.3)
        window.grab().save(str(target))
        window.close()


def main() -> int:
    os.environ.setdefault("QT_API", "pyside6")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png")
    tab = sys.argv[2] if len(sys.argv) > 2 else "glair"
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app, "light")
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(render(target, tab))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
