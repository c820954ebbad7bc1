"""GLAIR tab panels on a real service: the in-process sandbox, and the sandbox on a socket."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from app.settings import ConnectionProfile
from app.vendors.glair.types import SessionKind, SessionStatus
from tests.sandbox_server import SocketSandbox
from tests.ui.conftest import settle
from ui.panels import panels_for
from ui.panels.base import PanelContext
from ui.panels.glair import (
    PANELS,
    GlairFaceMatchPanel,
    GlairImageLivenessPanel,
    GlairSessionsPanel,
)


def face_jpeg(seed: int, gray: bool = False) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (10, 10))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(100)]
    )
    image = small.resize((400, 500), Image.Resampling.NEAREST)
    if gray:
        image = image.convert("L").convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def socket_sandbox() -> Iterator[SocketSandbox]:
    server = SocketSandbox().start()
    yield server
    server.stop()


def make(qtbot: Any, factory: Any, cls: type) -> tuple[PanelContext, Any]:
    ctx = factory("glair")
    panel = cls(ctx)
    qtbot.addWidget(panel)
    return ctx, panel


async def until(condition: Any, limit: float = 5.0) -> None:
    """Poll a widget condition on the qasync loop (never qtbot.wait* inside a coroutine)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110  # widget state has no event to await
            await asyncio.sleep(0.01)


def test_the_tab_has_a_panel_per_declared_capability(ui_service) -> None:
    info = ui_service.info("glair")
    assert set(PANELS) == set(info.capabilities)
    assert panels_for("glair", info.capabilities) == [
        GlairFaceMatchPanel,
        GlairImageLivenessPanel,
        GlairSessionsPanel,
    ]


def test_face_match_shows_the_decision_then_the_score(qtbot, qloop, panel_context_factory) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairFaceMatchPanel)

    async def scenario() -> None:
        same = face_jpeg(1)
        ctx.images.id_photo.set_loaded(await ctx.service.load_image_bytes(same, "id.jpg"))
        ctx.images.selfie.set_loaded(await ctx.service.load_image_bytes(same, "selfie.jpg"))
        panel.match_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert "Match: same person" in panel.result.verdict.text()
    assert "0–1 fraction" in panel.result.score.text()
    assert panel.match_button.isEnabled()


def test_face_match_without_images_asks_for_them(
    qtbot, qloop, panel_context_factory, presenter
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairFaceMatchPanel)

    async def scenario() -> None:
        panel.match_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert presenter.shown == ["Load an ID photo first: drop a file on it, paste, or use Open…."]
    assert panel.match_button.isEnabled()


def test_rejected_credentials_reach_the_presenter(
    qtbot, qloop, panel_context_factory, presenter
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairFaceMatchPanel)

    async def scenario() -> None:
        await ctx.service.sandbox_admin(
            "POST",
            "/faults",
            {
                "kind": "status",
                "path": "/glair/face/v1/match",
                "status": 401,
                "body": {"error": "x"},
            },
        )
        for slot, seed in ((ctx.images.id_photo, 2), (ctx.images.selfie, 3)):
            slot.set_loaded(await ctx.service.load_image_bytes(face_jpeg(seed), "a.jpg"))
        panel.match_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert len(presenter.shown) == 1
    assert "Credentials" in presenter.shown[0]


def test_passive_and_active_liveness(qtbot, qloop, panel_context_factory) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairImageLivenessPanel)
    verdicts: list[str] = []

    async def scenario() -> None:
        ctx.images.selfie.set_loaded(
            await ctx.service.load_image_bytes(face_jpeg(4, gray=True), "selfie.jpg")
        )
        panel.passive_button.click()
        await settle(ctx)
        verdicts.append(panel.result.verdict.text())
        panel.select_gesture("HAND_01100")
        panel.active_button.click()
        await settle(ctx)
        verdicts.append(panel.result.verdict.text())

    qloop.run_until_complete(scenario())
    assert "Likely spoof" in verdicts[0]
    assert "Wrong gesture" in verdicts[1]
    assert "V sign" in panel.gesture_help.text()
    details = " ".join(
        panel.result.details.itemAt(i).widget().text()
        for i in range(panel.result.details.count())
        if hasattr(panel.result.details.itemAt(i).widget(), "text")
    )
    assert "HAND_01100" in details


def test_session_created_simulated_and_shown_finished(
    qtbot, qloop, panel_context_factory, presenter
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairSessionsPanel)
    panel.watch_interval = 0.02
    panel.watch_max_interval = 0.1

    async def scenario() -> None:
        await settle(ctx)
        assert panel.success_url.text().endswith("/glair/hosted/return")
        panel.kind.setCurrentIndex(panel.kind.findData(SessionKind.ACTIVE.value))
        panel.gestures.setValue(2)
        panel.create_button.click()
        await until(lambda: panel.session is not None)
        assert panel.session is not None
        assert panel.session.status is SessionStatus.PENDING
        assert panel.url_field.value().endswith(panel.session.sid)
        assert panel.countdown.text().startswith("Expires in 23 h")
        assert not panel.simulate_row.isHidden()
        assert ctx.tasks.is_running(panel._watch_name(panel.session.sid))
        panel.simulate_live_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert panel.session is not None
    assert panel.session.status is SessionStatus.FINISHED
    assert "finished" in panel.status.text()
    assert "Live person" in panel.result.verdict.text()
    assert presenter.shown == [f"GLAIR session {panel.session.sid[:8]}… Live person."]
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 2).text() == "Done (FINISHED)"


