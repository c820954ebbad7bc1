"""GLAIR Vision emulator: face match, image liveness and hosted liveness sessions.

Written from shared/providers/glair.md alone (no code shared with app/vendors/glair/), so a
misreading in either side shows up in the contract tests. Scores come from
app.sandbox.similarity: deterministic stand-ins, not biometrics.

Sandbox conventions an operator can rely on in a demo:
- credentials: username `sandbox`, password `sandbox`, API key `sandbox-glair-key`;
- a grayscale image reads as a printout (spoof), a colour one as a live person;
- a blank image has no face, a wide strip (≥ 1.8:1) has several;
- active liveness sees the requested gesture in a colour image and another one in grayscale;
- sessions live 24 hours of sandbox time; their `url` serves a small hosted page whose buttons
  finish the session as live or spoof (then redirect to `success_url` with `sid`) or cancel.

Toggles (PUT /_sandbox/settings): `glair.wrong_key_status` (401 or 403 for an unknown API key,
default 401), `glair.denied_operations` (operation names answered with 403 for a valid key:
match, passive-liveness, active-liveness, passive-liveness-sessions, active-liveness-sessions),
`glair.detected_gesture` (force what active liveness "sees").

One module past ~600 lines because it is one job, emulating GLAIR's contract: face match, the
two image liveness calls and the hosted sessions share one auth guard and one state object.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox.kit import PerState, basic_credentials, error_body, secret_matches
from app.sandbox.similarity import (
    ImageAnalysis,
    NotAnImage,
    analyse,
    similarity,
    sniff_format,
    spoof_probability,
)
from app.sandbox.state import SandboxState

USERNAME = "sandbox"
PASSWORD = "sandbox"
API_KEY = "sandbox-glair-key"
CREDENTIALS = {"username": USERNAME, "password": PASSWORD, "api_key": API_KEY}

# shared/providers/glair.md §0: the one error body on record.
DISALLOWED = "Access to this API has been disallowed"
SESSION_LIFETIME_S = 24 * 3600  # §4a: sessions expire after 24 hours by default
MATCH_THRESHOLD = 0.75  # [INFERRED] §1: GLAIR does not publish its threshold
MAX_GESTURES = 10  # [INFERRED] §5: no maximum is documented; refuse absurd values

# §3: the documented gesture codes (five-bit finger masks thumb→pinky, and head poses).
HAND_GESTURES = (
    "HAND_00000",
    "HAND_01000",
    "HAND_01100",
    "HAND_01110",
    "HAND_01111",
    "HAND_10000",
    "HAND_11000",
    "HAND_11001",
    "HAND_11111",
)
HEAD_GESTURES = (
    "HEAD_00",
    "HEAD_01",
    "HEAD_10",
    "HEAD_11",
    "HEAD_LEFT",
    "HEAD_RIGHT",
    "HEAD_UP",
    "HEAD_DOWN",
    "HEAD_OPEN_MOUTH",
    "HEAD_CLOSE_MOUTH",
)
GESTURES = HAND_GESTURES + HEAD_GESTURES

SESSION_KINDS = ("passive-liveness-sessions", "active-liveness-sessions")


@dataclass
class Session:
    sid: str
    kind: str  # one of SESSION_KINDS
    success_url: str
    cancel_url: str | None
    url: str
    expired_ms: int
    number_of_gestures: int | None
    gestures: tuple[str, ...]
    status: str = "PENDING"
    result: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The session object as create and retrieve return it (§4a, §4b, §5)."""
        body: dict[str, Any] = {
            "status": self.status,
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "url": self.url,
            "expired": self.expired_ms,
            "result": self.result,
        }
        if self.number_of_gestures is not None:
            body["number_of_gestures"] = self.number_of_gestures
        return body


