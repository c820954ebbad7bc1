"""Azure AI Face client: liveness sessions (both path families), detect + verify, LargePersonGroups.

Contract: shared/providers/azure-face.md. Base URL `{endpoint}/face/{apiVersion}` (§1); the API
version comes from the connection and picks the liveness path family (§0). Authentication is a
subscription key (`Ocp-Apim-Subscription-Key`) or a pasted Microsoft Entra bearer token; either
suffices. A session's `authToken` is a bearer credential for the end-user device: it is returned
to the caller only inside `LivenessSession.auth_token` (repr-hidden) and never logged.

One module past ~600 lines because it is one job, the Azure client: detect/verify, person
groups and the version-dependent liveness families share one request path, one error mapping
and one reply parser; it moves into app/vendors/azure_face/ as a package in the workspace
redesign.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import httpx

from app.domain import CheckResult, EncodedImage, Score, Verdict
from app.errors import (
    AppError,
    AuthenticationFailed,
    CapabilityNotSupported,
    CredentialsMissing,
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
    error_body,
    error_from_status,
    json_body,
    path_segment,
    request_id_of,
    retry_hint,
    send,
    unexpected_response,
    vendor_path,
)
from app.vendors.azure_face import DEFAULT_VERSION, NAME

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.azure_face import INFO as INFO
from app.vendors.azure_face.types import (
    SINGLE_MODAL_VERSIONS,
    AuditEntry,
    Candidate,
    DetectedFace,
    Detection,
    FaceRect,
    Identification,
    LivenessAttempt,
    LivenessSession,
    Page,
    Person,
    PersonGroup,
    SessionKind,
    SessionOptions,
    SessionSummary,
    TrainingStatus,
    VerifyReference,
)

log = logging.getLogger("facedesk.providers.azure_face")

DETECTION_MODEL = "detection_03"
RECOGNITION_MODEL = "recognition_04"


# --- the one error table: vendor code (or status) → error class and operator message ------------

_BY_CODE: dict[str, tuple[type[ProviderError], str]] = {
    "401": (
        AuthenticationFailed,
        "Azure rejected the subscription key or token, or the endpoint is not this key's "
        "resource. Check the endpoint and the credentials (Open credentials).",
    ),
    "UnsupportedFeature": (
        PermissionDenied,
        "This Azure Face resource is not approved for Limited Access features (face ids, "
        "verify, identify). Apply at https://aka.ms/facerecognition or use an approved resource.",
    ),
    "QuotaExceeded": (
        PermissionDenied,
        "The Azure resource has reached a quota (groups, persons or faces per person). Delete "
        "unused items or raise the quota.",
    ),
    "SessionNotFound": (
        NotFound,
        "Azure does not know this session: it was deleted, it expired, or it belongs to the "
        "other API version family. Check the id and the connection's API version.",
    ),
    "SessionImageNotFound": (
        NotFound,
        "Azure has no session image with this id. Get the session result again and use the "
        "session image id it reports.",
    ),
    "FaceNotFound": (
        NotFound,
        "The detected face has expired or is unknown to Azure. Run the detection again.",
    ),
    "LargePersonGroupNotFound": (
        NotFound,
        "This person group does not exist (any more). Refresh the list of groups.",
    ),
    "PersonNotFound": (
        NotFound,
        "This person does not exist in the group (any more). Refresh the list of persons.",
    ),
    "PersistedFaceNotFound": (
        NotFound,
        "This face does not exist on the person (any more). Refresh the list of persons.",
    ),
    "LargePersonGroupNotTrained": (
        RequestRejected,
        "The person group has not been trained yet. Train it, wait for “succeeded”, then "
        "identify again.",
    ),
    "LargePersonGroupExists": (
        RequestRejected,
        "A person group with this id already exists. Choose another id.",
    ),
    "LargePersonGroupTrainingNotFinished": (
        RequestRejected,
        "The group is still training. Wait until training has finished.",
    ),
    "InvalidImage": (
        RequestRejected,
        "Azure could not use the image: it could not be decoded, has no face, or has several "
        "faces where exactly one is needed. Use a clear photo of one face.",
    ),
    "InvalidImageSize": (
        RequestRejected,
        "Azure accepts images from 1 KB to 6 MB. Use another photo.",
    ),
    "InvalidLivenessOperationMode": (
        RequestRejected,
        "Azure rejected the liveness operation mode. Choose Passive or PassiveActive.",
    ),
    "InvalidTokenLifetime": (
        RequestRejected,
        "Azure rejected the token lifetime. Choose between 60 and 86400 seconds.",
    ),
    "InvalidDeviceCorrelationId": (
        RequestRejected,
        "Azure rejected the device correlation id. Give one of at most 64 characters, or "
        "choose “Device sets its own correlation id”.",
    ),
    "InvalidRequestBody": (
        RequestRejected,
        "Azure rejected the request body as invalid. Check the session settings and try again.",
    ),
    "BadArgument": (
        RequestRejected,
        "Azure rejected an argument of the request. Correct the value it names and try again.",
    ),
    "InvalidURL": (
        RequestRejected,
        "Azure could not use the image reference. Load the photo into its slot and try again.",
    ),
}

_LIVENESS_FORBIDDEN = (
    "Azure did not allow this liveness operation for these credentials. Check that the "
    "resource offers Face liveness in its region and that the key or token has the role for "
    "liveness sessions (for a token: Cognitive Services Face Session Creator)."
)

_BY_STATUS: dict[int, tuple[type[ProviderError], str]] = {
    401: _BY_CODE["401"],
    403: (
        PermissionDenied,
        "Azure refused the operation for these credentials. Check the role assignments of the "
        "token, or the features enabled for this resource.",
    ),
    404: (
        NotFound,
        "Azure found nothing at this address. Check the endpoint, the API version and the id.",
    ),
    409: (
        RequestRejected,
        "Azure refused the operation because another operation on the same item is still "
        "running. Wait a moment and try again.",
    ),
}


def _vendor_error(body: Any, response: httpx.Response) -> tuple[str | None, str | None]:
    code = response.headers.get("x-ms-error-code")
    message = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code")) if error.get("code") is not None else code
        message = str(error["message"]) if error.get("message") is not None else None
    return code, message


def error_for(response: httpx.Response, operation: str) -> AppError:
    """Map a failed response through the table above."""
    code, vendor_message = _vendor_error(error_body(response), response)
    status = response.status_code
    if status == 429:
        return error_from_status(
            response,
            provider=NAME,
            operation=operation,
            message=f"Azure is rate-limiting this resource. {retry_hint(response)}",
            vendor_code=code,
            cls=RateLimited,
        )
    if status >= 500:
        return error_from_status(
            response,
            provider=NAME,
            operation=operation,
            message="Azure AI Face had a server problem. Try again in a moment.",
            vendor_code=code,
            cls=ProviderUnavailable,
        )
    cls: type[ProviderError]
    if status == 403 and "liveness" in operation:
        # Limited Access gates face ids, verify and identify; liveness has its own rules.
        cls, message = PermissionDenied, _LIVENESS_FORBIDDEN
    elif code in _BY_CODE and (status != 401 or code == "401"):
        cls, message = _BY_CODE[code]
    elif status in _BY_STATUS:
        cls, message = _BY_STATUS[status]
    else:
        cls, message = RequestRejected, "Azure rejected the request. Check the inputs, try again."
    if cls is RequestRejected and vendor_message:
        # Azure's messages name the offending field; they carry no personal data (§7).
        message = f"{message} Azure said: {vendor_message[:200]}"
    return error_from_status(
        response, provider=NAME, operation=operation, message=message, vendor_code=code, cls=cls
    )


# --- tolerant parsing ---------------------------------------------------------------------------


def _unexpected(operation: str, value: object, response: httpx.Response | None = None) -> AppError:
    return unexpected_response(NAME, operation, body=value, response=response)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_rect(value: Any) -> FaceRect | None:
    rect = _dict(value)
    try:
        return FaceRect(
            int(rect["left"]), int(rect["top"]), int(rect["width"]), int(rect["height"])
        )
    except (KeyError, TypeError, ValueError):
        return None


def _decision(value: Any) -> str | None:
    # §2.4: spec enum is lower case, the official example says "realFace": compare lower-cased.
    return value.lower() if isinstance(value, str) else None


def parse_ga_attempt(value: Any) -> LivenessAttempt:
    attempt = _dict(value)
    result = _dict(attempt.get("result"))
    error = _dict(attempt.get("error"))
    verify = _dict(result.get("verifyResult"))
    targets = _dict(result.get("targets") or error.get("targets"))
    attempt_id = attempt.get("attemptId")
    return LivenessAttempt(
        attempt_id=attempt_id if isinstance(attempt_id, int) else 0,
        status=_str(attempt.get("attemptStatus")) or "Unknown",
        decision=_decision(result.get("livenessDecision")),
        face=parse_rect(_dict(targets.get("color")).get("faceRectangle")),
        match_confidence=_float(verify.get("matchConfidence")),
        is_identical=_bool(verify.get("isIdentical")),
        session_image_id=_str(result.get("sessionImageId")),
        error_code=_str(error.get("code")),
        error_message=_str(error.get("message")),
        digest=_str(result.get("digest")),
    )


def _reference(value: Any) -> VerifyReference | None:
    ref = _dict(value)
    if not ref:
        return None
    return VerifyReference(
        face=parse_rect(ref.get("faceRectangle")),
        quality=_str(ref.get("qualityForRecognition")),
        reference_type=_str(ref.get("referenceType")),
    )


def parse_ga_session(body: Any, kind: SessionKind, version: str) -> LivenessSession:
    """`LivenessSession` / `LivenessWithVerifySession` of the `-sessions` family (§2.4)."""
    if not isinstance(body, dict) or not isinstance(body.get("sessionId"), str):
        raise _unexpected("get session", body)
    results = _dict(body.get("results"))
    raw_attempts = results.get("attempts")
    attempts = [parse_ga_attempt(a) for a in raw_attempts] if isinstance(raw_attempts, list) else []
    attempts.sort(key=lambda a: a.attempt_id, reverse=True)  # newest first, whatever the order
    refs = results.get("verifyReferences")
    return LivenessSession(
        session_id=body["sessionId"],
        kind=kind,
        api_version=version,
        status=_str(body.get("status")) or "Unknown",
        auth_token=_str(body.get("authToken")),
        attempts=tuple(attempts),
        verify_reference=_reference(refs[0]) if isinstance(refs, list) and refs else None,
        raw=_redacted(body),
    )


def parse_audit_entry(value: Any) -> AuditEntry:
    """A singleModal `LivenessSessionAuditEntry` (§3.2); clientRequestId may be absent."""
    entry = _dict(value)
    if not isinstance(entry.get("id"), int):
        raise _unexpected("audit entries", value)
    request = _dict(entry.get("request"))
    response = _dict(entry.get("response"))
    body = _dict(response.get("body"))
    verify = _dict(body.get("verifyResult"))
    error = _dict(body.get("error"))
    status_code = response.get("statusCode")
    ok = isinstance(status_code, int) and 200 <= status_code < 300
    attempt = LivenessAttempt(
        attempt_id=entry["id"],
        status="Succeeded" if ok and body.get("livenessDecision") else "Failed",
        decision=_decision(body.get("livenessDecision")),
        face=parse_rect(_dict(body.get("target")).get("faceRectangle")),
        match_confidence=_float(verify.get("matchConfidence")),
        is_identical=_bool(verify.get("isIdentical")),
        session_image_id=_str(entry.get("sessionImageId")),
        error_code=_str(error.get("code")),
        error_message=_str(error.get("message")),
        received_at=_str(entry.get("receivedDateTime")),
        digest=_str(entry.get("digest")),
    )
    return AuditEntry(
        entry_id=entry["id"],
        request_id=_str(entry.get("requestId")),
        received_at=_str(entry.get("receivedDateTime")),
        method=_str(request.get("method")),
        url=_str(request.get("url")),
        status_code=status_code if isinstance(status_code, int) else None,
        attempt=attempt,
        raw=entry,
    )


def parse_preview_session(body: Any, kind: SessionKind, version: str) -> LivenessSession:
    """The singleModal get-result shape (§3.2): item fields + status + latest audit entry."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise _unexpected("get session", body)
    result = body.get("result")
    attempts = (parse_audit_entry(result).attempt,) if isinstance(result, dict) else ()
    verify_image = _dict(_dict(_dict(result).get("response")).get("body")).get("verifyResult")
    return LivenessSession(
        session_id=body["id"],
        kind=kind,
        api_version=version,
        status=_str(body.get("status")) or "Unknown",
        created_at=_str(body.get("createdDateTime")),
        started_at=_str(body.get("sessionStartDateTime")),
        expired=_bool(body.get("sessionExpired")),
        device_correlation_id=_str(body.get("deviceCorrelationId")),
        attempts=attempts,
        verify_reference=_reference(_dict(verify_image).get("verifyImage")),
        raw=body,
    )


