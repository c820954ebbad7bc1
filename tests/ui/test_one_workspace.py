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


def test_the_compare_tab_shows_and_loads_the_same_pair_as_the_vendor_tabs(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            compare = window.compare_panel
            veriff = window.provider_tabs["veriff"]
            # Loaded in the Compare tab: every vendor tab has it, in the right slot.
            await compare.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await window.tasks.wait_idle()
            for tab in window.provider_tabs.values():
                assert tab.images.id_photo.loaded is compare.id_photo.loaded
                assert tab.images.selfie.loaded is None
            assert compare.id_photo.loaded is not None
            assert compare.selfie.loaded is None
            # Loaded in a vendor tab: the Compare tab has it and can run.
            await veriff.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            await window.tasks.wait_idle()
            assert compare.selfie.loaded is veriff.images.selfie.loaded
            assert compare.pair() is not None
            assert compare.compare_button.isEnabled()
            # Cleared in the Compare tab: gone from every tab.
            compare.selfie.clear()
            assert veriff.images.selfie.loaded is None
            assert compare.pair() is None
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())


def test_a_selfie_changed_in_another_tab_withdraws_azures_verdict(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    """The issue's case across tabs: Detect → Verify in Azure, then the selfie changes elsewhere."""
    from ui.panels.azure_face import AzureVerifyPanel

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            azure = window.provider_tabs["azure_face"]
            verify = next(p for p in azure.panels if isinstance(p, AzureVerifyPanel))
            await azure.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await azure.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            await window.tasks.wait_idle()
            verify.detect_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            verify.verify_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert "person" in verify.result.verdict.text().lower(), window.presenter.shown
            # Another selfie, loaded in the Compare tab.
            await window.compare_panel.selfie.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await window.tasks.wait_idle()
            assert "Out of date" in verify.result.verdict.text()
            assert "person" not in verify.result.verdict.text().lower()
            assert not verify.result.score.isVisibleTo(verify)
            assert not verify.verify_button.isEnabled()
            # Cleared in the GLAIR tab: still no verdict, Verify still waits for Detect.
            window.provider_tabs["glair"].images.selfie.clear()
            assert "person" not in verify.result.verdict.text().lower()
            assert not verify.verify_button.isEnabled()
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())


def test_slots_become_strips_once_an_image_is_loaded_and_the_verdict_fits_at_1024x700(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    """At 1024×700 the loaded pair is a strip: Azure's Verify button and verdict show unscrolled."""
    from ui.widgets.image_slot import STRIP_PREVIEW

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            window.resize(1024, 700)
            azure = window.provider_tabs["azure_face"]
            window.tabs.setCurrentWidget(azure)
            window.show()
            await asyncio.sleep(0.05)
            # The window fits a 1024 px wide screen: no tab is wider than that.
            assert window.minimumSizeHint().width() <= 1024
            assert window.width() == 1024
            empty_height = azure.images.height()
            assert not azure.images.compact
            assert azure.images.id_photo.preview.height() > STRIP_PREVIEW

            # Loaded in another tab, the pair turns into strips in every tab, both slots.
            veriff = window.provider_tabs["veriff"]
            await veriff.images.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
            await window.tasks.wait_idle()
            for tab in window.provider_tabs.values():
                assert tab.images.compact
                assert tab.images.selfie.compact  # the empty one too: a small drop target
            await azure.images.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
            await window.tasks.wait_idle()
            await asyncio.sleep(0.05)
            assert azure.images.id_photo.preview.height() == STRIP_PREVIEW
            assert azure.images.height() < empty_height - 100

            panel = next(p for p in azure.panels if type(p).__name__ == "AzureVerifyPanel")
            azure.panel_tabs.setCurrentIndex(azure.panels.index(panel))
            panel.detect_button.click()
            await asyncio.sleep(0.05)
            await window.tasks.wait_idle()
            panel.verify_button.click()
            await asyncio.sleep(0.05)
            await window.tasks.wait_idle()
            await asyncio.sleep(0.05)
            assert "Same person" in panel.result.verdict.text()
            viewport = azure.panel_tabs.currentWidget()
            for widget in (panel.verify_button, panel.result.verdict):
                bottom = widget.mapTo(viewport, widget.rect().bottomLeft()).y()
                assert 0 <= bottom <= viewport.height(), type(widget).__name__

            # Both cleared: the large drop targets come back.
            azure.images.id_photo.clear_button.click()
            azure.images.selfie.clear_button.click()
            await window.tasks.wait_idle()
            assert not azure.images.compact
            window.hide()  # closing the last shown window would stop the loop

    qloop.run_until_complete(scenario())
