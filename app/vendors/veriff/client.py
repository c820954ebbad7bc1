"""Veriff Public API v1 client: signed requests, sessions, decisions, media and rule-aware deletion.

Contract: shared/providers/veriff.md. Every request carries X-AUTH-CLIENT and X-HMAC-SIGNATURE
(§2.1), computed by `VeriffAuth` over exactly the bytes sent: bodies are serialised once and the
same bytes are signed and sent. Veriff signs its answers too (§1); a reply whose signature does
not match becomes a warning on the result, not an error.

Deletion (§3.10) is guarded locally twice before any request: the session's status must allow it
(else the vendor's own 1305/1306 reason is raised as OperationRefused), and FaceDesk's ledger of
deletions (5 per rolling hour, 10 per 24 hours, per integration) must have room.

One module past ~600 lines because it is one job, the Veriff client: signing, reply signature
checks and the deletion ledger are used by every session, media and decision call here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import uuid
import weakref
from collections.abc import Generator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.domain import EncodedImage, Verdict
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
    JSON_REPLY_CAP,
    MEDIA_REPLY_CAP,
    ProviderContext,
    error_body,
    error_from_status,
    json_body,
    parse_retry_after,
    request_id_of,
    retry_hint,
    send,
    unexpected_response,
)
from app.http.poll import REAL_CLOCK, PollClock, poll

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.veriff import INFO as INFO
from app.vendors.veriff import NAME
from app.vendors.veriff.types import (
    DELETABLE_STATUSES,
    DELETE_LIMITS,
    DELETION_CONSEQUENCES,
    DOCUMENT_TYPES,
    UNFINISHED_CONSEQUENCE,
    UNFINISHED_STATUSES,
    UPLOAD_CONTEXTS,
    DeletionPreview,
    DeletionQuota,
    DeletionResult,
    MediaContent,
    RiskLabel,
    VeriffAttempt,
    VeriffDecision,
    VeriffMedia,
    VeriffMediaList,
    VeriffPerson,
    VeriffSession,
    VeriffSessionRequest,
    VeriffSessionView,
    VeriffWatchlist,
)

log = logging.getLogger("facedesk.providers.veriff")


_SIGNED_ID = re.compile(r"/v1/(?:sessions|attempts|media)/([^/?#]+)")
_DECIDED = {
    "approved": Verdict.POSITIVE,
    "declined": Verdict.NEGATIVE,
    "resubmission_requested": Verdict.INCONCLUSIVE,
    "review": Verdict.INCONCLUSIVE,
    "expired": Verdict.NEGATIVE,
    "abandoned": Verdict.NEGATIVE,
}
SIGNATURE_WARNING = (
    "Veriff's reply signature did not match the shared secret: the data may not come from "
    "Veriff unaltered. Check the shared secret; treat this result with care."
)


def sign(secret: str, message: bytes) -> str:
    """§2.1: lowercase hex HMAC-SHA256 of `message` keyed with the shared secret (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_message(request: httpx.Request) -> bytes:
    """§2.1 table: the body for POST/PATCH, else the session/attempt/media id in the path."""
    if request.method.upper() in ("POST", "PATCH", "PUT"):
        return request.content
    match = _SIGNED_ID.search(request.url.path)
    if match is None:
        raise ValueError("Veriff GET/DELETE paths carry the id that is signed")
    return match.group(1).encode()


class VeriffAuth(httpx.Auth):
    """Adds X-AUTH-CLIENT and X-HMAC-SIGNATURE over exactly the bytes of the request."""

    requires_request_body = True

    def __init__(self, api_key: str, shared_secret: str) -> None:
        self._api_key = api_key
        self._secret = shared_secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-AUTH-CLIENT"] = self._api_key
        request.headers["X-HMAC-SIGNATURE"] = sign(self._secret, signed_message(request))
        yield request


def response_signature_ok(response: httpx.Response, secret: str) -> bool | None:
    """True/False when the reply is signed (§1), None when it carries no signature."""
    given = response.headers.get("x-hmac-signature") or response.headers.get("vrf-hmac-signature")
    if not given:
        return None
    return hmac.compare_digest(sign(secret, response.content), given.strip().lower())


# --- the one table: vendor codes and statuses → AppError classes and operator messages --------

_CREDENTIALS_HINT = "Open Credentials and check the API key and shared secret key."
_CODE_ERRORS: dict[str, tuple[type[ProviderError], str]] = {
    "1801": (AuthenticationFailed, "Veriff did not receive an API key. " + _CREDENTIALS_HINT),
    "1802": (AuthenticationFailed, "The API key is not a UUID. " + _CREDENTIALS_HINT),
    "1803": (
        AuthenticationFailed,
        "Veriff knows no integration with this API key. " + _CREDENTIALS_HINT,
    ),
    "1804": (
        PermissionDenied,
        "The Veriff integration for this API key is not active. Ask your Veriff administrator "
        "to activate it.",
    ),
    "1812": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1813": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1814": (AuthenticationFailed, "Veriff rejected the request signature. " + _CREDENTIALS_HINT),
    "1815": (
        AuthenticationFailed,
        "Veriff could not authenticate the request. " + _CREDENTIALS_HINT,
    ),
    "1818": (
        AuthenticationFailed,
        "Veriff rejected the request signature: the shared secret key does not belong to this "
        "API key. " + _CREDENTIALS_HINT,
    ),
    "1819": (
        AuthenticationFailed,
        "Veriff rejected the request signature: the shared secret key does not belong to this "
        "API key. " + _CREDENTIALS_HINT,
    ),
    "1001": (RequestRejected, "That is not a Veriff session id. Paste the full id (a UUID)."),
    "1002": (RequestRejected, "That is not a Veriff session id. Paste the full id (a UUID)."),
    "1101": (
        RequestRejected,
        "Veriff says the request is not valid. Check the form and try again.",
    ),
    "1102": (
        RequestRejected,
        "Veriff says required information is missing. Check the form and try again.",
    ),
    "1104": (RequestRejected, "Veriff rejected one of the values. Check the form."),
    "1201": (
        RequestRejected,
        "Veriff rejected the request time (older than one hour). Check this computer's clock.",
    ),
    "1202": (
        RequestRejected,
        "Veriff rejected the request time format. Check this computer's clock and try again.",
    ),
    "1203": (RequestRejected, "The date of birth must be a real date written YYYY-MM-DD."),
    "1301": (
        RequestRejected,
        "This integration does not support the requested features. Ask your Veriff "
        "administrator which ones it has.",
    ),
    "1302": (RequestRejected, "The callback URL must start with https://."),
    "1303": (
        RequestRejected,
        "Veriff only accepts “submitted” as a new status. Reload the session and try again.",
    ),
    "1304": (
        RequestRejected,
        "This session can no longer be submitted (it is already submitted or decided). Reload "
        "it to see its status.",
    ),
    "1305": (
        RequestRejected,
        "Veriff refuses: the session is not in a completed status. Reload it to see the "
        "status, and delete it once Veriff has decided.",
    ),
    "1306": (
        RequestRejected,
        "Veriff refuses: the session is in progress (submitted). Wait for Veriff's decision, "
        "then delete it.",
    ),
    "1400": (
        RequestRejected,
        "Veriff found no image data in the upload. Load the photo again and retry.",
    ),
    "1401": (RequestRejected, "Veriff could not read the image. Load a JPEG or PNG photo."),
    "1402": (
        RequestRejected,
        "Veriff does not accept this image type for the integration. Ask your Veriff "
        "administrator which ones it takes.",
    ),
    "1403": (
        RequestRejected,
        "The upload lacks a required image property. Try again; if it persists, copy the "
        "details for support.",
    ),
    "1500": (RequestRejected, "vendorData may be at most 1000 characters long. Shorten it."),
    "1501": (RequestRejected, "vendorData must be text. Enter it again as plain text."),
    "2003": (RequestRejected, "The date of birth is not valid. Enter it as YYYY-MM-DD."),
    "2101": (
        RequestRejected,
        "The document number must have 6–9 characters. Check it against the document.",
    ),
    "2102": (
        RequestRejected,
        "The document number may contain only A–Z and 0–9. Remove spaces and dashes.",
    ),
    "2103": (
        RequestRejected,
        "Veriff does not support this document type. Choose another or leave it empty.",
    ),
    "2104": (
        RequestRejected,
        "Veriff does not support this document country. Check the two-letter code.",
    ),
}
_STATUS_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    400: (RequestRejected, "Veriff rejected the request. Check the form and try again."),
    401: (AuthenticationFailed, "Veriff rejected the credentials. " + _CREDENTIALS_HINT),
    403: (
        PermissionDenied,
        "Veriff did not allow this operation for the integration (session deletion, for one, "
        "is enabled by Veriff on request). Ask your Veriff administrator to enable it.",
    ),
    404: (
        NotFound,
        "Veriff has no such session or media (unknown id, or the session was deleted). "
        "Check the id; deleted sessions cannot be recovered.",
    ),
    409: (
        RequestRejected,
        "The session is already submitted, so no more media can be added. Create a new session.",
    ),
    429: (RateLimited, "Veriff is limiting requests."),
}


