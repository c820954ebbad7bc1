"""An httpx transport that runs an ASGI app on its own event loop in a worker thread.

httpx's `ASGITransport` runs the app on the caller's loop. For the in-process sandbox that loop
is the Qt thread's, so the emulator's Pillow work, JSON and base64 handling and RSA key
generation would freeze the window. Here the app runs on one long-lived loop in a daemon
thread (`SandboxLoop`); a request is handed over with `run_coroutine_threadsafe`, and the
response start and each body chunk come back through `call_soon_threadsafe` into an
`asyncio.Queue` on the caller's loop, so a response streams as the app sends it.

- Read timeouts are honoured like a socket would: the wait for the response start and for
  each body chunk is bounded by the request's `read` timeout (`httpx.ReadTimeout`).
- Cancellation is honoured: a cancelled request (or a response closed early) cancels the
  app's task on the worker loop, so the app sees the client go away.
- App exceptions are re-raised in the caller, as `httpx.ASGITransport` does by default;
  `translate_error` turns chosen ones into transport errors.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

_START = "start"
_BODY = "body"
_END = "end"
_ERROR = "error"


class SandboxLoop:
    """One event loop in a daemon thread, started on first use and shared by every transport."""

    _instance: SandboxLoop | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="facedesk-sandbox", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    @classmethod
    def shared(cls) -> SandboxLoop:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, function: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run a blocking callable in the worker loop's default executor (e.g. key generation)."""

        async def run() -> Any:
            return await asyncio.get_running_loop().run_in_executor(None, function)

        return self.submit(run())


class _Channel:
    """Messages from the worker loop to the caller's loop, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def post(self, kind: str, value: Any = None) -> None:
        # RuntimeError: the caller's loop is closed, nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))

    async def get(self, limit: float | None) -> tuple[str, Any]:
        async with asyncio.timeout(limit):
            return await self._queue.get()


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout", {})
    limit = timeouts.get("read") if isinstance(timeouts, dict) else None
    return float(limit) if limit is not None else None


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(
        self,
        channel: _Channel,
        task: concurrent.futures.Future[Any],
        request: httpx.Request,
        transport: ThreadedASGITransport,
    ) -> None:
        self._channel = channel
        self._task = task
        self._request = request
        self._transport = transport
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit = _read_timeout(self._request)
        while not self._done:
            try:
                kind, value = await self._channel.get(limit)
            except TimeoutError as exc:
                self._task.cancel()
                raise httpx.ReadTimeout(
                    "sandbox did not answer in time", request=self._request
                ) from exc
            if kind == _BODY:
                yield value
            elif kind == _END:
                self._done = True
            else:  # _ERROR
                self._done = True
                raise self._transport.translate(value, self._request)

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._task.cancel()


class ThreadedASGITransport(httpx.AsyncBaseTransport):
    """Serve requests from `app` running on `SandboxLoop`, off the caller's thread."""

    def __init__(self, app: ASGIApp, *, runner: SandboxLoop | None = None) -> None:
        self.app = app
        self.runner = runner or SandboxLoop.shared()

    def translate(self, exc: BaseException, request: httpx.Request) -> BaseException:
        """The exception the caller sees for an app exception; subclasses map their own."""
        return exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        channel = _Channel(asyncio.get_running_loop())
        task = self.runner.submit(self._serve(_scope(request), body, request.method, channel))
        try:
            kind, value = await channel.get(_read_timeout(request))
        except TimeoutError as exc:
            task.cancel()
            raise httpx.ReadTimeout("sandbox did not answer in time", request=request) from exc
        except asyncio.CancelledError:
            task.cancel()
            raise
        if kind == _ERROR:
            raise self.translate(value, request)
        status, headers = value
        return httpx.Response(
            status, headers=headers, stream=_ResponseStream(channel, task, request, self)
        )

    async def _serve(self, scope: dict[str, Any], body: bytes, method: str, out: _Channel) -> None:
        """Runs on the worker loop: one ASGI request/response cycle."""
        request_sent = False
        started = False
        finished = asyncio.Event()

        async def receive() -> Message:
            nonlocal request_sent
            if request_sent:
                await finished.wait()
                return {"type": "http.disconnect"}
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out.post(_START, (message["status"], message.get("headers", [])))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk and method != "HEAD":
                    out.post(_BODY, bytes(chunk))
                if not message.get("more_body", False):
                    finished.set()
                    out.post(_END)

        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            finished.set()
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller, like httpx.ASGITransport
            finished.set()
            out.post(_ERROR, exc)
            return
        if not started:
            out.post(_ERROR, RuntimeError("the app returned without sending a response"))
        elif not finished.is_set():
            finished.set()
            out.post(_END)


def _scope(request: httpx.Request) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "server": (request.url.host, request.url.port),
        "client": ("127.0.0.1", 123),
        "root_path": "",
    }
