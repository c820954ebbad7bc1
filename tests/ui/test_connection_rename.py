"""Renaming a saved connection in its dialog keeps the credentials stored under it."""

from __future__ import annotations

import asyncio
from typing import Any

from app.services import VerificationService
from app.settings import ConnectionProfile
from ui.dialogs.connection_dialog import ConnectionDialog
from ui.tasks import TaskRunner


def test_renaming_in_the_dialog_moves_the_credentials(
    qloop: asyncio.AbstractEventLoop, ui_service: VerificationService, qtbot: Any
) -> None:
    async def scenario() -> None:
        service = ui_service
        await service.save_profile(
            ConnectionProfile("veriff", "Prod", {"base_url": "https://stationapi.veriff.com/v1"})
        )
        await service.save_credentials(
            "veriff", "Prod", {"api_key": "key-1", "shared_secret": "shown-once"}
        )
        errors: list[Exception] = []
        tasks = TaskRunner(on_error=errors.append)
        dialog = ConnectionDialog(service, tasks, "veriff", "Prod")
        qtbot.addWidget(dialog)
        await asyncio.sleep(0)
        await tasks.wait_idle()
        dialog.name_edit.setText("Production")
        dialog.save_button.click()
        await asyncio.sleep(0)
        await tasks.wait_idle()
        assert errors == []
        assert "Prod" not in service.connections("veriff")
        presence = await service.credential_presence("veriff", "Production")
        assert presence == {"api_key": True, "shared_secret": True}
        assert not any((await service.credential_presence("veriff", "Prod")).values())

    qloop.run_until_complete(scenario())
