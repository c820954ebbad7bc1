"""Veriff client against the Veriff sandbox, in-process and over a socket (contract: veriff.md).

Live variant: set FACEDESK_LIVE_VERIFF_API_KEY, FACEDESK_LIVE_VERIFF_SHARED_SECRET and
FACEDESK_LIVE_VERIFF_BASE_URL and run `pytest -m live tests/contract/test_veriff.py`. Deletion
runs live only with FACEDESK_LIVE_VERIFF_ALLOW_DELETE=1 (it spends the integration's quota).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from app.domain import EncodedImage, ImageFormat, Verdict
from app.errors import (
    AuthenticationFailed,
    NotFound,
    OperationRefused,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import ProviderContext, make_client
from app.sandbox import veriff as veriff_sandbox
from app.store import Store
from app.vendors.veriff import client as veriff
from app.vendors.veriff.auth import SIGNATURE_WARNING, sign
from app.vendors.veriff.client import VeriffProvider
from app.vendors.veriff.types import VeriffSessionRequest
from tests.contract.conftest import SandboxEndpoint

API_KEY = veriff_sandbox.API_KEY
SECRET = veriff_sandbox.SHARED_SECRET


def _jpeg(seed: int, size: tuple[int, int] = (400, 500), quality: int = 90) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (size[0] // 8, size[1] // 8))
    small.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(small.width * small.height)
        ]
    )
    image = small.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _encoded(data: bytes) -> EncodedImage:
    image = Image.open(io.BytesIO(data))
    return EncodedImage(data, ImageFormat.JPEG, image.width, image.height)


FACE = _jpeg(1)
SAME_FACE = _jpeg(1, quality=70)  # the same photo re-encoded: the sandbox sees one person
OTHER_FACE = _jpeg(2)


async def _provider(sandbox: SandboxEndpoint, **kwargs: Any) -> VeriffProvider:
    await sandbox.admin("PUT", "/settings", {"veriff_decision_delay": 0})
    provider: VeriffProvider = sandbox.connect(veriff, **kwargs)
    return provider


async def _submitted(
    provider: VeriffProvider, first_name: str = "", face: bytes = FACE, document: bytes = SAME_FACE
) -> str:
    session = await provider.create_session(VeriffSessionRequest(first_name=first_name))
    await provider.upload_media(session.id, _encoded(face), "face")
    await provider.upload_media(session.id, _encoded(document), "document-front")
    await provider.submit_session(session.id)
    return session.id


def _raw_headers(message: bytes, *, key: str = API_KEY, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-AUTH-CLIENT": key,
        "X-HMAC-SIGNATURE": sign(secret, message),
        "Content-Type": "application/json",
    }


async def _raw(
    sandbox: SandboxEndpoint, method: str, path: str, body: Any = None, **headers: str
) -> httpx.Response:
    """A hand-signed request, bypassing the client's own checks."""
    client = sandbox.client()
    content = json.dumps(body).encode() if body is not None else b""
    message = content if method in ("POST", "PATCH") else path.split("/")[3].encode()
    all_headers = _raw_headers(message)
    all_headers.update(headers)
    return await client.request(
        method, f"{sandbox.origin}/veriff{path}", content=content or None, headers=all_headers
    )


# --- operations ------------------------------------------------------------------------------


