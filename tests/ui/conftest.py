"""UI test fixtures: one qasync loop for the whole session, and a real service on the sandbox.

Test bodies are coroutines driven by `qloop.run_until_complete(scenario())`; inside them,
wait with asyncio (`await ctx.tasks.wait_idle()`), never with `qtbot.wait*` (ECOSYSTEM §1.5).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from app.paths import AppPaths
from app.secrets import MemorySecretStore
from app.services import VerificationService, open_service
from ui.dialogs import confirm
from ui.errors import ErrorPresenter, StatusBanner
from ui.panels.base import PanelContext
from ui.tasks import TaskRunner
from ui.widgets.image_pair import ImagePair


@pytest.fixture(scope="session")
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    loop = qasync.QEventLoop(qapp)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield loop
    # Close once, at the very end: this joins the QThreadExecutor behind asyncio.to_thread.
    loop.close()
    assert not errors, errors


@pytest.fixture(autouse=True)
def _qloop_is_current(qloop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Widgets built outside a scenario schedule their tasks on the shared qasync loop.

    pytest-asyncio's async tests (contract, unit) leave no current loop behind them.
    """
    asyncio.set_event_loop(qloop)
    yield
    asyncio.set_event_loop(None)


class ServiceHandle:
    """Opens the service on the qasync loop and closes it at teardown."""

    def __init__(self, loop: asyncio.AbstractEventLoop, paths: AppPaths) -> None:
        self._loop = loop
        self._cm: Any = open_service(paths, secrets=MemorySecretStore())
        self.service: VerificationService = loop.run_until_complete(self._cm.__aenter__())

    def close(self) -> None:
        self._loop.run_until_complete(self._cm.__aexit__(None, None, None))


@pytest.fixture
def ui_service(
    qloop: asyncio.AbstractEventLoop, app_paths: AppPaths
) -> Iterator[VerificationService]:
    handle = ServiceHandle(qloop, app_paths)
    yield handle.service
    handle.close()


@pytest.fixture
def confirmations() -> Iterator[list[confirm.Question]]:
    """Confirmations are answered "yes" and recorded; set `answers` to say no."""
    asked: list[confirm.Question] = []

    def answer(question: confirm.Question) -> bool:
        asked.append(question)
        return True

    confirm.set_answerer(answer)
    yield asked
    confirm.set_answerer(None)


@pytest.fixture
def presenter(qtbot: Any) -> ErrorPresenter:
    banner = StatusBanner()
    qtbot.addWidget(banner)
    return ErrorPresenter(banner)


def make_panel_context(
    service: VerificationService, provider_id: str, presenter: ErrorPresenter, qtbot: Any
) -> PanelContext:
    tasks = TaskRunner(on_error=presenter.show)
    images = ImagePair(service, tasks, provider_id)
    qtbot.addWidget(images)
    return PanelContext(service, provider_id, tasks, presenter, images)


@pytest.fixture
def panel_context_factory(
    ui_service: VerificationService,
    presenter: ErrorPresenter,
    qtbot: Any,
    confirmations: list[confirm.Question],
) -> Any:
    """`panel_context_factory("glair")` → a PanelContext on the in-process sandbox."""
    return lambda provider_id: make_panel_context(ui_service, provider_id, presenter, qtbot)


async def settle(ctx: PanelContext) -> None:
    """Let queued tasks start and finish."""
    await asyncio.sleep(0)
    await ctx.tasks.wait_idle()


__all__ = ["AsyncIterator", "settle"]
