"""Azure AI Face client: liveness sessions (both path families), detect + verify, LargePersonGroups.

Contract: shared/providers/azure-face.md. Base URL `{endpoint}/face/{apiVersion}` (§1); the API
version comes from the connection and picks the liveness path family (§0). Authentication is a
subscription key or a pasted Microsoft Entra bearer token (`AzureKeyAuth`, auth.py); failed
replies map through `ERRORS` (errors.py). A session's `authToken` is a bearer credential for
the end-user device: it is returned to the caller only inside `LivenessSession.auth_token`
(repr-hidden) and never logged.

Past ~600 lines because it is one job, the Azure client: detect/verify, person groups and the
two version-dependent liveness families share one request path and one set of reply parsers
(auth, the error table and the types already live beside it).
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
    CapabilityNotSupported,
    NotFound,
    OperationRefused,
    ProviderUnavailable,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import (
    MEDIA_REPLY_CAP,
    ProviderContext,
    json_body,
    path_segment,
    request_id_of,
    send,
    unexpected_response,
    vendor_path,
)
from app.http.parse import as_bool, as_dict, as_float, as_str
from app.http.poll import REAL_CLOCK, PollClock, poll
from app.vendors.azure_face import DEFAULT_VERSION, NAME

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.azure_face import INFO as INFO
from app.vendors.azure_face.auth import azure_auth
from app.vendors.azure_face.errors import error_for
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


def _unexpected(operation: str, value: object, response: httpx.Response | None = None) -> AppError:
    return unexpected_response(NAME, operation, body=value, response=response)


def parse_rect(value: Any) -> FaceRect | None:
    rect = as_dict(value)
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
    attempt = as_dict(value)
    result = as_dict(attempt.get("result"))
    error = as_dict(attempt.get("error"))
    verify = as_dict(result.get("verifyResult"))
    targets = as_dict(result.get("targets") or error.get("targets"))
    attempt_id = attempt.get("attemptId")
    return LivenessAttempt(
        attempt_id=attempt_id if isinstance(attempt_id, int) else 0,
        status=as_str(attempt.get("attemptStatus"), numbers=True) or "Unknown",
        decision=_decision(result.get("livenessDecision")),
        face=parse_rect(as_dict(targets.get("color")).get("faceRectangle")),
        match_confidence=as_float(verify.get("matchConfidence")),
        is_identical=as_bool(verify.get("isIdentical")),
        session_image_id=as_str(result.get("sessionImageId"), numbers=True),
        error_code=as_str(error.get("code"), numbers=True),
        error_message=as_str(error.get("message"), numbers=True),
        digest=as_str(result.get("digest"), numbers=True),
    )


def _reference(value: Any) -> VerifyReference | None:
    ref = as_dict(value)
    if not ref:
        return None
    return VerifyReference(
        face=parse_rect(ref.get("faceRectangle")),
        quality=as_str(ref.get("qualityForRecognition"), numbers=True),
        reference_type=as_str(ref.get("referenceType"), numbers=True),
    )


def parse_ga_session(body: Any, kind: SessionKind, version: str) -> LivenessSession:
    """`LivenessSession` / `LivenessWithVerifySession` of the `-sessions` family (§2.4)."""
    if not isinstance(body, dict) or not isinstance(body.get("sessionId"), str):
        raise _unexpected("get session", body)
    results = as_dict(body.get("results"))
    raw_attempts = results.get("attempts")
    attempts = [parse_ga_attempt(a) for a in raw_attempts] if isinstance(raw_attempts, list) else []
    attempts.sort(key=lambda a: a.attempt_id, reverse=True)  # newest first, whatever the order
    refs = results.get("verifyReferences")
    return LivenessSession(
        session_id=body["sessionId"],
        kind=kind,
        api_version=version,
        status=as_str(body.get("status"), numbers=True) or "Unknown",
        auth_token=as_str(body.get("authToken"), numbers=True),
        attempts=tuple(attempts),
        verify_reference=_reference(refs[0]) if isinstance(refs, list) and refs else None,
        raw=_redacted(body),
    )


def parse_audit_entry(value: Any) -> AuditEntry:
    """A singleModal `LivenessSessionAuditEntry` (§3.2); clientRequestId may be absent."""
    entry = as_dict(value)
    if not isinstance(entry.get("id"), int):
        raise _unexpected("audit entries", value)
    request = as_dict(entry.get("request"))
    response = as_dict(entry.get("response"))
    body = as_dict(response.get("body"))
    verify = as_dict(body.get("verifyResult"))
    error = as_dict(body.get("error"))
    status_code = response.get("statusCode")
    ok = isinstance(status_code, int) and 200 <= status_code < 300
    attempt = LivenessAttempt(
        attempt_id=entry["id"],
        status="Succeeded" if ok and body.get("livenessDecision") else "Failed",
        decision=_decision(body.get("livenessDecision")),
        face=parse_rect(as_dict(body.get("target")).get("faceRectangle")),
        match_confidence=as_float(verify.get("matchConfidence")),
        is_identical=as_bool(verify.get("isIdentical")),
        session_image_id=as_str(entry.get("sessionImageId"), numbers=True),
        error_code=as_str(error.get("code"), numbers=True),
        error_message=as_str(error.get("message"), numbers=True),
        received_at=as_str(entry.get("receivedDateTime"), numbers=True),
        digest=as_str(entry.get("digest"), numbers=True),
    )
    return AuditEntry(
        entry_id=entry["id"],
        request_id=as_str(entry.get("requestId"), numbers=True),
        received_at=as_str(entry.get("receivedDateTime"), numbers=True),
        method=as_str(request.get("method"), numbers=True),
        url=as_str(request.get("url"), numbers=True),
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
    verify_image = as_dict(as_dict(as_dict(result).get("response")).get("body")).get("verifyResult")
    return LivenessSession(
        session_id=body["id"],
        kind=kind,
        api_version=version,
        status=as_str(body.get("status"), numbers=True) or "Unknown",
        created_at=as_str(body.get("createdDateTime"), numbers=True),
        started_at=as_str(body.get("sessionStartDateTime"), numbers=True),
        expired=as_bool(body.get("sessionExpired")),
        device_correlation_id=as_str(body.get("deviceCorrelationId"), numbers=True),
        attempts=attempts,
        verify_reference=_reference(as_dict(verify_image).get("verifyImage")),
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
        auth_token=as_str(body.get("authToken"), numbers=True),
        verify_reference=_reference(body.get("verifyImage")),
        raw=_redacted(body),
    )


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    """The raw JSON for display: the device's authToken is shown only on request."""
    return {k: ("«hidden»" if k == "authToken" else v) for k, v in body.items()}


