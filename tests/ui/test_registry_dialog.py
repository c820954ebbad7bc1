"""The session registry dialog: every vendor's sessions, operator labels, and forgetting."""

from __future__ import annotations

import asyncio
from typing import Any

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from ui.dialogs.confirm import Question
from ui.dialogs.registry_dialog import LABEL_COLUMN, RegistryDialog
from ui.tasks import TaskRunner


def test_labels_filter_and_forget(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    confirmations: list[Question],
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            await service.record_session("glair", "sid-glair-1", kind="passive", status="PENDING")
            await service.record_session("veriff", "f0e1-veriff", kind="session", status="approved")
            runner = TaskRunner(on_error=lambda exc, retry: None)
            dialog = RegistryDialog(service, runner)
            qtbot.addWidget(dialog)
            await runner.wait_idle()
            assert dialog.table.rowCount() == 2
            ids = {dialog.table.item(r, 2).text() for r in range(2)}
            assert ids == {"sid-glair-1", "f0e1-veriff"}

            # The operator labels the Veriff session with a case number.
            row = next(r for r in range(2) if dialog.table.item(r, 2).text() == "f0e1-veriff")
            dialog.table.item(row, LABEL_COLUMN).setText("CASE-4711")
            await asyncio.sleep(0)
            await runner.wait_idle()
            stored = await service.all_sessions()
            assert {r.session_id: r.label for r in stored}["f0e1-veriff"] == "CASE-4711"

            dialog.search.setText("case-4711")
            assert [r.session_id for r in dialog.visible_records()] == ["f0e1-veriff"]
            dialog.table.setCurrentCell(0, 0)
            dialog.forget_button.click()
            await asyncio.sleep(0)
            await runner.wait_idle()
            assert [r.session_id for r in await service.all_sessions()] == ["sid-glair-1"]

    qloop.run_until_complete(scenario())
    assert "nothing is sent to the vendor" in confirmations[-1].details
