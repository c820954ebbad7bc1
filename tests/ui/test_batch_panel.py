"""The Batch panel on the in-process sandbox: confirm before inserting, live rows, pause and
resume, cancel after the requests in flight, start again to finish, open a row in the tab."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.workflows.batch import ItemState
from app.workflows.pair import PairSlot
from tests.batch_images import write_people
from tests.ui.conftest import settle
from ui.dialogs import confirm
from ui.panels.batch import BatchPanel
from ui.provider_tab import ProviderTab


async def until(condition: Any) -> None:
    """Poll with asyncio (never qtbot.wait* inside a coroutine on the qasync loop)."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def make(qtbot: Any, factory: Any, provider_id: str = "uqudo") -> tuple[Any, BatchPanel]:
    ctx = factory(provider_id)
    panel = BatchPanel(ctx)
    qtbot.addWidget(panel)
    return ctx, panel


def test_insert_asks_first_and_rows_fill_in_input_order(
    qtbot: Any, qloop: Any, panel_context_factory: Any, confirmations: list[Any], tmp_path: Path
) -> None:
    ctx, panel = make(qtbot, panel_context_factory)
    write_people(tmp_path / "in", range(5))
    panel.folder_edit.setText(str(tmp_path / "in"))
    panel.insert_check.setChecked(True)
    panel.out_edit.setText(str(tmp_path / "rows.csv"))

    async def scenario() -> None:
        panel.start_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert [q.confirm_label for q in confirmations] == ["Insert"]
    assert panel.model.rowCount() == 5
    outcomes = [panel.model.index(r, 3).data() for r in range(5)]
    assert outcomes == ["inserted"] * 5
    assert panel.model.index(0, 1).data() == "person-000.jpg"
    assert "5 of 5 done" in panel.progress_label.text()
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 6
    assert panel.start_button.isEnabled()


def test_declining_the_insert_sends_nothing(
    qtbot: Any, qloop: Any, panel_context_factory: Any, tmp_path: Path
) -> None:
    ctx, panel = make(qtbot, panel_context_factory)
    confirm.set_answerer(lambda _question: False)
    write_people(tmp_path / "in", range(2))
    panel.folder_edit.setText(str(tmp_path / "in"))
    panel.insert_check.setChecked(True)

    async def scenario() -> None:
        panel.start_button.click()
        await settle(ctx)
        assert await ctx.service.audit_entries("uqudo") == []

    qloop.run_until_complete(scenario())
    confirm.set_answerer(None)
    assert panel.model.rowCount() == 0


def test_pause_resume_cancel_then_start_again_finishes_the_rest(
    qtbot: Any, qloop: Any, panel_context_factory: Any, confirmations: list[Any], tmp_path: Path
) -> None:
    ctx, panel = make(qtbot, panel_context_factory)
    write_people(tmp_path / "in", range(12))
    panel.folder_edit.setText(str(tmp_path / "in"))
    panel.concurrency_spin.setValue(1)

    async def scenario() -> None:
        await ctx.service.sandbox_admin(
            "POST",
            "/faults",
            {"kind": "delay", "path": "one-to-n/search$", "delay": 0.05, "count": 100},
        )
        panel.start_button.click()
        await until(lambda: panel.job is not None and panel.job.progress().done >= 2)
        assert panel.job is not None
        panel.pause_button.click()
        assert panel.pause_button.text() == "Resume"
        await asyncio.sleep(0.3)
        held = panel.job.progress().done
        await asyncio.sleep(0.3)
        assert panel.job.progress().done <= held + 1  # at most the one in flight
        panel.pause_button.click()
        await until(lambda: panel.job is not None and panel.job.progress().done >= held + 2)
        panel.cancel_button.click()
        await settle(ctx)
        stopped = panel.job.progress().done
        assert stopped < 12
        assert "Stopped" in panel.progress_label.text()
        panel.start_button.click()
        await settle(ctx)
        assert panel.job.progress().done == 12
        assert sum(1 for row in panel.job.rows if row.resumed) == stopped
        assert all(row.state is ItemState.DONE for row in panel.job.rows)

    qloop.run_until_complete(scenario())


def test_open_in_tab_loads_the_rows_image_as_the_selfie(
    qtbot: Any, qloop: Any, panel_context_factory: Any, confirmations: list[Any], tmp_path: Path
) -> None:
    ctx, panel = make(qtbot, panel_context_factory)
    write_people(tmp_path / "in", range(3))
    panel.folder_edit.setText(str(tmp_path / "in"))

    async def scenario() -> None:
        panel.start_button.click()
        await settle(ctx)
        panel.table.selectRow(2)
        panel.open_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    loaded = ctx.pair.image(PairSlot.SELFIE)
    assert loaded is not None
    assert loaded.data == (tmp_path / "in" / "person-002.jpg").read_bytes()


def test_every_vendor_tab_has_a_batch_panel_with_its_own_jobs(
    qtbot: Any, ui_service: Any, presenter: Any
) -> None:
    from ui.tasks import TaskRunner

    tasks = TaskRunner(on_error=presenter.show)
    jobs = {}
    for provider_id in ("uqudo", "azure_face", "glair", "veriff"):
        tab = ProviderTab(ui_service, provider_id, tasks, presenter)
        qtbot.addWidget(tab)
        panel = next(p for p in tab.panels if isinstance(p, BatchPanel))
        jobs[provider_id] = [panel.kind_combo.itemData(i) for i in range(panel.kind_combo.count())]
    assert jobs == {
        "uqudo": ["search", "match", "sessions"],
        "azure_face": ["search", "match", "sessions"],
        "glair": ["match", "sessions"],
        "veriff": ["sessions"],
    }
