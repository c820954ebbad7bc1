"""The window on a team store: others' changes arrive live, a case someone else holds opens
read-only with their name, and the store going away shows a banner that clears by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import open_service
from app.store import StoreUnavailable
from app.store.postgres import PostgresStore
from app.workflows.cases import CaseBook
from tests.pg_cluster import PgCluster, make_team
from ui.dialogs.case_dialog import CaseDialog
from ui.main_window import MainWindow
from ui.team_store import TeamStoreDialog


async def until(condition: Any, limit: float = 15.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110  # widget state has no event to await
            await asyncio.sleep(0.02)


def test_a_case_bob_claims_turns_read_only_in_alices_window_without_a_reload(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    pg_cluster: PgCluster,
    team_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = make_team(pg_cluster, team_database)
    monkeypatch.setenv("FACEDESK_DATABASE_URL", urls["alice"])
    bob = CaseBook(PostgresStore(urls["bob"], checkpoint_dir=tmp_path), MemorySecretStore())

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            assert service.store_is_shared
            window = MainWindow(service)
            qtbot.addWidget(window)
            window.team_store.start()
            dialog = window.open_cases()
            assert isinstance(dialog, CaseDialog)
            dialog.reference_edit.setText("CASE-2026-0500")
            dialog.open_button.click()
            await until(lambda: dialog.case_file is not None)
            assert dialog.assign_button.isEnabled()
            assert dialog.note_button.isEnabled()
            # Bob, on his own workstation, claims it: alice's open view follows by itself.
            await asyncio.sleep(0.3)  # the listener is in place
            await asyncio.to_thread(bob.assign_to_me, "CASE-2026-0500")
            await until(lambda: not dialog.read_only_note.isHidden())
            assert dialog.read_only_note.text() == "Assigned to bob: read-only for you."
            assert not dialog.note_button.isEnabled()
            assert not dialog.decide_button.isEnabled()
            assert not dialog.assign_button.isEnabled()
            assert dialog.export_button.isEnabled()  # reading and exporting stay
            await until(lambda: "· bob" in dialog.case_list.item(0).text())
            await asyncio.to_thread(bob.release, "CASE-2026-0500")
            await until(dialog.read_only_note.isHidden)
            dialog.assign_button.click()
            await until(lambda: dialog.assign_button.text() == "Release")
            assert "· alice" in dialog.case_list.item(0).text()
            window.team_store.stop()
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())
    bob.store.close(checkpoint=False)


def test_the_store_going_away_shows_a_banner_that_clears_when_it_is_back(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    pg_cluster: PgCluster,
    team_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = make_team(pg_cluster, team_database)
    monkeypatch.setenv("FACEDESK_DATABASE_URL", urls["alice"])
    monkeypatch.setattr("ui.team_store.RETRY_MILLISECONDS", 200)

    def away(flag: bool) -> None:
        pg_cluster.psql(f"ALTER ROLE alice {'NOLOGIN' if flag else 'LOGIN'}")
        if flag:
            pg_cluster.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'alice'"
            )

    async def scenario() -> None:
        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            window.team_store.start()
            await until(lambda: not window.tasks.running())
            assert window.store_banner.isHidden()
            away(True)
            book = service.case_book()
            with pytest.raises(StoreUnavailable):
                await asyncio.to_thread(book.new_case, "CASE-2026-0501")
            window.tasks.start("cases:new", asyncio.to_thread(book.new_case, "CASE-2026-0501"))
            await until(lambda: not window.store_banner.isHidden())
            assert "cannot be reached" in window.store_banner.message.text()
            assert "Nothing is recorded" in window.store_banner.message.text()
            away(False)
            await until(window.store_banner.isHidden)
            # Nothing that failed was half-done: the case does not exist until made again.
            assert not await asyncio.to_thread(book.exists, "CASE-2026-0501")
            window.team_store.stop()
            await window.tasks.wait_idle()
            window.close()

    try:
        qloop.run_until_complete(scenario())
    finally:
        away(False)


def test_the_team_store_setting_keeps_its_password_out_of_the_settings_file(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    secrets = MemorySecretStore()

    async def scenario() -> None:
        async with open_service(app_paths, secrets=secrets) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            dialog = window.open_team_store()
            assert isinstance(dialog, TeamStoreDialog)
            dialog.url_edit.setText("mysql://db/facedesk")
            dialog.save_button.click()
            await until(lambda: "postgresql://" in dialog.message.text())
            dialog.url_edit.setText("postgresql://carol:s3cret-pw@db.example.org:5433/facedesk")
            dialog.save_button.click()
            await until(lambda: dialog.message.text().startswith("Saved"))
            assert dialog.url_edit.text() == "postgresql://carol@db.example.org:5433/facedesk"
            window.team_store.stop()
            await window.tasks.wait_idle()
            window.close()

    qloop.run_until_complete(scenario())
    settings_text = app_paths.settings_file.read_text()
    assert "postgresql://carol@db.example.org:5433/facedesk" in settings_text
    assert "s3cret-pw" not in settings_text
    assert secrets.get("team_store", "password:carol@db.example.org:5433/facedesk") == "s3cret-pw"
