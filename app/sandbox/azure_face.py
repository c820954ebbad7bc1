"""Emulated Azure AI Face data plane, written from shared/providers/azure-face.md.

Served under `/azure/face/{apiVersion}/...`. Both liveness path families exist, chosen by the
version in the URL (§0): the singleModal family for v1.1-preview.1 / v1.2-preview.1 and the
`-sessions` family for v1.2 / v1.3-preview.1. Detect, verify and LargePersonGroups (§4-6) are
served in every version. Scores come from app.sandbox.similarity: NOT BIOMETRIC.

Admin hooks (mounted at `/_sandbox/azure/`):
- `POST /sessions/{sessionId}/simulate` `{"outcome": "realface"|"spoofface"|"uncertain"|"start"|
  "error", "image_base64"?: str, "error_code"?: str}` runs one device attempt on a session.
- `GET /sessions` lists every session (ids, family, status) for demos.
Sandbox settings (PUT /_sandbox/settings): `azure_face.limited_access` (bool, default false:
faceId-returning calls answer 403 UnsupportedFeature when true) and
`azure_face.training_seconds` (float, default 1.0: how long a training stays "running").

One module past ~600 lines because it is one job, emulating one vendor's whole contract: the
face, person-group and three liveness path families share the same state, fault hooks and
error bodies, and splitting them would scatter one contract over several files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from app.sandbox.kit import (
    BodyProblem,
    PerState,
    bearer_token,
    is_uuid,
    json_object,
    secret_matches,
)
from app.sandbox.similarity import FaceBox, ImageAnalysis, NotAnImage, analyse, face_similarity
from app.sandbox.state import SandboxState

SUBSCRIPTION_KEY = "sandbox-azure-key"
ENTRA_TOKEN = "sandbox-entra-token"
CREDENTIALS = {"subscription_key": SUBSCRIPTION_KEY, "entra_token": ENTRA_TOKEN}

PREVIEW_VERSIONS = ("v1.1-preview.1", "v1.2-preview.1")
GA_VERSIONS = ("v1.2", "v1.3-preview.1")
VERSIONS = PREVIEW_VERSIONS + GA_VERSIONS

LIMITED_ACCESS = "azure_face.limited_access"
TRAINING_SECONDS = "azure_face.training_seconds"

OPERATION_MODES = ("Passive", "PassiveActive")
GA_MODEL = "2024-11-15"
PREVIEW_MODELS = {
    "v1.1-preview.1": (
        "2020-02-15-preview.01",
        "2021-11-12-preview.03",
        "2022-10-15-preview.04",
        "2023-03-02-preview.05",
    ),
    "v1.2-preview.1": ("2022-10-15-preview.04", "2023-12-20-preview.06"),
}
DETECTION_MODELS = ("detection_01", "detection_02", "detection_03")
RECOGNITION_MODELS = ("recognition_01", "recognition_02", "recognition_03", "recognition_04")
SESSION_ID_LIFETIME = 48 * 3600  # §8: the session id itself lives 48 h
DEFAULT_VERIFY_THRESHOLD = 0.5  # §5: isIdentical ⇔ confidence ≥ 0.5 by default
COLLECTION_ID = re.compile(r"^[a-z0-9-_]{1,64}$")
SESSION_NOT_FOUND = "Session Id is not found. The session id is expired or does not exist."
MIN_IMAGE_BYTES = 1024
MAX_IMAGE_BYTES = 6 * 1024 * 1024


class FaceApiError(Exception):
    """Raised inside a handler; rendered as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _iso(epoch: float) -> str:
    # §1: the real service emits 7 fractional digits and +00:00.
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def _rect(face: FaceBox) -> dict[str, int]:
    return {"top": face.top, "left": face.left, "width": face.width, "height": face.height}


def _quality(face: FaceBox) -> str:
    side = min(face.width, face.height)
    return "high" if side >= 200 else "medium" if side >= 100 else "low"


def _largest_first(analysis: ImageAnalysis) -> list[FaceBox]:
    return sorted(analysis.faces, key=lambda f: f.width * f.height, reverse=True)


@dataclass
class Session:
    session_id: str
    kind: str  # "liveness" | "verify"
    family: str  # "preview" | "ga"
    version: str
    created: float
    ttl: int
    mode: str
    auth_token: str
    device_correlation_id: str | None
    set_in_client: bool
    enable_session_image: bool
    model: str | None = None
    verify: ImageAnalysis | None = None
    verify_threshold: float | None = None
    return_hash: bool = False
    verify_hash: str | None = None
    attempts_allowed: int = 1
    started: float | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)  # GA, newest first
    audit: list[dict[str, Any]] = field(default_factory=list)  # preview, ascending id
    status: str = "NotStarted"


@dataclass
class DetectedFace:
    signature: int
    recognition_model: str
    expires: float


@dataclass
class Person:
    person_id: str
    name: str
    user_data: str | None
    faces: dict[str, int] = field(default_factory=dict)  # persistedFaceId → signature
    face_user_data: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Group:
    group_id: str
    name: str
    user_data: str | None
    recognition_model: str
    persons: dict[str, Person] = field(default_factory=dict)
    training_started: float | None = None
    training_created: float | None = None
    last_success: float | None = None
    snapshot: dict[str, list[int]] | None = None  # personId → signatures, at last success
    pending: dict[str, list[int]] | None = None


