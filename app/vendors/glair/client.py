"""GLAIR Vision client: face match, passive/active image liveness and hosted liveness sessions.

Wire contract: shared/providers/glair.md. Every call carries HTTP Basic (username:password) and
`x-api-key` (§0). Vendor verdicts (NOT_MATCH, no face, HIGH spoof) are CheckResults, not errors;
an exception means FaceDesk could not get a verdict.

One module past ~600 lines because it is one job, the GLAIR client: every call shares the same
auth, the verdict tables and the tolerant reply parsing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.domain import CheckResult, EncodedImage, Score, Verdict
from app.errors import (
    NotFound,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import (
    ProviderContext,
    error_body,
    json_body,
    request_id_of,
    send,
    unexpected_response,
    vendor_path,
)
from app.http.parse import as_float, as_str
from app.http.poll import REAL_CLOCK, PollClock, poll

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.glair import INFO as INFO
from app.vendors.glair import NAME
from app.vendors.glair.auth import GlairAuth, glair_auth
from app.vendors.glair.errors import error_for, is_json_object
from app.vendors.glair.types import (
    GESTURES,
    GlairSession,
    SessionKind,
    SessionStatus,
    describe_gesture,
)

log = logging.getLogger("facedesk.providers.glair")


_SESSION_PATHS = {
    SessionKind.PASSIVE: "passive-liveness-sessions",
    SessionKind.ACTIVE: "active-liveness-sessions",
}

# §1: match_status_code → verdict, headline, what it means for the operator.
_MATCH_CODES: Mapping[str, tuple[Verdict, str, str]] = {
    "MATCH": (Verdict.POSITIVE, "Match: same person", "GLAIR judges both faces the same person."),
    "NOT_MATCH": (
        Verdict.NEGATIVE,
        "No match: different people",
        "GLAIR judges the faces to belong to different people.",
    ),
    "NO_FACE_STORED_IMG": (
        Verdict.INCONCLUSIVE,
        "No face in the ID photo",
        "GLAIR found no face in the ID photo (stored image). Use a sharper, front-facing crop "
        "of the document photo and try again.",
    ),
    "NO_FACE_CAPTURED_IMG": (
        Verdict.INCONCLUSIVE,
        "No face in the selfie",
        "GLAIR found no face in the selfie (captured image). Ask for a new selfie: face the "
        "camera, good light, nothing covering the face.",
    ),
    "MANY_FACES_STORED_IMG": (
        Verdict.INCONCLUSIVE,
        "Several faces in the ID photo",
        "GLAIR found more than one face in the ID photo. Crop it to the holder's portrait.",
    ),
    "MANY_FACES_CAPTURED_IMG": (
        Verdict.INCONCLUSIVE,
        "Several faces in the selfie",
        "GLAIR found more than one face in the selfie. Ask for a selfie with only the person "
        "being verified in the frame.",
    ),
}

# §2: spoof bands (HIGH = likely spoof) and the two detection failures, compared lower-case.
_LIVENESS_STATUS: Mapping[str, tuple[Verdict, str, str]] = {
    "low": (Verdict.POSITIVE, "Live person", "GLAIR rates the spoof likelihood LOW."),
    "moderate": (
        Verdict.INCONCLUSIVE,
        "Uncertain: possible spoof",
        "GLAIR rates the spoof likelihood MODERATE. Review the photo or ask for a new capture.",
    ),
    "high": (
        Verdict.NEGATIVE,
        "Likely spoof",
        "GLAIR rates the spoof likelihood HIGH: probably a photo of a photo, a screen or a mask.",
    ),
    "face not detected": (
        Verdict.INCONCLUSIVE,
        "No face found",
        "GLAIR found no face in the image. Use a clear, front-facing photo.",
    ),
    "too many faces detected": (
        Verdict.INCONCLUSIVE,
        "More than one face",
        "GLAIR found several faces. Use a photo with only the person being checked.",
    ),
}

# §3: gesture_status values.
_GESTURE_STATUS: Mapping[str, tuple[Verdict, str, str]] = {
    "match": (Verdict.POSITIVE, "Gesture shown", "The person shows the requested gesture."),
    "not_match": (
        Verdict.NEGATIVE,
        "Wrong gesture",
        "The person does not show the requested gesture.",
    ),
    "face not detected": (
        Verdict.INCONCLUSIVE,
        "No face found",
        "GLAIR found no face in the image. Use a clear, front-facing photo.",
    ),
    "hand not detected": (
        Verdict.INCONCLUSIVE,
        "No hand found",
        "GLAIR found no hand in the image. The whole hand must be visible beside the face.",
    ),
    "too many faces detected": (
        Verdict.INCONCLUSIVE,
        "More than one face",
        "GLAIR found several faces. Use a photo with only the person being checked.",
    ),
    "too many hand detected": (
        Verdict.INCONCLUSIVE,
        "More than one hand",
        "GLAIR found several hands. Ask for a photo showing one hand only.",
    ),
}

SPOOF_SCORE_MEANING = (
    "Spoof likelihood: 0 = surely a live person, 1 = surely a spoof. GLAIR's bands are "
    "LOW / MODERATE / HIGH; the cut-offs are not published."
)
MATCH_SCORE_MEANING = (
    "GLAIR's match_percentage, a fraction despite its name (0.96 = 96 %). Higher = more alike; "
    "GLAIR does not publish its match threshold."
)


@dataclass(frozen=True, slots=True)
class _Reply:
    body: dict[str, Any]
    request_id: str | None


def _unexpected(operation: str, body: object, request_id: str | None) -> UnexpectedResponse:
    return unexpected_response(NAME, operation, body=body, request_id=request_id)


def sid_from_url(url: str) -> str:
    """§4a: the session id is the last path segment of the hosted page's URL."""
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1]


