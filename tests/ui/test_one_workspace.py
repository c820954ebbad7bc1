"""One workspace: the window's one image pair shows in every tab and results follow it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from ui.main_window import MainWindow

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def test_a_pair_loaded_in_one_tab_shows_in_every_tab_and_is_prepared_once_per_vendor(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            veriff = window.provider_tabs["veriff"]
            await veriff.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await veriff.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            await window.tasks.wait_idle()
            for provider_id, tab in window.provider_tabs.items():
                assert tab.images.id_photo.loaded is window.pair.image(tab.images.id_photo.kind)
                assert tab.images.selfie.loaded is not None, provider_id
                assert tab.images.selfie.loaded.name == "ada-selfie.jpg"
                name = service.info(provider_id).display_name
                assert f"Prepared for {name}" in tab.images.selfie.prepared_badge.text()
            # One preparation per image per distinct upload rules, made by the badges.
            rules = {service.info(p).upload_rules for p in window.provider_tabs}
            assert window.pair.prepare_count == 2 * len(rules)
            # An action reuses the badge's preparation instead of preparing again.
            azure = window.provider_tabs["azure_face"]
            await azure.context.prepared(azure.images.selfie)
            assert window.pair.prepare_count == 2 * len(rules)
            # Clearing anywhere clears everywhere.
            window.provider_tabs["glair"].images.selfie.clear_button.click()
            for tab in window.provider_tabs.values():
                assert tab.images.selfie.loaded is None
                assert not tab.images.selfie.clear_button.isEnabled()
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())