class AzureFaceState:
    """Everything the emulated resource holds; cleared on POST /_sandbox/reset."""

    def __init__(self, state: SandboxState) -> None:
        self.sandbox = state
        self.sessions: dict[str, Session] = {}
        self.faces: dict[str, DetectedFace] = {}
        self.groups: dict[str, Group] = {}
        self.session_images: dict[str, bytes] = {}
        self.audit_seq = 0
        state.on_reset(self.clear)

    def clear(self) -> None:
        self.sessions.clear()
        self.faces.clear()
        self.groups.clear()
        self.session_images.clear()
        self.audit_seq = 0

    def now(self) -> float:
        return self.sandbox.clock.now()

    def settle_training(self, group: Group) -> None:
        """Finish a running training once its (sandbox-clock) duration has passed."""
        if group.training_started is None or group.pending is None:
            return
        duration = float(self.sandbox.settings.get(TRAINING_SECONDS, 1.0))
        if self.now() - group.training_started >= duration:
            group.snapshot = group.pending
            group.pending = None
            group.last_success = group.training_started + duration

    def training_status(self, group: Group) -> str:
        self.settle_training(group)
        if group.pending is not None:
            return "running"
        return "succeeded" if group.last_success is not None else "notStarted"


# --- request helpers -----------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status, {"x-ms-error-code": code})


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


async def _json_body(request: Request, code: str = "BadArgument") -> dict[str, Any]:
    try:
        return json_object(await request.body())
    except BodyProblem as problem:
        raise FaceApiError(400, code, f"Invalid request body: {problem.reason}.") from None


