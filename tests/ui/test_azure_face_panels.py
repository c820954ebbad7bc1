"""Azure AI Face tab panels on a real service with the in-process sandbox."""

from __future__ import annotations

import asyncio
import io
import random
from typing import Any

from PIL import Image

from app.vendors.azure_face.types import AzureLivenessSessions, SessionKind, SessionOptions
from tests.ui.conftest import settle
from ui.panels.azure_face import AzurePersonGroupsPanel, AzureSessionsPanel, AzureVerifyPanel
from ui.panels.base import PanelContext


def face_jpeg(seed: int, size: tuple[int, int] = (400, 500), quality: int = 90) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (16, 20))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(320)]
    )
    out = io.BytesIO()
    small.resize(size, Image.Resampling.BICUBIC).save(out, "JPEG", quality=quality)
    return out.getvalue()


async def load(ctx: PanelContext, id_photo: bytes | None, selfie: bytes | None) -> None:
    for slot, data in ((ctx.images.id_photo, id_photo), (ctx.images.selfie, selfie)):
        if data is None:
            continue
        image = await ctx.service.load_image_bytes(data, "photo.jpg")
        slot.set_loaded(image)


def make(qtbot: Any, panel_context_factory: Any, cls: type) -> Any:
    ctx = panel_context_factory("azure_face")
    panel = cls(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 760)
    return ctx, panel


