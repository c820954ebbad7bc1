"""Inspect… on an image slot: findings with their limits, the stripped metadata, the ELA map,
and the findings recorded on the active case."""

from __future__ import annotations

import asyncio
from typing import Any

from app.services import VerificationService
from app.workflows.report import case_report, render_pdf
from tests.forensics_fixtures import camera_jpeg, editor_resave
from ui.dialogs.inspect_dialog import InspectDialog
from ui.main_window import MainWindow


async def until(condition: Any, limit: float = 15.0) -> None:
    """Poll with asyncio (never qtbot.wait* inside a coroutine on the qasync loop)."""
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def column(table: Any, index: int) -> list[str]:
    return [table.item(row, index).text() for row in range(table.rowCount())]


def test_inspect_shows_findings_metadata_and_ela_and_records_them_on_the_case(
    qloop: asyncio.AbstractEventLoop, qtbot: Any, ui_service: VerificationService
) -> None:
    async def scenario() -> None:
        window = MainWindow(ui_service)
        qtbot.addWidget(window)
        tab = window.provider_tabs["glair"]
        slot = tab.images.id_photo
        assert not slot.inspect_button.isEnabled()
        edited = editor_resave(camera_jpeg(3))
        slot.set_loaded(await ui_service.load_image_bytes(edited, "edited.jpg"))
        assert slot.inspect_button.isEnabled()
        await asyncio.to_thread(ui_service.case_book().new_case, "CASE-INSPECT-1")
        ui_service.active_case = "CASE-INSPECT-1"

        dialog = slot.inspect()
        assert isinstance(dialog, InspectDialog)
        await until(lambda: dialog.report is not None)
        levels = column(dialog.findings, 0)
        assert "alert" in levels  # the editor's software tag and re-save
        assert all(text for text in column(dialog.findings, 3))  # every finding says its limits
        tags = column(dialog.metadata, 1)
        assert any("Make" in tag for tag in tags)
        assert "yes" in column(dialog.metadata, 3)  # GPS and serials are marked identifying
        pixmap = dialog.ela.pixmap()
        assert pixmap is not None
        assert not pixmap.isNull()
        assert dialog.report is not None
        assert dialog.report.sha256 in dialog.summary.text()

        assert dialog.record_button.isEnabled()
        dialog.record_button.click()
        await window.tasks.wait_idle()
        await until(lambda: not dialog.record_button.isEnabled())
        case = await asyncio.to_thread(ui_service.case_book().case_file, "CASE-INSPECT-1")
        assert len(case.forensics) == 1
        assert case.forensics[0].sha256 == dialog.report.sha256
        # The evidence report carries the findings with the fingerprint, and no map link.
        document = await asyncio.to_thread(case_report, ui_service.case_book(), "CASE-INSPECT-1")
        (recorded,) = document["forensics"]
        assert recorded["sha256"] == dialog.report.sha256
        assert any(f["level"] == "alert" for f in recorded["findings"])
        assert "openstreetmap" not in str(recorded)
        pdf = await asyncio.to_thread(render_pdf, document)
        assert pdf.startswith(b"%PDF")
        dialog.close()

    qloop.run_until_complete(scenario())