def parse_preview_create(body: Any, kind: SessionKind, version: str) -> LivenessSession:
    """The singleModal create reply: `{sessionId, authToken[, verifyImage]}` (§3.1)."""
    if not isinstance(body, dict) or not isinstance(body.get("sessionId"), str):
        raise _unexpected("create session", body)
    return LivenessSession(
        session_id=body["sessionId"],
        kind=kind,
        api_version=version,
        status="NotStarted",
        auth_token=_str(body.get("authToken")),
        verify_reference=_reference(body.get("verifyImage")),
        raw=_redacted(body),
    )


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    """The raw JSON for display: the device's authToken is shown only on request."""
    return {k: ("«hidden»" if k == "authToken" else v) for k, v in body.items()}


def parse_summary(value: Any) -> SessionSummary:
    item = _dict(value)
    if not isinstance(item.get("id"), str):
        raise _unexpected("list sessions", value)
    ttl = item.get("authTokenTimeToLiveInSeconds")
    return SessionSummary(
        session_id=item["id"],
        created_at=_str(item.get("createdDateTime")) or "",
        expired=bool(item.get("sessionExpired")),
        started_at=_str(item.get("sessionStartDateTime")),
        device_correlation_id=_str(item.get("deviceCorrelationId")),
        auth_token_ttl=ttl if isinstance(ttl, int) else None,
    )