def test_session_create_simulate_result_and_confirmed_delete(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    ctx, panel = make(qtbot, panel_context_factory, AzureSessionsPanel)
    assert "v1.2" in panel.version_label.text()
    assert panel.simulate_button.isVisibleTo(panel)
    assert not panel.audit_button.isVisibleTo(panel)  # the -sessions family has no audit

    async def scenario() -> None:
        await load(ctx, face_jpeg(1), face_jpeg(1, quality=70))
        panel.kind.setCurrentIndex(1)  # liveness with verify: reference = ID photo
        panel.device_id.setText("kiosk-7")
        panel.create_button.click()
        await settle(ctx)
        assert panel.sessions.count() == 1, presenter.shown  # from the session registry
        assert not panel.token_field.isVisibleTo(panel)
        panel.token_button.click()
        assert panel.token_field.isVisibleTo(panel)
        assert panel.token_field.value()
        panel.outcome.setCurrentText("realface")
        panel.simulate_button.click()
        await settle(ctx)
        assert "Live person" in panel.result.verdict.text()
        assert "same person" in panel.result.verdict.text()
        records = await ctx.service.sessions("azure_face", str(SessionKind.LIVENESS_WITH_VERIFY))
        assert records[0].status == "Succeeded"
        panel.grab().save("/tmp/azure_sessions.png")
        panel.delete_button.click()
        await settle(ctx)
        assert panel.sessions.count() == 0
        entries = await ctx.service.audit_entries("azure_face")
        assert {e.outcome for e in entries if e.operation == "delete liveness session"} == {
            "attempt",
            "succeeded",
        }

    qloop.run_until_complete(scenario())
    assert "revokes" in confirmations[-1].details
    assert not presenter.shown or "deleted" in presenter.shown[-1]


def test_verify_draws_faces_offers_a_picker_and_explains_limited_access(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    ctx, panel = make(qtbot, panel_context_factory, AzureVerifyPanel)

    async def scenario() -> None:
        await load(ctx, face_jpeg(1), face_jpeg(2, size=(900, 300)))
        panel.detect_button.click()
        await settle(ctx)
        assert panel.reference_pick.count() == 1
        assert not panel.reference_pick.isEnabled()
        assert panel.probe_pick.count() > 1
        assert panel.probe_pick.isEnabled()
        assert panel.probe_view.pixmap() is not None
        assert len(panel.probe_view.rects) == panel.probe_pick.count()
        panel.probe_pick.setCurrentIndex(1)
        panel.verify_button.click()
        await settle(ctx)
        assert "Not the same person" in panel.result.verdict.text()
        panel.grab().save("/tmp/azure_verify.png")
        panel.limited_access.setChecked(True)
        await settle(ctx)
        panel.detect_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert "Limited Access" in presenter.shown[-1]


def test_person_group_create_add_train_identify_delete(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    ctx, panel = make(qtbot, panel_context_factory, AzurePersonGroupsPanel)

    async def scenario() -> None:
        await ctx.service.sandbox_admin("PUT", "/settings", {"azure_face.training_seconds": 0})
        await load(ctx, face_jpeg(5), face_jpeg(5, quality=60))
        panel.group_id.setText("front-desk")
        panel.group_name.setText("Front desk")
        panel.create_group_button.click()
        await settle(ctx)
        assert panel.groups.count() == 1
        panel.person_name.setText("Dana")
        panel.person_data.setText("badge 12")
        panel.add_person_button.click()
        await settle(ctx)
        assert panel.persons.count() == 1
        assert "2 face" in panel.persons.item(0).text()
        panel.identify_button.click()
        await settle(ctx)
        assert "not been trained" in presenter.shown[-1]
        panel.train_button.click()
        await settle(ctx)
        assert "succeeded" in panel.training_label.text()
        panel.identify_button.click()
        await settle(ctx)
        assert "Dana" in panel.candidates.item(0).text()
        assert "badge 12" in panel.candidates.item(0).text()
        panel.grab().save("/tmp/azure_groups.png")
        panel.persons.setCurrentRow(0)
        panel.delete_person_button.click()
        await settle(ctx)
        assert panel.persons.count() == 0
        panel.delete_group_button.click()
        await settle(ctx)
        assert panel.groups.count() == 0

    qloop.run_until_complete(scenario())
    assert [q.title for q in confirmations] == ["Delete person", "Delete person group"]
    # The operator is asked about the person by name; the id is only a detail.
    assert "“Dana”" in confirmations[0].text
    assert "Person id" in confirmations[0].details


def _row_ids(panel: AzureSessionsPanel) -> list[str]:
    return [str(panel.sessions.item(i).data(256)) for i in range(panel.sessions.count())]


def test_session_list_follows_the_kind_selector(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    """A row of one kind must never be looked up or deleted on the other kind's path."""
    ctx, panel = make(qtbot, panel_context_factory, AzureSessionsPanel)

    async def scenario() -> None:
        panel.kind.setCurrentIndex(0)
        panel.device_id.setText("kiosk-7")
        panel.create_button.click()
        await settle(ctx)
        assert panel.sessions.count() == 1, presenter.shown
        panel.kind.setCurrentIndex(1)  # liveness with verify: none created
        await settle(ctx)
        assert panel.sessions.count() == 0
        panel.kind.setCurrentIndex(0)
        await settle(ctx)
        assert panel.sessions.count() == 1

    qloop.run_until_complete(scenario())


def test_preview_session_list_is_newest_first_across_pages(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    """Azure pages by ascending GUID; the operator's list is newest first as a whole."""
    ctx, panel = make(qtbot, panel_context_factory, AzureSessionsPanel)

    async def scenario() -> None:
        await ctx.service.set_connection_option("azure_face", "api_version", "v1.2-preview.1")
        panel.on_connection_changed()
        provider = ctx.service.provider("azure_face", AzureLivenessSessions)
        created = []
        for _ in range(51):
            session = await provider.create_session(
                SessionKind.LIVENESS, SessionOptions(device_correlation_id="kiosk-1")
            )
            created.append(session.session_id)
            await ctx.service.sandbox_admin("POST", "/clock", {"seconds": 1})
        panel.refresh_button.click()
        await settle(ctx)
        for _ in range(5):
            if not panel.more_button.isVisibleTo(panel):
                break
            panel.more_button.click()
            await settle(ctx)
        assert _row_ids(panel) == created[::-1], presenter.shown

    qloop.run_until_complete(scenario())


def test_session_faces_are_drawn_on_the_reference_and_the_session_image(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    """The issue: "face rectangles drawn on the photos" for session results too."""
    ctx, panel = make(qtbot, panel_context_factory, AzureSessionsPanel)

    async def scenario() -> None:
        await load(ctx, face_jpeg(1), face_jpeg(1, quality=70))
        panel.kind.setCurrentIndex(1)
        panel.device_id.setText("kiosk-7")
        panel.session_image.setChecked(True)
        panel.create_button.click()
        await settle(ctx)
        assert panel.reference_view.isVisibleTo(panel), presenter.shown
        assert len(panel.reference_view.rects) == 1
        panel.outcome.setCurrentText("realface")
        panel.simulate_button.click()
        await settle(ctx)
        assert panel.image_button.isEnabled()
        panel.image_button.click()
        await settle(ctx)
        assert panel.session_image_view.isVisibleTo(panel), presenter.shown
        assert len(panel.session_image_view.rects) == 1
        assert panel.session_image_view.pixmap() is not None
        panel.grab().save("/tmp/azure_sessions_faces.png")

    qloop.run_until_complete(scenario())


def test_a_verdict_never_describes_images_that_are_not_on_screen(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    """Detect → Verify, then change or clear the selfie: no verdict, Verify waits for Detect."""
    ctx, panel = make(qtbot, panel_context_factory, AzureVerifyPanel)

    async def scenario() -> None:
        await load(ctx, face_jpeg(7), face_jpeg(7, quality=70))
        panel.detect_button.click()
        await settle(ctx)
        assert panel.verify_button.isEnabled()
        panel.verify_button.click()
        await settle(ctx)
        assert "Same person" in panel.result.verdict.text(), presenter.shown
        selfie = ctx.pair.get(ctx.images.selfie.kind)
        assert selfie is not None
        # The card names its inputs by short fingerprint, with the connection.
        assert selfie.short in panel.result.provenance.summary
        assert "Sandbox" in panel.result.provenance.summary
        assert panel.result.score.isVisibleTo(panel)

        # Another selfie: the verdict goes at once, and Verify cannot reuse the old face ids.
        await load(ctx, None, face_jpeg(99))
        assert "Same person" not in panel.result.verdict.text()
        assert "Out of date" in panel.result.verdict.text()
        assert "selfie changed" in panel.result.verdict.text()
        assert not panel.result.score.isVisibleTo(panel)
        assert not panel.verify_button.isEnabled()
        assert panel.probe_pick.count() == 0

        # Detect again re-enables Verify; then clearing the selfie withdraws the new verdict.
        panel.detect_button.click()
        await settle(ctx)
        assert panel.verify_button.isEnabled()
        panel.verify_button.click()
        await settle(ctx)
        assert "Not the same person" in panel.result.verdict.text()
        ctx.images.selfie.clear()
        assert "cleared" in panel.result.verdict.text()
        assert "person" not in panel.result.verdict.text().lower()
        assert not panel.verify_button.isEnabled()

    qloop.run_until_complete(scenario())


def test_an_image_replaced_while_detecting_leaves_verify_disabled(
    qtbot, qloop, panel_context_factory, presenter, confirmations
):
    ctx, panel = make(qtbot, panel_context_factory, AzureVerifyPanel)

    async def scenario() -> None:
        await load(ctx, face_jpeg(8), face_jpeg(8, quality=70))
        panel.detect_button.click()
        await asyncio.sleep(0)
        await load(ctx, None, face_jpeg(55))  # lands while Detect is on the wire
        await settle(ctx)
        assert not panel.verify_button.isEnabled()

    qloop.run_until_complete(scenario())