def test_sessions_list_refresh_open_and_forget(
    qtbot, qloop, panel_context_factory, confirmations
) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairSessionsPanel)

    async def scenario() -> None:
        await settle(ctx)
        provider = panel.ctx.service.provider("glair", object)
        created = await provider.create_session(
            SessionKind.PASSIVE, success_url="https://example.com/done"
        )
        await ctx.service.record_session(
            "glair", created.sid, kind=SessionKind.PASSIVE.value, status="PENDING"
        )
        await ctx.service.sandbox_admin(
            "POST", f"/glair/sessions/{created.sid}/complete", {"outcome": "spoof"}
        )
        panel.refresh_button.click()
        await settle(ctx)
        assert panel.table.item(0, 2).text() == "Done (FINISHED)"
        panel.table.selectRow(0)
        panel.open_button.click()
        await settle(ctx)
        assert panel.session is not None
        assert "Likely spoof" in panel.result.verdict.text()
        panel.forget_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert panel.table.rowCount() == 0
    assert panel.session is None
    assert "stays at GLAIR" in confirmations[0].details
    entries = qloop.run_until_complete(ctx.service.audit_entries("glair"))
    assert [e.outcome for e in entries if e.operation == "forget_session"] in (
        ["attempt", "succeeded"],
        ["succeeded", "attempt"],
    )


def test_expired_session_is_marked_on_refresh(qtbot, qloop, panel_context_factory) -> None:
    ctx, panel = make(qtbot, panel_context_factory, GlairSessionsPanel)

    async def scenario() -> None:
        await settle(ctx)
        provider = ctx.service.provider("glair", object)
        created = await provider.create_session(
            SessionKind.PASSIVE, success_url="https://example.com/done"
        )
        await ctx.service.record_session(
            "glair", created.sid, kind=SessionKind.PASSIVE.value, status="PENDING"
        )
        await ctx.service.sandbox_admin("POST", "/clock", {"seconds": 24 * 3600 + 5})
        panel.refresh_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert panel.table.item(0, 2).text() == "Expired"


def test_pending_session_completed_on_the_hosted_page_shows_finished_without_operator_action(
    qtbot, qloop, panel_context_factory, socket_sandbox
) -> None:
    """Done-when: created in the tab, completed on the hosted page over a socket, shown."""
    socket_sandbox.state.reset()
    ctx, panel = make(qtbot, panel_context_factory, GlairSessionsPanel)
    panel.watch_interval = 0.05
    panel.watch_max_interval = 0.1
    origin = socket_sandbox.origin

    async def scenario() -> None:
        service = ctx.service
        await service.save_profile(
            ConnectionProfile("glair", "Local socket", {"base_url": f"{origin}/glair"})
        )
        await service.save_credentials(
            "glair",
            "Local socket",
            {"username": "sandbox", "password": "sandbox", "api_key": "sandbox-glair-key"},
        )
        await service.set_active_connection("glair", "Local socket")
        panel.on_connection_changed()
        await settle(ctx)
        assert panel.simulate_row.isHidden()  # only on the Sandbox connection
        panel.success_url.setText(f"{origin}/glair/hosted/return")
        panel.create_button.click()
        await until(lambda: panel.session is not None)
        session = panel.session
        assert session is not None
        assert session.url.startswith(origin)
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.post(session.url, data={"outcome": "live"})
        assert page.status_code == 200
        assert session.sid in str(page.url)
        await until(lambda: panel.session is not None and panel.session.is_final)
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert panel.session is not None
    assert panel.session.status is SessionStatus.FINISHED
    assert "Live person" in panel.result.verdict.text()
    assert panel.table.item(0, 2).text() == "Done (FINISHED)"


def test_opening_an_expired_registry_session_marks_it_expired(
    qtbot, qloop, panel_context_factory, presenter
) -> None:
    """Open / Retrieve now on a session GLAIR no longer knows: say so, and update the list."""
    ctx, panel = make(qtbot, panel_context_factory, GlairSessionsPanel)

    async def scenario() -> None:
        await settle(ctx)
        provider = ctx.service.provider("glair", object)
        created = await provider.create_session(
            SessionKind.PASSIVE, success_url="https://example.com/done"
        )
        await ctx.service.record_session(
            "glair", created.sid, kind=SessionKind.PASSIVE.value, status="PENDING"
        )
        panel.refresh_sessions()
        await settle(ctx)
        panel.table.selectRow(0)
        panel.open_button.click()
        # Opening a pending session starts a watch that would outlive the test: stop it.
        await until(lambda: ctx.tasks.is_running(panel._watch_name(created.sid)))
        ctx.tasks.cancel(panel._watch_name(created.sid))
        await settle(ctx)
        assert panel.session is not None
        assert panel.session.status is SessionStatus.PENDING
        await ctx.service.sandbox_admin("POST", "/clock", {"seconds": 24 * 3600 + 5})
        panel.retrieve_button.click()
        await settle(ctx)

    qloop.run_until_complete(scenario())
    assert panel.table.item(0, 2).text() == "Expired"
    assert panel.session is not None
    assert panel.session.status is SessionStatus.EXPIRED
    assert "expired" in panel.status.text()
    assert len(presenter.shown) == 1
    assert "24 hours" in presenter.shown[0]
