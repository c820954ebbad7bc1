"""The Azure tab on the Sandbox connection, in each of the four API versions.

The version is switched in the tab's own selector (as an operator would), then a
liveness-with-verify session goes through create → simulate device → result → delete.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.settings import SettingsStore
from app.vendors.azure_face.types import SessionKind
from tests.ui.test_azure_face_panels import face_jpeg
from ui.dialogs.confirm import Question
from ui.main_window import MainWindow
from ui.panels.azure_face import AzureSessionsPanel


@pytest.mark.parametrize(
    ("version", "lists"),
    [
        ("v1.1-preview.1", True),
        ("v1.2-preview.1", True),
        ("v1.2", False),
        ("v1.3-preview.1", False),
    ],
)
def test_sessions_work_in_every_api_version_on_the_sandbox(
    version: str,
    lists: bool,
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    confirmations: list[Question],
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            tab = window.provider_tabs["azure_face"]
            panel = next(p for p in tab.panels if isinstance(p, AzureSessionsPanel))
            combo = tab.option_combos["api_version"]
            combo.setCurrentText(version)
            combo.activated.emit(combo.currentIndex())
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert service.is_sandbox("azure_face")
            assert service.connection_fields("azure_face")["api_version"] == version
            assert f"<b>{version}</b>" in panel.version_label.text()
            assert panel.audit_button.isVisibleTo(panel) is lists

            for slot, seed in ((tab.images.id_photo, 1), (tab.images.selfie, 1)):
                slot.set_loaded(await service.load_image_bytes(face_jpeg(seed), "face.jpg"))
            await window.tasks.wait_idle()
            panel.kind.setCurrentIndex(1)  # liveness with verify, reference = the ID photo
            panel.device_id.setText("kiosk-1")
            panel.create_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert window.presenter.shown[-1].startswith("Session created"), window.presenter.shown
            assert panel.sessions.count() == 1
            panel.outcome.setCurrentText("realface")
            panel.simulate_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert "Live person" in panel.result.verdict.text()
            panel.delete_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert panel.sessions.count() == 0
            records = await service.sessions("azure_face", str(SessionKind.LIVENESS_WITH_VERIFY))
            assert all(r.extra.get("api_version") == version for r in records)
            window.close()
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
    assert confirmations
    # The Sandbox's version choice is remembered (no URL or secret in it).
    saved = SettingsStore(app_paths.settings_file).load()
    assert saved.sandbox["azure_face"]["api_version"] == version


def test_deleting_a_session_azure_no_longer_has_clears_it_and_says_so(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    confirmations: list[Question],
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            tab = window.provider_tabs["azure_face"]
            panel = next(p for p in tab.panels if isinstance(p, AzureSessionsPanel))
            panel.device_id.setText("kiosk-2")
            panel.create_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert panel.sessions.count() == 1
            # Deleted behind the tab's back (another operator, or a lost reply to a retried call).
            session_id = (await service.sessions("azure_face"))[0].session_id
            await panel.provider.delete_session(SessionKind.LIVENESS, session_id)
            panel.delete_button.click()
            await asyncio.sleep(0)
            await window.tasks.wait_idle()
            assert panel.sessions.count() == 0
            assert "no longer has" in window.presenter.shown[-1]
            outcomes = [e.outcome for e in await service.audit_entries("azure_face")]
            assert outcomes[0].startswith("failed: NotFound")
            window.close()
            await window.tasks.wait_idle()

    qloop.run_until_complete(scenario())
