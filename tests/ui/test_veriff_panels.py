"""The Veriff tab against the in-process sandbox: create, open, verify photos, simulate, delete."""

from __future__ import annotations

import asyncio
import io
import random
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.capabilities import Capability
from app.vendors.veriff.types import SESSION_KIND
from tests.ui.conftest import settle
from ui.dialogs import confirm
from ui.errors import ErrorPresenter
from ui.panels.base import PanelContext
from ui.panels.veriff import PANELS, VeriffSessionsPanel


def _jpeg(seed: int, quality: int = 90) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (50, 62))
    small.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(small.width * small.height)
        ]
    )
    out = io.BytesIO()
    small.resize((400, 500), Image.Resampling.BILINEAR).save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def panel_context(panel_context_factory: Any) -> PanelContext:
    ctx: PanelContext = panel_context_factory("veriff")
    return ctx


@pytest.fixture
def panel(panel_context: PanelContext, qtbot: Any) -> VeriffSessionsPanel:
    widget = VeriffSessionsPanel(panel_context)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    return widget


def _presenter(ctx: PanelContext) -> ErrorPresenter:
    return ctx.presenter


async def _create(panel: VeriffSessionsPanel, first_name: str = "", vendor_data: str = "") -> str:
    panel.first_name.setText(first_name)
    panel.vendor_data.setText(vendor_data)
    panel.create_button.click()
    await settle(panel.ctx)
    assert panel.session_id
    return panel.session_id


def test_panels_registered() -> None:
    assert {Capability.VERIFICATION_SESSIONS: VeriffSessionsPanel} == PANELS


