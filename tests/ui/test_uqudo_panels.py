"""uqudo tab panels on a real service with the in-process sandbox."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from app.domain import LoadedImage
from app.vendors.uqudo.types import DELETE_CONSEQUENCE, PURGE_CONSEQUENCE
from tests.ui.conftest import settle
from ui.dialogs import confirm
from ui.panels.base import PanelContext
from ui.panels.uqudo import (
    FACE_SESSION_KIND,
    FaceMatchPanel,
    FaceSessionPanel,
    OneToNPanel,
    SessionResultsPanel,
)
from ui.widgets.copy_field import CopyField


def face_jpeg(seed: int, quality: int = 90) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (16, 20))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(320)]
    )
    out = io.BytesIO()
    small.resize((400, 500), Image.Resampling.NEAREST).save(out, "JPEG", quality=quality)
    return out.getvalue()


async def load(ctx: PanelContext, data: bytes, name: str) -> LoadedImage:
    return await ctx.service.load_image_bytes(data, name)


def copy_values(card: Any) -> list[str]:
    return [w.value() for w in card.findChildren(CopyField)]


def make(qtbot: Any, panel_context_factory: Any, cls: type) -> Any:
    ctx = panel_context_factory("uqudo")
    panel = cls(ctx)
    qtbot.addWidget(panel)
    return ctx, panel


def test_search_insert_search_delete_search_keeps_the_features(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    ctx, panel = make(qtbot, panel_context_factory, OneToNPanel)
    assert not panel.insert_check.isChecked()

    async def scenario() -> None:
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(41), "selfie.jpg"))
        panel.search_button.click()
        await settle(ctx)
        assert "nothing was added" in panel.result_card.verdict.text()

        panel.insert_button.click()
        await settle(ctx)
        assert "Added to the 1:N index" in panel.result_card.verdict.text()
        face_id = panel.delete_id.text()
        assert face_id
        assert face_id in copy_values(panel.result_card)

        panel.search_button.click()
        await settle(ctx)
        assert "Already known" in panel.result_card.verdict.text()
        # A hit may be a reused face: to review, never a green tick.
        assert not panel.result_card.verdict.text().startswith("✔")
        assert panel.result_card.verdict.text().startswith("?")
        assert "reused" in panel.result_card.warnings.text()
        assert face_id in copy_values(panel.result_card)

        panel.delete_button.click()
        await settle(ctx)
        assert any("features" in text for text in presenter.shown)

        panel.search_button.click()
        await settle(ctx)
        assert "Already known" in panel.result_card.verdict.text()
        assert panel.delete_id.text() == face_id

        audit = await ctx.service.audit_entries("uqudo")
        outcomes = [(a.operation, a.outcome) for a in audit]
        assert ("1:N delete", "attempt") in outcomes
        assert ("1:N delete", "succeeded") in outcomes
        assert ("1:N insert", "succeeded") in outcomes
        # The audit trail names images by fingerprint, never by file name (often a person's).
        inserted = [a for a in audit if a.operation == "1:N insert"]
        assert all(t.startswith("image sha256:") for a in inserted for t in a.targets)
        assert not any("selfie" in t for a in audit for t in a.targets)
        records = await ctx.service.sessions("uqudo", "one_to_n")
        assert [r.status for r in records if r.session_id == face_id] == [
            "selfie deleted (features kept)"
        ]

    qloop.run_until_complete(scenario())
    titles = [q.title for q in confirmations]
    assert titles == ["Add face to the uqudo index?", "Delete the stored selfie?"]
    assert confirmations[1].details == DELETE_CONSEQUENCE
    assert presenter.shown[-1].startswith("uqudo deleted the stored selfie")


def test_declined_delete_sends_nothing(qtbot, qloop, panel_context_factory, presenter):
    ctx, panel = make(qtbot, panel_context_factory, OneToNPanel)
    confirm.set_answerer(lambda question: False)
    panel.delete_id.setText("0f8fad5b-d9cb-469f-a165-70867728950e")

    async def scenario() -> None:
        panel.delete_button.click()
        await settle(ctx)
        assert await ctx.service.audit_entries("uqudo") == []

    qloop.run_until_complete(scenario())
    assert presenter.shown == []
    assert panel.delete_button.isEnabled()


def test_one_to_n_without_permission_reaches_the_presenter(
    qtbot, qloop, panel_context_factory, presenter
):
    ctx, panel = make(qtbot, panel_context_factory, OneToNPanel)

    async def scenario() -> None:
        await ctx.service.sandbox_admin("PUT", "/settings", {"uqudo.one_to_n_permission": False})
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(42), "selfie.jpg"))
        panel.search_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert "1:N face index" in presenter.shown[-1]
    assert panel.search_button.isEnabled()


def test_sandbox_tenant_without_1_to_n_permission_is_a_tab_control(
    qtbot, qloop, panel_context_factory, presenter
):
    # Issue 5: the 403 "tenant lacks the permission" is a sandbox setting the operator can see.
    ctx, panel = make(qtbot, panel_context_factory, OneToNPanel)
    assert not panel.permission_check.isHidden()
    assert not panel.permission_check.isChecked()

    async def scenario() -> None:
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(43), "selfie.jpg"))
        panel.permission_check.setChecked(True)
        await settle(ctx)
        panel.search_button.click()
        await settle(ctx)
        assert "1:N face index" in presenter.shown[-1]
        panel.permission_check.setChecked(False)
        await settle(ctx)
        panel.search_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert "nothing was added" in panel.result_card.verdict.text()
    assert len(presenter.shown) == 1


def test_face_match_shows_the_level_against_the_chosen_minimum(
    qtbot, qloop, panel_context_factory, presenter
):
    ctx, panel = make(qtbot, panel_context_factory, FaceMatchPanel)
    assert panel.minimum_level == 3
    assert "default" in panel.level_meaning.text()

    async def scenario() -> None:
        ctx.images.id_photo.set_loaded(await load(ctx, face_jpeg(43), "id.jpg"))
        panel.match_button.click()
        await settle(ctx)
        assert presenter.shown == ["Load a selfie first: drop a file on it, paste, or use Open…."]
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(43, 70), "selfie.jpg"))
        panel.level_combo.setCurrentIndex(panel.level_combo.findData(5))
        panel.match_button.click()
        await settle(ctx)
        assert "Match — level 5 reached the minimum of 5" in panel.result_card.verdict.text()
        assert "level 1–5" in panel.result_card.score.text()
        # The score describes the level reached, not the minimum-level setting.
        assert "very likely the same person" in panel.result_card.score.text()
        assert "Best accuracy" not in panel.result_card.score.text()
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(44), "other.jpg"))
        panel.match_button.click()
        await settle(ctx)
        assert "below the minimum of 5" in panel.result_card.verdict.text()

    qloop.run_until_complete(scenario())
    assert "Best accuracy" in panel.level_meaning.text()
    assert panel.match_button.isEnabled()


def test_face_session_to_verified_result_image_and_purge(
    qtbot, qloop, panel_context_factory, presenter, confirmations, tmp_path: Path
):
    ctx, sessions = make(qtbot, panel_context_factory, FaceSessionPanel)
    results = SessionResultsPanel(ctx)
    qtbot.addWidget(results)
    assert sessions.simulate_box.isVisibleTo(sessions)

    async def scenario() -> None:
        ctx.images.id_photo.set_loaded(await load(ctx, face_jpeg(45), "id.jpg"))
        ctx.images.selfie.set_loaded(await load(ctx, face_jpeg(45, 60), "selfie.jpg"))
        sessions.create_button.click()
        await settle(ctx)
        session = sessions.session
        assert session is not None
        assert sessions.session_field.value() == session.session_id
        assert 590 <= sessions.remaining_seconds() <= 600
        assert sessions.countdown.text().startswith(("9:5", "10:00"))
        records = await ctx.service.sessions("uqudo", FACE_SESSION_KIND)
        assert [r.session_id for r in records] == [session.session_id]
        # The registry names the photo by fingerprint, never by its file name.
        id_photo = ctx.pair.get(ctx.images.id_photo.kind)
        assert id_photo is not None
        assert records[0].label == f"ID photo {id_photo.short}"
        assert "id.jpg" not in records[0].label

        sessions.include_one_to_n.setChecked(True)
        sessions.simulate_button.click()
        await settle(ctx)

        await results.refresh_sessions()
        assert results.session_combo.findData(session.session_id) >= 0
        results.set_session_id(session.session_id)
        results.fetch_button.click()
        await settle(ctx)
        assert results.signature.text().startswith("✔ Signature verified: RS256")
        assert "Match" in results.result_card.verdict.text()
        assert session.session_id in copy_values(results.result_card)
        assert results.download_button.isEnabled()

        results.download_button.click()
        await settle(ctx)
        assert results.save_button.isEnabled()
        target = tmp_path / "audit.jpg"
        await results.save_image_to(target)
        assert target.read_bytes().startswith(b"\xff\xd8\xff")

        results.purge_button.click()
        await settle(ctx)
        results.set_session_id(session.session_id)
        results.fetch_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert confirmations[-1].details == PURGE_CONSEQUENCE
    assert presenter.shown[-1].startswith("uqudo has no result for this session")
    assert any(text.startswith("uqudo purged") for text in presenter.shown)
    assert sessions.session is not None
    assert sessions.session.expires_at > datetime.now(UTC)


def test_malformed_session_id_is_explained(qtbot, qloop, panel_context_factory, presenter):
    ctx, results = make(qtbot, panel_context_factory, SessionResultsPanel)

    async def scenario() -> None:
        await settle(ctx)
        results.set_session_id("abc")
        results.fetch_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert "8-4-4-4-12" in presenter.shown[-1]
    assert results.fetch_button.isEnabled()