def parse_detection(body: Any, response: httpx.Response | None = None) -> Detection:
    if not isinstance(body, list):
        raise _unexpected("detect", body, response)
    faces = []
    for item in body:
        rect = parse_rect(_dict(item).get("faceRectangle"))
        if rect is None:
            raise _unexpected("detect", body, response)
        faces.append(
            DetectedFace(
                face_id=_str(item.get("faceId")),
                rect=rect,
                quality=_str(_dict(item.get("faceAttributes")).get("qualityForRecognition")),
            )
        )
    faces.sort(key=lambda f: f.rect.width * f.rect.height, reverse=True)
    return Detection(tuple(faces), request_id_of(response) if response is not None else None)


def parse_training(body: Any) -> TrainingStatus:
    data = _dict(body)
    status = _str(data.get("status"))
    if status is None:
        raise _unexpected("training status", body)
    return TrainingStatus(
        status=status.lower(),  # §6.5: lower case; tolerate other casings
        created_at=_str(data.get("createdDateTime")),
        last_action_at=_str(data.get("lastActionDateTime")),
        last_success_at=_str(data.get("lastSuccessfulTrainingDateTime")),
        message=_str(data.get("message")),
    )


def verify_result(body: Any, response: httpx.Response | None = None) -> CheckResult:
    data = _dict(body)
    identical = _bool(data.get("isIdentical"))
    confidence = _float(data.get("confidence"))
    if identical is None or confidence is None:
        raise _unexpected("verify", body, response)
    return CheckResult(
        verdict=Verdict.POSITIVE if identical else Verdict.NEGATIVE,
        headline="Same person (isIdentical)" if identical else "Not the same person",
        score=Score(
            confidence,
            "confidence 0–1",
            "Azure's similarity of the two faces; isIdentical is true at 0.5 or above "
            "(Azure's default threshold).",
        ),
        details={"isIdentical": str(identical).lower(), "confidence": f"{confidence:.5f}"},
        raw=data,
        request_id=request_id_of(response) if response is not None else None,
    )