def parse_match(body: Mapping[str, Any], request_id: str | None = None) -> CheckResult:
    """§1 reply → CheckResult; raises UnexpectedResponse without a match_status_code."""
    result = body.get("result")
    code = as_str(result.get("match_status_code")) if isinstance(result, dict) else None
    if not isinstance(result, dict) or code is None:
        raise _unexpected("face match", body, request_id)
    percentage = as_float(result.get("match_percentage"))
    verdict, headline, reason = _MATCH_CODES.get(
        code.upper(),
        (
            Verdict.INCONCLUSIVE,
            "Unknown match status",
            f"GLAIR answered with a match status FaceDesk does not know ({code}).",
        ),
    )
    # Only MATCH / NOT_MATCH carry a meaningful percentage; detection failures report 0 or none.
    score = None
    if percentage is not None and verdict is not Verdict.INCONCLUSIVE:
        score = Score(percentage, "0–1 fraction", MATCH_SCORE_MEANING)
    details = {"Match status code": code}
    if text := as_str(result.get("match_status")):
        details["Match status"] = text
    if top := as_str(body.get("status")):
        details["Status"] = top
    if percentage is not None:
        details["Match percentage"] = f"{percentage:.5g}"
    return CheckResult(
        verdict=verdict,
        headline=headline,
        score=score,
        reasons=(reason,),
        details=details,
        raw=dict(body),
        request_id=request_id,
    )


def _liveness_check(
    inner: Mapping[str, Any], raw: Mapping[str, Any], request_id: str | None
) -> CheckResult | None:
    """A spoof result (`status` or `spoof_status` band, `spoof_percentage`), or None if absent."""
    band = as_str(inner.get("spoof_status")) or as_str(inner.get("status"))
    if band is None or band.lower() not in _LIVENESS_STATUS:
        return None
    verdict, headline, reason = _LIVENESS_STATUS[band.lower()]
    spoof = as_float(inner.get("spoof_percentage"))
    details = {"Spoof status": band}
    if top := as_str(raw.get("status")):
        details["Status"] = top
    score = None
    if spoof is not None:
        details["Spoof percentage"] = f"{spoof:.5g}"
        if verdict is not Verdict.INCONCLUSIVE or band.lower() == "moderate":
            score = Score(spoof, "0–1 fraction", SPOOF_SCORE_MEANING)
    return CheckResult(
        verdict=verdict,
        headline=headline,
        score=score,
        reasons=(reason,),
        details=details,
        raw=dict(raw),
        request_id=request_id,
    )


