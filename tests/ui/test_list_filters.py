"""Ctrl+F filters lists: the audit trail (in SQL) and the Azure panel lists (in the view)."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem, QWidget

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.vendors.azure_face.types import AzurePersonGroups
from tests.ui.conftest import settle
from tests.ui.test_azure_face_panels import make
from ui.dialogs.audit_dialog import AuditDialog
from ui.panels.azure_face import AzurePersonGroupsPanel, AzureSessionsPanel
from ui.tasks import TaskRunner
from ui.widgets.list_filter import ListFilter


async def _activate(window: QWidget) -> None:
    """Show `window` as the active one: Qt only sends shortcuts to the active window."""
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    focused = asyncio.Event()
    connection = app.focusWindowChanged.connect(lambda _w: focused.set())
    window.show()
    window.activateWindow()
    if QApplication.activeWindow() is not window:
        await asyncio.wait_for(focused.wait(), timeout=10)
        await asyncio.sleep(0)
    QObject.disconnect(connection)
    assert QApplication.activeWindow() is window


def _operations(dialog: AuditDialog) -> list[str]:
    model = dialog.model
    return [str(model.index(row, 4).data()) for row in range(model.rowCount())]


async def _typed(dialog: AuditDialog, runner: TaskRunner, text: str) -> None:
    """Type into the filter as an operator would, then wait for the query the pause starts."""
    dialog.search.clear()
    paused = asyncio.Event()
    connection = dialog.filter_timer.timeout.connect(paused.set)  # after the dialog's refresh
    QTest.keyClicks(dialog.search, text)
    assert dialog.filter_timer.isActive()  # typing waits for the next key before querying
    await paused.wait()
    QObject.disconnect(connection)
    await runner.wait_idle()


def test_ctrl_f_focuses_the_audit_filter_and_typing_narrows_the_rows(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            written = [
                ("glair", "face_match", ["sid-1"], "succeeded", "req-100%"),
                ("veriff", "create_session", ["sid_2"], "attempt", None),
                ("veriff", "delete_session", ["sidX2"], "failed: NotFound", "REQ-7"),
            ]
            for provider, operation, targets, outcome, request_id in written:
                service.store.audit(
                    provider=provider,
                    profile="Sandbox",
                    operation=operation,
                    targets=targets,
                    outcome=outcome,
                    request_id=request_id,
                )
            runner = TaskRunner(on_error=lambda exc, retry: None)
            dialog = AuditDialog(service, runner)
            qtbot.addWidget(dialog)
            await runner.wait_idle()
            assert _operations(dialog) == ["delete_session", "create_session", "face_match"]

            await _activate(dialog)
            dialog.table.setFocus()
            dialog.search.setText("old text")
            dialog.refresh()
            await runner.wait_idle()
            assert dialog.filter_shortcut.key() == QKeySequence(QKeySequence.StandardKey.Find)
            QTest.keyClick(dialog.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
            assert dialog.focusWidget() is dialog.search
            assert dialog.search.selectedText() == "old text"  # typing replaces it

            await _typed(dialog, runner, "req-")
            assert _operations(dialog) == ["delete_session", "face_match"]
            assert dialog.count_label.text() == "2 entries"
            await _typed(dialog, runner, "%")  # a literal percent sign, not "anything"
            assert _operations(dialog) == ["face_match"]
            await _typed(dialog, runner, "sid_")  # "_" is literal, not any one character
            assert _operations(dialog) == ["create_session"]
            await _typed(dialog, runner, "NOTFOUND")
            assert _operations(dialog) == ["delete_session"]
            dialog.provider_filter.setCurrentIndex(dialog.provider_filter.findData("glair"))
            await runner.wait_idle()
            assert _operations(dialog) == []  # both filters apply
            assert dialog.count_label.text() == "0 entries"
            dialog.search.clear()
            dialog.refresh()  # no need to wait for the pause
            assert not dialog.filter_timer.isActive()
            await runner.wait_idle()
            assert _operations(dialog) == ["face_match"]

            # The time shows in local time, the UTC instant in its tooltip and in a copy.
            import re

            from PySide6.QtWidgets import QApplication

            entry = dialog.model.loaded_items()[0]
            cell = dialog.model.index(0, 0)
            assert cell.data() == entry.time_utc.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            tooltip = cell.data(Qt.ItemDataRole.ToolTipRole)
            assert tooltip == entry.time_utc.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
            dialog.copy_button.click()
            copied = QApplication.clipboard().text().splitlines()
            assert copied[0].startswith("Time (UTC)\tOS user")
            assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t", copied[1])
            assert copied[1].startswith(tooltip.removesuffix(" UTC"))

    qloop.run_until_complete(scenario())


def _texts(view: QListWidget) -> list[str]:
    return [view.item(row).text() for row in range(view.count()) if not view.item(row).isHidden()]


def test_a_list_filter_hides_rows_and_stays_applied_when_the_list_is_refilled(
    qtbot: Any,
) -> None:
    view = QListWidget()
    qtbot.addWidget(view)
    for text in ("Front desk  (front-desk)", "Night shift  (night)", "Back office  (back)"):
        view.addItem(text)
    list_filter = ListFilter(view)
    qtbot.addWidget(list_filter)
    assert list_filter.hint.text() == ""  # no filter, no count
    list_filter.edit.setText("DESK")
    assert _texts(view) == ["Front desk  (front-desk)"]
    assert list_filter.hint.text() == "1 of 3"
    list_filter.edit.setText("  (n")
    assert _texts(view) == ["Night shift  (night)"]
    view.clear()  # a Refresh refills the list
    assert list_filter.hint.text() == "0 of 0"
    view.addItem("Nightly batch  (nightly)")
    view.addItem(QListWidgetItem("Day shift  (day)"))
    view.addItem("Morning  (n-1)")
    assert _texts(view) == ["Nightly batch  (nightly)", "Morning  (n-1)"]
    assert list_filter.hint.text() == "2 of 3"
    view.item(0).setText("Renamed  (renamed)")  # a row's text changes: filtered again
    assert _texts(view) == ["Morning  (n-1)"]
    list_filter.edit.clear()
    assert view.count() == len(_texts(view)) == 3
    assert list_filter.hint.text() == ""


def test_azure_group_and_person_lists_filter_and_survive_a_refresh(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, panel_context_factory: Any, presenter: Any
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, AzurePersonGroupsPanel)

    async def scenario() -> None:
        provider = ctx.service.provider("azure_face", AzurePersonGroups)
        for group_id, name in (("front-desk", "Front desk"), ("night", "Night shift")):
            await provider.create_group(group_id, name)
        for person in ("Dana", "Daniel", "Eve"):
            await provider.create_person("front-desk", person)
        panel.refresh_button.click()
        await settle(ctx)
        assert panel.groups.count() == 2, presenter.shown
        panel.groups_filter.edit.setText("NIGHT")
        assert _texts(panel.groups) == ["Night shift  (night)"]
        assert panel.groups_filter.hint.text() == "1 of 2"
        await provider.create_group("nightly", "Nightly batch")
        panel.refresh_button.click()  # the list is refilled: the filter still applies
        await settle(ctx)
        assert _texts(panel.groups) == ["Night shift  (night)", "Nightly batch  (nightly)"]
        assert panel.groups_filter.hint.text() == "2 of 3"

        panel.groups_filter.edit.clear()
        panel.groups.setCurrentRow(
            next(r for r in range(3) if "front-desk" in panel.groups.item(r).text())
        )
        await settle(ctx)
        assert panel.persons.count() == 3
        panel.persons_filter.edit.setText("dan")
        assert sorted(t.split(" ·")[0] for t in _texts(panel.persons)) == ["Dana", "Daniel"]
        await provider.create_person("front-desk", "Jordan")
        panel.refresh_button.click()  # groups and then persons are listed again
        await settle(ctx)
        names = sorted(t.split(" ·")[0] for t in _texts(panel.persons))
        assert names == ["Dana", "Daniel", "Jordan"]
        assert panel.persons_filter.hint.text() == "3 of 4"

        # Ctrl+F: the filter of the list that has focus, else the first one.
        await _activate(panel)
        assert panel.filter_shortcut.key() == QKeySequence(QKeySequence.StandardKey.Find)
        panel.persons.setFocus()
        QTest.keyClick(panel.persons, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert panel.focusWidget() is panel.persons_filter.edit
        assert panel.persons_filter.edit.selectedText() == "dan"
        panel.identify_button.setFocus()
        QTest.keyClick(panel.identify_button, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert panel.focusWidget() is panel.groups_filter.edit

    qloop.run_until_complete(scenario())


def test_azure_session_list_filters_and_ctrl_f_reaches_it(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    panel_context_factory: Any,
    presenter: Any,
    confirmations: Any,
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, AzureSessionsPanel)

    async def scenario() -> None:
        for device in ("kiosk-1", "kiosk-2", "kiosk-3"):
            panel.device_id.setText(device)
            panel.create_button.click()
            await settle(ctx)
        assert panel.sessions.count() == 3, presenter.shown
        wanted = str(panel.sessions.item(1).data(Qt.ItemDataRole.UserRole))
        # Each row: local creation time in the text; the id and the UTC time on hover.
        tip = panel.sessions.item(1).toolTip()
        assert tip.startswith(wanted + "\ncreated "), tip
        assert tip.endswith(" UTC"), tip
        panel.sessions_filter.edit.setText(wanted[:13].upper())  # part of a GUID, either case
        assert [wanted in text for text in _texts(panel.sessions)] == [True]
        panel.refresh_button.click()
        await settle(ctx)
        assert panel.sessions.count() == 3
        assert [wanted in text for text in _texts(panel.sessions)] == [True]
        assert panel.sessions_filter.hint.text() == "1 of 3"
        await _activate(panel)
        panel.create_button.setFocus()
        QTest.keyClick(panel.create_button, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert panel.focusWidget() is panel.sessions_filter.edit

    qloop.run_until_complete(scenario())


def test_ctrl_f_in_the_window_reaches_the_shown_azure_panel_only(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    """Both Azure list panels bind Ctrl+F; only the one shown answers, wherever focus is."""
    from ui.main_window import MainWindow

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            azure = window.provider_tabs["azure_face"]
            window.tabs.setCurrentWidget(azure)
            groups = next(p for p in azure.panels if isinstance(p, AzurePersonGroupsPanel))
            sessions = next(p for p in azure.panels if isinstance(p, AzureSessionsPanel))
            await _activate(window)
            for panel, expected in ((groups, groups.groups_filter), (sessions, None)):
                azure.panel_tabs.setCurrentIndex(azure.panels.index(panel))
                assert panel.isVisible()
                window.tabs.tabBar().setFocus()  # outside every panel
                QTest.keyClick(
                    window.tabs.tabBar(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
                )
                wanted = expected or sessions.sessions_filter
                assert QApplication.focusWidget() is wanted.edit
            window.hide()

    qloop.run_until_complete(scenario())


def test_veriff_and_glair_session_lists_filter_and_survive_a_refresh(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, panel_context_factory: Any
) -> None:
    """Veriff's list and GLAIR's table filter as Azure's do, and keep the filter on a refill."""
    from app.vendors.veriff.types import SESSION_KIND as VERIFF_KIND
    from ui.panels.glair import GlairSessionsPanel
    from ui.panels.veriff import VeriffSessionsPanel

    veriff_ctx = panel_context_factory("veriff")
    veriff = VeriffSessionsPanel(veriff_ctx)
    glair_ctx = panel_context_factory("glair")
    glair = GlairSessionsPanel(glair_ctx)
    for panel in (veriff, glair):
        qtbot.addWidget(panel)

    def shown_rows_glair() -> list[str]:
        table = glair.table
        return [
            table.item(r, 0).text() for r in range(table.rowCount()) if not table.isRowHidden(r)
        ]

    async def scenario() -> None:
        service = veriff_ctx.service
        for number, status in ((1, "approved"), (2, "declined"), (3, "approved")):
            await service.record_session(
                "veriff",
                f"0000000{number}-aaaa-bbbb-cccc-dddddddddddd",
                kind=VERIFF_KIND,
                status=status,
            )
            await service.record_session(
                "glair",
                f"glair-sid-{number}",
                kind="passive_liveness",
                status="FINISHED" if number != 2 else "PENDING",
            )
        veriff.refresh_sessions()
        glair.refresh_sessions()
        await settle(veriff_ctx)
        await settle(glair_ctx)
        assert veriff.sessions_list.count() == 3
        assert glair.table.rowCount() == 3

        veriff.sessions_filter.edit.setText("DECLINED")
        shown = _texts(veriff.sessions_list)
        assert len(shown) == 1
        assert shown[0].startswith("00000002")  # the declined one, matched in any case
        glair.sessions_filter.edit.setText("sid-3")
        assert shown_rows_glair() == ["glair-sid-3"]
        assert glair.sessions_filter.hint.text() == "1 of 3"

        # A refill (Refresh) keeps the filters applied.
        veriff.refresh_sessions()
        glair.refresh_sessions()
        await settle(veriff_ctx)
        await settle(glair_ctx)
        assert len(_texts(veriff.sessions_list)) == 1
        assert shown_rows_glair() == ["glair-sid-3"]
        glair.sessions_filter.edit.clear()
        assert len(shown_rows_glair()) == 3

        # Ctrl+F reaches each panel's filter.
        await _activate(glair)
        glair.table.setFocus()
        QTest.keyClick(glair.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert glair.focusWidget() is glair.sessions_filter.edit

    qloop.run_until_complete(scenario())