class AzureFaceProvider:
    """One connection to an Azure Face resource in one API version."""

    def __init__(self, ctx: ProviderContext) -> None:
        self._ctx = ctx
        version = ctx.field("api_version") or DEFAULT_VERSION
        self._version = version
        self._base = f"{ctx.field('endpoint').rstrip('/')}/face/{version}"

    # --- plumbing ---

    @property
    def api_version(self) -> str:
        return self._version

    @property
    def can_list(self) -> bool:
        return self._version in SINGLE_MODAL_VERSIONS

    async def _auth_headers(self) -> dict[str, str]:
        try:
            return {"Ocp-Apim-Subscription-Key": await self._ctx.credential("subscription_key")}
        except CredentialsMissing:
            pass
        try:
            token = await self._ctx.credential("entra_token")
        except CredentialsMissing:
            raise CredentialsMissing(
                f"Neither a subscription key nor an Entra token is set for the {NAME} "
                f"connection “{self._ctx.connection}”. Open Credentials to enter one of them.",
                provider=NAME,
            ) from None
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        return {"Authorization": f"Bearer {token}"}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        template: str,
        expect: tuple[int, ...] = (200,),
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        all_headers = await self._auth_headers()
        all_headers.update(headers or {})
        response = await send(
            self._ctx.http,
            method,
            url or f"{self._base}/{path}",
            provider=NAME,
            operation=operation,
            path_template=f"/face/{self._version}/{template}",
            headers=all_headers,
            **kwargs,
        )
        if response.status_code in expect:
            return response
        if 200 <= response.status_code < 300:
            # §8: generated SDKs raise on any other status, even a 2xx; so do we.
            log.warning(
                "%s %s: HTTP %d where %s was expected",
                NAME,
                operation,
                response.status_code,
                expect,
            )
            raise UnexpectedResponse(
                f"Azure answered {operation} with HTTP {response.status_code}, which this API "
                f"version ({self._version}) does not document. Check the API version of the "
                "connection.",
                provider=NAME,
                operation=operation,
                request_id=request_id_of(response),
                http_status=response.status_code,
            )
        raise error_for(response, operation)

    async def _json(self, method: str, path: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        response = await self._call(method, path, **kwargs)
        return json_body(response, provider=NAME, operation=kwargs["operation"]), response

    async def test_connection(self) -> str:
        body, _ = await self._json(
            "GET",
            "largepersongroups",
            params={"top": "1"},
            operation="test connection",
            template="largepersongroups",
        )
        if not isinstance(body, list):
            raise _unexpected("test connection", body)
        return f"Connected to Azure AI Face ({self._version})."

    # --- liveness sessions ---

    def _session_path(self, kind: SessionKind) -> str:
        name = "detectLiveness" if kind is SessionKind.LIVENESS else "detectLivenessWithVerify"
        return f"{name}/singleModal/sessions" if self.can_list else f"{name}-sessions"

    def _session_params(self, kind: SessionKind, options: SessionOptions) -> dict[str, Any]:
        params: dict[str, Any] = {
            "livenessOperationMode": str(options.operation_mode),
            "deviceCorrelationIdSetInClient": options.set_in_client,
            "authTokenTimeToLiveInSeconds": options.auth_token_ttl,
        }
        if not options.set_in_client:
            params["deviceCorrelationId"] = options.device_correlation_id or ""
        newer = self._version != "v1.1-preview.1"
        if options.enable_session_image:
            if not newer:
                raise OperationRefused(
                    "API version v1.1-preview.1 has no session images. Choose a newer API "
                    "version or leave “session image” off.",
                    provider=NAME,
                )
            params["enableSessionImage"] = True
        if kind is SessionKind.LIVENESS_WITH_VERIFY and newer:
            if options.verify_confidence_threshold is not None:
                params["verifyConfidenceThreshold"] = options.verify_confidence_threshold
            if options.return_verify_image_hash:
                params["returnVerifyImageHash"] = True
        return params

    async def create_session(self, kind: SessionKind, options: SessionOptions) -> LivenessSession:
        path = self._session_path(kind)
        operation = "create liveness session"
        params = self._session_params(kind, options)
        if kind is SessionKind.LIVENESS:
            body, response = await self._json(
                "POST", path, operation=operation, template=path, json=params
            )
        else:
            image = options.verify_image
            if image is None:
                raise OperationRefused(
                    "A liveness-with-verify session needs the reference photo: load one into "
                    "the ID photo slot.",
                    provider=NAME,
                )
            filename = f"reference{image.extension}"
            if self.can_list:
                # §3.1: preview family: `Parameters` JSON text + `VerifyImage` file part.
                data = {"Parameters": json.dumps(params)}
                files = {"VerifyImage": (filename, image.data, image.mime_type)}
            else:
                # §2.2: GA family: one form field per property + `verifyImage` file part.
                data = {k: _form_text(v) for k, v in params.items()}
                files = {"verifyImage": (filename, image.data, image.mime_type)}
            body, response = await self._json(
                "POST", path, operation=operation, template=path, data=data, files=files
            )
        if self.can_list:
            session = parse_preview_create(body, kind, self._version)
        else:
            session = parse_ga_session(body, kind, self._version)
        return _with_request_id(session, response)

    async def get_session(self, kind: SessionKind, session_id: str) -> LivenessSession:
        path = self._session_path(kind)
        body, response = await self._json(
            "GET",
            f"{path}/{path_segment(session_id, field='session_id')}",
            operation="get liveness session",
            template=f"{path}/{{sessionId}}",
        )
        if self.can_list:
            session = parse_preview_session(body, kind, self._version)
        else:
            session = parse_ga_session(body, kind, self._version)
        return _with_request_id(session, response)

    def _require_list(self, what: str) -> None:
        if not self.can_list:
            raise CapabilityNotSupported(
                f"Azure API version {self._version} cannot {what}; only v1.1-preview.1 and "
                "v1.2-preview.1 can. FaceDesk lists the sessions it created instead."
            )

    async def list_sessions(
        self, kind: SessionKind, *, start: str = "", top: int = 20
    ) -> Page[SessionSummary]:
        self._require_list("list sessions")
        path = self._session_path(kind)
        params = {"top": str(top)}
        if start:
            params["start"] = start
        body, _ = await self._json(
            "GET", path, operation="list liveness sessions", template=path, params=params
        )
        if not isinstance(body, list):
            raise _unexpected("list liveness sessions", body)
        items = tuple(parse_summary(item) for item in body)
        next_start = items[-1].session_id if len(items) >= top and items else None
        return Page(items, next_start)

    async def audit_entries(
        self, kind: SessionKind, session_id: str, *, start: str = "", top: int = 20
    ) -> Page[AuditEntry]:
        self._require_list("read audit entries")
        path = self._session_path(kind)
        params = {"top": str(top)}
        if start:
            params["start"] = start
        body, _ = await self._json(
            "GET",
            f"{path}/{path_segment(session_id, field='session_id')}/audit",
            operation="liveness audit entries",
            template=f"{path}/{{sessionId}}/audit",
            params=params,
        )
        if not isinstance(body, list):
            raise _unexpected("liveness audit entries", body)
        entries = tuple(parse_audit_entry(item) for item in body)
        next_start = str(entries[-1].entry_id) if len(entries) >= top and entries else None
        return Page(entries, next_start)

    async def session_image(self, session_image_id: str) -> bytes:
        response = await self._call(
            "GET",
            f"sessionImages/{path_segment(session_image_id, field='session_image_id')}",
            operation="download session image",
            max_reply_bytes=MEDIA_REPLY_CAP,
            template="sessionImages/{sessionImageId}",
        )
        return response.content

    async def delete_session(self, kind: SessionKind, session_id: str) -> None:
        path = self._session_path(kind)
        # §0/§2.3/§3: 200 with an empty body in the previews, 204 from v1.2 on. Exact.
        await self._call(
            "DELETE",
            f"{path}/{path_segment(session_id, field='session_id')}",
            operation="delete liveness session",
            template=f"{path}/{{sessionId}}",
            expect=(200,) if self.can_list else (204,),
        )

    # --- detect and verify ---

    async def detect(self, image: EncodedImage) -> Detection:
        body, response = await self._json(
            "POST",
            "detect",
            operation="detect faces",
            template="detect",
            params={
                "detectionModel": DETECTION_MODEL,
                "recognitionModel": RECOGNITION_MODEL,
                "returnFaceId": "true",
                "returnFaceAttributes": "qualityForRecognition",
            },
            headers={"Content-Type": "application/octet-stream"},
            content=image.data,
        )
        return parse_detection(body, response)

    async def verify_faces(self, face_id1: str, face_id2: str) -> CheckResult:
        body, response = await self._json(
            "POST",
            "verify",
            operation="verify faces",
            template="verify",
            json={"faceId1": face_id1, "faceId2": face_id2},
        )
        return verify_result(body, response)

    async def match_faces(self, reference: EncodedImage, probe: EncodedImage) -> CheckResult:
        first, second = await asyncio.gather(self.detect(reference), self.detect(probe))
        for label, detection in (("ID photo", first), ("selfie", second)):
            if not detection.faces:
                return CheckResult(
                    Verdict.INCONCLUSIVE,
                    f"No face found in the {label}",
                    reasons=(f"Azure detected no face in the {label}; use a clearer photo.",),
                )
        face1, face2 = first.faces[0].face_id, second.faces[0].face_id
        if face1 is None or face2 is None:
            raise _unexpected("detect", {"faceId": None})
        result = await self.verify_faces(face1, face2)
        warnings = tuple(
            f"The {label} holds {len(d.faces)} faces; the largest was compared."
            for label, d in (("ID photo", first), ("selfie", second))
            if len(d.faces) > 1
        )
        if not warnings:
            return result
        return CheckResult(
            result.verdict,
            result.headline,
            score=result.score,
            details=result.details,
            raw=result.raw,
            request_id=result.request_id,
            warnings=warnings,
        )

    # --- LargePersonGroups ---

    async def _paged(self, path: str, template: str, operation: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start = ""
        for _ in range(50):  # ≤ 50 000 items: far beyond what an operator browses
            params = {"top": "1000"}
            if start:
                params["start"] = start
            body, _ = await self._json(
                "GET", path, operation=operation, template=template, params=params
            )
            if not isinstance(body, list) or not all(isinstance(i, dict) for i in body):
                raise _unexpected(operation, body)
            items += body
            if len(body) < 1000:
                break
            start = str(body[-1].get("personId") or body[-1].get("largePersonGroupId") or "")
        return items

    async def list_groups(self) -> tuple[PersonGroup, ...]:
        items = await self._paged("largepersongroups", "largepersongroups", "list person groups")
        groups = []
        for item in items:
            gid, name = _str(item.get("largePersonGroupId")), _str(item.get("name"))
            if gid is None:
                raise _unexpected("list person groups", item)
            groups.append(PersonGroup(gid, name or gid, _str(item.get("userData")), None))
        return tuple(groups)

    async def create_group(self, group_id: str, name: str, user_data: str = "") -> PersonGroup:
        payload: dict[str, Any] = {"name": name, "recognitionModel": RECOGNITION_MODEL}
        if user_data:
            payload["userData"] = user_data
        await self._call(
            "PUT",
            f"largepersongroups/{path_segment(group_id, field='group_id')}",
            operation="create person group",
            template="largepersongroups/{largePersonGroupId}",
            json=payload,
        )
        return PersonGroup(group_id, name, user_data or None, RECOGNITION_MODEL)

    async def delete_group(self, group_id: str) -> None:
        await self._call(
            "DELETE",
            f"largepersongroups/{path_segment(group_id, field='group_id')}",
            operation="delete person group",
            template="largepersongroups/{largePersonGroupId}",
        )

    async def list_persons(self, group_id: str) -> tuple[Person, ...]:
        items = await self._paged(
            f"largepersongroups/{path_segment(group_id, field='group_id')}/persons",
            "largepersongroups/{largePersonGroupId}/persons",
            "list persons",
        )
        return tuple(_person(item, "list persons") for item in items)

    async def create_person(self, group_id: str, name: str, user_data: str = "") -> Person:
        payload = {"name": name, **({"userData": user_data} if user_data else {})}
        body, _ = await self._json(
            "POST",
            f"largepersongroups/{path_segment(group_id, field='group_id')}/persons",
            operation="create person",
            template="largepersongroups/{largePersonGroupId}/persons",
            json=payload,
        )
        person_id = _str(_dict(body).get("personId"))
        if person_id is None:
            raise _unexpected("create person", body)
        return Person(person_id, name, user_data or None)

    async def add_person_face(
        self, group_id: str, person_id: str, image: EncodedImage, target: FaceRect | None = None
    ) -> str:
        params = {"detectionModel": DETECTION_MODEL}
        if target is not None:
            params["targetFace"] = f"{target.left},{target.top},{target.width},{target.height}"
        body, _ = await self._json(
            "POST",
            vendor_path(
                "largepersongroups/{group_id}/persons/{person_id}/persistedfaces",
                group_id=group_id,
                person_id=person_id,
            ),
            operation="add person face",
            template="largepersongroups/{largePersonGroupId}/persons/{personId}/persistedfaces",
            params=params,
            headers={"Content-Type": "application/octet-stream"},
            content=image.data,
        )
        face_id = _str(_dict(body).get("persistedFaceId"))
        if face_id is None:
            raise _unexpected("add person face", body)
        return face_id

    async def get_person(self, group_id: str, person_id: str) -> Person:
        body, _ = await self._json(
            "GET",
            vendor_path(
                "largepersongroups/{group_id}/persons/{person_id}",
                group_id=group_id,
                person_id=person_id,
            ),
            operation="get person",
            template="largepersongroups/{largePersonGroupId}/persons/{personId}",
        )
        return _person(body, "get person")

    async def delete_person(self, group_id: str, person_id: str) -> None:
        await self._call(
            "DELETE",
            vendor_path(
                "largepersongroups/{group_id}/persons/{person_id}",
                group_id=group_id,
                person_id=person_id,
            ),
            operation="delete person",
            template="largepersongroups/{largePersonGroupId}/persons/{personId}",
        )

    async def train(self, group_id: str) -> str:
        response = await self._call(
            "POST",
            f"largepersongroups/{path_segment(group_id, field='group_id')}/train",
            operation="train person group",
            template="largepersongroups/{largePersonGroupId}/train",
            expect=(202,),
        )
        own = f"{self._base}/largepersongroups/{path_segment(group_id, field='group_id')}/training"
        location = response.headers.get("operation-location", "")
        # Follow Operation-Location only on the connection's own host: the credentials go with it.
        if location and httpx.URL(location).host == httpx.URL(self._base).host:
            return str(location)
        return own

    async def training_status(self, group_id: str, url: str | None = None) -> TrainingStatus:
        try:
            body, _ = await self._json(
                "GET",
                f"largepersongroups/{path_segment(group_id, field='group_id')}/training",
                url=url,
                operation="training status",
                template="largepersongroups/{largePersonGroupId}/training",
            )
        except RequestRejected as exc:
            # §7: a never-trained group answers 404 LargePersonGroupNotTrained.
            if exc.vendor_code == "LargePersonGroupNotTrained":
                return TrainingStatus("notStarted")
            raise
        return parse_training(body)

    async def follow_training(
        self, group_id: str, *, interval: float = 1.0, max_wait: float = 300.0
    ) -> AsyncIterator[TrainingStatus]:
        location = await self.train(group_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            status = await self.training_status(group_id, url=location)
            yield status
            if status.finished:
                return
            if loop.time() + interval > deadline:
                raise ProviderUnavailable(
                    "Training has not finished in time. Check its status again later.",
                    provider=NAME,
                    operation="train person group",
                )
            await asyncio.sleep(interval)

    async def identify(
        self, group_id: str, image: EncodedImage, *, max_candidates: int = 5
    ) -> Identification:
        detection = await self.detect(image)
        if not detection.faces or detection.faces[0].face_id is None:
            empty = CheckResult(
                Verdict.INCONCLUSIVE,
                "No face found in the selfie",
                reasons=("Azure detected no face; use a clearer photo.",),
                request_id=detection.request_id,
            )
            return Identification(None, (), empty)
        face = detection.faces[0]
        assert face.face_id is not None
        body, response = await self._json(
            "POST",
            "identify",
            operation="identify",
            template="identify",
            json={
                "faceIds": [face.face_id],
                "largePersonGroupId": group_id,
                "maxNumOfCandidatesReturned": max_candidates,
            },
        )
        if not isinstance(body, list) or not body:
            raise _unexpected("identify", body, response)
        raw_candidates = _dict(body[0]).get("candidates")
        if not isinstance(raw_candidates, list):
            raise _unexpected("identify", body, response)
        candidates = []
        for item in raw_candidates:
            pid, confidence = (
                _str(_dict(item).get("personId")),
                _float(_dict(item).get("confidence")),
            )
            if pid is None or confidence is None:
                raise _unexpected("identify", body, response)
            try:
                person = await self.get_person(group_id, pid)
                candidates.append(Candidate(pid, confidence, person.name, person.user_data))
            except NotFound:
                candidates.append(Candidate(pid, confidence))
        candidates.sort(key=lambda c: c.confidence, reverse=True)
        if candidates:
            best = candidates[0]
            result = CheckResult(
                Verdict.POSITIVE,
                f"{len(candidates)} candidate(s) found",
                score=Score(
                    best.confidence,
                    "confidence 0–1",
                    "Azure's confidence that the selfie shows the best candidate; candidates "
                    "below Azure's threshold (0.5 unless set) are not returned.",
                ),
                details={"Best candidate": best.name or best.person_id},
                raw={"identify": body},
                request_id=request_id_of(response),
            )
        else:
            result = CheckResult(
                Verdict.NEGATIVE,
                "No one in the group matches",
                raw={"identify": body},
                request_id=request_id_of(response),
            )
        return Identification(face, tuple(candidates), result)


def _person(value: Any, operation: str) -> Person:
    item = _dict(value)
    pid = _str(item.get("personId"))
    if pid is None:
        raise _unexpected(operation, value)
    faces = item.get("persistedFaceIds")
    return Person(
        pid,
        _str(item.get("name")) or "",
        _str(item.get("userData")),
        tuple(str(f) for f in faces) if isinstance(faces, list) else (),
    )


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _with_request_id(session: LivenessSession, response: httpx.Response) -> LivenessSession:
    return replace(session, request_id=request_id_of(response))


def create(ctx: ProviderContext) -> AzureFaceProvider:
    return AzureFaceProvider(ctx)