def parse_passive_liveness(body: Mapping[str, Any], request_id: str | None = None) -> CheckResult:
    """§2 reply → CheckResult."""
    result = body.get("result")
    check = _liveness_check(result, body, request_id) if isinstance(result, dict) else None
    if check is None:
        raise _unexpected("passive liveness", body, request_id)
    return check


def parse_active_liveness(
    body: Mapping[str, Any], gesture_code: str, request_id: str | None = None
) -> CheckResult:
    """§3 reply → CheckResult, naming the requested and detected gestures."""
    result = body.get("result")
    status = as_str(result.get("gesture_status")) if isinstance(result, dict) else None
    if not isinstance(result, dict) or status is None:
        raise _unexpected("active liveness", body, request_id)
    verdict, headline, reason = _GESTURE_STATUS.get(
        status.lower(),
        (
            Verdict.INCONCLUSIVE,
            "Unknown gesture status",
            f"GLAIR answered with a gesture status FaceDesk does not know ({status}).",
        ),
    )
    details = {
        "Gesture status": status,
        "Requested gesture": f"{gesture_code}: {describe_gesture(gesture_code)}",
    }
    reasons = [reason]
    if detected := as_str(result.get("detected_gesture")):
        details["Detected gesture"] = f"{detected}: {describe_gesture(detected)}"
        if verdict is Verdict.NEGATIVE:
            reasons.append(f"GLAIR saw: {describe_gesture(detected)}.")
    if top := as_str(body.get("status")):
        details["Status"] = top
    return CheckResult(
        verdict=verdict,
        headline=headline,
        reasons=tuple(reasons),
        details=details,
        raw=dict(body),
        request_id=request_id,
    )


def _session_result(result: object, request_id: str | None) -> CheckResult | None:
    """[INFERRED] §4b/§5: the finished result's shape is undocumented; accept the variants.

    Seen or plausible: `{status, result: {spoof_percentage, status|spoof_status}}`, the same
    flattened, and (active) a `gestures` list. Null or `{}` means no result yet.
    """
    if not isinstance(result, dict) or not result:
        return None
    nested = result.get("result")
    inner: Mapping[str, Any] = nested if isinstance(nested, dict) else result
    check = _liveness_check(inner, result, request_id)
    listed = inner.get("gestures")
    gestures: list[Any] = listed if isinstance(listed, list) else []
    gesture_lines: list[str] = []
    failed_gesture = False
    for item in gestures:
        if not isinstance(item, dict):
            continue
        code = as_str(item.get("gesture_code")) or "?"
        status = as_str(item.get("gesture_status")) or "?"
        failed_gesture |= status.upper() != "MATCH"
        gesture_lines.append(f"{describe_gesture(code)}: {status}")
    if check is None:
        return CheckResult(
            verdict=Verdict.INCONCLUSIVE,
            headline="Finished: result not readable",
            reasons=(
                "GLAIR finished the session but its result has a shape FaceDesk does not know; "
                "read the raw JSON.",
            ),
            raw=dict(result),
            request_id=request_id,
        )
    details = dict(check.details)
    details.update({f"Gesture {i + 1}": line for i, line in enumerate(gesture_lines)})
    reasons = check.reasons
    verdict, headline = check.verdict, check.headline
    if failed_gesture and verdict is Verdict.POSITIVE:
        verdict, headline = Verdict.NEGATIVE, "Gesture not performed"
        reasons = (*reasons, "At least one requested gesture was not performed.")
    return replace(check, verdict=verdict, headline=headline, reasons=reasons, details=details)


