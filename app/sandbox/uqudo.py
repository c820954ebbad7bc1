"""Emulated uqudo Authorisation, Face and Info APIs, written from shared/providers/uqudo.md.

NOT BIOMETRIC: match levels and 1:N hits come from app.sandbox.similarity (perceptual hashes).
Mounted at `/uqudo`, which serves as both the token host and the tenant API host:

- `POST /api/oauth/token` (form-encoded client credentials) issues RS256 access tokens that expire
  after 1800 s of sandbox time (§1);
- `POST /api/v1/face`, `/api/v1/face/match`, `/api/v1/face/one-to-n/{search,insert}` and
  `DELETE /api/v1/face/one-to-n/search/{id}` (§2-§6);
- the Info API `GET|DELETE /api/v1/info/{sessionId}`, `GET /api/v1/info` with `UQ-Session-ID`,
  `GET /api/v1/info/img/{id}`, and the public JWKS `GET /api/.well-known/jwks.json` (§7).

Sandbox settings (`PUT /_sandbox/settings`): `uqudo.one_to_n_permission`,
`uqudo.face_session_permission` and `uqudo.info_permission` (default true); false makes those
routes answer 403, as for a tenant without the permission.

Admin hooks (mounted at `/_sandbox/uqudo`):
- `POST /sessions/{sessionId}/complete` {outcome: "match"|"no_match", selfie?: base64,
  matchLevel?: 1..5, nonce?, oneToN?: bool, tamper?: bool} plays the end user's Face Session
  Flow and stores the signed result for the Info API;
- `POST /rotate-key` starts signing with a new key (the old one stays in the JWKS);
- `GET /index` lists the 1:N index (ids and whether the selfie is still stored).

One module past ~600 lines because it is one job, emulating uqudo's contract: the token
endpoint, face match, sessions, the JWS-signed Info API and the 1:N index share one key store
and one state object.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.kit import (
    BodyProblem,
    PerState,
    bearer_token,
    error_body,
    is_uuid,
    json_object,
    secret_matches,
)
from app.sandbox.similarity import (
    FaceBox,
    NotAnImage,
    analyse,
    face_similarity,
    similarity,
    sniff_format,
)
from app.sandbox.state import SandboxClock, SandboxState

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
TOKEN_LIFETIME = 1800  # §1: sample expires_in
FACE_SESSION_LIFETIME = 600  # §2: session and image deleted after 10 minutes
RESULT_LIFETIME = 1800  # §7 [3P]: images kept for the session's duration (30 minutes)
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # §0: max 5 MB per image
MAX_BODY_BYTES = 16 * 1024 * 1024
ISSUER = "https://id.uqudo.io"  # §7 [3P]: iss seen on real result tokens
ONE_TO_N_THRESHOLD = 0.8
# Similarity (0..1) → uqudo match level (§8); deterministic because similarity is.
LEVEL_THRESHOLDS = ((0.92, 5), (0.85, 4), (0.75, 3), (0.6, 2))

SETTING_ONE_TO_N = "uqudo.one_to_n_permission"
SETTING_FACE_SESSION = "uqudo.face_session_permission"
SETTING_INFO = "uqudo.info_permission"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint_b64(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def match_level(score: float) -> int:
    """The uqudo level (1..5) for a sandbox similarity score."""
    for threshold, level in LEVEL_THRESHOLDS:
        if score >= threshold:
            return level
    return 1


@dataclass
class _Key:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _uint_b64(numbers.n),
            "e": _uint_b64(numbers.e),
        }


@dataclass
class _FaceSession:
    id_photo: bytes
    expires_at: float


@dataclass
class _IndexEntry:
    signature: int
    image: bytes | None  # None once deleted: §6 keeps the features, drops the selfie
    created_at: float


@dataclass
class _Result:
    token: str
    expires_at: float
    image_ids: tuple[str, ...] = ()


@dataclass
class _Image:
    data: bytes
    expires_at: float


@dataclass
class UqudoSandbox:
    """All uqudo sandbox state; cleared by POST /_sandbox/reset (keys survive a reset)."""

    clock: SandboxClock
    keys: list[_Key] = field(default_factory=list)
    epoch: int = 0
    sessions: dict[str, _FaceSession] = field(default_factory=dict)
    index: dict[str, _IndexEntry] = field(default_factory=dict)
    results: dict[str, _Result] = field(default_factory=dict)
    images: dict[str, _Image] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.epoch += 1  # tokens issued before a reset stop working
            self.sessions.clear()
            self.index.clear()
            self.results.clear()
            self.images.clear()

    # --- keys and signing ----------------------------------------------------------------------

    def signing_key(self) -> _Key:
        # Generated on first use, not at import: every sandbox in every test would pay for it.
        with self.lock:
            if not self.keys:
                self.keys.append(self._new_key())
            return self.keys[-1]

    def rotate(self) -> _Key:
        key = self._new_key()
        with self.lock:
            self.keys.append(key)
        return key

    @staticmethod
    def _new_key() -> _Key:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _Key(kid=f"uqudo-sandbox-{uuid.uuid4().hex[:12]}", private=private)

    def sign(self, claims: dict[str, Any], *, tamper: bool = False) -> str:
        key = self.signing_key()
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = key.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        if tamper:
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        return signing_input + "." + _b64url(signature)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this sandbox signed, or None if anything is off."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        if header.get("alg") != "RS256":
            return None
        key = next((k for k in self.keys if k.kid == header.get("kid")), None)
        if key is None:
            return None
        try:
            key.private.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:  # noqa: BLE001  # cryptography raises InvalidSignature and friends
            return None
        return claims

    # --- expiry --------------------------------------------------------------------------------

    def purge_expired(self) -> None:
        now = self.clock.now()
        with self.lock:
            for table in (self.sessions, self.results, self.images):
                for key in [k for k, v in table.items() if v.expires_at <= now]:
                    del table[key]


def _error(request: Request, status: int, error: str, message: str) -> JSONResponse:
    # §0 [INFERRED]: no error body is documented; a Spring-style body is the plausible one.
    return error_body(
        status,
        {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "status": status,
            "error": error,
            "message": message,
            "path": request.url.path,
        },
    )


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    # [INFERRED] §1: token errors are undocumented; OAuth2 (RFC 6749 §5.2) style is the norm.
    return error_body(status, {"error": error, "error_description": description})


class _Problem(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _check_image(data: bytes, field_name: str) -> bytes:
    if not data:
        raise _Problem(400, "Bad Request", f"{field_name} must not be empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise _Problem(413, "Payload Too Large", f"{field_name} is larger than 5 MB")
    if sniff_format(data) not in ("JPEG", "PNG"):
        raise _Problem(415, "Unsupported Media Type", f"{field_name} must be a JPEG or PNG image")
    return data


def _b64_image(payload: dict[str, Any], field_name: str) -> bytes:
    value = payload.get(field_name)
    if value is None or value == "":
        raise _Problem(400, "Bad Request", f"{field_name} is required")
    if not isinstance(value, str):
        raise _Problem(400, "Bad Request", f"{field_name} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Problem(400, "Bad Request", f"{field_name} is not valid base64") from None
    return _check_image(data, field_name)


def _face_signature(data: bytes, field_name: str) -> int:
    try:
        analysis = analyse(data)
    except NotAnImage:
        raise _Problem(400, "Bad Request", f"{field_name} could not be decoded") from None
    if not analysis.faces:
        # §3 [INFERRED]: behaviour without a face is undocumented; 400 is the best guess.
        raise _Problem(400, "Bad Request", f"No face found in {field_name}")
    return analysis.faces[0].signature


def create_app(state: SandboxState) -> Starlette:
    """The uqudo API (auth host and API host in one), sharing state with the admin app."""
    sandbox = _sandbox_for(state)

    def setting(name: str) -> bool:
        return bool(state.settings.get(name, True))

    async def json_payload(request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise _Problem(413, "Payload Too Large", "request body too large")
        try:
            return json_object(body)
        except BodyProblem as problem:
            reason = "a JSON object" if problem.reason.startswith("a JSON") else "JSON"
            raise _Problem(400, "Bad Request", f"request body must be {reason}") from None

    def authorise(request: Request, permission: str | None = None) -> None:
        token = bearer_token(request)
        if token is None:
            raise _Problem(401, "Unauthorized", "Full authentication is required")
        claims = sandbox.verify(token)
        now = state.clock.now()
        if (
            claims is None
            or claims.get("typ") != "access"
            or claims.get("epoch") != sandbox.epoch
            or not isinstance(claims.get("exp"), int | float)
            or claims["exp"] <= now
        ):
            raise _Problem(401, "Unauthorized", "Invalid or expired access token")
        if permission is not None and not setting(permission):
            raise _Problem(403, "Forbidden", "Access is denied")

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            sandbox.purge_expired()
            try:
                response: Response = await handler(request)
            except _Problem as problem:
                return _error(request, problem.status, problem.error, problem.message)
            return response

        return endpoint

    async def token(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "use application/x-www-form-urlencoded")
        form = await request.form()
        grant = form.get("grant_type")
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        if not grant or not client_id or not secret:
            return _oauth_error(400, "invalid_request", "grant_type, client_id, client_secret")
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "use client_credentials")
        if not (
            isinstance(client_id, str)
            and isinstance(secret, str)
            and secret_matches(client_id, CLIENT_ID)
            and secret_matches(secret, CLIENT_SECRET)
        ):
            return _oauth_error(401, "invalid_client", "Bad client credentials")
        now = int(state.clock.now())
        jti = str(uuid.uuid4())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "client_id": CLIENT_ID,
            "typ": "access",
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": jti,
            "epoch": sandbox.epoch,
            "scope": "face one-to-n info",
        }
        # The first RSA key takes ~50 ms to make: make it in a thread, not on any event loop.
        await asyncio.to_thread(sandbox.signing_key)
        return JSONResponse(
            {
                "access_token": sandbox.sign(claims),
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME,
                "scope": claims["scope"],
                "jti": jti,
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    async def jwks(request: Request) -> Response:
        await asyncio.to_thread(sandbox.signing_key)
        return JSONResponse({"keys": [k.jwk() for k in sandbox.keys]})

    async def face_session(request: Request) -> Response:
        authorise(request, SETTING_FACE_SESSION)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form(max_part_size=MAX_BODY_BYTES) as form:
                part = form.get("idPhoto")
                if isinstance(part, UploadFile):
                    data = await part.read()
                elif isinstance(part, str) and part:
                    data = part.encode("latin-1", errors="replace")
                else:
                    raise _Problem(400, "Bad Request", "idPhoto is required")
            photo = _check_image(data, "idPhoto")
        elif content_type.startswith("application/json"):
            # §2 [3P]: a JSON body with base64 idPhoto is accepted too.
            photo = _b64_image(await json_payload(request), "idPhoto")
        else:
            raise _Problem(415, "Unsupported Media Type", "use multipart/form-data")
        session_id = str(uuid.uuid4())
        with sandbox.lock:
            sandbox.sessions[session_id] = _FaceSession(
                photo, state.clock.now() + FACE_SESSION_LIFETIME
            )
        return JSONResponse({"sessionId": session_id}, 201)

    async def face_match(request: Request) -> Response:
        authorise(request)
        payload = await json_payload(request)
        source = _b64_image(payload, "sourceImage")
        target = _b64_image(payload, "targetImage")
        minimum = payload.get("minimumMatchLevel", 3)
        if minimum is None:
            minimum = 3
        if isinstance(minimum, bool) or not isinstance(minimum, int) or not 1 <= minimum <= 5:
            raise _Problem(400, "Bad Request", "minimumMatchLevel must be an integer from 1 to 5")
        _face_signature(source, "sourceImage")
        _face_signature(target, "targetImage")
        score = similarity(analyse(source), analyse(target)) or 0.0
        level = match_level(score)
        return JSONResponse({"match": level >= minimum, "matchLevel": level})

    def best_entry(signature: int) -> str | None:
        probe = _probe_box(signature)
        best: tuple[float, str] | None = None
        for entry_id, entry in sandbox.index.items():
            score = face_similarity(probe, _probe_box(entry.signature))
            if score >= ONE_TO_N_THRESHOLD and (best is None or score > best[0]):
                best = (score, entry_id)
        return best[1] if best else None

    def insert_entry(signature: int, image: bytes) -> str:
        entry_id = str(uuid.uuid4())
        sandbox.index[entry_id] = _IndexEntry(signature, image, state.clock.now())
        return entry_id

    async def one_to_n_search(request: Request) -> Response:
        authorise(request, SETTING_ONE_TO_N)
        payload = await json_payload(request)
        photo = _b64_image(payload, "idPhoto")
        insert = payload.get("insert", False)
        if insert is None:
            insert = False
        if not isinstance(insert, bool):
            raise _Problem(400, "Bad Request", "insert must be a boolean")
        signature = _face_signature(photo, "idPhoto")
        with sandbox.lock:
            found = best_entry(signature)
            if found is not None:
                return JSONResponse(
                    {"oneToNVerificationId": found, "oneToNVerificationMatch": True}
                )
            new_id = insert_entry(signature, photo) if insert else None
        # §4 [INFERRED]: the id is null on a miss without insert.
        return JSONResponse({"oneToNVerificationId": new_id, "oneToNVerificationMatch": False})

    async def one_to_n_insert(request: Request) -> Response:
        authorise(request, SETTING_ONE_TO_N)
        payload = await json_payload(request)
        photo = _b64_image(payload, "idPhoto")
        signature = _face_signature(photo, "idPhoto")
        with sandbox.lock:
            new_id = insert_entry(signature, photo)
        # §5 [INFERRED]: FaceSearchInsertResponse carries the new oneToNVerificationId.
        return JSONResponse({"oneToNVerificationId": new_id})

    async def one_to_n_delete(request: Request) -> Response:
        authorise(request, SETTING_ONE_TO_N)
        entry_id = request.path_params["verification_id"]
        with sandbox.lock:
            entry = sandbox.index.get(entry_id)
            if entry is None:
                # §6 [INFERRED]: 404 for an unknown id is not documented but plausible.
                raise _Problem(404, "Not Found", "oneToNVerificationId not found")
            # §6: the stored selfie goes; the indexed features stay and keep matching.
            entry.image = None
        return Response(status_code=204)

    def session_id_from(value: str | None) -> str:
        if not value or not is_uuid(value):
            raise _Problem(400, "Bad Request", "sessionId must be a UUID")
        return value

    def result_for(session_id: str) -> Response:
        with sandbox.lock:
            result = sandbox.results.get(session_id)
        if result is None:
            raise _Problem(404, "Not Found", "Session not found or expired")
        return Response(result.token, media_type="application/jwt")

    async def info_by_path(request: Request) -> Response:
        authorise(request, SETTING_INFO)
        return result_for(session_id_from(request.path_params["session_id"]))

    async def info_by_header(request: Request) -> Response:
        authorise(request, SETTING_INFO)
        return result_for(session_id_from(request.headers.get("uq-session-id")))

    async def info_delete(request: Request) -> Response:
        authorise(request, SETTING_INFO)
        session_id = session_id_from(request.path_params["session_id"])
        with sandbox.lock:
            result = sandbox.results.pop(session_id, None)
            for image_id in result.image_ids if result else ():
                sandbox.images.pop(image_id, None)
        # [INFERRED] §7: purging an unknown or already purged session is not an error.
        return Response(status_code=204)

    async def info_image(request: Request) -> Response:
        authorise(request, SETTING_INFO)
        with sandbox.lock:
            image = sandbox.images.get(request.path_params["image_id"])
        if image is None:
            # §7 [3P]: 404 "not found or expired".
            raise _Problem(404, "Not Found", "Image not found or expired")
        media = "image/png" if sniff_format(image.data) == "PNG" else "image/jpeg"
        return Response(image.data, media_type=media)

    routes = [
        Route("/api/oauth/token", token, methods=["POST"]),
        Route("/api/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/api/v1/face", guarded(face_session), methods=["POST"]),
        Route("/api/v1/face/match", guarded(face_match), methods=["POST"]),
        Route("/api/v1/face/one-to-n/search", guarded(one_to_n_search), methods=["POST"]),
        Route("/api/v1/face/one-to-n/insert", guarded(one_to_n_insert), methods=["POST"]),
        Route(
            "/api/v1/face/one-to-n/search/{verification_id}",
            guarded(one_to_n_delete),
            methods=["DELETE"],
        ),
        Route("/api/v1/info", guarded(info_by_header), methods=["GET"]),
        Route("/api/v1/info/img/{image_id}", guarded(info_image), methods=["GET"]),
        Route("/api/v1/info/{session_id}", guarded(info_by_path), methods=["GET"]),
        Route("/api/v1/info/{session_id}", guarded(info_delete), methods=["DELETE"]),
    ]
    return Starlette(routes=routes)


def _probe_box(signature: int) -> FaceBox:
    return FaceBox(0, 0, 1, 1, signature)


def create_admin_app(state: SandboxState) -> Starlette:
    """Demo hooks: play the end user's face session, rotate the signing key, list the index."""
    sandbox = _sandbox_for(state)

    async def complete(request: Request) -> Response:
        sandbox.purge_expired()
        session_id = request.path_params["session_id"]
        with sandbox.lock:
            session = sandbox.sessions.get(session_id)
        if session is None:
            return JSONResponse({"error": "face session not found or expired"}, 404)
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        outcome = payload.get("outcome", "match")
        if outcome not in ("match", "no_match"):
            return JSONResponse({"error": "outcome must be match or no_match"}, 400)
        selfie = session.id_photo
        if isinstance(payload.get("selfie"), str):
            try:
                selfie = base64.b64decode(payload["selfie"], validate=True)
            except (binascii.Error, ValueError):
                return JSONResponse({"error": "selfie is not valid base64"}, 400)
        forced = payload.get("matchLevel")
        if forced is not None and (not isinstance(forced, int) or not 1 <= forced <= 5):
            return JSONResponse({"error": "matchLevel must be 1..5"}, 400)
        if forced is not None:
            level = forced
        else:
            try:
                score = similarity(analyse(session.id_photo), analyse(selfie))
            except NotAnImage:
                return JSONResponse({"error": "selfie is not an image"}, 400)
            level = match_level(score or 0.0)
        matched = outcome == "match"
        if not matched and forced is None:
            level = min(level, 2)
        face: dict[str, Any] = {"match": matched, "matchLevel": level}
        now = state.clock.now()
        audit_id = str(uuid.uuid4())
        face["auditTrailImageId"] = audit_id
        if payload.get("oneToN"):
            try:
                signature = analyse(selfie).faces[0].signature
            except (NotAnImage, IndexError):
                return JSONResponse({"error": "no face in the selfie for 1:N"}, 400)
            with sandbox.lock:
                probe = _probe_box(signature)
                hits = [
                    (face_similarity(probe, _probe_box(e.signature)), k)
                    for k, e in sandbox.index.items()
                ]
                hits = [h for h in hits if h[0] >= ONE_TO_N_THRESHOLD]
                if hits:
                    face["oneToNVerificationId"] = max(hits)[1]
                    face["oneToNVerificationMatch"] = True
                else:
                    new_id = str(uuid.uuid4())
                    sandbox.index[new_id] = _IndexEntry(signature, selfie, now)
                    face["oneToNVerificationId"] = new_id
                    face["oneToNVerificationMatch"] = False
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            # [INFERRED] §7: the Info API id is the result's jti; the sandbox reuses the face
            # session id so an operator can look a result up by the id they were shown.
            "jti": session_id,
            "iat": int(now),
            "exp": int(now) + RESULT_LIFETIME,
            "data": {
                "nonce": str(payload.get("nonce", "")),
                "sessionId": session_id,
                "face": face,
                "deviceAttestation": {"sandbox": True},
            },
        }
        token = sandbox.sign(claims, tamper=bool(payload.get("tamper")))
        with sandbox.lock:
            sandbox.images[audit_id] = _Image(selfie, now + RESULT_LIFETIME)
            sandbox.results[session_id] = _Result(token, now + RESULT_LIFETIME, (audit_id,))
        return JSONResponse({"sessionId": session_id, "face": face}, 201)

    async def rotate_key(request: Request) -> Response:
        key = sandbox.rotate()
        return JSONResponse({"kid": key.kid})

    async def index(request: Request) -> Response:
        with sandbox.lock:
            entries = [
                {"oneToNVerificationId": k, "selfieStored": e.image is not None}
                for k, e in sandbox.index.items()
            ]
        return JSONResponse({"entries": entries})

    return Starlette(
        routes=[
            Route("/sessions/{session_id}/complete", complete, methods=["POST"]),
            Route("/rotate-key", rotate_key, methods=["POST"]),
            Route("/index", index, methods=["GET"]),
        ]
    )


# Weak keys: a sandbox's uqudo state lives exactly as long as its SandboxState. The values hold
# the clock and settings objects, never the state itself, so the key can still be collected.
# One UqudoSandbox per SandboxState, shared by the API app and the admin app.
_sandbox_for = PerState(
    lambda state: UqudoSandbox(clock=state.clock), reset=lambda sandbox: sandbox.reset
)