@dataclass
class GlairSandbox:
    """All GLAIR state of one SandboxState."""

    state: SandboxState
    sessions: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.sessions.clear()

    def now_ms(self) -> int:
        return int(self.state.clock.now() * 1000)

    def live_session(self, sid: str, kind: str | None = None) -> Session | None:
        """The session if it exists, has the right kind and has not expired."""
        with self.lock:
            session = self.sessions.get(sid)
        if session is None or (kind is not None and session.kind != kind):
            return None
        if self.now_ms() >= session.expired_ms:
            return None
        return session

    def finish(self, session: Session, outcome: str) -> None:
        """Complete a session as the end user would: `outcome` is "live" or "spoof"."""
        digest = int(hashlib.sha256(session.sid.encode()).hexdigest()[:8], 16)
        spread = (digest % 1000) / 1000.0
        if outcome == "live":
            spoof = round(0.01 + 0.2 * spread, 5)
        else:
            spoof = round(0.8 + 0.19 * spread, 5)
        # [INFERRED] §4b: finished result shaped like the single-image endpoint.
        inner: dict[str, Any] = {"spoof_percentage": spoof, "status": _band(spoof)}
        if session.kind == "active-liveness-sessions":
            # [INFERRED] §5: gesture results; a spoof attempt fails its last gesture.
            gestures = []
            for index, code in enumerate(session.gestures):
                ok = outcome == "live" or index < len(session.gestures) - 1
                gestures.append(
                    {
                        "gesture_code": code,
                        "gesture_status": "MATCH" if ok else "NOT_MATCH",
                        "detected_gesture": code if ok else _other_gesture(code, digest),
                    }
                )
            inner["gestures"] = gestures
        with self.lock:
            session.status = "FINISHED"
            session.result = {"status": "success", "result": inner}


_sandbox_for = PerState(GlairSandbox, reset=lambda sandbox: sandbox.clear)


# --- helpers -----------------------------------------------------------------------------------


def _band(spoof: float) -> str:
    """[INFERRED] §2: cut-offs are unpublished; samples suggest about 0.3 and 0.7."""
    if spoof >= 0.7:
        return "HIGH"
    if spoof >= 0.3:
        return "MODERATE"
    return "LOW"


def _other_gesture(code: str, salt: int) -> str:
    family = HAND_GESTURES if code.startswith("HAND_") else HEAD_GESTURES
    others = [g for g in family if g != code]
    return others[salt % len(others)]


def _error(status: int, message: str) -> JSONResponse:
    # §0 / emulator rule 3: every answer is JSON, errors included.
    return error_body(status, {"error": message})