def _delete_refusal(status: str) -> tuple[str, str]:
    """§3.10: the vendor's own (code, reason) for a status that cannot be deleted."""
    if status == "submitted":
        return "1306", (
            "Session in progress: Veriff is still processing the submitted session. Wait for "
            "Veriff's decision, then delete it."
        )
    return "1305", (
        "Session is not in a completed status: Veriff does not allow deleting it now. Wait for "
        "Veriff's decision, then delete it."
    )


class VeriffProvider:
    """The Veriff client for one connection (ProviderContext)."""

    def __init__(self, ctx: ProviderContext, clock: PollClock = REAL_CLOCK) -> None:
        self.ctx = ctx
        self._clock = clock

    # --- plumbing ------------------------------------------------------------------------------

    async def _auth(self) -> tuple[VeriffAuth, str]:
        api_key = (await self.ctx.credential("api_key")).strip()
        secret = await self.ctx.credential("shared_secret")
        return VeriffAuth(api_key, secret), secret

    def _url(self, path: str) -> str:
        return self.ctx.url("base_url", "/v1" + path)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        template: str,
        payload: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auto_retry: bool = True,
        max_reply_bytes: int = JSON_REPLY_CAP,
    ) -> tuple[httpx.Response, tuple[str, ...]]:
        """Send one signed request; return the 2xx response and its signature warnings."""
        auth, secret = await self._auth()
        kwargs: dict[str, Any] = {"auth": auth, "max_reply_bytes": max_reply_bytes}
        all_headers = dict(headers or {})
        if payload is not None:
            # Serialise once; VeriffAuth signs request.content, which is these very bytes.
            kwargs["content"] = json.dumps(payload, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json"
        kwargs["headers"] = all_headers
        response = await send(
            self.ctx.http,
            method,
            self._url(path),
            provider=NAME,
            operation=operation,
            path_template=template,
            auto_retry=auto_retry,
            **kwargs,
        )
        if response.status_code >= 400:
            raise self._error(response, operation)
        warnings: tuple[str, ...] = ()
        if response_signature_ok(response, secret) is False:
            log.warning("%s %s: response signature mismatch", NAME, operation)
            warnings = (SIGNATURE_WARNING,)
        return response, warnings

    def _json(self, response: httpx.Response, operation: str) -> dict[str, Any]:
        body = json_body(response, provider=NAME, operation=operation)
        if not isinstance(body, dict):
            raise self._shape(body, response, operation)
        return body

    def _shape(self, body: object, response: httpx.Response, operation: str) -> UnexpectedResponse:
        return unexpected_response(NAME, operation, body=body, response=response)

    def _error(self, response: httpx.Response, operation: str) -> AppError:
        code: str | None = None
        vendor_message = ""
        body = error_body(response)
        if body:
            raw_code = body.get("code")
            code = str(raw_code) if raw_code not in (None, "") else None
            vendor_message = str(body.get("message") or "")[:200]
        status = response.status_code
        if status == 429:
            message = self._rate_message(response, operation)
            return error_from_status(
                response, provider=NAME, operation=operation, message=message, vendor_code=code
            )
        if status >= 500:
            return error_from_status(
                response,
                provider=NAME,
                operation=operation,
                vendor_code=code,
                message=f"{NAME} had a server problem ({status}). Try again in a few minutes.",
            )
        cls: type[AppError]
        if code is not None and code in _CODE_ERRORS:
            cls, message = _CODE_ERRORS[code]
        elif status == 409 and operation != "upload media":
            # The 409 table text is about adding media; other operations get their own words.
            cls, message = (
                RequestRejected,
                f"Veriff refused to {operation} because of the session's current state. Reload "
                "the session to see its status, then try again.",
            )
        elif status in _STATUS_ERRORS:
            cls, message = _STATUS_ERRORS[status]
        else:
            cls, message = RequestRejected, f"{NAME} refused the request ({status})."
        if cls is RequestRejected and vendor_message and code not in _CODE_ERRORS:
            # The vendor's own text for codes FaceDesk has no words for (it names no person).
            message += f" Veriff says: “{vendor_message}”"
        kwargs: dict[str, Any] = {
            "provider": NAME,
            "operation": operation,
            "request_id": request_id_of(response),
            "vendor_code": code,
            "http_status": status,
        }
        return cls(message, **kwargs)

    # --- connection test -----------------------------------------------------------------------

    async def test_connection(self) -> str:
        """GET decision of a random id: 404 means the key and the signature were accepted."""
        probe = str(uuid.uuid4())
        # A 404 is the expected answer: authentication happens before the lookup (§6.1).
        with contextlib.suppress(NotFound):
            await self._call(
                "GET",
                f"/sessions/{probe}/decision",
                operation="test connection",
                template="/v1/sessions/{id}/decision",
            )
        return "Veriff accepted the API key and the request signature."

    # --- sessions ------------------------------------------------------------------------------

    @staticmethod
    def session_payload(request: VeriffSessionRequest) -> dict[str, Any]:
        """§3.1 body; empty values are left out rather than sent as null (§6.3)."""

        def compact(values: Mapping[str, str]) -> dict[str, str]:
            return {k: v.strip() for k, v in values.items() if v and v.strip()}

        verification: dict[str, Any] = {}
        person = compact(
            {
                "firstName": request.first_name,
                "lastName": request.last_name,
                "idNumber": request.id_number,
                "dateOfBirth": request.date_of_birth,
                "gender": request.gender,
            }
        )
        document = compact(
            {
                "type": request.document_type,
                "country": request.document_country.upper(),
                "number": request.document_number,
            }
        )
        if person:
            verification["person"] = person
        if document:
            verification["document"] = document
        if request.vendor_data:
            verification["vendorData"] = request.vendor_data
        if request.callback.strip():
            verification["callback"] = request.callback.strip()
        if request.end_user_id.strip():
            verification["endUserId"] = request.end_user_id.strip()
        return {"verification": verification}

    def _check_request(self, request: VeriffSessionRequest) -> None:
        """Refuse locally what Veriff would reject (§6.3), so the operator fixes the form."""
        problems = []
        if len(request.vendor_data) > 1000:
            problems.append("vendorData may be at most 1000 characters (Veriff code 1500).")
        if request.callback.strip() and not request.callback.strip().lower().startswith("https://"):
            problems.append("The callback URL must start with https:// (Veriff code 1302).")
        if request.date_of_birth.strip():
            try:
                datetime.strptime(request.date_of_birth.strip(), "%Y-%m-%d")
            except ValueError:
                problems.append("The date of birth must be YYYY-MM-DD (Veriff code 1203).")
        if request.document_type and request.document_type not in DOCUMENT_TYPES:
            problems.append("Choose a document type from the list.")
        if request.end_user_id.strip() and not _is_uuid(request.end_user_id.strip()):
            problems.append("endUserId must be a UUID.")
        if problems:
            raise OperationRefused(" ".join(problems), provider=NAME, operation="create session")

    def _session(
        self,
        body: dict[str, Any],
        response: httpx.Response,
        operation: str,
        warnings: tuple[str, ...],
    ) -> VeriffSession:
        verification = body.get("verification")
        if not isinstance(verification, dict) or not isinstance(verification.get("id"), str):
            raise self._shape(body, response, operation)
        host = verification.get("host") or verification.get("baseUrl") or ""  # §3.1 old docs
        url = verification.get("url") or ""
        token = verification.get("sessionToken")
        if not url and host and token:
            url = f"{str(host).rstrip('/')}/v/{token}"  # §3.1: url = host + /v/ + sessionToken
        return VeriffSession(
            id=verification["id"],
            status=str(verification.get("status") or "created"),
            url=str(url),
            host=str(host),
            vendor_data=_opt_str(verification.get("vendorData")),
            end_user_id=_opt_str(verification.get("endUserId")),
            raw=body,
            request_id=request_id_of(response),
            warnings=warnings,
        )

    async def create_session(self, request: VeriffSessionRequest) -> VeriffSession:
        self._check_request(request)
        payload = self.session_payload(request)
        headers = {}
        if self.ctx.field("integration_id").strip():
            headers["vrf-integration-id"] = self.ctx.field("integration_id").strip()
        response, warnings = await self._call(
            "POST",
            "/sessions",
            operation="create session",
            template="/v1/sessions",
            payload=payload,
            headers=headers,
        )
        session = self._session(
            self._json(response, "create session"), response, "create session", warnings
        )
        if session.end_user_id is None and request.end_user_id.strip():
            session = _replace_end_user(session, request.end_user_id.strip())
        return session

    async def submit_session(self, session_id: str) -> VeriffSession:
        sid = _checked_id(session_id, "submit session")
        response, warnings = await self._call(
            "PATCH",
            f"/sessions/{sid}",
            operation="submit session",
            template="/v1/sessions/{id}",
            payload={"verification": {"status": "submitted"}},
        )
        return self._session(
            self._json(response, "submit session"), response, "submit session", warnings
        )

    async def upload_media(self, session_id: str, image: EncodedImage, context: str) -> VeriffMedia:
        sid = _checked_id(session_id, "upload media")
        if context not in UPLOAD_CONTEXTS:
            raise OperationRefused(
                f"FaceDesk uploads only {', '.join(UPLOAD_CONTEXTS)} images to Veriff.",
                provider=NAME,
                operation="upload media",
            )
        content = base64.b64encode(image.data).decode()
        response, _warnings = await self._call(
            "POST",
            f"/sessions/{sid}/media",
            operation="upload media",
            template="/v1/sessions/{id}/media",
            payload={"image": {"context": context, "content": content}},
        )
        body = self._json(response, "upload media")
        item = body.get("image")
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise self._shape(body, response, "upload media")
        return _media(item, is_video=False)

    # --- reading a session ---------------------------------------------------------------------

    async def get_decision(self, session_id: str) -> VeriffDecision:
        sid = _checked_id(session_id, "read decision")
        response, warnings = await self._call(
            "GET",
            f"/sessions/{sid}/decision",
            operation="read decision",
            template="/v1/sessions/{id}/decision",
        )
        body = self._json(response, "read decision")
        verification = body.get("verification")
        if verification is None:
            # §3.4: no decision yet is `verification: null` (⚠ or a "not available" message).
            return VeriffDecision(
                session_id=sid,
                status="pending",
                verdict=Verdict.PENDING,
                code=None,
                reason=None,
                reason_code=None,
                raw=body,
                request_id=request_id_of(response),
                warnings=warnings,
            )
        if not isinstance(verification, dict):
            raise self._shape(body, response, "read decision")
        status = str(verification.get("status") or "")
        return VeriffDecision(
            session_id=str(verification.get("id") or sid),
            status=status or "unknown",
            verdict=_DECIDED.get(status, Verdict.INCONCLUSIVE),
            code=_opt_int(verification.get("code")),
            reason=_opt_str(verification.get("reason")),
            reason_code=_opt_int(verification.get("reasonCode")),
            attempt_id=_opt_str(verification.get("attemptId")),
            decision_time=_opt_time(verification.get("decisionTime")),
            acceptance_time=_opt_time(verification.get("acceptanceTime")),
            vendor_data=_opt_str(verification.get("vendorData")),
            end_user_id=_opt_str(verification.get("endUserId")),
            person=_flat(verification.get("person")),
            document=_flat(verification.get("document")),
            risk_labels=tuple(
                RiskLabel(
                    label=str(r.get("label") or ""),
                    category=str(r.get("category") or ""),
                    session_ids=tuple(str(s) for s in r.get("sessionIds") or ()),
                )
                for r in verification.get("riskLabels") or ()
                if isinstance(r, dict)
            ),
            raw=body,
            request_id=request_id_of(response),
            warnings=warnings,
        )

    async def get_person(self, session_id: str) -> VeriffPerson:
        sid = _checked_id(session_id, "read person")
        response, warnings = await self._call(
            "GET",
            f"/sessions/{sid}/person",
            operation="read person",
            template="/v1/sessions/{id}/person",
        )
        body = self._json(response, "read person")
        person = body.get("person")
        if not isinstance(person, dict):
            raise self._shape(body, response, "read person")
        matches = person.get("pepSanctionMatches")
        count = 0
        if isinstance(matches, list):
            for match in matches:
                if isinstance(match, dict):
                    count += _opt_int(match.get("numberOfMatches")) or len(match.get("hits") or ())
        return VeriffPerson(
            session_id=sid,
            fields=_flat({k: v for k, v in person.items() if k != "pepSanctionMatches"}),
            pep_sanction_matches=count,
            raw=body,
            warnings=warnings,
        )

    async def list_attempts(self, session_id: str) -> tuple[VeriffAttempt, ...]:
        sid = _checked_id(session_id, "list attempts")
        response, _warnings = await self._call(
            "GET",
            f"/sessions/{sid}/attempts",
            operation="list attempts",
            template="/v1/sessions/{id}/attempts",
        )
        body = self._json(response, "list attempts")
        rows = body.get("verifications")
        if not isinstance(rows, list):
            raise self._shape(body, response, "list attempts")
        attempts = [
            VeriffAttempt(
                id=str(r["id"]),
                status=str(r.get("status") or ""),
                created_time=_opt_time(r.get("createdTime")),
            )
            for r in rows
            if isinstance(r, dict) and r.get("id")
        ]
        # §3.8 says newest first; sort anyway so the first row is the latest attempt.
        epoch = datetime.min.replace(tzinfo=UTC)
        attempts.sort(key=lambda a: a.created_time or epoch, reverse=True)
        return tuple(attempts)

    async def list_media(
        self, session_id: str, *, attempt_id: str | None = None
    ) -> VeriffMediaList:
        if attempt_id is not None:
            aid = _checked_id(attempt_id, "list media")
            path, template = f"/attempts/{aid}/media", "/v1/attempts/{id}/media"
        else:
            sid = _checked_id(session_id, "list media")
            path, template = f"/sessions/{sid}/media", "/v1/sessions/{id}/media"
        response, warnings = await self._call(
            "GET", path, operation="list media", template=template
        )
        body = self._json(response, "list media")
        images, videos = body.get("images", []), body.get("videos", [])
        if not isinstance(images, list) or not isinstance(videos, list):
            raise self._shape(body, response, "list media")
        return VeriffMediaList(
            images=tuple(_media(i, is_video=False) for i in images if _has_id(i)),
            videos=tuple(_media(v, is_video=True) for v in videos if _has_id(v)),
            raw=body,
            warnings=warnings,
        )

    async def download_media(self, media_id: str) -> MediaContent:
        mid = _checked_id(media_id, "download media")
        response, warnings = await self._call(
            "GET",
            f"/media/{mid}",
            operation="download media",
            template="/v1/media/{id}",
            max_reply_bytes=MEDIA_REPLY_CAP,
        )
        return MediaContent(
            media_id=mid,
            data=response.content,
            content_type=response.headers.get("content-type", "application/octet-stream"),
            warnings=warnings,
        )

    async def get_watchlist(self, session_id: str) -> VeriffWatchlist:
        sid = _checked_id(session_id, "read watchlist screening")
        try:
            response, warnings = await self._call(
                "GET",
                f"/sessions/{sid}/watchlist-screening",
                operation="read watchlist screening",
                template="/v1/sessions/{id}/watchlist-screening",
            )
        except (NotFound, PermissionDenied):
            # §3.9: AML/PEP product only; absence is normal, not a failure.
            return VeriffWatchlist(
                available=False,
                note="No watchlist screening: the integration does not include it, or the "
                "session has not been screened yet.",
            )
        body = self._json(response, "read watchlist screening")
        data = body.get("data")
        if not isinstance(data, dict):
            return VeriffWatchlist(
                available=False, note="Veriff returned no screening data.", raw=body
            )
        hits = tuple(h for h in data.get("hits") or () if isinstance(h, dict))
        return VeriffWatchlist(
            available=True,
            match_status=str(data.get("matchStatus") or ""),
            check_type=str(data.get("checkType") or ""),
            total_hits=_opt_int(data.get("totalHits")) or len(hits),
            hits=hits,
            raw=body,
            warnings=warnings,
        )

    async def session_status(self, session_id: str) -> str:
        """The current status: the decision's when decided, else the latest attempt's (§3.8)."""
        decision, attempts = await asyncio.gather(
            self.get_decision(session_id), self.list_attempts(session_id)
        )
        return _status_of(decision, attempts)

    async def load_session(self, session_id: str) -> VeriffSessionView:
        sid = _checked_id(session_id, "read session")
        decision, attempts, media = await asyncio.gather(
            self.get_decision(sid), self.list_attempts(sid), self.list_media(sid)
        )
        person: VeriffPerson | None
        try:
            person = await self.get_person(sid)
        except NotFound:
            person = None
        watchlist = await self.get_watchlist(sid)
        return VeriffSessionView(
            session_id=sid,
            status=_status_of(decision, attempts),
            decision=decision,
            person=person,
            attempts=attempts,
            media=media,
            watchlist=watchlist,
        )

    async def follow_decision(
        self, session_id: str, *, interval: float = 2.0, give_up_after: float = 120.0
    ) -> VeriffDecision:
        """Poll GET decision until Veriff decides or `give_up_after` s pass (then: pending)."""
        attempts = await self.list_attempts(session_id)
        latest = attempts[0].id if attempts else None
        last: VeriffDecision | None = None
        async for decision in poll(
            lambda: self.get_decision(session_id),
            done=lambda decision: decision.decided and _decides_attempt(decision, latest),
            interval=interval,
            give_up_after=give_up_after,
            clock=self._clock,
        ):
            last = decision
        assert last is not None  # poll() yields at least once
        if last.decided and _decides_attempt(last, latest):
            return last
        # A decision of an earlier attempt (before a resubmission) is not this one's.
        return last if not last.decided else _still_pending(last)

    # --- deletion (§3.10) ----------------------------------------------------------------------

    async def _quota_scope(self) -> str:
        # Per integration: the API key identifies it. Hashed, so the ledger holds no credential.
        api_key = (await self.ctx.credential("api_key")).strip().lower()
        return "veriff:delete:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]

    async def deletion_quota(self) -> DeletionQuota:
        scope = await self._quota_scope()
        now = datetime.now(UTC)
        longest = max(window for window, _ in DELETE_LIMITS)
        events = await asyncio.to_thread(
            self.ctx.store.rate_events_since, scope, now - timedelta(seconds=longest)
        )
        return quota_from_events(events, now)

    async def preview_deletion(self, session_id: str) -> DeletionPreview:
        sid = _checked_id(session_id, "delete session")
        status, quota = await asyncio.gather(self.session_status(sid), self.deletion_quota())
        allowed, refusal = True, ""
        if status not in DELETABLE_STATUSES:
            allowed = False
            code, reason = _delete_refusal(status)
            refusal = f"{reason} (Veriff code {code})"
        elif quota.remaining <= 0:
            allowed = False
            refusal = _quota_refusal(quota)
        consequences = [DELETION_CONSEQUENCES]
        if status in UNFINISHED_STATUSES:
            consequences.append(UNFINISHED_CONSEQUENCE)
        return DeletionPreview(
            session_id=sid,
            status=status,
            allowed=allowed,
            refusal=refusal,
            consequences=tuple(consequences),
            quota=quota,
        )

    async def delete_session(self, session_id: str, *, guard: bool = True) -> DeletionResult:
        """Delete after the local status and quota checks (`guard=False` skips them: tests only).

        §3.10 counts every deletion against 5/hour and 10/24 h. A slot is reserved atomically
        before sending and given back only when Veriff definitely did not delete (it answered
        with a refusal). Deletes of one integration run one at a time. When the reply is lost,
        the DELETE is repeated once on the same slot; a 404 then means the first one worked.
        """
        sid = _checked_id(session_id, "delete session")
        scope = await self._quota_scope()
        async with _deletion_lock(scope):
            status = await self.session_status(sid)
            if guard and status not in DELETABLE_STATUSES:
                code, reason = _delete_refusal(status)
                raise OperationRefused(
                    f"{reason} Nothing was sent. (Veriff code {code}; status “{status}”.)",
                    provider=NAME,
                    operation="delete session",
                    vendor_code=code,
                )
            limits = DELETE_LIMITS if guard else ()
            slot = await asyncio.to_thread(self.ctx.store.reserve_rate_slot, scope, limits)
            if slot is None:
                quota = await self.deletion_quota()
                raise OperationRefused(
                    _quota_refusal(quota) + " Nothing was sent.",
                    provider=NAME,
                    operation="delete session",
                )
            repeated: list[bool] = []
            try:
                response, warnings, already_gone = await self._send_delete(sid, repeated)
            except AppError as exc:
                # After a lost reply the first DELETE may have worked: the slot then stays.
                if not repeated and _definitely_not_deleted(exc):
                    await asyncio.to_thread(self.ctx.store.release_rate_slot, slot)
                raise
        return DeletionResult(
            session_id=sid,
            previous_status=status,
            webhook_expected=status in UNFINISHED_STATUSES,
            quota=await self.deletion_quota(),
            request_id=request_id_of(response) if response is not None else None,
            warnings=warnings,
            vendor_already_gone=already_gone,
        )

    async def _send_delete(
        self, sid: str, repeated: list[bool]
    ) -> tuple[httpx.Response | None, tuple[str, ...], bool]:
        """One DELETE, repeated once if its reply was lost; (response, warnings, already gone).

        `repeated` gets an entry when the DELETE was sent a second time.
        """

        async def once() -> tuple[httpx.Response, tuple[str, ...]]:
            return await self._call(
                "DELETE",
                f"/sessions/{sid}",
                operation="delete session",
                template="/v1/sessions/{id}",
                # No automatic retry: a repeat is decided here, where the slot is known.
                auto_retry=False,
            )

        try:
            response, warnings = await once()
            return response, warnings, False
        except ProviderUnavailable as exc:
            if exc.http_status is not None:
                raise  # Veriff answered (5xx/429): whether it deleted is unknown; not repeated
            log.info("%s delete session: reply lost, repeating once", NAME)
        repeated.append(True)
        try:
            response, warnings = await once()
        except NotFound:
            return None, (), True
        return response, warnings, False

    def _rate_message(self, response: httpx.Response, operation: str) -> str:
        if operation != "delete session":
            return f"{NAME} is limiting requests. " + _retry_words(response)
        seconds = parse_retry_after(response.headers.get("retry-after"))
        text = (
            "Veriff allows 5 session deletions per rolling hour and 10 per 24 hours for this "
            "integration, and that limit is reached (deletions made outside FaceDesk count too)."
        )
        if seconds is not None:
            moment = datetime.now(UTC) + timedelta(seconds=seconds)
            return f"{text} The next deletion is possible at {moment.astimezone():%H:%M:%S}."
        # §4: Veriff documents no Retry-After, so say what each window allows instead of a time.
        return (
            f"{text} Veriff did not say when: if the hourly limit was hit, a deletion is possible "
            "again within an hour; if the daily one was, within 24 hours."
        )


def quota_from_events(events: list[datetime], now: datetime) -> DeletionQuota:
    """Sliding windows over the ledger: how many deletions are left, and when the next one fits."""
    remaining = None
    next_at: datetime | None = None
    used: list[int] = []
    for window, limit in DELETE_LIMITS:
        inside = sorted(e for e in events if e > now - timedelta(seconds=window))
        used.append(len(inside))
        left = max(0, limit - len(inside))
        remaining = left if remaining is None else min(remaining, left)
        if left == 0:
            # The window frees a slot when its oldest counted deletion leaves it.
            frees = inside[len(inside) - limit] + timedelta(seconds=window)
            next_at = frees if next_at is None else max(next_at, frees)
    return DeletionQuota(
        used_last_hour=used[0],
        used_last_day=used[-1],
        remaining=remaining or 0,
        next_possible_at=next_at,
    )


def _quota_refusal(quota: DeletionQuota) -> str:
    when = (
        f" The next deletion is possible at {quota.next_possible_at.astimezone():%Y-%m-%d %H:%M}."
        if quota.next_possible_at
        else ""
    )
    return (
        "Veriff's deletion limit is reached for this integration "
        f"({quota.used_last_hour}/5 in the last hour, {quota.used_last_day}/10 in 24 hours)." + when
    )


def _retry_words(response: httpx.Response) -> str:
    return retry_hint(response)


def _decides_attempt(decision: VeriffDecision, latest_attempt_id: str | None) -> bool:
    """Whether a decision is about the latest attempt (§3.4 attemptId, §3.8 newest first).

    After resubmission_requested the end user starts a new attempt (§6.5); GET decision keeps
    answering with the earlier attempt's decision until the new one is decided. A decision
    without an attemptId, or a session without attempts, is taken at its word.
    """
    if decision.attempt_id is None or latest_attempt_id is None:
        return True
    return decision.attempt_id == latest_attempt_id


def _still_pending(decision: VeriffDecision) -> VeriffDecision:
    return replace(
        decision,
        status="pending",
        verdict=Verdict.PENDING,
        code=None,
        reason=None,
        reason_code=None,
        risk_labels=(),
    )


def _status_of(decision: VeriffDecision, attempts: tuple[VeriffAttempt, ...]) -> str:
    latest = attempts[0] if attempts else None
    if decision.decided and (
        latest is None or not latest.status or _decides_attempt(decision, latest.id)
    ):
        return decision.status
    if attempts and attempts[0].status:
        return attempts[0].status
    return "created"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_DELETION_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _deletion_lock(scope: str) -> asyncio.Lock:
    """One lock per integration and event loop, so deletes of one integration are serialized.

    Module-wide rather than per client: two connections with the same API key share it.
    """
    locks = _DELETION_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(scope, asyncio.Lock())


def _definitely_not_deleted(exc: AppError) -> bool:
    """Veriff refused (4xx, 404 included) or nothing was sent: the slot is given back."""
    status = exc.http_status
    if status is None:
        return not isinstance(exc, ProviderError)  # refused locally before sending
    return 400 <= status < 500


def _checked_id(value: str, operation: str) -> str:
    """§6.4: session, attempt and media ids are UUIDs; refuse anything else without a call."""
    candidate = value.strip()
    if not _is_uuid(candidate):
        raise OperationRefused(
            "That is not a Veriff id: Veriff ids are UUIDs (like 1b2c3d4e-…). Paste the full id.",
            provider=NAME,
            operation=operation,
        )
    return candidate


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _opt_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flat(value: Any) -> dict[str, str]:
    """A person/document object as label → text, skipping empty and nested-empty values."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None or item == "" or item == [] or item == {}:
            continue
        if isinstance(item, dict | list):
            out[key] = json.dumps(item, ensure_ascii=False)
        else:
            out[key] = str(item)
    return out


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str)


def _media(item: dict[str, Any], *, is_video: bool) -> VeriffMedia:
    return VeriffMedia(
        id=item["id"],
        context=str(item.get("context") or item.get("name") or ""),
        name=str(item.get("name") or item.get("context") or ""),
        mimetype=str(item.get("mimetype") or ""),
        size=_opt_int(item.get("size")),  # §3.5 ⚠ number or string
        is_video=is_video,
        duration=_opt_float(item.get("duration")),
        session_id=_opt_str(item.get("sessionId")),
    )


def _replace_end_user(session: VeriffSession, end_user_id: str) -> VeriffSession:
    return replace(session, end_user_id=end_user_id)


def create(ctx: ProviderContext) -> VeriffProvider:
    return VeriffProvider(ctx)