def _expiry(value: object) -> datetime | None:
    number = as_float(value)
    if number is None or number <= 0:
        return None
    # §4b says milliseconds since the epoch; accept seconds too (anything before 1973 in ms).
    seconds = number / 1000 if number > 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_session(
    kind: SessionKind, body: Mapping[str, Any], request_id: str | None = None
) -> GlairSession:
    """§4a/§4b/§5 session object → GlairSession (sid from the URL's last path segment)."""
    url = as_str(body.get("url"))
    sid = sid_from_url(url) if url else ""
    if url is None or not sid:
        raise _unexpected("liveness session", body, request_id)
    raw_status = (as_str(body.get("status")) or "").upper()
    status = SessionStatus.FINISHED if raw_status == "FINISHED" else SessionStatus.PENDING
    if raw_status == "EXPIRED":
        status = SessionStatus.EXPIRED
    gestures = as_float(body.get("number_of_gestures"))
    return GlairSession(
        kind=kind,
        sid=sid,
        status=status,
        url=url,
        success_url=as_str(body.get("success_url")) or "",
        cancel_url=as_str(body.get("cancel_url")),
        expires_at=_expiry(body.get("expired")),
        number_of_gestures=None if gestures is None else int(gestures),
        result=_session_result(body.get("result"), request_id),
        raw=dict(body),
        request_id=request_id,
    )


