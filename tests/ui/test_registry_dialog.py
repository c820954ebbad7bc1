"""The session registry dialog: every vendor's sessions, operator labels, and forgetting."""

from __future__ import annotations

import asyncio
from datetime import UTC
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
            model = dialog.model
            assert model.rowCount() == 2
            ids = {model.index(r, 2).data() for r in range(2)}
            assert ids == {"sid-glair-1", "f0e1-veriff"}
            # Times show in local time; the tooltip gives the same instant in UTC.
            from PySide6.QtCore import Qt

            from ui.dialogs.registry_dialog import COLUMNS

            created = model.index(0, COLUMNS.index("Created (local)"))
            record = dialog.record_at(0)
            assert record is not None
            local = record.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            assert created.data() == local
            utc = record.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            assert created.data(Qt.ItemDataRole.ToolTipRole) == utc
            assert model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) == model.index(0, 2).data()

            # The operator labels the Veriff session with a case number.
            row = next(r for r in range(2) if model.index(r, 2).data() == "f0e1-veriff")
            assert model.setData(model.index(row, LABEL_COLUMN), "CASE-4711")
            assert model.index(row, LABEL_COLUMN).data() == "CASE-4711"  # shown at once
            await asyncio.sleep(0)
            await runner.wait_idle()
            stored = await service.all_sessions()
            assert {r.session_id: r.label for r in stored}["f0e1-veriff"] == "CASE-4711"

            dialog.search.setText("case-4711")
            await runner.wait_idle()  # the filter runs in SQL, in a thread
            assert [r.session_id for r in dialog.visible_records()] == ["f0e1-veriff"]
            dialog.table.setCurrentIndex(model.index(0, 0))
            dialog.forget_button.click()
            await asyncio.sleep(0)
            await runner.wait_idle()
            assert [r.session_id for r in await service.all_sessions()] == ["sid-glair-1"]

    qloop.run_until_complete(scenario())
    assert "nothing is sent to the vendor" in confirmations[-1].details


def test_large_registry_pages_filters_in_sql_and_reaches_the_last_row(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    """Only pages near the view are read; the last of 5,000 rows arrives when asked for."""
    from ui.dialogs.paged_model import PAGE_SIZE, PENDING

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            with service.store._tx() as db:
                db.executemany(
                    "INSERT INTO sessions (provider, profile, session_id, kind, created_at, "
                    "last_seen_at, status, label) VALUES ('glair','Sandbox',?,'passive',?,?,?,?)",
                    [
                        (f"sid-{i:05d}", stamp, stamp, "PENDING", f"L{i}")
                        for i in range(5000)
                        for stamp in [f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"]
                    ],
                )
            errors: list[BaseException] = []
            runner = TaskRunner(on_error=lambda exc, retry: errors.append(exc))
            dialog = RegistryDialog(service, runner)
            qtbot.addWidget(dialog)
            await runner.wait_idle()
            assert errors == []
            model = dialog.model
            assert model.rowCount() == 5000
            assert len(dialog.visible_records()) == PAGE_SIZE  # one page read, not 5,000 rows
            last = model.index(4999, 2)
            assert last.data() == PENDING
            await asyncio.sleep(0)
            await runner.wait_idle()
            assert last.data() == "sid-00000"  # newest first: the oldest is last

            dialog.search.setText("sid-0123")
            await runner.wait_idle()
            assert model.rowCount() == 10
            assert dialog.count_label.text() == "10 sessions"

    qloop.run_until_complete(scenario())


def test_double_click_opens_the_session_in_its_tab_and_ctrl_f_focuses_the_filter(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    from app.vendors.glair.types import GlairLivenessSessions, SessionKind
    from ui.main_window import MainWindow
    from ui.panels.glair import GlairSessionsPanel

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            sessions = service.provider("glair", GlairLivenessSessions)
            created = await sessions.create_session(
                SessionKind.PASSIVE, success_url="https://example.org/done"
            )
            await service.record_session(
                "glair", created.sid, kind=SessionKind.PASSIVE.value, status="PENDING"
            )
            window.open_registry()
            dialog = window.findChild(RegistryDialog)
            assert dialog is not None
            await window.tasks.wait_idle()
            qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
            await window.tasks.wait_idle()
            row = dialog.model.index(0, 0)
            status = dialog.model.index(0, 4).data()
            assert status == "Pending", status  # one word; GLAIR's own value is the same
            dialog.table.doubleClicked.emit(row)
            glair = window.provider_tabs["glair"]
            assert window.tabs.currentWidget() is glair
            panel = glair.panels[glair.panel_tabs.currentIndex()]
            assert isinstance(panel, GlairSessionsPanel)
            # Opening a pending session starts its watch, which never goes idle: wait for the
            # open itself, then stop the watch.
            opening = [t.task for t in window.tasks.running() if t.name == "glair:open_session"]
            assert opening
            await asyncio.wait(opening)
            window.tasks.cancel_prefix("glair:watch:")
            await window.tasks.wait_idle()
            assert panel.session is not None
            assert panel.session.sid == created.sid
            # Double-clicking the label edits it instead of opening.
            window.tabs.setCurrentIndex(0)
            dialog.table.doubleClicked.emit(dialog.model.index(0, LABEL_COLUMN))
            assert window.tabs.currentIndex() == 0
            dialog.show()
            dialog.filter_shortcut.activated.emit()
            assert dialog.search.hasFocus() or dialog.focusWidget() is dialog.search
            dialog.close()
            window.tasks.cancel_prefix("glair:watch:")
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())
