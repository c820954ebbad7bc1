"""uqudo client: OAuth2 client credentials, Face API (sessions, match, 1:N index) and Info API.

Wire contract: shared/providers/uqudo.md. The access token lives only in this object's memory:
it is cached until shortly before `expires_in`, renewed once when the API answers 401, and never
logged or written anywhere. Session results are JWS tokens verified here against uqudo's JWKS
(RS256 with `cryptography`; keys cached, refetched once on an unknown `kid`).

One module past ~600 lines because it is one job, the uqudo client: its token cache and the
JWS verification of session results are used by every call here and by nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.domain import CheckResult, EncodedImage, Score, Verdict
from app.errors import (
    AppError,
    AuthenticationFailed,
    NotFound,
    OperationRefused,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import (
    MEDIA_REPLY_CAP,
    ProviderContext,
    describe_shape,
    error_body,
    error_from_status,
    json_body,
    request_id_of,
    retry_hint,
    send,
    unexpected_response,
    vendor_path,
)

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.uqudo import INFO as INFO
from app.vendors.uqudo.types import (
    DEFAULT_MATCH_LEVEL,
    DETAIL_ACHIEVED_LEVEL,
    DETAIL_ALREADY_KNOWN,
    DETAIL_INSERTED,
    DETAIL_MINIMUM_LEVEL,
    DETAIL_VERIFICATION_ID,
    FACE_SESSION_VALIDITY_SECONDS,
    MATCH_LEVEL_MEANINGS,
    MAX_MATCH_LEVEL,
    MIN_MATCH_LEVEL,
    FaceObject,
    FaceSession,
    SessionImage,
    SessionResult,
    clamp_level,
)

log = logging.getLogger("facedesk.providers.uqudo")

NAME = "uqudo"
TOKEN_PATH = "/api/oauth/token"  # §1, on the auth host
JWKS_PATH = "/api/.well-known/jwks.json"  # §7, on the API host, public
# Renew this long before uqudo's expiry so a token never dies in flight.
TOKEN_MARGIN_SECONDS = 60.0
# The token cache's clock; a module attribute so tests can move time.
_monotonic = time.monotonic
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


# --- the one status → error table ---------------------------------------------------------------
# §0: uqudo documents no error body, so the client keys on (operation kind, status) only.
# "{feature}" and "{retry}" are filled in when the error is built.
_ERRORS: dict[tuple[str, int], tuple[type[ProviderError], str]] = {
    ("token", 400): (
        RequestRejected,
        "uqudo's token endpoint refused the request. Check the Auth URL in Connection settings "
        "(normally https://auth.uqudo.io).",
    ),
    ("token", 401): (
        AuthenticationFailed,
        "uqudo rejected the client id or client secret. Check both in Credentials (Customer "
        "Portal › Development › Credentials).",
    ),
    ("token", 403): (
        AuthenticationFailed,
        "uqudo refused to issue a token for this client. Check the client id and secret in "
        "Credentials, or ask uqudo whether the client is active.",
    ),
    ("token", 404): (
        RequestRejected,
        "The Auth URL does not serve uqudo's token endpoint. Check the Auth URL in Connection "
        "settings (normally https://auth.uqudo.io).",
    ),
    ("*", 400): (
        RequestRejected,
        "uqudo rejected the request as invalid. Check that the image is a clear JPEG or PNG "
        "showing one face, then try again.",
    ),
    ("match", 400): (
        RequestRejected,
        "uqudo rejected the face match as invalid. Check that both images show one clear face "
        "and that the minimum level is between 1 and 5.",
    ),
    ("info", 400): (
        RequestRejected,
        "uqudo rejected the session id. Session ids look like 8-4-4-4-12 hexadecimal digits.",
    ),
    ("*", 401): (
        AuthenticationFailed,
        "uqudo did not accept a freshly issued access token on the API host. Check that the "
        "API URL is the one the Customer Portal shows for this client.",
    ),
    ("*", 403): (
        PermissionDenied,
        "This uqudo tenant is not allowed to use {feature}. Ask uqudo to enable it for your "
        "client.",
    ),
    ("one_to_n_delete", 400): (
        RequestRejected,
        "uqudo rejected this oneToNVerificationId. Copy it again from a 1:N search or insert "
        "result and try again.",
    ),
    # A 404 on a route that carries no id means the API host does not serve uqudo's API.
    ("*", 404): (
        NotFound,
        "The API URL does not serve this uqudo endpoint. Check the API URL in Connection "
        "settings (the one the Customer Portal shows under Development › Credentials).",
    ),
    ("one_to_n_delete", 404): (
        NotFound,
        "uqudo does not know this oneToNVerificationId in your tenant's 1:N index.",
    ),
    ("info", 404): (
        NotFound,
        "uqudo has no result for this session: it was not completed yet, was purged, or "
        "expired (results are kept for about 30 minutes).",
    ),
    ("image", 404): (
        NotFound,
        "uqudo no longer has this image: images are kept only while the session result is "
        "(about 30 minutes), or the session was purged.",
    ),
    ("*", 413): (
        RequestRejected,
        "The image is larger than uqudo's 5 MB limit. Load a smaller photo and try again.",
    ),
    ("*", 415): (
        RequestRejected,
        "uqudo accepts only JPEG or PNG images. Load the photo again (FaceDesk converts it).",
    ),
    ("*", 429): (RateLimited, "uqudo is limiting how often you can call it. {retry}"),
    ("*", 500): (
        ProviderUnavailable,
        "uqudo had a problem on its side. {retry} If it keeps happening, check uqudo's status.",
    ),
}
_FEATURES = {
    "token": "API access",
    "face_session": "face sessions",
    "match": "face match",
    "one_to_n": "the 1:N face index (search, insert and delete)",
    "one_to_n_delete": "the 1:N face index (search, insert and delete)",
    "info": "the Info API (session results)",
    "image": "the Info API (session images)",
}


def _error(response: httpx.Response, *, kind: str, operation: str) -> AppError:
    """The typed error for a failed response, from the table above."""
    status = response.status_code
    key_status = 500 if status >= 500 else status
    entry = _ERRORS.get((kind, key_status)) or _ERRORS.get(("*", key_status))
    if entry is None:
        cls: type[ProviderError] = RequestRejected
        template = f"uqudo refused the request (HTTP {status}). Copy the details for support."
    else:
        cls, template = entry
    message = template.format(
        feature=_FEATURES.get(kind, "this feature"), retry=retry_hint(response)
    )
    return error_from_status(
        response,
        provider=NAME,
        operation=operation,
        message=message,
        vendor_code=_vendor_code(response),
        cls=cls,
    )


def _vendor_code(response: httpx.Response) -> str | None:
    """The short `error` word of a body (OAuth2 or Spring style), if any: for "Copy details"."""
    code = error_body(response).get("error")
    return code if isinstance(code, str) and 0 < len(code) <= 64 else None


def _unexpected(operation: str, response: httpx.Response | None, what: str) -> UnexpectedResponse:
    return unexpected_response(NAME, operation, response=response, detail=what)


def _b64(image: EncodedImage) -> str:
    return base64.b64encode(image.data).decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: object) -> datetime | None:
    number = _as_int(value)
    return datetime.fromtimestamp(number, UTC) if number is not None else None


def level_meaning(level: int) -> str:
    return MATCH_LEVEL_MEANINGS[clamp_level(level)]


def match_result(body: Mapping[str, Any], minimum: int, request_id: str | None) -> CheckResult:
    """A face match answer (§3) as the operator reads it: decision, level, meaning."""
    raw_level = _as_int(body.get("matchLevel"))
    if raw_level is None:
        raise ValueError("matchLevel missing")
    level = clamp_level(raw_level)
    matched = _as_bool(body.get("match"))
    warnings: tuple[str, ...] = ()
    if matched is None:
        # [INFERRED] §3: match = matchLevel >= minimumMatchLevel; derive it when it is missing.
        matched = level >= minimum
        warnings = ("uqudo did not say match or no match; FaceDesk compared the levels.",)
    if matched:
        headline = f"Match — level {level} reached the minimum of {minimum}"
    else:
        headline = f"No match — level {level} is below the minimum of {minimum}"
    return CheckResult(
        verdict=Verdict.POSITIVE if matched else Verdict.NEGATIVE,
        headline=headline,
        score=Score(value=float(level), scale="level 1–5", meaning=level_meaning(level)),
        details={
            DETAIL_ACHIEVED_LEVEL: str(level),
            DETAIL_MINIMUM_LEVEL: str(minimum),
            "Minimum level means": level_meaning(minimum),
        },
        raw=dict(body),
        request_id=request_id,
        warnings=warnings,
    )


def search_result(body: Mapping[str, Any], insert: bool, request_id: str | None) -> CheckResult:
    """A 1:N search answer (§4): already known or not, and the id to keep."""
    verification_id = _as_str(body.get("oneToNVerificationId"))
    matched = _as_bool(body.get("oneToNVerificationMatch"))
    warnings: list[str] = []
    if matched is None:
        # §4: the type comes from the SDK docs only; without it, an id on a search that could
        # not insert can only be a hit.
        if not insert:
            matched = verification_id is not None
        else:
            warnings.append("uqudo did not say whether the face was already known.")
    details: dict[str, str] = {}
    if verification_id:
        details[DETAIL_VERIFICATION_ID] = verification_id
    if matched is True:
        verdict, headline = Verdict.POSITIVE, "Already known — this face is in the 1:N index"
        details[DETAIL_ALREADY_KNOWN] = "yes"
    elif matched is False and insert and verification_id:
        verdict, headline = Verdict.NEGATIVE, "Not known before — added to the 1:N index"
        details[DETAIL_ALREADY_KNOWN] = "no"
        details[DETAIL_INSERTED] = "yes"
    elif matched is False:
        verdict, headline = Verdict.NEGATIVE, "Not in the 1:N index — nothing was added"
        details[DETAIL_ALREADY_KNOWN] = "no"
        details[DETAIL_INSERTED] = "no"
        if insert:
            warnings.append("Insert was requested, but uqudo returned no new id.")
    else:
        verdict, headline = Verdict.INCONCLUSIVE, "uqudo answered without a clear result"
    return CheckResult(
        verdict=verdict,
        headline=headline,
        details=details,
        raw=dict(body),
        request_id=request_id,
        warnings=tuple(warnings),
    )


def insert_result(body: Mapping[str, Any], request_id: str | None) -> CheckResult:
    """A 1:N insert answer (§5); its field list is undocumented, so accept likely id names."""
    verification_id = next(
        (
            _as_str(body.get(name))
            for name in ("oneToNVerificationId", "verificationId", "id")
            if _as_str(body.get(name))
        ),
        None,
    )
    if verification_id is None:
        return CheckResult(
            verdict=Verdict.INCONCLUSIVE,
            headline="Added, but uqudo returned no id",
            raw=dict(body),
            request_id=request_id,
            warnings=("Without a oneToNVerificationId this entry cannot be deleted later.",),
        )
    return CheckResult(
        verdict=Verdict.POSITIVE,
        headline="Added to the 1:N index",
        details={DETAIL_VERIFICATION_ID: verification_id, DETAIL_INSERTED: "yes"},
        raw=dict(body),
        request_id=request_id,
    )


def parse_face_object(value: object) -> FaceObject | None:
    if not isinstance(value, Mapping):
        return None
    level = _as_int(value.get("matchLevel"))
    return FaceObject(
        match=_as_bool(value.get("match")),
        match_level=clamp_level(level) if level is not None else None,
        audit_trail_image_id=_as_str(value.get("auditTrailImageId")),
        one_to_n_verification_id=_as_str(value.get("oneToNVerificationId")),
        one_to_n_verification_match=_as_bool(value.get("oneToNVerificationMatch")),
    )


def face_from_claims(claims: Mapping[str, Any]) -> FaceObject | None:
    """`data.face` of a Face Session result, or the first document's face of an enrolment."""
    data = claims.get("data")
    if not isinstance(data, Mapping):
        return None
    face = parse_face_object(data.get("face"))
    if face is not None:
        return face
    documents = data.get("documents")
    if isinstance(documents, list):
        for document in documents:
            if isinstance(document, Mapping):
                face = parse_face_object(document.get("face"))
                if face is not None:
                    return face
    return None


