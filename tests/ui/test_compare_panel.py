"""The Compare tab on the in-process sandbox: rows per vendor, rectangles, cancel, stale, export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.services import VerificationService
from app.workflows.compare import RowState, RowVerdict
from ui.errors import ErrorPresenter
from ui.panels.compare import ComparePanel
from ui.tasks import TaskRunner

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


async def until(condition: Any, limit: float = 8.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110  # widget state has no event to await
            await asyncio.sleep(0.02)


def make(qtbot: Any, service: VerificationService, presenter: ErrorPresenter) -> ComparePanel:
    panel = ComparePanel(service, TaskRunner(on_error=presenter.show), presenter)
    qtbot.addWidget(panel)
    return panel


def cell(panel: ComparePanel, vendor: str, column: int) -> str:
    item = panel.table.item(panel.vendors.index(vendor), column)
    assert item is not None
    return item.text()


async def load(panel: ComparePanel, selfie: str) -> None:
    await panel.id_photo.load_file(str(SAMPLES / "ada-id-photo.jpg"))
    await panel.selfie.load_file(str(SAMPLES / selfie))
    await panel.tasks.wait_idle()


def test_compare_shows_every_vendor_side_by_side_with_rectangles(
    qloop: asyncio.AbstractEventLoop,
    qtbot: Any,
    ui_service: VerificationService,
    presenter: ErrorPresenter,
    tmp_path: Path,
) -> None:
    panel = make(qtbot, ui_service, presenter)

    async def scenario() -> None:
        assert panel.vendors == ("azure_face", "uqudo", "glair")
        assert not panel.compare_button.isEnabled()
        await load(panel, "group-three-faces.jpg")
        assert panel.compare_button.isEnabled()
        panel.compare_button.click()
        await panel.tasks.wait_idle()
        assert cell(panel, "azure_face", 2) == "inconclusive"
        assert cell(panel, "uqudo", 2) == "match"
        assert cell(panel, "glair", 2) == "inconclusive"
        assert "level 1–5" in cell(panel, "uqudo", 3)
        assert cell(panel, "uqudo", 4) == "3"
        assert cell(panel, "azure_face", 5).endswith(" ms")
        assert panel.request_ids["azure_face"].value()
        assert "Disagreement" in panel.disagreement_label.text()
        # The rows say which pair and time they belong to; uqudo gives no request id to copy.
        pair = panel.pair()
        assert pair is not None
        selfie_print = pair.fingerprints[1].split("sha256:")[1][:8]
        assert selfie_print in panel.provenance_label.text()
        assert "answered by" in panel.provenance_label.text()
        assert not panel.request_ids["uqudo"].copy_button.isEnabled()
        assert panel.request_ids["azure_face"].copy_button.isEnabled()
        # Azure found one face on the ID photo and three on the group strip.
        assert panel.id_faces.box_count == 1
        assert panel.selfie_faces.box_count == 3
        assert "Veriff has no synchronous 1:1 face match" in panel.intro.text()

        # Another selfie: every row is stale until it runs again, rectangles are dropped.
        await panel.selfie.load_file(str(SAMPLES / "ada-selfie.jpg"))
        await panel.tasks.wait_idle()
        assert cell(panel, "glair", 2) == "inconclusive (stale)"
        assert "3 row(s)" in panel.stale_label.text()
        assert panel.selfie_faces.box_count == 0
        assert panel.disagreement_label.text() == ""
        assert panel.provenance_label.text() == ""  # no row is for the pair on screen
        panel.controls["glair"].rerun_button.click()
        await panel.tasks.wait_idle()
        assert cell(panel, "glair", 2) == "match"
        assert "2 row(s)" in panel.stale_label.text()

        panel.export_to(tmp_path / "c.json", "json")
        document = json.loads((tmp_path / "c.json").read_text())
        assert {r["vendor"]: r["stale"] for r in document["rows"]} == {
            "azure_face": True,
            "uqudo": True,
            "glair": False,
        }
        panel.export_to(tmp_path / "c.csv", "csv")
        lines = (tmp_path / "c.csv").read_text().splitlines()
        assert lines[0].startswith("vendor,connection,verdict,score")
        assert len(lines) == 4
        assert "ada" not in (tmp_path / "c.json").read_text()

    qloop.run_until_complete(scenario())


def test_a_row_can_be_cancelled_while_the_others_answer(
    qloop: asyncio.AbstractEventLoop,
    qtbot: Any,
    ui_service: VerificationService,
    presenter: ErrorPresenter,
) -> None:
    panel = make(qtbot, ui_service, presenter)

    async def scenario() -> None:
        await ui_service.sandbox_admin(
            "POST", "/faults", {"path": "^/uqudo/api/v1/face/match", "kind": "delay", "delay": 5}
        )
        await load(panel, "ben-selfie.jpg")
        panel.compare_all()
        await until(lambda: panel.controls["uqudo"].cancel_button.isEnabled())
        assert panel.controls["uqudo"].progress.isVisibleTo(panel)
        await until(lambda: cell(panel, "glair", 2) == "no match")
        panel.controls["uqudo"].cancel_button.click()
        await panel.tasks.wait_idle()
        row = panel.row("uqudo")
        assert row is not None
        assert row.cancelled
        assert row.state is RowState.DONE
        assert row.verdict is RowVerdict.ERROR
        assert cell(panel, "uqudo", 2) == "error"
        assert "Cancelled" in cell(panel, "uqudo", 8)
        assert cell(panel, "azure_face", 2) == "no match"
        assert not panel.controls["uqudo"].progress.isVisibleTo(panel)

    qloop.run_until_complete(scenario())
