"""The threaded sandbox transport: the app runs off the caller's thread, streams, and cancels."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.sandbox.transport import ThreadedASGITransport


def _recording_app(seen: dict[str, object]) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["thread"] = threading.get_ident()
        await receive()
        if scope["path"] == "/slow":
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


async def test_app_runs_on_worker_thread_and_streams_chunks() -> None:
    seen: dict[str, object] = {}
    transport = ThreadedASGITransport(_recording_app(seen))  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=transport, base_url="http://sandbox")
    async with client, client.stream("GET", "/") as response:
        chunks = [c async for c in response.aiter_raw()]
    assert chunks == [b"one,", b"two,", b"three"]
    assert seen["thread"] != threading.get_ident()


async def test_read_timeout_and_cancellation_reach_the_app() -> None:
    seen: dict[str, object] = {}
    transport = ThreadedASGITransport(_recording_app(seen))  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", timeout=0.2
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/slow")
        for _ in range(50):
            if seen.get("cancelled"):
                break
            await asyncio.sleep(0.02)
        assert seen.get("cancelled") is True

        seen.clear()
        task = asyncio.ensure_future(client.get("/slow", timeout=10))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if seen.get("cancelled"):
                break
            await asyncio.sleep(0.02)
        assert seen.get("cancelled") is True