def parse_summary(value: Any) -> SessionSummary:
    item = as_dict(value)
    if not isinstance(item.get("id"), str):
        raise _unexpected("list sessions", value)
    ttl = item.get("authTokenTimeToLiveInSeconds")
    return SessionSummary(
        session_id=item["id"],
        created_at=as_str(item.get("createdDateTime"), numbers=True) or "",
        expired=bool(item.get("sessionExpired")),
        started_at=as_str(item.get("sessionStartDateTime"), numbers=True),
        device_correlation_id=as_str(item.get("deviceCorrelationId"), numbers=True),
        auth_token_ttl=ttl if isinstance(ttl, int) else None,
    )


def parse_detection(body: Any, response: httpx.Response | None = None) -> Detection:
    if not isinstance(body, list):
        raise _unexpected("detect", body, response)
    faces = []
    for item in body:
        rect = parse_rect(as_dict(item).get("faceRectangle"))
        if rect is None:
            raise _unexpected("detect", body, response)
        faces.append(
            DetectedFace(
                face_id=as_str(item.get("faceId"), numbers=True),
                rect=rect,
                quality=as_str(
                    as_dict(item.get("faceAttributes")).get("qualityForRecognition"), numbers=True
                ),
            )
        )
    faces.sort(key=lambda f: f.rect.width * f.rect.height, reverse=True)
    return Detection(tuple(faces), request_id_of(response) if response is not None else None)


def parse_training(body: Any) -> TrainingStatus:
    data = as_dict(body)
    status = as_str(data.get("status"), numbers=True)
    if status is None:
        raise _unexpected("training status", body)
    return TrainingStatus(
        status=status.lower(),  # §6.5: lower case; tolerate other casings
        created_at=as_str(data.get("createdDateTime"), numbers=True),
        last_action_at=as_str(data.get("lastActionDateTime"), numbers=True),
        last_success_at=as_str(data.get("lastSuccessfulTrainingDateTime"), numbers=True),
        message=as_str(data.get("message"), numbers=True),
    )


def verify_result(body: Any, response: httpx.Response | None = None) -> CheckResult:
    data = as_dict(body)
    identical = as_bool(data.get("isIdentical"))
    confidence = as_float(data.get("confidence"))
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

    def __init__(self, ctx: ProviderContext, clock: PollClock = REAL_CLOCK) -> None:
        self._ctx = ctx
        self._clock = clock
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
        response = await send(
            self._ctx.http,
            method,
            url or f"{self._base}/{path}",
            provider=NAME,
            operation=operation,
            path_template=f"/face/{self._version}/{template}",
            headers=dict(headers or {}),
            auth=await azure_auth(self._ctx.credential, self._ctx.connection),
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
            gid, name = (
                as_str(item.get("largePersonGroupId"), numbers=True),
                as_str(item.get("name"), numbers=True),
            )
            if gid is None:
                raise _unexpected("list person groups", item)
            groups.append(
                PersonGroup(gid, name or gid, as_str(item.get("userData"), numbers=True), None)
            )
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
        person_id = as_str(as_dict(body).get("personId"), numbers=True)
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
        face_id = as_str(as_dict(body).get("persistedFaceId"), numbers=True)
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
        status: TrainingStatus | None = None
        async for status in poll(
            lambda: self.training_status(group_id, url=location),
            done=lambda status: status.finished,
            interval=interval,
            give_up_after=max_wait,
            clock=self._clock,
        ):
            yield status
        if status is None or not status.finished:
            raise ProviderUnavailable(
                "Training has not finished in time. Check its status again later.",
                provider=NAME,
                operation="train person group",
            )

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
        raw_candidates = as_dict(body[0]).get("candidates")
        if not isinstance(raw_candidates, list):
            raise _unexpected("identify", body, response)
        candidates = []
        for item in raw_candidates:
            pid, confidence = (
                as_str(as_dict(item).get("personId"), numbers=True),
                as_float(as_dict(item).get("confidence")),
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
    item = as_dict(value)
    pid = as_str(item.get("personId"), numbers=True)
    if pid is None:
        raise _unexpected(operation, value)
    faces = item.get("persistedFaceIds")
    return Person(
        pid,
        as_str(item.get("name"), numbers=True) or "",
        as_str(item.get("userData"), numbers=True),
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
