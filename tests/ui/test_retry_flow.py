"""A transient vendor failure offers Retry in the banner, and Retry runs the operation again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from ui.main_window import MainWindow
from ui.panels.glair import GlairFaceMatchPanel

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def test_retry_after_a_503_runs_the_match_again(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            tab = window.provider_tabs["glair"]
            panel = next(p for p in tab.panels if isinstance(p, GlairFaceMatchPanel))
            await tab.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await tab.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            await window.tasks.wait_idle()
            # POST is never retried automatically, so one 503 reaches the operator.
            await service.sandbox_admin(
                "POST",
                "/faults",
                {
                    "kind": "status",
                    "path": "/glair/face/v1/match",
                    "status": 503,
                    "body": {"error": "busy"},
                },
            )
            panel.match_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            banner = window.banner
            assert not banner.isHidden()
            assert not banner.retry_button.isHidden()
            assert "No result" in panel.result.verdict.text() or "Match" not in (
                panel.result.verdict.text()
            )
            banner.retry_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert banner.isHidden()
            assert "Match" in panel.result.verdict.text()
            window.close()
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