def face_check(face: FaceObject | None, claims: Mapping[str, Any]) -> CheckResult:
    """The face object as a ResultCard shows it: decision, level, then the 1:N fields."""
    details: dict[str, str] = {}
    if face is None:
        return CheckResult(
            verdict=Verdict.INCONCLUSIVE,
            headline="Signature valid — the result has no face object",
            raw=dict(claims),
        )
    if face.match_level is not None:
        details[DETAIL_ACHIEVED_LEVEL] = str(face.match_level)
    if face.one_to_n_verification_id:
        details[DETAIL_VERIFICATION_ID] = face.one_to_n_verification_id
    if face.one_to_n_verification_match is not None:
        details[DETAIL_ALREADY_KNOWN] = "yes" if face.one_to_n_verification_match else "no"
    if face.audit_trail_image_id:
        details["auditTrailImageId"] = face.audit_trail_image_id
    if face.match is True:
        verdict, headline = Verdict.POSITIVE, "Match — the end user's selfie matched the ID photo"
    elif face.match is False:
        verdict, headline = Verdict.NEGATIVE, "No match — the session ended without a match"
    else:
        verdict, headline = Verdict.INCONCLUSIVE, "The result does not say match or no match"
    score = (
        Score(float(face.match_level), "level 1–5", level_meaning(face.match_level))
        if face.match_level is not None
        else None
    )
    return CheckResult(verdict=verdict, headline=headline, score=score, details=details, raw=claims)


