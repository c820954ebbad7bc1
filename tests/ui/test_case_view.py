"""The case view in the window: open case → load pair → compare → note → decision → export."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.paths import AppPaths
from app.secrets import KeyringSecretStore
from app.services import open_service
from app.store import Store
from app.workflows import audit
from tests.file_keyring import FileKeyring
from tests.ui.test_glair_panels import face_jpeg
from ui.dialogs.case_dialog import CaseDialog
from ui.main_window import MainWindow

REF = "CASE-2026-0042"


async def until(condition: Any, limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110  # widget state has no event to await
            await asyncio.sleep(0.01)


def test_case_walkthrough_to_an_exported_report(
    qtbot: Any,
    qloop: asyncio.AbstractEventLoop,
    app_paths: AppPaths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACEDESK_TEST_KEYRING", str(tmp_path / "keyring.json"))
    out_dir = tmp_path / "report"

    async def scenario() -> None:
        async with open_service(app_paths, secrets=KeyringSecretStore(FileKeyring())) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            dialog = window.open_cases()
            assert isinstance(dialog, CaseDialog)
            dialog.reference_edit.setText(REF.lower())
            dialog.open_button.click()
            await until(lambda: dialog.case_file is not None)
            dialog.active_button.click()
            assert window.windowTitle().endswith(f"case {REF}")
            assert window.case_status.text() == f"Active case: {REF}"

            tab = window.provider_tabs["glair"]
            window.tabs.setCurrentWidget(tab)
            same = face_jpeg(7)
            for slot in (tab.images.id_photo, tab.images.selfie):
                slot.set_loaded(await service.load_image_bytes(same, "photo.jpg"))
            await until(lambda: tab.images.id_photo.prepared is not None)
            await until(lambda: tab.images.selfie.prepared is not None)
            dialog.attach_button.click()
            await window.tasks.wait_idle()
            panel = next(p for p in tab.panels if p.title == "Face match")
            panel.match_button.click()  # type: ignore[attr-defined]
            await asyncio.sleep(0)
            await tab.context.tasks.wait_idle()
            await window.tasks.wait_idle()

            # The same pair through every vendor in the Compare view joins the case too.
            compare = window.compare_panel
            window.tabs.setCurrentWidget(compare)
            for slot in (compare.id_photo, compare.selfie):
                slot.set_loaded(await service.load_image_bytes(same, "photo.jpg"))
            await until(lambda: compare.pair() is not None)
            compare.compare_button.click()
            assert compare.run is not None
            await compare.run.wait()
            await window.tasks.wait_idle()

            dialog.note_edit.setText("Sandbox says same person")
            dialog.note_button.click()
            await window.tasks.wait_idle()
            dialog.decision_combo.setCurrentText("approve")
            dialog.reason_edit.setText("")
            dialog.decide_button.click()  # no reason: refused, shown in the banner
            await window.tasks.wait_idle()
            assert "reason" in window.banner.message.text()
            dialog.reason_edit.setText("Sandbox match above threshold, photos consistent")
            dialog.decide_button.click()
            await window.tasks.wait_idle()
            dialog.export_to(out_dir)
            await window.tasks.wait_idle()
            await until(lambda: len(dialog.exported) == 2)
            assert "Sandbox match above threshold" in dialog.timeline.toPlainText()
            assert "glair" in dialog.timeline.toPlainText()
            window.close()

    qloop.run_until_complete(scenario())

    document = json.loads((out_dir / f"{REF}.json").read_text())
    assert document["case"]["state"] == "decided"
    runs = document["vendor_runs"]
    assert [r["vendor"] for r in runs][:1] == ["glair"]
    assert runs[0]["verdict"] == "positive"
    assert runs[0]["request_id"]
    compared = {r["vendor"]: r for r in runs[1:]}
    assert set(compared) == {"azure_face", "uqudo", "glair"}
    assert {r["verdict"] for r in compared.values()} == {"match"}
    assert compared["azure_face"]["request_id"]
    assert compared["azure_face"]["threshold"] == "0.5"
    assert len(document["photos"]) == 1  # same bytes in both slots: one fingerprint
    assert document["decision"]["decision"] == "approve"
    assert document["notes"][0]["text"] == "Sandbox says same person"
    store = Store(app_paths.database_file)
    result = audit.verify(store)
    store.close()
    assert result.ok, result.problems
    assert document["audit_head"]["hash"] == result.head

    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "40", str(out_dir / f"{REF}.pdf"), str(out_dir / "page")],
            check=True,
            timeout=60,
        )
        assert sorted(p.name for p in out_dir.glob("page-*.png"))[:1] == ["page-1.png"]


def test_a_failed_audit_check_shows_a_red_banner_at_start_up(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> None:
    import sqlite3

    app_paths.ensure()
    store = Store(app_paths.database_file)
    for n in range(3):
        store.audit(
            provider="glair",
            profile="Sandbox",
            operation="x",
            targets=[str(n)],
            outcome="succeeded",
        )
    store.close()
    db = sqlite3.connect(app_paths.database_file, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET outcome='failed' WHERE id=2")
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.close()

    async def scenario() -> None:
        from app.secrets import MemorySecretStore

        async with open_service(app_paths, secrets=MemorySecretStore()) as service:
            window = MainWindow(service)
            qtbot.addWidget(window)
            assert window.banner.isVisibleTo(window)
            assert "audit trail failed verification" in window.banner.message.text()
            assert "#2" in window.banner.message.text()
            assert "#b3261e" in window.banner.styleSheet()  # the error (red) style
            window.close()

    qloop.run_until_complete(scenario())