def test_create_shows_the_hosted_url_and_records_the_session(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        await settle(ctx)
        panel.end_user_id.setText("0b9f0d5e-4c1a-4a57-9d3e-2a1b3c4d5e6f")
        sid = await _create(panel, "Approve", "case-7")
        assert panel.url_field.value().startswith("http")
        assert "/v/" in panel.url_field.value()
        assert panel.qr.pixmap() is not None
        # No phone or browser can reach the in-process sandbox: explained, no QR, no Open.
        assert not panel.qr.isVisibleTo(panel)
        assert panel.qr_hint.isVisibleTo(panel)
        assert not panel.open_url_button.isEnabled()
        assert panel.decision_card.verdict.text().endswith("No decision yet")
        records = await ctx.service.sessions("veriff", SESSION_KIND)
        assert [r.session_id for r in records] == [sid]
        assert records[0].extra["vendorData"] == "case-7"
        assert records[0].extra["endUserId"] == "0b9f0d5e-4c1a-4a57-9d3e-2a1b3c4d5e6f"
        assert panel.sessions_list.count() == 1
        assert "case-7" in panel.sessions_list.item(0).text()
        entries = await ctx.service.audit_entries("veriff")
        assert {e.outcome for e in entries if e.operation == "create session"} == {
            "attempt",
            "succeeded",
        }

    qloop.run_until_complete(scenario())
    assert _presenter(ctx).crashes == []


def test_api_only_verification_follows_to_a_decision(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel, tmp_path: Path, monkeypatch: Any
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        await ctx.service.sandbox_admin("PUT", "/settings", {"veriff_decision_delay": 0})
        await ctx.images.id_photo.load_bytes(_jpeg(3), "id.jpg")
        await ctx.images.selfie.load_bytes(_jpeg(3, quality=70), "selfie.jpg")
        sid = await _create(panel)
        panel.verify_button.click()
        await settle(ctx)
        assert panel.session_id == sid
        assert "Approved" in panel.decision_card.verdict.text()
        assert panel.status_label.text() == "<b>Approved</b>"
        assert sorted(t.media.context for t in panel.tiles) == ["document-front", "face"]
        assert all(t.picture.pixmap() is not None for t in panel.tiles)
        assert panel.attempts_table.rowCount() == 1
        created = panel.attempts_table.item(0, 2)
        # Local time in the cell, the same instant in UTC on hover.
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", created.text())
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", created.toolTip())
        target = tmp_path / "face.jpg"
        monkeypatch.setattr(
            "ui.panels.veriff.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), "")
        )
        panel.tiles[0].download_button.click()
        await settle(ctx)
        assert target.read_bytes()[:2] == b"\xff\xd8"
        records = await ctx.service.sessions("veriff", SESSION_KIND)
        assert records[0].status == "approved"
        shot = tmp_path / "veriff-panel.png"
        panel.grab().save(str(shot))
        panel.grab().save("/tmp/veriff-panel.png")
        assert shot.stat().st_size > 0

    qloop.run_until_complete(scenario())
    assert _presenter(ctx).crashes == []


def test_missing_photo_is_explained(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        await _create(panel)
        panel.verify_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert any("Load a ID photo" in m or "ID photo" in m for m in _presenter(ctx).shown)


def test_simulated_decline_and_pasted_id(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        sid = await _create(panel)
        assert panel.simulate_row.isVisible()
        panel.simulate_outcome.setCurrentIndex(panel.simulate_outcome.findData("declined"))
        panel.simulate_reason.setValue(106)
        panel.simulate_button.click()
        await settle(ctx)
        assert "Declined" in panel.decision_card.verdict.text()
        assert "Known fraud" in panel.decision_card.reasons.text()
        # Forget it locally, then open it again by pasting the id.
        await ctx.service.forget_session("veriff", sid)
        panel.paste_id.setText(sid)
        panel.open_button.click()
        await settle(ctx)
        records = await ctx.service.sessions("veriff", SESSION_KIND)
        assert [(r.session_id, r.status) for r in records] == [(sid, "declined")]
        panel.paste_id.setText("not-an-id")
        panel.open_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert any("not a Veriff id" in m for m in _presenter(ctx).shown)


def test_delete_is_confirmed_with_status_consequences_and_quota(
    qloop: asyncio.AbstractEventLoop,
    panel: VeriffSessionsPanel,
    confirmations: list[confirm.Question],
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        sid = await _create(panel, vendor_data="to-delete")
        panel.delete_button.click()
        await settle(ctx)
        question = confirmations[-1]
        assert sid in question.text
        assert "Created" in question.text
        assert "12 hours" in question.details
        assert "webhook" in question.details
        assert "5 deletion(s) possible now" in question.details
        assert panel.session_id == ""
        records = await ctx.service.sessions("veriff", SESSION_KIND)
        assert records[0].status == "deleted"
        outcomes = [
            e.outcome
            for e in await ctx.service.audit_entries("veriff")
            if e.operation == "delete session"
        ]
        assert sorted(outcomes) == ["attempt", "succeeded"]

    qloop.run_until_complete(scenario())
    assert any("deleted" in m and "4 deletion(s)" in m for m in _presenter(ctx).shown)


def test_delete_refused_in_progress_without_asking(
    qloop: asyncio.AbstractEventLoop,
    panel: VeriffSessionsPanel,
    confirmations: list[confirm.Question],
) -> None:
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        sid = await _create(panel)
        await ctx.service.sandbox_admin(
            "POST", f"/veriff/sessions/{sid}/status", {"status": "submitted"}
        )
        panel.delete_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert confirmations == []
    assert any("1306" in m for m in _presenter(ctx).shown)


def test_cancelled_confirmation_deletes_nothing(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    ctx = panel.ctx
    confirm.set_answerer(lambda question: False)

    async def scenario() -> None:
        panel.show()
        sid = await _create(panel)
        panel.delete_button.click()
        await settle(ctx)
        assert panel.session_id == sid
        assert all(e.operation != "delete session" for e in await ctx.service.audit_entries())

    try:
        qloop.run_until_complete(scenario())
    finally:
        confirm.set_answerer(None)


def test_vendor_data_shows_before_any_decision(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    """vendorData is kept in the registry from creation; the view shows it at once."""
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        await _create(panel, vendor_data="case-99")
        assert panel.vendor_data_label.text() == "case-99"
        panel.reload_button.click()
        await settle(ctx)
        assert panel.vendor_data_label.text() == "case-99"

    qloop.run_until_complete(scenario())
    assert _presenter(ctx).crashes == []


def test_verifying_a_resubmission_waits_for_the_new_decision(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel
) -> None:
    """The earlier attempt's "resubmission requested" is not the answer to the new photos."""
    ctx = panel.ctx

    async def scenario() -> None:
        panel.show()
        await ctx.service.sandbox_admin("PUT", "/settings", {"veriff_decision_delay": 0})
        await ctx.images.id_photo.load_bytes(_jpeg(5), "id.jpg")
        await ctx.images.selfie.load_bytes(_jpeg(5, quality=70), "selfie.jpg")
        sid = await _create(panel, "Resubmit")
        panel.verify_button.click()
        await settle(ctx)
        assert "Resubmission" in panel.decision_card.verdict.text()
        await ctx.service.sandbox_admin("PUT", "/settings", {"veriff_decision_delay": 3600})
        panel.verify_button.click()
        for _ in range(40):  # until the new attempt is submitted and being followed
            await asyncio.sleep(0.05)
            if "Waiting for Veriff" in panel.progress.text():
                break
        await asyncio.sleep(0.3)
        assert panel.cancel_button.isVisible()  # still waiting: the old decision is stale
        await ctx.service.sandbox_admin(
            "POST", f"/veriff/sessions/{sid}/status", {"status": "approved"}
        )
        await settle(ctx)
        assert "Approved" in panel.decision_card.verdict.text()
        assert panel.attempts_table.rowCount() == 2

    qloop.run_until_complete(scenario())
    assert _presenter(ctx).crashes == []


def test_document_back_is_uploaded_with_the_loaded_photos(
    qloop: asyncio.AbstractEventLoop, panel: VeriffSessionsPanel, tmp_path: Path, monkeypatch: Any
) -> None:
    """Issue 6: API-only verification uploads face, document front and back."""
    ctx = panel.ctx
    back = tmp_path / "back.jpg"
    back.write_bytes(_jpeg(9))
    monkeypatch.setattr(
        "ui.panels.veriff.QFileDialog.getOpenFileName", lambda *a, **k: (str(back), "")
    )

    async def scenario() -> None:
        panel.show()
        await ctx.service.sandbox_admin("PUT", "/settings", {"veriff_decision_delay": 0})
        await ctx.images.id_photo.load_bytes(_jpeg(4), "id.jpg")
        await ctx.images.selfie.load_bytes(_jpeg(4, quality=70), "selfie.jpg")
        await _create(panel)
        panel.back_button.click()
        assert "back.jpg" in panel.back_button.text()
        panel.verify_button.click()
        await settle(ctx)
        contexts = sorted(t.media.context for t in panel.tiles)
        assert contexts == ["document-back", "document-front", "face"]
        assert "Approved" in panel.decision_card.verdict.text()
        panel.back_button.click()  # a second click removes it
        assert panel.back_path == ""

    qloop.run_until_complete(scenario())
    assert _presenter(ctx).crashes == []