class UqudoProvider:
    """One uqudo connection: implements every capability INFO declares."""

    def __init__(self, ctx: ProviderContext) -> None:
        self._ctx = ctx
        self._token: str | None = None
        self._token_expires_at = 0.0  # time.monotonic() deadline, margin already applied
        self._token_lock = asyncio.Lock()
        self._jwks: dict[str, rsa.RSAPublicKey] = {}
        self._jwks_lock = asyncio.Lock()
        self._client_id: str | None = None  # not secret; kept to check a result's `aud`

    # --- authentication ------------------------------------------------------------------------

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one; `stale` is a token the API just refused."""
        async with self._token_lock:
            fresh = self._token is not None and _monotonic() < self._token_expires_at
            if fresh and self._token != stale and self._token is not None:
                return self._token
            self._token = None
            token, lifetime = await self._request_token()
            margin = min(TOKEN_MARGIN_SECONDS, lifetime / 10)
            self._token = token
            self._token_expires_at = _monotonic() + max(0.0, lifetime - margin)
            return token

    async def _request_token(self) -> tuple[str, float]:
        client_id = await self._ctx.credential("client_id")
        client_secret = await self._ctx.credential("client_secret")
        self._client_id = client_id
        operation = "get access token"
        response = await send(
            self._ctx.http,
            "POST",
            self._ctx.url("auth_url", TOKEN_PATH),
            provider=NAME,
            operation=operation,
            path_template=TOKEN_PATH,
            # §1: form-encoded, never JSON; httpx sets the content type for `data=`.
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code >= 400:
            raise _error(response, kind="token", operation=operation)
        body = json_body(response, provider=NAME, operation=operation)
        token = _as_str(body.get("access_token")) if isinstance(body, dict) else None
        if token is None:
            log.warning("uqudo token response has shape %s", describe_shape(body))
            raise _unexpected(operation, response, "no access token")
        lifetime = _as_int(body.get("expires_in"))
        # [INFERRED] §1: a missing expires_in is treated as 5 minutes, to renew early rather
        # than hold a dead token.
        return token, float(lifetime if lifetime and lifetime > 0 else 300)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        operation: str,
        template: str,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """An authenticated API call; a 401 renews the token once and repeats the call."""
        url = self._ctx.url("api_url", path)
        token = await self._access_token()
        for attempt in (1, 2):
            response = await send(
                self._ctx.http,
                method,
                url,
                provider=NAME,
                operation=operation,
                path_template=template,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                **kwargs,
            )
            if response.status_code == 401 and attempt == 1:
                # The token expired early or was revoked: a 401 means nothing was done, so
                # repeating even a POST once is safe.
                token = await self._access_token(stale=token)
                continue
            break
        if response.status_code >= 400:
            raise _error(response, kind=kind, operation=operation)
        return response

    async def _json_call(
        self, path: str, payload: Mapping[str, Any], *, kind: str, operation: str
    ) -> tuple[dict[str, Any], httpx.Response]:
        response = await self._call(
            "POST", path, kind=kind, operation=operation, template=path, json=dict(payload)
        )
        body = json_body(response, provider=NAME, operation=operation)
        if not isinstance(body, dict):
            log.warning("uqudo %s: unexpected shape %s", operation, describe_shape(body))
            raise _unexpected(operation, response, "not a JSON object")
        return body, response

    # --- capabilities --------------------------------------------------------------------------

    async def test_connection(self) -> str:
        """Get a token from the auth host, then read the JWKS from the API host."""
        await self._access_token()
        await self._refresh_jwks()
        return (
            f"uqudo issued an access token and the API host answered "
            f"({len(self._jwks)} signing key(s) published)."
        )

    async def create_face_session(self, id_photo: EncodedImage) -> FaceSession:
        operation = "create face session"
        path = "/api/v1/face"
        response = await self._call(
            "POST",
            path,
            kind="face_session",
            operation=operation,
            template=path,
            files={"idPhoto": (f"idPhoto{id_photo.extension}", id_photo.data, id_photo.mime_type)},
        )
        body = json_body(response, provider=NAME, operation=operation)
        session_id = _as_str(body.get("sessionId")) if isinstance(body, dict) else None
        if session_id is None:
            log.warning("uqudo %s: unexpected shape %s", operation, describe_shape(body))
            raise _unexpected(operation, response, "no sessionId")
        now = datetime.now(UTC)
        return FaceSession(
            session_id=session_id,
            created_at=now,
            expires_at=now + timedelta(seconds=FACE_SESSION_VALIDITY_SECONDS),
            request_id=request_id_of(response),
        )

    async def match_faces(
        self,
        reference: EncodedImage,
        probe: EncodedImage,
        *,
        minimum_level: int = DEFAULT_MATCH_LEVEL,
    ) -> CheckResult:
        if not MIN_MATCH_LEVEL <= minimum_level <= MAX_MATCH_LEVEL:
            raise OperationRefused(
                "Choose a minimum match level from 1 to 5 (3 is uqudo's default).",
                provider=NAME,
                operation="face match",
            )
        operation = "face match"
        body, response = await self._json_call(
            "/api/v1/face/match",
            {
                "sourceImage": _b64(reference),
                "targetImage": _b64(probe),
                "minimumMatchLevel": minimum_level,
            },
            kind="match",
            operation=operation,
        )
        try:
            return match_result(body, minimum_level, request_id_of(response))
        except ValueError:
            log.warning("uqudo %s: unexpected shape %s", operation, describe_shape(body))
            raise _unexpected(operation, response, "no match level") from None

    async def search_face(self, image: EncodedImage, *, insert_if_missing: bool) -> CheckResult:
        body, response = await self._json_call(
            "/api/v1/face/one-to-n/search",
            {"idPhoto": _b64(image), "insert": insert_if_missing},
            kind="one_to_n",
            operation="1:N search",
        )
        return search_result(body, insert_if_missing, request_id_of(response))

    async def enroll_face(self, image: EncodedImage) -> CheckResult:
        body, response = await self._json_call(
            "/api/v1/face/one-to-n/insert",
            {"idPhoto": _b64(image)},
            kind="one_to_n",
            operation="1:N insert",
        )
        return insert_result(body, request_id_of(response))

    async def delete_face(self, face_id: str) -> None:
        face_id = face_id.strip()
        if not face_id:
            raise OperationRefused(
                "Enter the oneToNVerificationId to delete.", provider=NAME, operation="1:N delete"
            )
        template = "/api/v1/face/one-to-n/search/{oneToNVerificationId}"
        await self._call(
            "DELETE",
            vendor_path("/api/v1/face/one-to-n/search/{face_id}", face_id=face_id),
            kind="one_to_n_delete",
            operation="1:N delete",
            template=template,
        )

    # --- Info API ------------------------------------------------------------------------------

    @staticmethod
    def _checked_session_id(session_id: str, operation: str) -> str:
        session_id = session_id.strip()
        if not UUID_RE.match(session_id):
            # §7 [DOC]: the Info API only accepts UUID session ids; say so before sending.
            raise OperationRefused(
                "uqudo session ids look like 8-4-4-4-12 hexadecimal digits "
                "(e.g. 0f8fad5b-d9cb-469f-a165-70867728950e). Check the id and try again.",
                provider=NAME,
                operation=operation,
            )
        return session_id

    async def fetch_session_result(
        self, session_id: str, *, id_in_header: bool = False
    ) -> SessionResult:
        operation = "fetch session result"
        session_id = self._checked_session_id(session_id, operation)
        if id_in_header:
            response = await self._call(
                "GET",
                "/api/v1/info",
                kind="info",
                operation=operation,
                template="/api/v1/info",
                headers={"UQ-Session-ID": session_id, "Accept": "application/jwt"},
            )
        else:
            response = await self._call(
                "GET",
                f"/api/v1/info/{session_id}",
                kind="info",
                operation=operation,
                template="/api/v1/info/{sessionId}",
                headers={"Accept": "application/jwt"},
            )
        token = _compact_jws(response)
        if token is None:
            raise _unexpected(operation, response, "not a signed result")
        return await self.verify_result(token, session_id, response=response)

    async def verify_result(
        self, token: str, session_id: str, *, response: httpx.Response | None = None
    ) -> SessionResult:
        """Verify a compact JWS against the JWKS and decode its claims."""
        operation = "verify session result"
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, binascii.Error):
            raise _unexpected(operation, response, "a malformed signed result") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _unexpected(operation, response, "a malformed signed result")
        algorithm = header.get("alg")
        kid = _as_str(header.get("kid"))
        if algorithm != "RS256" or kid is None:
            # Only RS256 with a key id is accepted: never "none", never an HMAC algorithm
            # that would let the public key act as a shared secret.
            raise UnexpectedResponse(
                "uqudo's result is not signed the way uqudo signs results (RS256 with a key "
                "id). Do not rely on it; copy the details for support.",
                provider=NAME,
                operation=operation,
            )
        key = await self._key(kid)
        try:
            key.verify(
                signature,
                f"{header_b64}.{payload_b64}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise UnexpectedResponse(
                "The session result's signature does not verify against uqudo's published "
                "keys. Do not rely on this result; fetch it again or contact uqudo.",
                provider=NAME,
                operation=operation,
                request_id=request_id_of(response) if response is not None else None,
            ) from None
        return self._session_result(session_id, kid, claims)

    def _session_result(self, session_id: str, kid: str, claims: dict[str, Any]) -> SessionResult:
        warnings: list[str] = []
        data = claims.get("data") if isinstance(claims.get("data"), Mapping) else {}
        assert isinstance(data, Mapping)
        data_session = _as_str(data.get("sessionId"))
        audience = claims.get("aud")
        audiences = [a for a in (audience if isinstance(audience, list) else [audience]) if a]
        if self._client_id and audiences and self._client_id not in audiences:
            # §7 [DOC]: aud is the client id; another tenant's result deserves a warning.
            warnings.append("The result was issued for a different client id (aud).")
        expires_at = _time(claims.get("exp"))
        if expires_at is not None and expires_at < datetime.now(UTC):
            warnings.append("The result token's own expiry time has passed.")
        jti = _as_str(claims.get("jti"))
        if jti is not None and jti != session_id:
            warnings.append(f"The result's jti ({jti}) differs from the id it was fetched by.")
        face = face_from_claims(claims)
        check = face_check(face, claims)
        image_ids: dict[str, str] = {}
        if face is not None and face.audit_trail_image_id:
            image_ids["Audit-trail selfie"] = face.audit_trail_image_id
        for name, label in (("faceImageId", "Face image"), ("frontImageId", "Document front")):
            value = _as_str(data.get(name))
            if value:
                image_ids[label] = value
        if warnings:
            check = CheckResult(
                verdict=check.verdict,
                headline=check.headline,
                score=check.score,
                reasons=check.reasons,
                details=check.details,
                raw=check.raw,
                request_id=check.request_id,
                warnings=(*check.warnings, *warnings),
            )
        return SessionResult(
            session_id=session_id,
            key_id=kid,
            algorithm="RS256",
            claims=claims,
            face=face,
            check=check,
            data_session_id=data_session,
            nonce=_as_str(data.get("nonce")),
            issued_at=_time(claims.get("iat")),
            expires_at=expires_at,
            warnings=tuple(warnings),
            image_ids=image_ids,
        )

    async def _key(self, kid: str) -> rsa.RSAPublicKey:
        key = self._jwks.get(kid)
        if key is None:
            # A key we have not seen: uqudo may have rotated; refetch once.
            await self._refresh_jwks()
            key = self._jwks.get(kid)
        if key is None:
            raise UnexpectedResponse(
                "The session result is signed with a key uqudo does not publish. Do not rely "
                "on this result; check the API URL, then contact uqudo.",
                provider=NAME,
                operation="verify session result",
            )
        return key

    async def _refresh_jwks(self) -> None:
        operation = "read signing keys"
        async with self._jwks_lock:
            response = await send(
                self._ctx.http,
                "GET",
                self._ctx.url("api_url", JWKS_PATH),
                provider=NAME,
                operation=operation,
                path_template=JWKS_PATH,
            )
            if response.status_code >= 400:
                raise _error(response, kind="jwks", operation=operation)
            body = json_body(response, provider=NAME, operation=operation)
            keys = body.get("keys") if isinstance(body, dict) else None
            if not isinstance(keys, list):
                log.warning("uqudo JWKS has shape %s", describe_shape(body))
                raise _unexpected(operation, response, "no key list")
            parsed: dict[str, rsa.RSAPublicKey] = {}
            for jwk in keys:
                if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
                    continue
                kid, n, e = (_as_str(jwk.get(name)) for name in ("kid", "n", "e"))
                if kid is None or n is None or e is None:
                    continue
                try:
                    numbers = rsa.RSAPublicNumbers(
                        int.from_bytes(_b64url_decode(e), "big"),
                        int.from_bytes(_b64url_decode(n), "big"),
                    )
                    parsed[kid] = numbers.public_key()
                except (ValueError, binascii.Error):
                    continue
            self._jwks = parsed

    async def download_image(self, image_id: str) -> SessionImage:
        operation = "download session image"
        image_id = image_id.strip()
        if not image_id:
            raise OperationRefused("Enter an image id.", provider=NAME, operation=operation)
        response = await self._call(
            "GET",
            vendor_path("/api/v1/info/img/{image_id}", image_id=image_id),
            kind="image",
            operation=operation,
            max_reply_bytes=MEDIA_REPLY_CAP,
            template="/api/v1/info/img/{id}",
        )
        data = response.content
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            content_type = "image/png"
        elif data.startswith(b"\xff\xd8\xff"):
            content_type = "image/jpeg"
        else:
            raise _unexpected(operation, response, "not a JPEG or PNG image")
        return SessionImage(image_id=image_id, data=data, content_type=content_type)

    async def purge_session(self, session_id: str) -> None:
        operation = "purge session data"
        session_id = self._checked_session_id(session_id, operation)
        await self._call(
            "DELETE",
            f"/api/v1/info/{session_id}",
            kind="info",
            operation=operation,
            template="/api/v1/info/{sessionId}",
        )


def _compact_jws(response: httpx.Response) -> str | None:
    """The JWS from an Info API answer: `application/jwt` text, or tolerantly a JSON string."""
    text = response.text.strip()
    if text.startswith(('"', "{")):
        # [INFERRED] §7: documented as application/jwt; accept a JSON-wrapped token too.
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if isinstance(value, dict):
            value = next((value[k] for k in ("token", "jws", "result", "data") if k in value), None)
        text = value.strip() if isinstance(value, str) else ""
    return text if text.count(".") == 2 else None


def create(ctx: ProviderContext) -> UqudoProvider:
    return UqudoProvider(ctx)
