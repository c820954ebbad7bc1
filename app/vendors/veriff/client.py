"""Veriff Public API v1 client: signed requests, sessions, decisions, media and rule-aware deletion.

Contract: shared/providers/veriff.md. Every request carries X-AUTH-CLIENT and X-HMAC-SIGNATURE
(§2.1), computed by `VeriffAuth` over exactly the bytes sent: bodies are serialised once and the
same bytes are signed and sent. Veriff signs its answers too (§1); a reply whose signature does
not match becomes a warning on the result, not an error.

Deletion (§3.10) is guarded locally twice before any request: the session's status must allow it
(else the vendor's own 1305/1306 reason is raised as OperationRefused), and FaceDesk's ledger of
deletions (5 per rolling hour, 10 per 24 hours, per integration) must have room.

Past ~600 lines because it is one job, the Veriff client: the deletion ledger and reply signature
checks are used by every session, media and decision call here (signing is auth.py, the error
table errors.py, the types types.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.domain import EncodedImage, Verdict
from app.errors import (
    AppError,
    NotFound,
    OperationRefused,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    UnexpectedResponse,
)
from app.http import (
    JSON_REPLY_CAP,
    MEDIA_REPLY_CAP,
    ProviderContext,
    json_body,
    request_id_of,
    send,
    unexpected_response,
)
from app.http.parse import as_float, as_int, as_str, as_time
from app.http.poll import REAL_CLOCK, PollClock, poll

# INFO is re-exported: a holder of the client module (tests, the contract kit) reads it here.
from app.vendors.veriff import INFO as INFO
from app.vendors.veriff import NAME
from app.vendors.veriff.auth import SIGNATURE_WARNING, response_signature_ok, veriff_auth
from app.vendors.veriff.errors import error_for
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


_DECIDED = {
    "approved": Verdict.POSITIVE,
    "declined": Verdict.NEGATIVE,
    "resubmission_requested": Verdict.INCONCLUSIVE,
    "review": Verdict.INCONCLUSIVE,
    "expired": Verdict.NEGATIVE,
    "abandoned": Verdict.NEGATIVE,
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
        auth, secret = await veriff_auth(self.ctx.credential)
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
            raise error_for(response, operation)
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
            vendor_data=as_str(verification.get("vendorData"), numbers=True),
            end_user_id=as_str(verification.get("endUserId"), numbers=True),
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
            code=as_int(verification.get("code"), from_text=True),
            reason=as_str(verification.get("reason"), numbers=True),
            reason_code=as_int(verification.get("reasonCode"), from_text=True),
            attempt_id=as_str(verification.get("attemptId"), numbers=True),
            decision_time=as_time(verification.get("decisionTime")),
            acceptance_time=as_time(verification.get("acceptanceTime")),
            vendor_data=as_str(verification.get("vendorData"), numbers=True),
            end_user_id=as_str(verification.get("endUserId"), numbers=True),
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
                    count += as_int(match.get("numberOfMatches"), from_text=True) or len(
                        match.get("hits") or ()
                    )
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
                created_time=as_time(r.get("createdTime")),
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
            total_hits=as_int(data.get("totalHits"), from_text=True) or len(hits),
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
        size=as_int(item.get("size"), from_text=True),  # §3.5 ⚠ number or string
        is_video=is_video,
        duration=as_float(item.get("duration"), from_text=True),
        session_id=as_str(item.get("sessionId"), numbers=True),
    )


def _replace_end_user(session: VeriffSession, end_user_id: str) -> VeriffSession:
    return replace(session, end_user_id=end_user_id)


def create(ctx: ProviderContext) -> VeriffProvider:
    return VeriffProvider(ctx)