async def test_connection_and_session_creation(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    assert "accepted" in await provider.test_connection()
    end_user = str(uuid.uuid4())
    session = await provider.create_session(
        VeriffSessionRequest(
            first_name="Approve",
            last_name="Tester",
            date_of_birth="1990-01-31",
            document_type="PASSPORT",
            document_country="ee",
            vendor_data="case-42",
            callback="https://example.com/done",
            end_user_id=end_user,
        )
    )
    assert session.status == "created"
    assert session.vendor_data == "case-42"
    assert session.end_user_id == end_user
    assert session.url.startswith(session.host)
    assert "/v/" in session.url
    assert session.warnings == ()
    uuid.UUID(session.id)


async def test_decision_is_pending_until_submitted(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    session = await provider.create_session(VeriffSessionRequest())
    decision = await provider.get_decision(session.id)
    assert decision.verdict is Verdict.PENDING
    assert not decision.decided
    assert await provider.session_status(session.id) == "created"


@pytest.mark.parametrize(
    ("first_name", "status", "code", "verdict", "reason_code"),
    [
        ("Approve", "approved", 9001, Verdict.POSITIVE, None),
        ("Decline", "declined", 9102, Verdict.NEGATIVE, 103),
        ("Resubmit", "resubmission_requested", 9103, Verdict.INCONCLUSIVE, 204),
    ],
)
async def test_test_names_force_the_outcome(
    sandbox: SandboxEndpoint,
    first_name: str,
    status: str,
    code: int,
    verdict: Verdict,
    reason_code: int | None,
) -> None:
    provider = await _provider(sandbox)
    sid = await _submitted(provider, first_name, document=OTHER_FACE)
    decision = await provider.follow_decision(sid, interval=0.05, give_up_after=5)
    assert (decision.status, decision.code, decision.verdict) == (status, code, verdict)
    assert decision.reason_code == reason_code
    assert decision.decision_time is not None
    if status == "declined":
        assert decision.risk_labels
    assert decision.person.get("firstName") == first_name


async def test_api_only_verification_compares_the_photos(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    same = await provider.follow_decision(await _submitted(provider), interval=0.05)
    assert same.status == "approved"
    other = await _submitted(provider, document=OTHER_FACE)
    declined = await provider.follow_decision(other, interval=0.05)
    assert (declined.status, declined.reason_code) == ("declined", 103)


async def test_decision_waits_for_the_sandbox_clock(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    await sandbox.admin("PUT", "/settings", {"veriff_decision_delay": 60})
    sid = await _submitted(provider, "Approve")
    assert not (await provider.get_decision(sid)).decided
    assert await provider.session_status(sid) == "submitted"
    await sandbox.admin("POST", "/clock", {"seconds": 61})
    assert (await provider.get_decision(sid)).status == "approved"


async def test_person_attempts_media_and_download(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = await _submitted(provider, "Approve")
    await provider.follow_decision(sid, interval=0.05)
    await sandbox.admin("POST", f"/veriff/sessions/{sid}/video")
    view = await provider.load_session(sid)
    assert view.status == "approved"
    assert view.warnings == ()
    assert view.person is not None
    assert view.person.fields["firstName"] == "Approve"
    assert view.person.pep_sanction_matches == 0
    assert len(view.attempts) == 1
    assert view.attempts[0].status == "approved"
    contexts = sorted(m.context for m in view.media.images)
    assert contexts == ["document-front", "face"]
    assert len(view.media.videos) == 1
    assert view.media.videos[0].duration == 3.0
    face = next(m for m in view.media.images if m.context == "face")
    content = await provider.download_media(face.id)
    assert content.data == FACE
    assert content.content_type.startswith("image/jpeg")
    assert content.extension == ".jpg"
    video = await provider.download_media(view.media.videos[0].id)
    assert video.content_type.startswith("video/webm")
    assert video.extension == ".webm"
    by_attempt = await provider.list_media(sid, attempt_id=view.attempts[0].id)
    assert {m.id for m in by_attempt.images} == {m.id for m in view.media.images}
    assert view.watchlist.available
    assert view.watchlist.match_status == "no_match"


async def test_resubmission_starts_a_new_attempt(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = await _submitted(provider, "Resubmit")
    await provider.follow_decision(sid, interval=0.05)
    await provider.upload_media(sid, _encoded(FACE), "face")
    attempts = await provider.list_attempts(sid)
    assert [a.status for a in attempts] == ["started", "resubmission_requested"]
    media = await provider.list_media(sid)
    assert [m.context for m in media.images] == ["face"]  # the latest attempt only (§3.5)


async def test_watchlist_absent_is_not_an_error(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    session = await provider.create_session(VeriffSessionRequest())
    assert not (await provider.get_watchlist(session.id)).available
    await sandbox.admin("PUT", "/settings", {"veriff_watchlist": False})
    sid = await _submitted(provider, "Approve")
    await provider.follow_decision(sid, interval=0.05)
    watchlist = await provider.get_watchlist(sid)
    assert not watchlist.available
    assert watchlist.note


@pytest.mark.parametrize(
    ("forced", "reason_code", "verdict", "code"),
    [
        ("review", None, Verdict.INCONCLUSIVE, 9121),
        ("declined", 106, Verdict.NEGATIVE, 9102),
        ("expired", None, Verdict.NEGATIVE, 9104),
        ("abandoned", None, Verdict.NEGATIVE, 9104),
    ],
)
async def test_admin_forces_decisions(
    sandbox: SandboxEndpoint, forced: str, reason_code: int | None, verdict: Verdict, code: int
) -> None:
    provider = await _provider(sandbox)
    session = await provider.create_session(VeriffSessionRequest())
    await sandbox.admin(
        "POST",
        f"/veriff/sessions/{session.id}/status",
        {"status": forced, "reasonCode": reason_code},
    )
    decision = await provider.get_decision(session.id)
    assert (decision.status, decision.verdict, decision.code) == (forced, verdict, code)
    assert decision.reason_code == reason_code
    if reason_code:
        assert "Known fraud" in decision.as_check_result().reasons[1]


async def test_sessions_expire_and_are_abandoned_on_the_sandbox_clock(
    sandbox: SandboxEndpoint,
) -> None:
    provider = await _provider(sandbox)
    idle = await provider.create_session(VeriffSessionRequest())
    started = await provider.create_session(VeriffSessionRequest())
    await provider.upload_media(started.id, _encoded(FACE), "face")
    await sandbox.admin("POST", "/clock", {"seconds": 7 * 24 * 3600 + 1})
    assert (await provider.get_decision(idle.id)).status == "expired"
    assert (await provider.get_decision(started.id)).status == "abandoned"


# --- validation and refusals -----------------------------------------------------------------


async def test_local_checks_refuse_before_sending(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    with pytest.raises(OperationRefused, match="https"):
        await provider.create_session(VeriffSessionRequest(callback="http://example.com"))
    with pytest.raises(OperationRefused, match="YYYY-MM-DD"):
        await provider.create_session(VeriffSessionRequest(date_of_birth="31.01.1990"))
    with pytest.raises(OperationRefused, match="1000"):
        await provider.create_session(VeriffSessionRequest(vendor_data="x" * 1001))
    with pytest.raises(OperationRefused, match="UUID"):
        await provider.get_decision("not-a-session")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "1102"),
        ({"verification": "x"}, "1102"),
        ({"verification": {"vendorData": "x" * 1001}}, "1500"),
        ({"verification": {"vendorData": 12}}, "1501"),
        ({"verification": {"callback": "http://example.com"}}, "1302"),
        ({"verification": {"person": {"dateOfBirth": "1990-02-30"}}}, "1203"),
        ({"verification": {"timestamp": "yesterday"}}, "1202"),
        ({"verification": {"timestamp": "2016-05-19T08:30:25.597Z"}}, "1201"),
        ({"verification": {"document": {"type": "LIBRARY_CARD"}}}, "1104"),
    ],
)
async def test_sandbox_create_validation(
    sandbox: SandboxEndpoint, body: dict[str, Any], code: str
) -> None:
    response = await _raw(sandbox, "POST", "/v1/sessions", body)
    assert response.status_code == 400
    assert response.json() == {
        "status": "fail",
        "code": code,
        "message": response.json()["message"],
    }


async def test_sandbox_auth_order_and_codes(sandbox: SandboxEndpoint) -> None:
    sid = str(uuid.uuid4())
    path = f"/v1/sessions/{sid}/decision"
    cases = [
        ({"X-AUTH-CLIENT": ""}, "1801"),
        ({"X-AUTH-CLIENT": "not-a-uuid"}, "1802"),
        ({"X-AUTH-CLIENT": str(uuid.uuid4())}, "1803"),
        ({"X-HMAC-SIGNATURE": "abc"}, "1812"),
        ({"X-HMAC-SIGNATURE": sign("wrong", sid.encode())}, "1818"),
    ]
    for headers, code in cases:
        response = await _raw(sandbox, "GET", path, **headers)
        assert (response.status_code, response.json()["code"]) == (401, code), headers
    bad_body = await _raw(
        sandbox, "PATCH", f"/v1/sessions/{sid}", {"x": 1}, **{"X-HMAC-SIGNATURE": "0" * 64}
    )
    assert bad_body.json()["code"] == "1819"
    legacy = await sandbox.client().get(
        f"{sandbox.origin}/veriff{path}",
        headers={
            "X-AUTH-CLIENT": API_KEY,
            "X-SIGNATURE": hashlib.sha256(sid.encode() + SECRET.encode()).hexdigest(),
        },
    )
    assert legacy.status_code == 404  # authenticated (§2.2 legacy scheme), then not found
    unsigned_create = await sandbox.client().post(
        f"{sandbox.origin}/veriff/v1/sessions",
        json={"verification": {}},
        headers={"X-AUTH-CLIENT": API_KEY},
    )
    assert unsigned_create.status_code == 200  # §2.1 ⚠: POST /sessions may be unsigned
    body = unsigned_create.content
    assert unsigned_create.headers["x-hmac-signature"] == sign(SECRET, body)
    assert unsigned_create.headers["x-auth-client"] == API_KEY


async def test_sandbox_upload_and_patch_codes(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    media = f"/v1/sessions/{sid}/media"
    good = base64.b64encode(FACE).decode()
    for body, code in [
        ({}, "1400"),
        ({"image": {"context": "face"}}, "1400"),
        ({"image": {"content": good}}, "1403"),
        ({"image": {"context": "selfie-with-cat", "content": good}}, "1402"),
        ({"image": {"context": "face", "content": "***"}}, "1401"),
    ]:
        response = await _raw(sandbox, "POST", media, body)
        assert (response.status_code, response.json()["code"]) == (400, code), body
    data_uri = await _raw(
        sandbox,
        "POST",
        media,
        {"image": {"context": "face", "content": "data:image/jpeg;base64," + good}},
    )
    assert data_uri.status_code == 200
    assert data_uri.json()["image"]["timestamp"] is None
    wrong = await _raw(sandbox, "PATCH", f"/v1/sessions/{sid}", {"verification": {"status": "x"}})
    assert wrong.json()["code"] == "1303"
    await sandbox.admin("PUT", "/settings", {"veriff_decision_delay": 600})
    await provider.submit_session(sid)
    with pytest.raises(RequestRejected) as again:
        await provider.submit_session(sid)
    assert again.value.vendor_code == "1304"
    with pytest.raises(RequestRejected) as late:
        await provider.upload_media(sid, _encoded(FACE), "face")
    assert late.value.http_status == 409


# --- failure classes -------------------------------------------------------------------------


async def test_bad_credentials(sandbox: SandboxEndpoint) -> None:
    wrong_secret = sandbox.connect(
        veriff, credentials={"api_key": API_KEY, "shared_secret": "not-the-secret"}
    )
    with pytest.raises(AuthenticationFailed) as exc:
        await wrong_secret.test_connection()
    assert exc.value.vendor_code == "1818"
    assert "shared secret" in exc.value.user_message
    with pytest.raises(AuthenticationFailed) as exc:
        await wrong_secret.create_session(VeriffSessionRequest())
    assert exc.value.vendor_code == "1819"
    unknown = sandbox.connect(
        veriff, credentials={"api_key": str(uuid.uuid4()), "shared_secret": SECRET}
    )
    with pytest.raises(AuthenticationFailed) as exc:
        await unknown.test_connection()
    assert exc.value.vendor_code == "1803"
    not_uuid = sandbox.connect(veriff, credentials={"api_key": "abc", "shared_secret": SECRET})
    with pytest.raises(AuthenticationFailed) as exc:
        await not_uuid.test_connection()
    assert exc.value.vendor_code == "1802"
    await sandbox.admin("PUT", "/settings", {"veriff_integration_active": False})
    with pytest.raises(PermissionDenied) as denied:
        await sandbox.connect(veriff).test_connection()
    assert denied.value.vendor_code == "1804"


@pytest.mark.parametrize(
    ("code", "message_part"),
    [
        ("1102", "missing"),
        ("1104", "values"),
        ("1201", "older than one hour"),
        ("1202", "format"),
        ("1203", "YYYY-MM-DD"),
        ("1302", "https://"),
        ("1500", "1000"),
        ("1501", "text"),
    ],
)
async def test_documented_4xx_codes_map_to_request_rejected(
    sandbox: SandboxEndpoint, code: str, message_part: str
) -> None:
    provider = await _provider(sandbox)
    await sandbox.fault(
        path="/veriff/v1/sessions$",
        status=400,
        body={"status": "fail", "code": code, "message": "vendor text"},
    )
    with pytest.raises(RequestRejected) as exc:
        await provider.create_session(VeriffSessionRequest())
    assert exc.value.vendor_code == code
    assert message_part in exc.value.user_message


async def test_server_errors_and_broken_bodies(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    decision = f"/veriff/v1/sessions/{sid}/decision"
    await sandbox.fault(path=decision, status=500)
    with pytest.raises(ProviderUnavailable):
        await provider.get_decision(sid)
    await sandbox.fault(path=decision, status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as limited:
        await provider.get_decision(sid)
    assert limited.value.retry_after == 30
    assert "30 s" in limited.value.user_message
    await sandbox.fault(kind="malformed", path=decision)
    with pytest.raises(UnexpectedResponse):
        await provider.get_decision(sid)
    await sandbox.fault(kind="non_json", path=decision, status=200)
    with pytest.raises(UnexpectedResponse):
        await provider.get_decision(sid)
    await sandbox.fault(path=decision, status=200, body={"status": "success", "verification": 7})
    with pytest.raises(UnexpectedResponse):
        await provider.get_decision(sid)
    await sandbox.fault(kind="drop", path=decision)
    with pytest.raises(ProviderUnavailable):
        await provider.get_decision(sid)
    await sandbox.fault(path=f"/veriff/v1/sessions/{sid}$", method="DELETE", status=404)
    with pytest.raises(NotFound):
        await provider.delete_session(sid)


async def test_timeout(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(veriff, timeout=httpx.Timeout(0.3))
    await sandbox.fault(kind="delay", path="/veriff/v1/sessions/", delay=1.0)
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        await provider.get_decision(str(uuid.uuid4()))


async def test_response_signature_mismatch_is_a_warning(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = str(uuid.uuid4())
    await sandbox.fault(
        path=f"/veriff/v1/sessions/{sid}/decision",
        status=200,
        body={"status": "success", "verification": None},
        headers={"x-hmac-signature": "0" * 64},
    )
    decision = await provider.get_decision(sid)
    assert decision.warnings == (SIGNATURE_WARNING,)
    assert decision.as_check_result().warnings == (SIGNATURE_WARNING,)


# --- deletion (§3.10) ------------------------------------------------------------------------


async def test_delete_and_everything_is_gone(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = await _submitted(provider, "Approve")
    await provider.follow_decision(sid, interval=0.05)
    media = await provider.list_media(sid)
    attempt = (await provider.list_attempts(sid))[0]
    preview = await provider.preview_deletion(sid)
    assert preview.allowed
    assert preview.status == "approved"
    assert preview.quota.remaining == 5
    assert len(preview.consequences) == 1
    assert "12 hours" in preview.consequences[0]
    result = await provider.delete_session(sid)
    assert result.previous_status == "approved"
    assert not result.webhook_expected
    assert result.quota.remaining == 4
    for call in (
        provider.get_decision(sid),
        provider.get_person(sid),
        provider.list_attempts(sid),
        provider.list_media(sid),
        provider.list_media(sid, attempt_id=attempt.id),
        provider.download_media(media.images[0].id),
    ):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound):
        await provider.delete_session(sid)


async def test_unfinished_session_deletion_announces_the_webhook(sandbox: SandboxEndpoint) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    preview = await provider.preview_deletion(sid)
    assert len(preview.consequences) == 2
    assert "webhook" in preview.consequences[1]
    result = await provider.delete_session(sid)
    assert result.webhook_expected
    hooks = (await sandbox.admin("GET", "/veriff/webhooks"))["webhooks"]
    assert hooks[-1]["body"]["verification"]["status"] == "expired"


@pytest.mark.parametrize(("status", "code"), [("submitted", "1306"), ("review", "1305")])
async def test_delete_refused_locally_with_the_vendor_reason(
    sandbox: SandboxEndpoint, status: str, code: str
) -> None:
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    await sandbox.admin("POST", f"/veriff/sessions/{sid}/status", {"status": status})
    preview = await provider.preview_deletion(sid)
    assert not preview.allowed
    assert code in preview.refusal
    with pytest.raises(OperationRefused) as refused:
        await provider.delete_session(sid)
    assert refused.value.vendor_code == code
    assert "Nothing was sent" in refused.value.user_message
    with pytest.raises(RequestRejected) as rejected:
        await provider.delete_session(sid, guard=False)
    assert rejected.value.vendor_code == code
    raw = await _raw(sandbox, "DELETE", f"/v1/sessions/{sid}")
    assert raw.json()["status"] == 400
    assert raw.json()["code"] == code
    assert (await provider.deletion_quota()).remaining == 5


async def test_six_deletions_within_an_hour(sandbox: SandboxEndpoint) -> None:
    """Done-when: five succeed, the guard stops the sixth, the sandbox says 429 without it."""
    provider = await _provider(sandbox)
    sessions = [(await provider.create_session(VeriffSessionRequest())).id for _ in range(6)]
    for sid in sessions[:5]:
        await provider.delete_session(sid)
    quota = await provider.deletion_quota()
    assert quota.remaining == 0
    assert quota.next_possible_at is not None

    sent: list[str] = []
    original = provider.ctx.http.send

    async def counting_send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request.method)
        return await original(request, **kwargs)

    provider.ctx.http.send = counting_send  # type: ignore[method-assign]
    with pytest.raises(OperationRefused, match="deletion limit") as refused:
        await provider.delete_session(sessions[5])
    assert "DELETE" not in sent
    assert "next deletion is possible" in refused.value.user_message

    with pytest.raises(RateLimited) as limited:
        await provider.delete_session(sessions[5], guard=False)
    assert limited.value.http_status == 429
    assert limited.value.retry_after
    assert "next deletion is possible" in limited.value.user_message

    # The guard's count lives in the store: a new provider (a restarted service) still knows.
    restarted = sandbox.connect(veriff)
    assert (await restarted.deletion_quota()).remaining == 0
    with pytest.raises(OperationRefused):
        await restarted.delete_session(sessions[5])


async def test_quota_survives_reopening_the_store_file(
    sandbox: SandboxEndpoint, tmp_path: Any
) -> None:
    path = tmp_path / "restart.sqlite3"
    first_store = Store(path)
    first = _with_store(sandbox, first_store)
    await sandbox.admin("PUT", "/settings", {"veriff_decision_delay": 0})
    for _ in range(2):
        sid = (await first.create_session(VeriffSessionRequest())).id
        await first.delete_session(sid)
    first_store.close()
    second_store = Store(path)
    try:
        assert (await _with_store(sandbox, second_store).deletion_quota()).used_last_hour == 2
        other_key = _with_store(sandbox, second_store, api_key=str(uuid.uuid4()))
        assert (await other_key.deletion_quota()).remaining == 5  # per integration
    finally:
        second_store.close()


def _with_store(sandbox: SandboxEndpoint, store: Store, api_key: str = API_KEY) -> VeriffProvider:
    creds = {"api_key": api_key, "shared_secret": SECRET}

    async def credential(name: str) -> str:
        return creds[name]

    ctx = ProviderContext(
        info=veriff.INFO,
        connection="Sandbox",
        profile_key="veriff.Sandbox",
        fields={"base_url": f"{sandbox.origin}/veriff", "integration_id": ""},
        http=sandbox.client(),
        credential=credential,
        store=store,
        is_sandbox=True,
    )
    return veriff.create(ctx)


# --- live (real Veriff; skipped unless credentials are in the environment) -------------------

LIVE_VARS = (
    "FACEDESK_LIVE_VERIFF_API_KEY",
    "FACEDESK_LIVE_VERIFF_SHARED_SECRET",
    "FACEDESK_LIVE_VERIFF_BASE_URL",
)


@pytest.fixture
async def live(tmp_path: Any) -> AsyncIterator[VeriffProvider]:
    if not all(os.environ.get(v) for v in LIVE_VARS):
        pytest.skip("set " + ", ".join(LIVE_VARS) + " to run against Veriff")
    creds = {
        "api_key": os.environ["FACEDESK_LIVE_VERIFF_API_KEY"],
        "shared_secret": os.environ["FACEDESK_LIVE_VERIFF_SHARED_SECRET"],
    }

    async def credential(name: str) -> str:
        return creds[name]

    store = Store(tmp_path / "live.sqlite3")
    client = make_client()
    ctx = ProviderContext(
        info=veriff.INFO,
        connection="live",
        profile_key="veriff.live",
        fields={"base_url": os.environ["FACEDESK_LIVE_VERIFF_BASE_URL"], "integration_id": ""},
        http=client,
        credential=credential,
        store=store,
        is_sandbox=False,
    )
    yield veriff.create(ctx)
    await client.aclose()
    store.close()


@pytest.mark.live
async def test_live_session_round_trip(live: VeriffProvider) -> None:
    await live.test_connection()
    session = await live.create_session(VeriffSessionRequest(vendor_data="facedesk-live-test"))
    assert session.url
    assert not (await live.get_decision(session.id)).decided
    await live.upload_media(session.id, _encoded(FACE), "face")
    await live.upload_media(session.id, _encoded(SAME_FACE), "document-front")
    assert len((await live.list_media(session.id)).images) >= 2
    await live.submit_session(session.id)
    with pytest.raises(RequestRejected):
        await live.submit_session(session.id)
    if os.environ.get("FACEDESK_LIVE_VERIFF_ALLOW_DELETE") == "1":
        with pytest.raises(OperationRefused):
            await live.delete_session(session.id)  # submitted: refused locally (1306)


@pytest.mark.live
async def test_live_bad_secret(live: VeriffProvider) -> None:
    async def wrong(name: str) -> str:
        return "not-the-secret" if name == "shared_secret" else await live.ctx.credential(name)

    broken = veriff.create(
        ProviderContext(
            **{**{f: getattr(live.ctx, f) for f in live.ctx.__slots__}, "credential": wrong}
        )
    )
    with pytest.raises(AuthenticationFailed):
        await broken.test_connection()


async def test_sandbox_day_window(sandbox: SandboxEndpoint) -> None:
    """The sandbox's own limits on its clock: 5 per rolling hour, and 10 per 24 hours."""
    provider = await _provider(sandbox)
    sessions = [(await provider.create_session(VeriffSessionRequest())).id for _ in range(11)]
    for batch in (sessions[:5], sessions[5:10]):
        for sid in batch:
            await provider.delete_session(sid, guard=False)
        await sandbox.admin("POST", "/clock", {"seconds": 3601})
    with pytest.raises(RateLimited) as limited:
        await provider.delete_session(sessions[10], guard=False)
    # The oldest deletion leaves the 24-hour window about 22 hours from now.
    assert limited.value.retry_after is not None
    assert 20 * 3600 < limited.value.retry_after < 23 * 3600


# --- review fixes ----------------------------------------------------------------------------


async def test_resubmitted_session_is_judged_by_its_latest_attempt(
    sandbox: SandboxEndpoint,
) -> None:
    """After a resubmission the old decision belongs to an older attempt, not the session now."""
    provider = await _provider(sandbox)
    sid = await _submitted(provider, "Resubmit")
    first = await provider.follow_decision(sid, interval=0.05)
    assert first.status == "resubmission_requested"
    await sandbox.admin("PUT", "/settings", {"veriff_decision_delay": 3600})
    await provider.upload_media(sid, _encoded(FACE), "face")
    await provider.upload_media(sid, _encoded(SAME_FACE), "document-front")
    await provider.submit_session(sid)

    assert await provider.session_status(sid) == "submitted"
    preview = await provider.preview_deletion(sid)
    assert not preview.allowed
    assert "1306" in preview.refusal
    with pytest.raises(OperationRefused) as refused:
        await provider.delete_session(sid)
    assert refused.value.vendor_code == "1306"

    waiting = await provider.follow_decision(sid, interval=0.05, give_up_after=0.3)
    assert not waiting.decided  # the resubmission decision is the previous attempt's
    await sandbox.admin("POST", f"/veriff/sessions/{sid}/status", {"status": "approved"})
    decided = await provider.follow_decision(sid, interval=0.05)
    assert decided.status == "approved"
    assert await provider.session_status(sid) == "approved"


async def test_unknown_integration_message_names_the_fix_once(sandbox: SandboxEndpoint) -> None:
    unknown = sandbox.connect(
        veriff, credentials={"api_key": str(uuid.uuid4()), "shared_secret": SECRET}
    )
    with pytest.raises(AuthenticationFailed) as exc:
        await unknown.test_connection()
    assert exc.value.user_message.count("Open Credentials") == 1


async def test_veriff_429_without_retry_after_on_delete_is_explained(
    sandbox: SandboxEndpoint,
) -> None:
    """§4: Veriff documents no Retry-After; the message must not promise "within the hour"."""
    provider = await _provider(sandbox)
    sid = (await provider.create_session(VeriffSessionRequest())).id
    await sandbox.fault(path=f"/veriff/v1/sessions/{sid}$", method="DELETE", status=429)
    with pytest.raises(RateLimited) as limited:
        await provider.delete_session(sid)
    message = limited.value.user_message
    assert "within an hour" in message
    assert "24 hours" in message
    assert "may be possible within the hour" not in message
