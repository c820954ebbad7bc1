"""Assembles the sandbox: vendor sub-apps, the admin API, and fault injection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox import IN_PROCESS_ORIGIN as IN_PROCESS_ORIGIN
from app.sandbox import azure_face as azure_face_sandbox
from app.sandbox import glair as glair_sandbox
from app.sandbox import uqudo as uqudo_sandbox
from app.sandbox import veriff as veriff_sandbox
from app.sandbox.state import FAULT_KINDS, Fault, SandboxState
from app.sandbox.transport import ThreadedASGITransport


@dataclass(frozen=True, slots=True)
class VendorMount:
    name: str  # URL prefix without slash, e.g. "glair"
    title: str
    create_app: Callable[[SandboxState], ASGIApp]
    create_admin_app: Callable[[SandboxState], ASGIApp] | None
    credentials: dict[str, str]
    base_path: str  # what a client uses as its base URL, relative to the origin


def vendor_mounts() -> list[VendorMount]:
    """The emulated vendors, in the order the window shows them."""
    return [
        VendorMount(
            "azure",
            "Azure AI Face",
            azure_face_sandbox.create_app,
            azure_face_sandbox.create_admin_app,
            azure_face_sandbox.CREDENTIALS,
            "/azure",
        ),
        VendorMount(
            "veriff",
            "Veriff",
            veriff_sandbox.create_app,
            veriff_sandbox.create_admin_app,
            veriff_sandbox.CREDENTIALS,
            "/veriff",
        ),
        VendorMount(
            "uqudo",
            "uqudo",
            uqudo_sandbox.create_app,
            uqudo_sandbox.create_admin_app,
            uqudo_sandbox.CREDENTIALS,
            "/uqudo",
        ),
        VendorMount(
            "glair",
            "GLAIR Vision",
            glair_sandbox.create_app,
            glair_sandbox.create_admin_app,
            glair_sandbox.CREDENTIALS,
            "/glair",
        ),
    ]


class DroppedConnection(Exception):
    """Raised mid-response to make the server drop the connection (fault kind "drop")."""


class FaultInjector:
    """ASGI middleware applying faults registered through `POST /_sandbox/faults`."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        fault = self.state.take_fault(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        if fault.kind == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"512"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
            raise DroppedConnection("sandbox fault: connection dropped")
        if fault.kind == "malformed":
            body, content_type, status = (
                b'{"status": "success", "result": {',
                "application/json",
                200,
            )
        elif fault.kind == "non_json":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            content_type, status = "text/html", fault.status if fault.status != 500 else 502
        else:
            payload = fault.body if fault.body is not None else {"error": "sandbox injected fault"}
            if isinstance(payload, str):
                body, content_type = payload.encode(), "text/plain"
            else:
                body, content_type = json.dumps(payload).encode(), "application/json"
            status = fault.status
        if fault.delay:
            await asyncio.sleep(fault.delay)
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        await _drain(receive)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _admin_routes(state: SandboxState, mounts: list[VendorMount]) -> list[Route | Mount]:
    async def index(request: Request) -> Response:
        origin = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "sandbox": "FaceDesk sandbox: emulated vendors, not biometric",
                "clock": state.clock.now(),
                "vendors": {
                    m.name: {
                        "title": m.title,
                        "base_url": origin + m.base_path,
                        "credentials": m.credentials,
                    }
                    for m in mounts
                },
            }
        )

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            payload = await _json(request)
            seconds = payload.get("seconds")
            if not isinstance(seconds, int | float) or seconds < 0:
                return JSONResponse({"error": "seconds must be a non-negative number"}, 400)
            state.clock.advance(float(seconds))
        return JSONResponse({"now": state.clock.now(), "offset": state.clock.offset})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.reset_faults()
            return JSONResponse({"faults": 0})
        payload = await _json(request)
        kind = payload.get("kind", "status")
        path = payload.get("path")
        if kind not in FAULT_KINDS or not isinstance(path, str):
            return JSONResponse(
                {"error": f"kind must be one of {FAULT_KINDS} and path a regular expression"}, 400
            )
        fault = Fault(
            kind=kind,
            path=path,
            method=str(payload.get("method", "*")),
            count=int(payload.get("count", 1)),
            status=int(payload.get("status", 500)),
            body=payload.get("body"),
            headers={str(k): str(v) for k, v in dict(payload.get("headers", {})).items()},
            delay=float(payload.get("delay", 0.0)),
        )
        state.add_fault(fault)
        return JSONResponse({"queued": True}, 201)

    async def settings(request: Request) -> Response:
        if request.method == "PUT":
            state.settings.update(await _json(request))
        return JSONResponse(state.settings)

    routes: list[Route | Mount] = [
        Route("/", index),
        Route("/reset", reset, methods=["POST"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/faults", faults, methods=["POST", "DELETE"]),
        Route("/settings", settings, methods=["GET", "PUT"]),
    ]
    for mount in mounts:
        if mount.create_admin_app is not None:
            routes.append(Mount(f"/{mount.name}", app=mount.create_admin_app(state)))
    return routes


async def _json(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def create_sandbox_app(state: SandboxState | None = None) -> tuple[ASGIApp, SandboxState]:
    state = state or SandboxState()
    mounts = vendor_mounts()
    routes: list[Route | Mount] = [Mount("/_sandbox", routes=_admin_routes(state, mounts))]
    routes += [Mount(f"/{m.name}", app=m.create_app(state)) for m in mounts]
    app = Starlette(routes=routes)
    return FaultInjector(app, state), state


class SandboxTransport(ThreadedASGITransport):
    """The in-process sandbox as an httpx transport: no socket, same behaviour as the server.

    The app runs on its own loop in a worker thread (see `app.sandbox.transport`), so its
    Pillow, JSON and RSA work never blocks the caller's (the window's) event loop. The read
    timeout is honoured like a socket would, so "the vendor is too slow" behaves the same
    in-process as over the network.
    """

    def translate(self, exc: BaseException, request: httpx.Request) -> BaseException:
        if isinstance(exc, DroppedConnection):
            error = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
            error.__cause__ = exc
            return error
        return exc