def _bool_query(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FaceApiError(400, "BadArgument", f"Invalid argument '{name}'.")


def _paging(request: Request) -> tuple[str, int]:
    start = request.query_params.get("start", "")
    top_text = request.query_params.get("top", "1000")
    if len(start) > 64:
        raise FaceApiError(400, "BadArgument", "Parameter 'start' exceeds 64 characters.")
    try:
        top = int(top_text)
    except ValueError:
        raise FaceApiError(400, "BadArgument", "Parameter 'top' must be an integer.") from None
    if not 1 <= top <= 1000:
        raise FaceApiError(400, "BadArgument", "Parameter 'top' must be between 1 and 1000.")
    return start, top


def _check_image(data: bytes) -> ImageAnalysis:
    if len(data) < MIN_IMAGE_BYTES or len(data) > MAX_IMAGE_BYTES:
        raise FaceApiError(
            400, "InvalidImageSize", "Image size is too small or too big (1 KB to 6 MB)."
        )
    try:
        analysis = analyse(data)
    except NotAnImage:
        raise FaceApiError(
            400, "InvalidImage", "Decoding error, image format unsupported."
        ) from None
    if analysis.format not in ("JPEG", "PNG", "GIF", "BMP"):
        raise FaceApiError(400, "InvalidImage", "Decoding error, image format unsupported.")
    return analysis


# --- liveness sessions ---------------------------------------------------------------------------


def _validate_create(version: str, params: dict[str, Any], *, verify: bool) -> dict[str, Any]:
    """§8 validation shared by both families; returns the normalised options."""
    mode = params.get("livenessOperationMode")
    if mode not in OPERATION_MODES:
        raise FaceApiError(
            400,
            "InvalidLivenessOperationMode",
            "'livenessOperationMode' is required and must be Passive or PassiveActive.",
        )
    ttl = params.get("authTokenTimeToLiveInSeconds", 600)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= 86400:
        raise FaceApiError(
            400, "InvalidTokenLifetime", "'authTokenTimeToLiveInSeconds' must be 60 to 86400."
        )
    set_in_client = params.get("deviceCorrelationIdSetInClient", False)
    device_id = params.get("deviceCorrelationId")
    if not isinstance(set_in_client, bool):
        raise FaceApiError(400, "BadArgument", "'deviceCorrelationIdSetInClient' must be boolean.")
    if set_in_client and device_id is not None:
        raise FaceApiError(
            400,
            "InvalidDeviceCorrelationId",
            "'deviceCorrelationId' must be null when 'deviceCorrelationIdSetInClient' is true.",
        )
    if not set_in_client and (not isinstance(device_id, str) or not device_id):
        raise FaceApiError(
            400,
            "InvalidDeviceCorrelationId",
            "'deviceCorrelationId' is required unless 'deviceCorrelationIdSetInClient' is true.",
        )
    if isinstance(device_id, str) and len(device_id) > 64:
        raise FaceApiError(
            400, "InvalidDeviceCorrelationId", "'deviceCorrelationId' exceeds 64 characters."
        )
    enable_image = params.get("enableSessionImage", False)
    if not isinstance(enable_image, bool):
        raise FaceApiError(400, "BadArgument", "'enableSessionImage' must be boolean.")
    model_field = "livenessModelVersion" if version in GA_VERSIONS else "livenessSingleModalModel"
    model = params.get(model_field)
    allowed_models = (GA_MODEL,) if version in GA_VERSIONS else PREVIEW_MODELS[version]
    if model is not None and model not in allowed_models:
        raise FaceApiError(400, "BadArgument", f"Invalid '{model_field}'.")
    threshold = params.get("verifyConfidenceThreshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise FaceApiError(400, "BadArgument", "'verifyConfidenceThreshold' must be 0 to 1.")
    attempts = params.get("numberOfClientAttemptsAllowed", 1)
    if version == "v1.3-preview.1" and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 3
    ):
        raise FaceApiError(400, "BadArgument", "'numberOfClientAttemptsAllowed' must be 1 to 3.")
    return {
        "mode": mode,
        "ttl": ttl,
        "set_in_client": set_in_client,
        "device_id": device_id,
        "enable_image": enable_image,
        "model": model,
        "threshold": threshold,
        "return_hash": bool(params.get("returnVerifyImageHash", False)),
        # [INFERRED] shared/providers/azure-face.md §2.1: v1.2 documents no attempt limit; the
        # official example shows two attempts, so v1.2 allows 3, v1.3-preview.1 its parameter.
        "attempts": attempts if version == "v1.3-preview.1" else 3,
    }


# §2.2: each form field has a declared type; every other field (deviceCorrelationId above all,
# which a kiosk may well number "12345") stays the text it was sent as.
FORM_BOOLS = frozenset(
    {"deviceCorrelationIdSetInClient", "enableSessionImage", "returnVerifyImageHash"}
)
FORM_INTS = frozenset({"authTokenTimeToLiveInSeconds", "numberOfClientAttemptsAllowed"})
FORM_FLOATS = frozenset({"verifyConfidenceThreshold"})


def _form_value(name: str, raw: str) -> Any:
    """Multipart form fields arrive as text; give the typed ones their JSON types (§2.2).

    A value that does not parse as its type is passed on as text, so validation answers
    with the field's own error code.
    """
    text = raw.strip()
    if name in FORM_BOOLS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if name in FORM_INTS:
        try:
            return int(text)
        except ValueError:
            return raw
    if name in FORM_FLOATS:
        try:
            return float(text)
        except ValueError:
            return raw
    return raw


class AzureFaceApp:
    """Routing, auth and handlers for `/azure/face/{apiVersion}/...`."""

    def __init__(self, data: AzureFaceState) -> None:
        self.data = data
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Awaitable[Response]]]] = []
        s = r"(?P<kind>detectLiveness|detectLivenessWithVerify)"
        sid = r"(?P<sid>[^/]+)"
        gid = r"(?P<gid>[^/]+)"
        pid = r"(?P<pid>[^/]+)"
        fid = r"(?P<fid>[^/]+)"
        table: list[tuple[str, str, Callable[..., Awaitable[Response]]]] = [
            ("POST", rf"{s}/singleModal/sessions", self.preview_create),
            ("GET", rf"{s}/singleModal/sessions", self.preview_list),
            ("GET", rf"{s}/singleModal/sessions/{sid}", self.preview_get),
            ("DELETE", rf"{s}/singleModal/sessions/{sid}", self.preview_delete),
            ("GET", rf"{s}/singleModal/sessions/{sid}/audit", self.preview_audit),
            ("POST", rf"{s}-sessions", self.ga_create),
            ("GET", rf"{s}-sessions/{sid}", self.ga_get),
            ("DELETE", rf"{s}-sessions/{sid}", self.ga_delete),
            ("GET", r"sessionImages/(?P<iid>[^/]+)", self.session_image),
            ("POST", r"detect", self.detect),
            ("POST", r"verify", self.verify),
            ("POST", r"identify", self.identify),
            ("GET", r"largepersongroups", self.list_groups),
            ("PUT", rf"largepersongroups/{gid}", self.create_group),
            ("GET", rf"largepersongroups/{gid}", self.get_group),
            ("DELETE", rf"largepersongroups/{gid}", self.delete_group),
            ("POST", rf"largepersongroups/{gid}/train", self.train),
            ("GET", rf"largepersongroups/{gid}/training", self.training),
            ("GET", rf"largepersongroups/{gid}/persons", self.list_persons),
            ("POST", rf"largepersongroups/{gid}/persons", self.create_person),
            ("GET", rf"largepersongroups/{gid}/persons/{pid}", self.get_person),
            ("DELETE", rf"largepersongroups/{gid}/persons/{pid}", self.delete_person),
            ("POST", rf"largepersongroups/{gid}/persons/{pid}/persistedfaces", self.add_face),
            (
                "DELETE",
                rf"largepersongroups/{gid}/persons/{pid}/persistedfaces/{fid}",
                self.delete_face,
            ),
        ]
        for method, pattern, handler in table:
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    async def __call__(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            response = await self.dispatch(request)
        except FaceApiError as exc:
            response = _error(exc.status, exc.code, exc.message)
        response.headers["apim-request-id"] = request_id
        return response

    def authorised(self, request: Request) -> bool:
        if secret_matches(request.headers.get("ocp-apim-subscription-key"), SUBSCRIPTION_KEY):
            return True
        return secret_matches(bearer_token(request), ENTRA_TOKEN)

    async def dispatch(self, request: Request) -> Response:
        version = request.path_params["version"]
        path = request.path_params["path"].strip("/")
        if not self.authorised(request):
            # §7: a missing or invalid key is 401 with the code literally "401".
            raise FaceApiError(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make "
                "sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource.",
            )
        if version not in VERSIONS:
            raise FaceApiError(404, "NotFound", f"API version '{version}' is not supported.")
        matched_path = False
        for method, pattern, handler in self.routes:
            found = pattern.match(path)
            if found is None:
                continue
            matched_path = True
            if method != request.method:
                continue
            family_ok = self._family_ok(version, pattern.pattern)
            if not family_ok:
                break
            return await handler(request, version, **found.groupdict())
        if matched_path and self._family_ok(version, path):
            raise FaceApiError(405, "MethodNotAllowed", "The method is not allowed here.")
        raise FaceApiError(404, "NotFound", "Resource not found.")

    @staticmethod
    def _family_ok(version: str, pattern: str) -> bool:
        if "singleModal" in pattern:
            return version in PREVIEW_VERSIONS
        if "-sessions" in pattern:
            return version in GA_VERSIONS
        return True

    def _limited_access(self) -> bool:
        return bool(self.data.sandbox.settings.get(LIMITED_ACCESS, False))

    # --- sessions: shared ---

    def _session(self, sid: str, kind: str, family: str) -> Session:
        session = self.data.sessions.get(sid)
        expected = "verify" if kind == "detectLivenessWithVerify" else "liveness"
        if (
            session is None
            or session.kind != expected
            or session.family != family
            or self.data.now() - session.created > SESSION_ID_LIFETIME
        ):
            raise FaceApiError(404, "SessionNotFound", SESSION_NOT_FOUND)
        return session

    async def _create_params(
        self, request: Request, version: str, verify: bool
    ) -> tuple[dict[str, Any], ImageAnalysis | None, bytes | None]:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            if version in GA_VERSIONS and verify:
                raise FaceApiError(400, "BadArgument", "Content-Type must be multipart/form-data.")
            return await _json_body(request, "InvalidRequestBody"), None, None
        if not verify:
            raise FaceApiError(400, "BadArgument", "Content-Type must be application/json.")
        form = await request.form()
        image_part = "verifyImage" if version in GA_VERSIONS else "VerifyImage"
        upload = form.get(image_part)
        if not isinstance(upload, UploadFile) or not upload.filename:
            await form.close()
            raise FaceApiError(
                400, "BadArgument", f"'{image_part}' is required and must be a file part."
            )
        data = await upload.read()
        if version in GA_VERSIONS:
            params = {
                k: _form_value(k, v)
                for k, v in form.multi_items()
                if isinstance(v, str) and k != image_part
            }
        else:
            text = form.get("Parameters")
            if not isinstance(text, str):
                await form.close()
                raise FaceApiError(400, "BadArgument", "'Parameters' is required.")
            try:
                loaded: Any = json.loads(text)
            except ValueError:
                loaded = None
            if not isinstance(loaded, dict):
                await form.close()
                raise FaceApiError(400, "InvalidRequestBody", "'Parameters' must be JSON.")
            params = loaded
        await form.close()
        analysis = _check_image(data)
        if not analysis.faces:
            raise FaceApiError(400, "InvalidImage", "No face detected in the verify image.")
        return params, analysis, data

    def _new_session(
        self, version: str, kind: str, opts: dict[str, Any], verify: ImageAnalysis | None
    ) -> Session:
        session = Session(
            session_id=str(uuid.uuid4()),
            kind="verify" if kind == "detectLivenessWithVerify" else "liveness",
            family="ga" if version in GA_VERSIONS else "preview",
            version=version,
            created=self.data.now(),
            ttl=opts["ttl"],
            mode=opts["mode"],
            auth_token=base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("="),
            device_correlation_id=opts["device_id"],
            set_in_client=opts["set_in_client"],
            enable_session_image=opts["enable_image"],
            model=opts["model"],
            verify=verify,
            verify_threshold=opts["threshold"],
            return_hash=opts["return_hash"],
            attempts_allowed=opts["attempts"],
        )
        self.data.sessions[session.session_id] = session
        return session

    # --- sessions: GA family (§2) ---

    def _ga_body(self, session: Session) -> dict[str, Any]:
        results: dict[str, Any] = {"attempts": list(session.attempts)}
        if session.kind == "verify":
            refs = []
            if session.verify is not None and session.verify.faces:
                face = _largest_first(session.verify)[0]
                refs.append(
                    {
                        "referenceType": "Color",
                        "faceRectangle": _rect(face),
                        "qualityForRecognition": _quality(face),
                    }
                )
            results["verifyReferences"] = refs
        body: dict[str, Any] = {
            "sessionId": session.session_id,
            "authToken": session.auth_token,
            "status": session.status,
            "modelVersion": session.model or GA_MODEL,
            "results": results,
        }
        if session.version == "v1.3-preview.1":
            body["isAbuseMonitoringEnabled"] = False
        return body

    async def ga_create(self, request: Request, version: str, kind: str) -> Response:
        verify = kind == "detectLivenessWithVerify"
        params, analysis, data = await self._create_params(request, version, verify)
        opts = _validate_create(version, params, verify=verify)
        session = self._new_session(version, kind, opts, analysis)
        if data is not None:
            session.verify_hash = hashlib.sha256(data).hexdigest().upper()
        return _json(self._ga_body(session))

    async def ga_get(self, request: Request, version: str, kind: str, sid: str) -> Response:
        return _json(self._ga_body(self._session(sid, kind, "ga")))

    async def ga_delete(self, request: Request, version: str, kind: str, sid: str) -> Response:
        session = self._session(sid, kind, "ga")
        del self.data.sessions[session.session_id]
        return Response(status_code=204)  # §2.3: 204 in v1.2+

    # --- sessions: preview family (§3) ---

    def _preview_item(self, session: Session) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": session.session_id,
            "createdDateTime": _iso(session.created),
            "sessionExpired": self.data.now() - session.created >= session.ttl,
            "authTokenTimeToLiveInSeconds": session.ttl,
        }
        if session.started is not None:
            item["sessionStartDateTime"] = _iso(session.started)
        if session.device_correlation_id is not None:
            item["deviceCorrelationId"] = session.device_correlation_id
        return item

    async def preview_create(self, request: Request, version: str, kind: str) -> Response:
        verify = kind == "detectLivenessWithVerify"
        params, analysis, data = await self._create_params(request, version, verify)
        opts = _validate_create(version, params, verify=verify)
        session = self._new_session(version, kind, opts, analysis)
        body: dict[str, Any] = {"sessionId": session.session_id, "authToken": session.auth_token}
        if analysis is not None and data is not None:
            session.verify_hash = hashlib.sha256(data).hexdigest().upper()
            face = _largest_first(analysis)[0]
            body["verifyImage"] = {
                "faceRectangle": _rect(face),
                "qualityForRecognition": _quality(face),
            }
        return _json(body)

    async def preview_list(self, request: Request, version: str, kind: str) -> Response:
        start, top = _paging(request)
        expected = "verify" if kind == "detectLivenessWithVerify" else "liveness"
        now = self.data.now()
        items = sorted(
            (
                s
                for s in self.data.sessions.values()
                if s.family == "preview"
                and s.kind == expected
                and now - s.created <= SESSION_ID_LIFETIME
                and s.session_id > start
            ),
            key=lambda s: s.session_id,
        )
        return _json([self._preview_item(s) for s in items[:top]])

    async def preview_get(self, request: Request, version: str, kind: str, sid: str) -> Response:
        session = self._session(sid, kind, "preview")
        body = self._preview_item(session)
        body["status"] = session.status
        if session.status == "ResultAvailable" and session.audit:
            body["result"] = session.audit[-1]
        return _json(body)

    async def preview_delete(self, request: Request, version: str, kind: str, sid: str) -> Response:
        session = self._session(sid, kind, "preview")
        del self.data.sessions[session.session_id]
        return Response(b"", status_code=200)  # §3: 200 with Content-Length 0

    async def preview_audit(self, request: Request, version: str, kind: str, sid: str) -> Response:
        session = self._session(sid, kind, "preview")
        start_text, top = _paging(request)
        try:
            start = int(start_text) if start_text else -1
        except ValueError:
            raise FaceApiError(400, "BadArgument", "Parameter 'start' must be an id.") from None
        entries = [e for e in session.audit if e["id"] > start][:top]
        return _json(entries)

    async def session_image(self, request: Request, version: str, iid: str) -> Response:
        data = self.data.session_images.get(iid)
        if data is None:
            # [INFERRED] shared/providers/azure-face.md §2.5 documents no error code here.
            raise FaceApiError(404, "SessionImageNotFound", "Session image is not found.")
        return Response(data, media_type="application/octet-stream")

    # --- simulate the device (admin) ---

    def simulate(self, sid: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one device call on a session, as each family reports it (§8 State)."""
        session = self.data.sessions.get(sid)
        now = self.data.now()
        if session is None or now - session.created > SESSION_ID_LIFETIME:
            return 404, {"error": "no such session"}
        outcome = str(payload.get("outcome", "realface")).lower()
        if outcome not in ("realface", "spoofface", "uncertain", "start", "error"):
            return 400, {"error": "outcome must be realface, spoofface, uncertain, start or error"}
        if now - session.created >= session.ttl:
            return 409, {"error": "the session's authToken has expired"}
        if session.status in ("Succeeded", "Failed", "Canceled"):
            return 409, {"error": f"the session is already {session.status}"}
        if session.family == "ga" and len(session.attempts) >= session.attempts_allowed:
            return 409, {"error": "no attempts left on this session"}
        if session.started is None:
            session.started = now
        if outcome == "start":
            session.status = "Started" if session.family == "preview" else "Running"
            return 200, {"sessionId": sid, "status": session.status}
        image_b64 = payload.get("image_base64")
        image: bytes | None = None
        if isinstance(image_b64, str) and image_b64:
            try:
                image = base64.b64decode(image_b64, validate=True)
                capture = analyse(image)
            except (ValueError, NotAnImage):
                return 400, {"error": "image_base64 is not a readable image"}
        elif session.verify is not None:
            # No capture supplied: the "device" photographed the reference itself.
            capture = session.verify
        else:
            capture = None
        face = _largest_first(capture)[0] if capture is not None and capture.faces else None
        rect = _rect(face) if face else {"top": 0, "left": 0, "width": 0, "height": 0}
        digest = secrets.token_hex(32).upper()
        image_id: str | None = None
        if session.enable_session_image and image is not None:
            image_id = base64.urlsafe_b64encode(secrets.token_bytes(33)).decode()
            self.data.session_images[image_id] = image
        verify_result: dict[str, Any] | None = None
        if session.kind == "verify" and session.verify is not None and face is not None:
            reference = _largest_first(session.verify)[0]
            confidence = face_similarity(reference, face)
            threshold = (
                session.verify_threshold
                if session.verify_threshold is not None
                else DEFAULT_VERIFY_THRESHOLD
            )
            verify_result = {"matchConfidence": confidence, "isIdentical": confidence >= threshold}
        if session.family == "ga":
            self._ga_attempt(session, outcome, payload, rect, digest, image_id, verify_result)
        else:
            self._preview_attempt(session, outcome, payload, rect, digest, image_id, verify_result)
        return 200, {"sessionId": sid, "status": session.status}

    def _ga_attempt(
        self,
        session: Session,
        outcome: str,
        payload: dict[str, Any],
        rect: dict[str, int],
        digest: str,
        image_id: str | None,
        verify_result: dict[str, Any] | None,
    ) -> None:
        attempt: dict[str, Any] = {"attemptId": len(session.attempts) + 1}
        targets = {"color": {"faceRectangle": rect}}
        if outcome == "error":
            code = str(payload.get("error_code") or "FaceWithMaskDetected")
            attempt["attemptStatus"] = "Failed"
            attempt["error"] = {"code": code, "message": f"Simulated: {code}.", "targets": targets}
        else:
            result: dict[str, Any] = {
                "livenessDecision": outcome,
                "targets": targets,
                "digest": digest,
            }
            if image_id:
                result["sessionImageId"] = image_id
            if verify_result is not None:
                result["verifyResult"] = verify_result
                if session.return_hash and session.verify_hash:
                    result["verifyImageHash"] = session.verify_hash
            attempt["attemptStatus"] = "Succeeded"
            attempt["result"] = result
        if session.version == "v1.3-preview.1":
            attempt["clientInformation"] = [{"ip": "127.0.0.1"}]
        session.attempts.insert(0, attempt)  # §2.4: newest first
        if attempt["attemptStatus"] == "Succeeded":
            session.status = "Succeeded"
        elif len(session.attempts) >= session.attempts_allowed:
            session.status = "Failed"
        else:
            session.status = "Running"

    def _preview_attempt(
        self,
        session: Session,
        outcome: str,
        payload: dict[str, Any],
        rect: dict[str, int],
        digest: str,
        image_id: str | None,
        verify_result: dict[str, Any] | None,
    ) -> None:
        self.data.audit_seq += 1
        device_path = "detectLivenessWithVerify" if session.kind == "verify" else "detectLiveness"
        request_id = str(uuid.uuid4())
        status_code = 200
        body: dict[str, Any]
        if outcome == "error":
            status_code = 400
            code = str(payload.get("error_code") or "FaceWithMaskDetected")
            body = {"error": {"code": code, "message": f"Simulated: {code}."}}
        else:
            body = {
                "livenessDecision": outcome,
                "target": {
                    "faceRectangle": rect,
                    "fileName": "content.bin",
                    "timeOffsetWithinFile": 0,
                    "imageType": "Color",
                },
                "modelVersionUsed": session.model or PREVIEW_MODELS[session.version][-1],
            }
            if verify_result is not None and session.verify is not None:
                reference = _largest_first(session.verify)[0]
                body["verifyResult"] = {
                    "verifyImage": {
                        "faceRectangle": _rect(reference),
                        "qualityForRecognition": _quality(reference),
                    },
                    **verify_result,
                }
        entry: dict[str, Any] = {
            "id": self.data.audit_seq,
            "sessionId": session.session_id,
            "requestId": request_id,
            "clientRequestId": request_id,
            "receivedDateTime": _iso(self.data.now()),
            "request": {
                "url": f"/face/{session.version}/{device_path}/singleModal",
                "method": "POST",
                "contentLength": 4096,
                "contentType": "multipart/form-data",
                "userAgent": "FaceDesk-Sandbox-Device/1.0",
            },
            "response": {"body": body, "statusCode": status_code, "latencyInMilliseconds": 180},
            "digest": digest,
        }
        if image_id:
            entry["sessionImageId"] = image_id
        if verify_result is not None and session.return_hash and session.verify_hash:
            entry["verifyImageHash"] = session.verify_hash
        session.audit.append(entry)
        session.status = "ResultAvailable" if status_code == 200 else "Started"

    # --- detect / verify / identify (§4-6) ---

    async def detect(self, request: Request, version: str) -> Response:
        q = request.query_params
        detection = q.get("detectionModel", "detection_01")
        recognition = q.get("recognitionModel", "recognition_01")
        if detection not in DETECTION_MODELS:
            raise FaceApiError(400, "BadArgument", "Invalid argument 'detectionModel'.")
        if recognition not in RECOGNITION_MODELS:
            raise FaceApiError(400, "BadArgument", "Invalid argument 'recognitionModel'.")
        return_id = _bool_query(request, "returnFaceId", True)
        return_model = _bool_query(request, "returnRecognitionModel", False)
        _bool_query(request, "returnFaceLandmarks", False)
        try:
            ttl = int(q.get("faceIdTimeToLive", "86400"))
        except ValueError:
            ttl = -1
        if not 60 <= ttl <= 86400:
            raise FaceApiError(400, "BadArgument", "'faceIdTimeToLive' must be 60 to 86400.")
        attributes = [a for a in q.get("returnFaceAttributes", "").split(",") if a]
        if any(a != "qualityForRecognition" for a in attributes):
            raise FaceApiError(
                403, "UnsupportedFeature", "The requested face attributes are not available."
            )
        if attributes and recognition not in ("recognition_03", "recognition_04"):
            raise FaceApiError(
                400, "BadArgument", "'qualityForRecognition' needs recognition_03 or 04."
            )
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            payload = await _json_body(request)
            if "sessionImageId" in payload:
                data = self.data.session_images.get(str(payload["sessionImageId"]))
                if data is None:
                    raise FaceApiError(400, "BadArgument", "Invalid 'sessionImageId'.")
            elif "url" in payload:
                raise FaceApiError(400, "InvalidURL", "The sandbox cannot download image URLs.")
            else:
                raise FaceApiError(400, "BadArgument", "Request body is invalid.")
        elif content_type.startswith("application/octet-stream"):
            data = await request.body()
        else:
            raise FaceApiError(415, "BadArgument", "Unsupported content type.")
        if return_id and self._limited_access():
            raise FaceApiError(
                403,
                "UnsupportedFeature",
                "Feature is not supported, please apply for access at "
                "https://aka.ms/facerecognition.",
            )
        analysis = _check_image(data)
        results = []
        for face in _largest_first(analysis)[:100]:
            item: dict[str, Any] = {"faceRectangle": _rect(face)}
            if return_id:
                face_id = str(uuid.uuid4())
                self.data.faces[face_id] = DetectedFace(
                    face.signature, recognition, self.data.now() + ttl
                )
                item["faceId"] = face_id
            if return_model:
                item["recognitionModel"] = recognition
            if attributes:
                item["faceAttributes"] = {"qualityForRecognition": _quality(face)}
            results.append(item)
        # Keep faceId first, as the real service orders the keys.
        return _json([dict(sorted(r.items(), key=lambda kv: kv[0] != "faceId")) for r in results])

    def _face(self, face_id: Any, *, status: int) -> DetectedFace:
        if not isinstance(face_id, str) or not is_uuid(face_id):
            raise FaceApiError(400, "BadArgument", "Face ID is invalid.")
        face = self.data.faces.get(face_id)
        if face is None or face.expires < self.data.now():
            raise FaceApiError(status, "FaceNotFound", "Face is not found.")
        return face

    async def verify(self, request: Request, version: str) -> Response:
        payload = await _json_body(request)
        if self._limited_access():
            raise FaceApiError(403, "UnsupportedFeature", "Feature is not supported.")
        if "faceId1" in payload or "faceId2" in payload:
            first = self._face(payload.get("faceId1"), status=404)
            second = self._face(payload.get("faceId2"), status=404)
            if first.recognition_model != second.recognition_model:
                raise FaceApiError(400, "BadArgument", "'recognitionModel' is incompatible.")
            confidence = face_similarity(
                FaceBox(0, 0, 1, 1, first.signature), FaceBox(0, 0, 1, 1, second.signature)
            )
        elif "largePersonGroupId" in payload:
            face = self._face(payload.get("faceId"), status=404)
            group = self._group(str(payload.get("largePersonGroupId")))
            person = group.persons.get(str(payload.get("personId")))
            if person is None:
                raise FaceApiError(404, "PersonNotFound", "Person is not found.")
            confidence = max(
                (_sig_similarity(face.signature, sig) for sig in person.faces.values()),
                default=0.0,
            )
        else:
            raise FaceApiError(400, "BadArgument", "Request body is invalid.")
        return _json(
            {"isIdentical": confidence >= DEFAULT_VERIFY_THRESHOLD, "confidence": confidence}
        )

    async def identify(self, request: Request, version: str) -> Response:
        payload = await _json_body(request)
        if self._limited_access():
            raise FaceApiError(403, "UnsupportedFeature", "Feature is not supported.")
        face_ids = payload.get("faceIds")
        if not isinstance(face_ids, list) or not 1 <= len(face_ids) <= 10:
            raise FaceApiError(400, "BadArgument", "'faceIds' must hold 1 to 10 face ids.")
        group_id = payload.get("largePersonGroupId")
        if not isinstance(group_id, str):
            raise FaceApiError(400, "BadArgument", "'largePersonGroupId' is required.")
        top = payload.get("maxNumOfCandidatesReturned", 10)
        threshold = payload.get("confidenceThreshold", DEFAULT_VERIFY_THRESHOLD)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
            raise FaceApiError(400, "BadArgument", "'maxNumOfCandidatesReturned' must be 1-100.")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise FaceApiError(400, "BadArgument", "'confidenceThreshold' must be a number.")
        if not 0 <= threshold <= 1:
            raise FaceApiError(400, "BadArgument", "'confidenceThreshold' must be 0 to 1.")
        group = self.data.groups.get(group_id)
        if group is None:
            raise FaceApiError(400, "LargePersonGroupNotFound", "Large person group is not found.")
        faces = [self._face(f, status=400) for f in face_ids]
        self.data.settle_training(group)
        if group.snapshot is None:
            raise FaceApiError(400, "LargePersonGroupNotTrained", "Large person group not trained.")
        results = []
        for face_id, face in zip(face_ids, faces, strict=True):
            scored: list[dict[str, Any]] = []
            for person_id, signatures in group.snapshot.items():
                if person_id not in group.persons or not signatures:
                    continue
                best = max(_sig_similarity(face.signature, s) for s in signatures)
                if best >= threshold:
                    scored.append({"personId": person_id, "confidence": best})
            scored.sort(key=lambda c: -float(c["confidence"]))
            results.append({"faceId": face_id, "candidates": scored[:top]})
        return _json(results)

    # --- LargePersonGroups (§6) ---

    def _group(self, gid: str) -> Group:
        group = self.data.groups.get(gid)
        if group is None:
            raise FaceApiError(404, "LargePersonGroupNotFound", "Large person group is not found.")
        return group

    def _person(self, group: Group, pid: str) -> Person:
        person = group.persons.get(pid)
        if person is None:
            raise FaceApiError(404, "PersonNotFound", "Person is not found.")
        return person

    @staticmethod
    def _name_and_data(payload: dict[str, Any], *, data_limit: int) -> tuple[str, str | None]:
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise FaceApiError(400, "BadArgument", "'name' is required (1 to 128 characters).")
        user_data = payload.get("userData")
        if user_data is not None and (
            not isinstance(user_data, str) or len(user_data) > data_limit
        ):
            raise FaceApiError(400, "BadArgument", f"'userData' exceeds {data_limit} characters.")
        return name, user_data

    def _group_body(self, group: Group, with_model: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"largePersonGroupId": group.group_id, "name": group.name}
        if group.user_data is not None:
            body["userData"] = group.user_data
        if with_model:
            body["recognitionModel"] = group.recognition_model
        return body

    async def list_groups(self, request: Request, version: str) -> Response:
        start, top = _paging(request)
        with_model = _bool_query(request, "returnRecognitionModel", False)
        groups = sorted(
            (g for g in self.data.groups.values() if g.group_id > start), key=lambda g: g.group_id
        )
        return _json([self._group_body(g, with_model) for g in groups[:top]])

    async def create_group(self, request: Request, version: str, gid: str) -> Response:
        if not COLLECTION_ID.match(gid):
            raise FaceApiError(400, "BadArgument", "Invalid largePersonGroupId.")
        payload = await _json_body(request)
        name, user_data = self._name_and_data(payload, data_limit=16384)
        model = payload.get("recognitionModel", "recognition_01")
        if model not in RECOGNITION_MODELS:
            raise FaceApiError(400, "BadArgument", "Invalid argument 'recognitionModel'.")
        if gid in self.data.groups:
            raise FaceApiError(409, "LargePersonGroupExists", "Large person group already exists.")
        self.data.groups[gid] = Group(gid, name, user_data, model)
        return Response(b"", status_code=200)

    async def get_group(self, request: Request, version: str, gid: str) -> Response:
        with_model = _bool_query(request, "returnRecognitionModel", False)
        return _json(self._group_body(self._group(gid), with_model))

    async def delete_group(self, request: Request, version: str, gid: str) -> Response:
        self._group(gid)
        del self.data.groups[gid]
        return Response(b"", status_code=200)

    async def train(self, request: Request, version: str, gid: str) -> Response:
        group = self._group(gid)
        if self.data.training_status(group) == "running":
            raise FaceApiError(
                409, "LargePersonGroupTrainingNotFinished", "Training is not finished yet."
            )
        now = self.data.now()
        group.training_started = now
        group.training_created = group.training_created or now
        group.pending = {p.person_id: list(p.faces.values()) for p in group.persons.values()}
        self.data.settle_training(group)
        # §6.4: 202, empty body, absolute Operation-Location at our own /training URL.
        url = str(request.url.replace(query=""))
        base = url[: url.rindex(f"/face/{version}/")]
        location = f"{base}/face/{version}/largepersongroups/{gid}/training"
        return Response(
            status_code=202,
            headers={
                "Operation-Location": location,
                "Access-Control-Expose-Headers": "Operation-Location",
            },
        )

    async def training(self, request: Request, version: str, gid: str) -> Response:
        group = self._group(gid)
        status = self.data.training_status(group)
        if status == "notStarted":
            raise FaceApiError(404, "LargePersonGroupNotTrained", "Large person group not trained.")
        assert group.training_started is not None
        body: dict[str, Any] = {
            "status": status,
            "createdDateTime": _iso(group.training_created or group.training_started),
            "lastActionDateTime": _iso(group.training_started),
        }
        if group.last_success is not None:
            body["lastSuccessfulTrainingDateTime"] = _iso(group.last_success)
        return _json(body)

    def _person_body(self, person: Person) -> dict[str, Any]:
        body: dict[str, Any] = {
            "personId": person.person_id,
            "name": person.name,
            "persistedFaceIds": list(person.faces),
        }
        if person.user_data is not None:
            body["userData"] = person.user_data
        return body

    async def list_persons(self, request: Request, version: str, gid: str) -> Response:
        group = self._group(gid)
        start, top = _paging(request)
        persons = sorted(
            (p for p in group.persons.values() if p.person_id > start), key=lambda p: p.person_id
        )
        return _json([self._person_body(p) for p in persons[:top]])

    async def create_person(self, request: Request, version: str, gid: str) -> Response:
        group = self._group(gid)
        payload = await _json_body(request)
        name, user_data = self._name_and_data(payload, data_limit=16384)
        person = Person(str(uuid.uuid4()), name, user_data)
        group.persons[person.person_id] = person
        return _json({"personId": person.person_id})

    async def get_person(self, request: Request, version: str, gid: str, pid: str) -> Response:
        return _json(self._person_body(self._person(self._group(gid), pid)))

    async def delete_person(self, request: Request, version: str, gid: str, pid: str) -> Response:
        group = self._group(gid)
        self._person(group, pid)
        del group.persons[pid]
        return Response(b"", status_code=200)

    async def add_face(self, request: Request, version: str, gid: str, pid: str) -> Response:
        person = self._person(self._group(gid), pid)
        q = request.query_params
        if q.get("detectionModel", "detection_01") not in DETECTION_MODELS:
            raise FaceApiError(400, "BadArgument", "Invalid argument 'detectionModel'.")
        user_data = q.get("userData")
        if user_data is not None and len(user_data) > 1024:
            raise FaceApiError(400, "BadArgument", "'userData' exceeds 1024 characters.")
        target: tuple[int, ...] | None = None
        if "targetFace" in q:
            try:
                target = tuple(int(v) for v in q["targetFace"].split(","))
            except ValueError:
                target = ()
            if len(target) != 4:
                raise FaceApiError(400, "BadArgument", "Invalid argument 'targetFace'.")
        if not request.headers.get("content-type", "").startswith("application/octet-stream"):
            raise FaceApiError(400, "InvalidURL", "The sandbox accepts image bytes only.")
        analysis = _check_image(await request.body())
        faces = _largest_first(analysis)
        if target is not None:
            chosen = [f for f in faces if (f.left, f.top, f.width, f.height) == target]
            if not chosen:
                raise FaceApiError(400, "InvalidImage", "There is no face at 'targetFace'.")
            faces = chosen
        if not faces:
            raise FaceApiError(400, "InvalidImage", "No face detected in the image.")
        if len(faces) > 1:
            raise FaceApiError(
                400, "InvalidImage", "There is more than 1 face in the image; set targetFace."
            )
        if len(person.faces) >= 248:
            raise FaceApiError(403, "QuotaExceeded", "A person holds at most 248 faces.")
        face_id = str(uuid.uuid4())
        person.faces[face_id] = faces[0].signature
        person.face_user_data[face_id] = user_data
        return _json({"persistedFaceId": face_id})

    async def delete_face(
        self, request: Request, version: str, gid: str, pid: str, fid: str
    ) -> Response:
        person = self._person(self._group(gid), pid)
        if fid not in person.faces:
            raise FaceApiError(404, "PersistedFaceNotFound", "Persisted face is not found.")
        del person.faces[fid]
        return Response(b"", status_code=200)


def _sig_similarity(a: int, b: int) -> float:
    return face_similarity(FaceBox(0, 0, 1, 1, a), FaceBox(0, 0, 1, 1, b))


# One emulated resource per SandboxState, shared by the API and the admin app.
_shared = PerState(lambda state: AzureFaceApp(AzureFaceState(state)))


def create_app(state: SandboxState) -> ASGIApp:
    api = _shared(state)

    async def endpoint(request: Request) -> Response:
        return await api(request)

    async def fallback(request: Request) -> Response:
        response = _error(404, "NotFound", "Resource not found.")
        response.headers["apim-request-id"] = str(uuid.uuid4())
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/face/{version}/{path:path}", endpoint, methods=methods),
            Route("/{path:path}", fallback, methods=methods),
        ]
    )


def create_admin_app(state: SandboxState) -> ASGIApp:
    api = _shared(state)

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "vendor": "Azure AI Face (emulated, not biometric)",
                "versions": list(VERSIONS),
                "credentials": CREDENTIALS,
                "settings": [LIMITED_ACCESS, TRAINING_SECONDS],
            }
        )

    async def simulate(request: Request) -> Response:
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        status, body = api.simulate(
            request.path_params["sid"], payload if isinstance(payload, dict) else {}
        )
        return JSONResponse(body, status_code=status)

    async def sessions(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "sessionId": s.session_id,
                    "kind": s.kind,
                    "version": s.version,
                    "status": s.status,
                }
                for s in api.data.sessions.values()
            ]
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/sessions", sessions),
            Route("/sessions/{sid}/simulate", simulate, methods=["POST"]),
        ]
    )