class _Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _absolute_url(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_sid(url: str, sid: str) -> str:
    """Append `sid` as a query parameter, keeping any query the URL already has (§4a).

    The existing query is kept verbatim (not re-encoded): it belongs to the operator's site.
    """
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    query += urlencode({"sid": sid})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _image_analysis(data: bytes, field_name: str) -> ImageAnalysis:
    if not data:
        raise _Rejected(400, f"{field_name} is empty")
    # Part headers say application/octet-stream and filename "blob" (§1 [OBS]): sniff the bytes.
    if sniff_format(data) not in ("JPEG", "PNG"):
        raise _Rejected(415, f"{field_name} must be a .png, .jpg or .jpeg image")
    try:
        return analyse(data)
    except NotAnImage as exc:
        raise _Rejected(400, f"{field_name} could not be decoded") from exc


async def _form_file(
    request: Request, names: tuple[str, ...]
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Read the multipart body: the named file parts (required) and every text field."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise _Rejected(400, f"send {', '.join(names)} as multipart/form-data")
    # A malformed body makes Starlette raise HTTPException(400), answered as JSON.
    async with request.form() as form:
        files: dict[str, bytes] = {}
        texts: dict[str, str] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(key, await value.read())
            else:
                texts.setdefault(key, value)
    for name in names:
        if name not in files and texts.get(name):
            files[name] = texts[name].encode("latin-1", errors="replace")
        if not files.get(name):
            raise _Rejected(400, f"{name} is required")
    return files, texts


# --- the vendor API ----------------------------------------------------------------------------


class _RequestIdMiddleware:
    """Adds `Request-Id` to every response (§0), echoing `x-request-id` when the caller sent one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"),
            "",
        )
        request_id = supplied[:128] or str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(state: SandboxState) -> ASGIApp:
    """The GLAIR API, mounted at /glair (paths /glair/face/v1/...) plus the hosted pages."""
    glair = _sandbox_for(state)

    def check_auth(request: Request, operation: str) -> None:
        # §0: Basic auth and x-api-key on every call; which status for which case is
        # [INFERRED] (emulator rule 2): 401 for missing/wrong credentials, 403 for no access.
        if basic_credentials(request) != (USERNAME, PASSWORD):
            raise _Rejected(401, DISALLOWED)
        key = request.headers.get("x-api-key")
        if not key:
            raise _Rejected(401, DISALLOWED)
        if not secret_matches(key, API_KEY):
            status = int(state.settings.get("glair.wrong_key_status", 401))
            raise _Rejected(status if status in (401, 403) else 401, DISALLOWED)
        if operation in state.settings.get("glair.denied_operations", []):
            raise _Rejected(403, DISALLOWED)

    async def match(request: Request) -> Response:
        check_auth(request, "match")
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            captured, stored = await _json_images(request)
        else:
            files, _ = await _form_file(request, ("captured_image", "stored_image"))
            captured, stored = files["captured_image"], files["stored_image"]
        stored_a = _image_analysis(stored, "stored_image")
        captured_a = _image_analysis(captured, "captured_image")
        # [INFERRED] §1: face-detection problems answer 200 with status "failed".
        for analysis, which in ((stored_a, "STORED"), (captured_a, "CAPTURED")):
            if not analysis.faces:
                return _match_body("failed", 0.0, "no face detected", f"NO_FACE_{which}_IMG")
            if len(analysis.faces) > 1:
                return _match_body("failed", 0.0, "many faces detected", f"MANY_FACES_{which}_IMG")
        score = similarity(stored_a, captured_a) or 0.0
        if score >= MATCH_THRESHOLD:
            return _match_body("success", score, "match", "MATCH")
        return _match_body("success", score, "not match", "NOT_MATCH")

    async def passive_liveness(request: Request) -> Response:
        check_auth(request, "passive-liveness")
        files, _ = await _form_file(request, ("image",))
        analysis = _image_analysis(files["image"], "image")
        if not analysis.faces:
            return JSONResponse({"status": "failed", "result": {"status": "face not detected"}})
        if len(analysis.faces) > 1:
            return JSONResponse(
                {"status": "failed", "result": {"status": "too many faces detected"}}
            )
        spoof = spoof_probability(analysis)
        # §2: even HIGH comes with top-level "success".
        return JSONResponse(
            {"status": "success", "result": {"spoof_percentage": spoof, "status": _band(spoof)}}
        )

    async def active_liveness(request: Request) -> Response:
        check_auth(request, "active-liveness")
        files, fields = await _form_file(request, ("image",))
        code = fields.get("gesture-code")  # §3: note the hyphen
        if not isinstance(code, str) or not code:
            raise _Rejected(400, "gesture-code is required")
        if code not in GESTURES:
            raise _Rejected(400, "gesture-code is not a valid gesture code")
        analysis = _image_analysis(files["image"], "image")
        hand = code.startswith("HAND_")
        if not analysis.faces:
            status = "hand not detected" if hand else "face not detected"
            return JSONResponse({"status": "failed", "result": {"gesture_status": status}})
        if len(analysis.faces) > 1:
            status = "too many hand detected" if hand else "too many faces detected"
            return JSONResponse({"status": "failed", "result": {"gesture_status": status}})
        forced = state.settings.get("glair.detected_gesture")
        if isinstance(forced, str) and forced in GESTURES:
            detected = forced
        elif analysis.grayscale:
            detected = _other_gesture(code, int(analysis.digest[:8], 16))
        else:
            detected = code
        return JSONResponse(
            {
                "status": "success",
                "result": {
                    "gesture_status": "MATCH" if detected == code else "NOT_MATCH",
                    "detected_gesture": detected,
                },
            }
        )

    def session_routes(kind: str) -> list[Route]:
        async def create(request: Request) -> Response:
            check_auth(request, kind)
            try:
                payload = await request.json()
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                raise _Rejected(400, "send a JSON object")
            success_url = payload.get("success_url")
            cancel_url = payload.get("cancel_url")
            if success_url is None:
                raise _Rejected(400, "success_url is required")
            if not _absolute_url(success_url):
                raise _Rejected(400, "success_url must be an absolute URL")
            if cancel_url is not None and not _absolute_url(cancel_url):
                raise _Rejected(400, "cancel_url must be an absolute URL")
            number: int | None = None
            if kind == "active-liveness-sessions":
                raw_number = payload.get("number_of_gestures", 1)  # §5: default 1
                if (
                    isinstance(raw_number, bool)
                    or not isinstance(raw_number, int | float)
                    or int(raw_number) != raw_number
                    or not 1 <= raw_number <= MAX_GESTURES
                ):
                    raise _Rejected(
                        400, f"number_of_gestures must be a whole number from 1 to {MAX_GESTURES}"
                    )
                number = int(raw_number)
            sid = secrets.token_hex(16)  # §4a: a 32-character alphanumeric id
            salt = int(sid[:8], 16)
            gestures = tuple(
                GESTURES[(salt + 7 * index) % len(GESTURES)] for index in range(number or 0)
            )
            origin = str(request.base_url).rstrip("/") + _mount_prefix(request)
            session = Session(
                sid=sid,
                kind=kind,
                success_url=str(success_url),
                cancel_url=None if cancel_url is None else str(cancel_url),
                url=f"{origin}/hosted/{kind}/{sid}",  # §4a: the sid is the last path segment
                expired_ms=glair.now_ms() + SESSION_LIFETIME_S * 1000,
                number_of_gestures=number,
                gestures=gestures,
            )
            with glair.lock:
                glair.sessions[sid] = session
            # §4a: the docs' object also lists `expired` and `result` (null while PENDING).
            return JSONResponse(session.body())

        async def retrieve(request: Request) -> Response:
            check_auth(request, kind)
            session = glair.live_session(request.path_params["sid"], kind)
            if session is None:
                # [INFERRED] §4b / emulator rule 6: unknown or expired sid → 404.
                raise _Rejected(404, "session not found")
            return JSONResponse(session.body())

        return [
            Route(f"/face/v1/{kind}", create, methods=["POST"]),
            Route(f"/face/v1/{kind}/{{sid}}", retrieve, methods=["GET"]),
        ]

    async def hosted_page(request: Request) -> Response:
        kind = request.path_params["kind"]
        session = glair.live_session(request.path_params["sid"], kind)
        if session is None:
            return HTMLResponse(_page("Session not available", _EXPIRED_HTML), status_code=404)
        if request.method == "POST":
            async with request.form() as form:
                outcome = form.get("outcome")
            if outcome == "cancel" and session.cancel_url:
                return RedirectResponse(session.cancel_url, status_code=303)
            if outcome in ("live", "spoof") and session.status == "PENDING":
                glair.finish(session, str(outcome))
                return RedirectResponse(_with_sid(session.success_url, session.sid), 303)
            if session.status == "FINISHED":
                return RedirectResponse(_with_sid(session.success_url, session.sid), 303)
            return HTMLResponse(_page("Unknown choice", "<p>Choose a button.</p>"), 400)
        return HTMLResponse(_page("GLAIR liveness check (sandbox)", _hosted_body(session)))

    async def returned(request: Request) -> Response:
        sid = html.escape(request.query_params.get("sid", ""))
        return HTMLResponse(
            _page("Done", f"<p>Thank you. Session <code>{sid}</code> is complete.</p>")
        )

    async def api_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, _Rejected):
            return _error(exc.status, exc.message)
        if isinstance(exc, HTTPException):
            return _error(exc.status_code, "not found" if exc.status_code == 404 else exc.detail)
        return _error(500, "internal server error")

    routes = [
        Route("/face/v1/match", match, methods=["POST"]),
        Route("/face/v1/passive-liveness", passive_liveness, methods=["POST"]),
        Route("/face/v1/active-liveness", active_liveness, methods=["POST"]),
        *session_routes("passive-liveness-sessions"),
        *session_routes("active-liveness-sessions"),
        Route("/hosted/return", returned, methods=["GET"]),
        Route("/hosted/{kind}/{sid}", hosted_page, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={_Rejected: api_error, HTTPException: api_error},
    )
    # Emulator rule 3: every answer carries a JSON body; Starlette's trailing-slash redirect
    # (307, empty body) would not, so an unknown path is a JSON 404 instead.
    app.router.redirect_slashes = False
    return _RequestIdMiddleware(app)


async def _json_images(request: Request) -> tuple[bytes, bytes]:
    """§1: JSON body with prefix-less base64 `captured_image` and `stored_image`."""
    try:
        payload = await request.json()
    except ValueError as exc:
        raise _Rejected(400, "malformed JSON body") from exc
    if not isinstance(payload, dict):
        raise _Rejected(400, "send a JSON object")
    images = []
    for name in ("captured_image", "stored_image"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise _Rejected(400, f"{name} is required")
        if value.startswith("data:"):
            # [INFERRED] §1: docs call data: prefixes unacceptable.
            raise _Rejected(400, f"{name} must be base64 without a data: prefix")
        try:
            images.append(base64.b64decode(value, validate=True))
        except binascii.Error as exc:
            raise _Rejected(400, f"{name} is not valid base64") from exc
    return images[0], images[1]


def _match_body(status: str, score: float, text: str, code: str) -> JSONResponse:
    return JSONResponse(
        {
            "status": status,
            "result": {
                "match_percentage": round(score, 5),
                "match_status": text,
                "match_status_code": code,
            },
        }
    )


# --- hosted page -------------------------------------------------------------------------------

_EXPIRED_HTML = "<p>This liveness session does not exist or has expired.</p>"


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em}"
        "button{font-size:1.1em;margin:.3em 0;padding:.5em 1em;width:100%}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}"
        "<p><small>FaceDesk sandbox: no camera is used and nothing is biometric.</small></p>"
        "</body></html>"
    )


def _hosted_body(session: Session) -> str:
    parts = [f"<p>Session <code>{session.sid}</code> · status {session.status}</p>"]
    if session.gestures:
        items = "".join(f"<li>{html.escape(g)}</li>" for g in session.gestures)
        parts.append(f"<p>Gestures requested:</p><ol>{items}</ol>")
    buttons = [
        "<form method='post'><input type='hidden' name='outcome' value='live'>"
        "<button type='submit'>Complete as live</button></form>",
        "<form method='post'><input type='hidden' name='outcome' value='spoof'>"
        "<button type='submit'>Complete as spoof</button></form>",
    ]
    if session.cancel_url:
        # §4a: the back button only exists when a cancel_url was given.
        buttons.append(
            "<form method='post'><input type='hidden' name='outcome' value='cancel'>"
            "<button type='submit'>Cancel</button></form>"
        )
    return "".join(parts + buttons)


# --- admin API (mounted at /_sandbox/glair) ----------------------------------------------------


def create_admin_app(state: SandboxState) -> ASGIApp:
    """Demo hooks: list sessions, complete one as live/spoof, force its status."""
    glair = _sandbox_for(state)

    def summary(session: Session) -> dict[str, Any]:
        return {
            "sid": session.sid,
            "kind": session.kind,
            "gestures": list(session.gestures),
            "expired_now": glair.now_ms() >= session.expired_ms,
            **session.body(),
        }

    def find(request: Request) -> Session:
        with glair.lock:
            session = glair.sessions.get(request.path_params["sid"])
        if session is None:
            raise HTTPException(404, "no such session")
        return session

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            payload = await request.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    async def index(request: Request) -> Response:
        with glair.lock:
            sessions = list(glair.sessions.values())
        return JSONResponse({"sessions": [summary(s) for s in sessions]})

    async def get_session(request: Request) -> Response:
        return JSONResponse(summary(find(request)))

    async def complete(request: Request) -> Response:
        session = find(request)
        outcome = (await body_of(request)).get("outcome", "live")
        if outcome not in ("live", "spoof"):
            return JSONResponse({"error": "outcome must be live or spoof"}, 400)
        if glair.now_ms() >= session.expired_ms:
            return JSONResponse({"error": "session has expired"}, 409)
        glair.finish(session, outcome)
        return JSONResponse(
            {**summary(session), "redirect": _with_sid(session.success_url, session.sid)}
        )

    async def force_status(request: Request) -> Response:
        session = find(request)
        payload = await body_of(request)
        status = payload.get("status")
        if status == "PENDING":
            with glair.lock:
                session.status, session.result = "PENDING", None
        elif status == "FINISHED":
            glair.finish(session, str(payload.get("outcome", "live")))
        elif status == "EXPIRED":
            with glair.lock:
                session.expired_ms = glair.now_ms()
        else:
            return JSONResponse({"error": "status must be PENDING, FINISHED or EXPIRED"}, 400)
        if isinstance(payload.get("result"), dict | None) and "result" in payload:
            with glair.lock:
                session.result = payload["result"]
        return JSONResponse(summary(session))

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "error"
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return JSONResponse({"error": detail}, code)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/sessions", index),
            Route("/sessions/{sid}", get_session),
            Route("/sessions/{sid}/complete", complete, methods=["POST"]),
            Route("/sessions/{sid}/status", force_status, methods=["POST"]),
        ],
        exception_handlers={HTTPException: not_found},
    )


def _mount_prefix(request: Request) -> str:
    """The mount path (/glair) when Starlette's base_url leaves it out."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return "" if str(request.base_url).rstrip("/").endswith(root) else root