class GlairProvider:
    """GLAIR client: connection test, face match, image liveness and the GLAIR protocols."""

    def __init__(self, ctx: ProviderContext, clock: PollClock = REAL_CLOCK) -> None:
        self._ctx = ctx
        self._clock = clock
        self._auth: GlairAuth | None = None

    # --- plumbing ------------------------------------------------------------------------------

    async def _credentials(self) -> GlairAuth:
        if self._auth is None:
            self._auth = await glair_auth(self._ctx.credential)
        return self._auth

    def _url(self, endpoint: str) -> str:
        version = self._ctx.field("api_version") or "v1"
        return self._ctx.url("base_url", f"/face/{version}/{endpoint}")

    async def _call(
        self,
        method: str,
        endpoint: str,
        *,
        operation: str,
        template: str,
        verdict_field: str | None = None,
        json_not_found_ok: bool = False,
        **kwargs: Any,
    ) -> _Reply:
        """Send one request; return its JSON object or raise the mapped AppError.

        `verdict_field`: a 400 whose `result` holds this field is a verdict, not a failure
        ([INFERRED] §1/§2: detection failures may come as HTTP 400 with status "failed").
        `json_not_found_ok`: a 404 with a JSON object body (GLAIR's, §0 rule 3) is returned.
        """
        auth = await self._credentials()
        response = await send(
            self._ctx.http,
            method,
            self._url(endpoint),
            provider=NAME,
            operation=operation,
            path_template=template,
            auth=auth,
            **kwargs,
        )
        request_id = request_id_of(response)
        if response.status_code >= 400:
            body = error_body(response)
            if response.status_code == 404 and json_not_found_ok and is_json_object(response):
                return _Reply(body, request_id)
            result = body.get("result") if body else None
            if (
                response.status_code == 400
                and verdict_field
                and isinstance(result, dict)
                and verdict_field in result
            ):
                return _Reply(body, request_id)
            raise error_for(response, operation, body)
        body_any = json_body(response, provider=NAME, operation=operation)
        if not isinstance(body_any, dict):
            raise _unexpected(operation, body_any, request_id)
        return _Reply(body_any, request_id)

    # --- connection test -----------------------------------------------------------------------

    async def test_connection(self) -> str:
        """Retrieve a session that cannot exist: GLAIR's JSON 404 proves the credentials work.

        [INFERRED] GLAIR has no free "whoami" call; auth is checked before the lookup (§0).
        Only a JSON 404 counts: any web server answers an HTML 404 to a wrong base URL.
        """
        await self._call(
            "GET",
            "passive-liveness-sessions/facedesk-connection-test",
            operation="connection test",
            template="GET /face/{version}/passive-liveness-sessions/{sid}",
            json_not_found_ok=True,
        )
        return f"{NAME} accepted the username, password and API key."

    # --- face match and image liveness ---------------------------------------------------------

    async def match_faces(self, reference: EncodedImage, probe: EncodedImage) -> CheckResult:
        """§1: `stored_image` is the reference (ID photo), `captured_image` the selfie.

        Raises: AuthenticationFailed, PermissionDenied, RequestRejected, RateLimited,
        ProviderUnavailable, UnexpectedResponse.
        """
        reply = await self._call(
            "POST",
            "match",
            operation="face match",
            template="POST /face/{version}/match",
            verdict_field="match_status_code",
            files={
                "captured_image": ("captured" + probe.extension, probe.data, probe.mime_type),
                "stored_image": (
                    "stored" + reference.extension,
                    reference.data,
                    reference.mime_type,
                ),
            },
        )
        return parse_match(reply.body, reply.request_id)

    async def check_liveness(self, image: EncodedImage) -> CheckResult:
        """§2 passive liveness on one photo. Raises: as match_faces."""
        reply = await self._call(
            "POST",
            "passive-liveness",
            operation="passive liveness",
            template="POST /face/{version}/passive-liveness",
            verdict_field="status",
            files={"image": ("image" + image.extension, image.data, image.mime_type)},
        )
        return parse_passive_liveness(reply.body, reply.request_id)

    async def check_active_liveness(self, image: EncodedImage, gesture_code: str) -> CheckResult:
        """§3 active liveness: does the photo show `gesture_code`? Raises: as match_faces."""
        if gesture_code not in GESTURES:
            raise RequestRejected(
                f"{gesture_code!r} is not a GLAIR gesture code. Pick one from the list.",
                provider=NAME,
                operation="active liveness",
            )
        reply = await self._call(
            "POST",
            "active-liveness",
            operation="active liveness",
            template="POST /face/{version}/active-liveness",
            verdict_field="gesture_status",
            files={"image": ("image" + image.extension, image.data, image.mime_type)},
            data={"gesture-code": gesture_code},  # §3: note the hyphen
        )
        return parse_active_liveness(reply.body, gesture_code, reply.request_id)

    # --- hosted liveness sessions --------------------------------------------------------------

    async def create_session(
        self,
        kind: SessionKind,
        *,
        success_url: str,
        cancel_url: str | None = None,
        number_of_gestures: int | None = None,
    ) -> GlairSession:
        """§4a/§5. Raises: RequestRejected (bad URL or gesture count), and as match_faces."""
        payload: dict[str, Any] = {"success_url": success_url}
        if cancel_url:
            payload["cancel_url"] = cancel_url
        if kind is SessionKind.ACTIVE and number_of_gestures is not None:
            payload["number_of_gestures"] = number_of_gestures
        path = _SESSION_PATHS[kind]
        reply = await self._call(
            "POST",
            path,
            operation=f"{kind.label.lower()} session creation",
            template=f"POST /face/{{version}}/{path}",
            json=payload,
        )
        return parse_session(kind, reply.body, reply.request_id)

    async def get_session(self, kind: SessionKind, sid: str) -> GlairSession:
        """§4b/§5. Raises: NotFound (unknown or expired: sessions last 24 h), and as above."""
        path = _SESSION_PATHS[kind]
        reply = await self._call(
            "GET",
            vendor_path(f"{path}/{{session_id}}", session_id=sid),
            operation=f"{kind.label.lower()} session lookup",
            template=f"GET /face/{{version}}/{path}/{{sid}}",
        )
        return parse_session(kind, reply.body, reply.request_id)

    async def watch_session(
        self,
        kind: SessionKind,
        sid: str,
        *,
        initial_interval: float = 2.0,
        max_interval: float = 20.0,
    ) -> AsyncIterator[GlairSession]:
        """Poll a session with growing intervals; stop after FINISHED or EXPIRED.

        A 404 after the session was seen means it expired (§4b: expired sessions are no longer
        retrievable) and ends the watch with an EXPIRED update. Network trouble is retried up
        to five times in a row (honouring Retry-After) before it is raised.
        """
        last: GlairSession | None = None

        async def look() -> GlairSession:
            nonlocal last
            try:
                session = await self.get_session(kind, sid)
            except NotFound:
                if last is None:
                    raise
                return replace(last, status=SessionStatus.EXPIRED)
            last = session
            if (
                session.status is SessionStatus.PENDING
                and session.expires_at is not None
                and datetime.now(UTC) >= session.expires_at
            ):
                session = replace(session, status=SessionStatus.EXPIRED)
            return session

        async for session in poll(
            look,
            done=lambda session: session.is_final,
            interval=initial_interval,
            max_interval=max_interval,
            growth=1.5,
            transient_failures=4,
            clock=self._clock,
        ):
            yield session


def create(ctx: ProviderContext) -> GlairProvider:
    return GlairProvider(ctx)
