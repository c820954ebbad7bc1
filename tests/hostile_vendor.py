"""A misbehaving vendor on loopback sockets, for the hardening tests.

`HostileVendor` answers every path the same way, chosen by `mode`:

- `redirect`: a redirect (`status`, 307 unless told) to the same path on a second listener,
  `recorder`, which records every request that reaches it (it must stay empty);
- `deep`: a JSON body nested 100,000 deep (with the reply status `status`, 200 unless told);
- `huge`: a well-formed JSON string body of `size` bytes, streamed;
- `endless`: a body that never ends, streamed;
- `trickle`: one byte every `interval` seconds, forever.

A POST to the uqudo token path always gets a token, so uqudo's API calls are reached too
(unless `mode_for_token` is set, which makes the token request misbehave instead).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TOKEN_PATH_SUFFIX = "/api/oauth/token"
DEEP = 100_000


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What reached the second origin."""

    requests: list[Received] = field(default_factory=list)


class _Listener:
    def __init__(self, app: Starlette) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("listener did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class HostileVendor:
    def __init__(self) -> None:
        self.mode = "redirect"
        self.status = 0
        self.size = 20 * 1024 * 1024
        self.interval = 0.2
        self.mode_for_token = False
        self.recorder = Recorder()
        self.hits: list[str] = []
        catch_all = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self._second = _Listener(
            Starlette(routes=[Route("/{path:path}", self._record, methods=catch_all)])
        )
        self._first = _Listener(
            Starlette(routes=[Route("/{path:path}", self._misbehave, methods=catch_all)])
        )
        self.origin = self._first.origin
        self.other_origin = self._second.origin

    def start(self) -> HostileVendor:
        self._second.start()
        self._first.start()
        return self

    def stop(self) -> None:
        self._first.stop()
        self._second.stop()

    def reset(self, mode: str, **options: object) -> None:
        self.mode, self.status, self.mode_for_token = mode, 0, False
        for name, value in options.items():
            setattr(self, name, value)
        self.recorder.requests.clear()
        self.hits.clear()

    async def _record(self, request: Request) -> Response:
        self.recorder.requests.append(
            Received(request.method, request.url.path, dict(request.headers), await request.body())
        )
        return JSONResponse({"stolen": True})

    async def _misbehave(self, request: Request) -> Response:
        await request.body()
        self.hits.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith(TOKEN_PATH_SUFFIX) and not self.mode_for_token:
            return JSONResponse({"access_token": "hostile-token", "expires_in": 300})
        if self.mode == "redirect":
            target = f"{self.other_origin}{request.url.path}"
            return Response(status_code=self.status or 307, headers={"Location": target})
        status = self.status or 200
        if self.mode == "deep":
            body = "[" * DEEP + "]" * DEEP
            return Response(body, status_code=status, media_type="application/json")
        if self.mode == "huge":
            return StreamingResponse(
                self._huge(), status_code=status, media_type="application/json"
            )
        if self.mode == "endless":
            return StreamingResponse(
                self._endless(), status_code=status, media_type="application/json"
            )
        if self.mode == "trickle":
            return StreamingResponse(
                self._trickle(), status_code=status, media_type="application/json"
            )
        raise AssertionError(f"unknown mode {self.mode}")

    async def _huge(self) -> AsyncIterator[bytes]:
        chunk = b"a" * 65536
        yield b'"'
        for _ in range(self.size // len(chunk)):
            yield chunk
        yield b'"'

    async def _endless(self) -> AsyncIterator[bytes]:
        chunk = b" " * 65536
        yield b"["
        while True:
            yield chunk
            await asyncio.sleep(0)

    async def _trickle(self) -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(self.interval)
