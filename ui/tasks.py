"""TaskRunner: named, preemptive asyncio tasks started by clicks, with one error channel.

Starting a task under a name that is already running cancels the earlier run (a second click
on "Match" replaces the first). Every failure leaves through `on_error`; cancellation is not
an error. The status bar lists running tasks and can cancel them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("facedesk.ui.tasks")

ErrorHandler = Callable[[BaseException, "Callable[[], None] | None"], None]


def readable_task_name(name: str, vendors: Mapping[str, str]) -> str:
    """What the status bar says for a task started without a label.

    "uqudo:face_match" → "uqudo: Face match": the vendor's display name, then the operation in
    words, never the internal identifier.
    """
    prefix, _sep, rest = name.partition(":")
    if prefix in vendors and rest:
        words = rest.replace(":", " ").replace("_", " ").strip()
        return f"{vendors[prefix]}: {words[:1].upper()}{words[1:]}"
    words = name.replace(":", " ").replace("_", " ").strip()
    return f"{words[:1].upper()}{words[1:]}"


@dataclass
class RunningTask:
    name: str
    label: str
    task: asyncio.Task[Any]
    cancellable: bool


class TaskRunner(QObject):
    changed = Signal()
    succeeded = Signal(str)  # task name; the banner of its earlier failure can go
    failed = Signal(str)  # task name, after on_error has shown the failure

    def __init__(self, on_error: ErrorHandler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self._tasks: dict[str, RunningTask] = {}

    def start(
        self,
        name: str,
        work: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
        *,
        label: str | None = None,
        retry: Callable[[], None] | None = None,
        cancellable: bool = True,
    ) -> asyncio.Task[Any]:
        """Run `work` as task `name`, cancelling any earlier task of that name.

        `work` is a coroutine, or a function making one: then a failure the operator may retry
        (a timeout, a 5xx) gets a Retry button that runs it again.
        """
        if asyncio.iscoroutine(work):
            coro = work
        else:
            factory = work
            coro = factory()
            if retry is None:

                def retry() -> None:
                    self.start(name, factory, label=label, cancellable=cancellable)

        previous = self._tasks.pop(name, None)
        if previous is not None and not previous.task.done():
            previous.task.cancel()
        task = asyncio.ensure_future(coro)
        entry = RunningTask(name, label or name, task, cancellable)
        self._tasks[name] = entry

        def finished(done: asyncio.Task[Any]) -> None:
            if self._tasks.get(name) is entry:
                del self._tasks[name]
            self.changed.emit()
            if done.cancelled():
                return
            exc = done.exception()
            if exc is not None:
                self._on_error(exc, retry)
                self.failed.emit(name)
            else:
                self.succeeded.emit(name)

        task.add_done_callback(finished)
        self.changed.emit()
        return task

    def is_running(self, name: str) -> bool:
        entry = self._tasks.get(name)
        return entry is not None and not entry.task.done()

    def running(self) -> list[RunningTask]:
        return [t for t in self._tasks.values() if not t.task.done()]

    def cancel(self, name: str) -> None:
        entry = self._tasks.get(name)
        if entry is not None:
            entry.task.cancel()

    def cancel_prefix(self, prefix: str) -> None:
        for entry in list(self._tasks.values()):
            if entry.name.startswith(prefix):
                entry.task.cancel()

    async def cancel_all(self) -> None:
        tasks = [t.task for t in self._tasks.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_idle(self, limit: float = 30.0) -> None:
        """Wait until no task is running (tests, and shutdown)."""
        async with asyncio.timeout(limit):
            while True:
                pending = [t.task for t in self._tasks.values() if not t.task.done()]
                if not pending:
                    # Let done-callbacks (error reporting) run before returning.
                    await asyncio.sleep(0)
                    return
                await asyncio.wait(pending)
