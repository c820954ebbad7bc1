"""GLAIR Vision client against the sandbox (in-process and socket) and, marked live, GLAIR.

Live run: set FACEDESK_LIVE_GLAIR_USERNAME, FACEDESK_LIVE_GLAIR_PASSWORD,
FACEDESK_LIVE_GLAIR_API_KEY (and optionally FACEDESK_LIVE_GLAIR_BASE_URL), then
`pytest tests/contract/test_glair.py -m live`. Live tests use only synthetic images and assert
only what the contract guarantees (typed results, session lifecycle, error classes).
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from app.domain import EncodedImage, ImageFormat, Verdict
from app.errors import (
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import ProviderContext, make_client
from app.sandbox.app import IN_PROCESS_ORIGIN, SandboxTransport, create_sandbox_app
from app.sandbox.state import SandboxState
from app.store import Store
from app.vendors.glair import client as glair
from app.vendors.glair.types import GESTURES, SessionKind, SessionStatus
from tests.contract.conftest import SandboxEndpoint

LIVE_VARS = (
    "FACEDESK_LIVE_GLAIR_USERNAME",
    "FACEDESK_LIVE_GLAIR_PASSWORD",
    "FACEDESK_LIVE_GLAIR_API_KEY",
)
API = "/glair/face/v1"
SANDBOX_AUTH = ("sandbox", "sandbox")
SANDBOX_KEY = {"x-api-key": "sandbox-glair-key"}


# --- images ------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> EncodedImage:
    out = io.BytesIO()
    image.save(out, fmt, quality=quality) if fmt == "JPEG" else image.save(out, fmt)
    kind = ImageFormat.JPEG if fmt == "JPEG" else ImageFormat.PNG
    return EncodedImage(out.getvalue(), kind, image.width, image.height)


@functools.lru_cache(maxsize=64)
def noisy(seed: int, size: tuple[int, int] = (400, 500), gray: bool = False) -> Image.Image:
    """A colourful (or gray) noisy picture with big blocks: a 'face' for the sandbox."""
    rng = random.Random(seed)
    blocks = Image.new("RGB", (10, 10))
    blocks.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(100)]
    )
    image = blocks.resize(size, Image.Resampling.NEAREST)
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).convert("RGB")
    image = Image.blend(image, noise, 0.1)
    return image.convert("L").convert("RGB") if gray else image


def photo(seed: int = 1, **kwargs: Any) -> EncodedImage:
    return _encode(noisy(seed, **kwargs))


def blank() -> EncodedImage:
    return _encode(Image.new("RGB", (400, 500), (128, 128, 128)))


def gif_bytes() -> EncodedImage:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 200, 30)).save(out, "GIF")
    return EncodedImage(out.getvalue(), ImageFormat.JPEG, 50, 50)


# --- endpoints: the sandbox both ways, and GLAIR itself when credentials are set ---------------


class LiveEndpoint:
    mode = "live"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clients: list[httpx.AsyncClient] = []

    def connect(self, module: Any = glair, *, credentials: dict[str, str] | None = None) -> Any:
        creds = credentials or {
            "username": os.environ[LIVE_VARS[0]],
            "password": os.environ[LIVE_VARS[1]],
            "api_key": os.environ[LIVE_VARS[2]],
        }
        client = make_client()
        self.clients.append(client)

        async def credential(name: str) -> str:
            return creds[name]

        base = os.environ.get("FACEDESK_LIVE_GLAIR_BASE_URL", "https://api.vision.glair.ai")
        return module.create(
            ProviderContext(
                info=module.INFO,
                connection="Live",
                profile_key="glair.Live",
                fields={"base_url": base, "api_version": "v1"},
                http=client,
                credential=credential,
                store=self.store,
                is_sandbox=False,
            )
        )


@pytest.fixture
def socket_endpoint(socket_sandbox: Any, tmp_path: Any) -> SandboxEndpoint:
    socket_sandbox.state.reset()
    return SandboxEndpoint(
        "socket",
        socket_sandbox.origin,
        socket_sandbox.state,
        lambda: httpx.AsyncHTTPTransport(),
        Store(tmp_path / "socket.sqlite3"),
    )


@pytest.fixture(
    params=["in_process", "socket", pytest.param("live", marks=pytest.mark.live)],
)
async def endpoint(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    """Where contract-level tests run: both sandbox transports, and GLAIR when marked live."""
    store = Store(tmp_path / "glair.sqlite3")
    found: Any
    if request.param == "live":
        if not all(os.environ.get(name) for name in LIVE_VARS):
            pytest.skip(f"set {', '.join(LIVE_VARS)} to run against GLAIR")
        found = LiveEndpoint(store)
    elif request.param == "in_process":
        app, state = create_sandbox_app(SandboxState())
        found = SandboxEndpoint(
            "in_process", IN_PROCESS_ORIGIN, state, lambda: SandboxTransport(app), store
        )
    else:
        server = request.getfixturevalue("socket_sandbox")
        server.state.reset()
        found = SandboxEndpoint(
            "socket", server.origin, server.state, lambda: httpx.AsyncHTTPTransport(), store
        )
    yield found
    for client in found.clients:
        await client.aclose()
    store.close()


def raw_client(sandbox: SandboxEndpoint) -> httpx.AsyncClient:
    """A plain httpx client on the sandbox, redirects not followed, no FaceDesk rules."""
    client = httpx.AsyncClient(transport=sandbox.transport_factory(), follow_redirects=False)
    sandbox.clients.append(client)
    return client


# --- contract-level: every operation, also live -------------------------------------------------


async def test_connection_test_accepts_the_credentials(endpoint: Any) -> None:
    provider = endpoint.connect(glair)
    assert "accepted" in await provider.test_connection()


async def test_wrong_password_is_an_authentication_failure(endpoint: Any) -> None:
    provider = endpoint.connect(
        glair, credentials={"username": "sandbox", "password": "wrong", "api_key": "nope"}
    )
    with pytest.raises(AuthenticationFailed) as caught:
        await provider.match_faces(photo(1), photo(2))
    assert "Credentials" in caught.value.user_message
    assert caught.value.http_status == 401


async def test_face_match_returns_a_typed_verdict(endpoint: Any) -> None:
    result = await endpoint.connect(glair).match_faces(photo(3), photo(3))
    assert result.verdict in set(Verdict)
    assert "Match status code" in result.details
    assert result.request_id


async def test_passive_liveness_returns_a_typed_verdict(endpoint: Any) -> None:
    result = await endpoint.connect(glair).check_liveness(photo(4))
    assert result.verdict in set(Verdict)
    assert result.raw["result"]


async def test_active_liveness_returns_a_typed_verdict(endpoint: Any) -> None:
    result = await endpoint.connect(glair).check_active_liveness(photo(5), "HEAD_LEFT")
    assert result.details["Requested gesture"].startswith("HEAD_LEFT")


@pytest.mark.parametrize("kind", list(SessionKind))
async def test_session_is_created_pending_and_retrievable(endpoint: Any, kind: SessionKind) -> None:
    provider = endpoint.connect(glair)
    created = await provider.create_session(
        kind, success_url="https://example.com/done", cancel_url="https://example.com/back"
    )
    assert created.status is SessionStatus.PENDING
    assert len(created.sid) >= 8
    assert created.url.rstrip("/").endswith(created.sid)
    assert created.cancel_url == "https://example.com/back"
    fetched = await provider.get_session(kind, created.sid)
    assert fetched.sid == created.sid
    assert fetched.status is SessionStatus.PENDING
    assert fetched.result is None
    assert fetched.expires_at is not None


async def test_active_session_echoes_number_of_gestures(endpoint: Any) -> None:
    provider = endpoint.connect(glair)
    default = await provider.create_session(
        SessionKind.ACTIVE, success_url="https://example.com/done"
    )
    three = await provider.create_session(
        SessionKind.ACTIVE, success_url="https://example.com/done", number_of_gestures=3
    )
    assert default.number_of_gestures == 1
    assert three.number_of_gestures == 3
    assert default.cancel_url is None


async def test_unknown_session_is_not_found(endpoint: Any) -> None:
    with pytest.raises(NotFound) as caught:
        await endpoint.connect(glair).get_session(SessionKind.PASSIVE, "0" * 32)
    assert "24 hours" in caught.value.user_message


async def test_relative_success_url_is_rejected(endpoint: Any) -> None:
    with pytest.raises(RequestRejected) as caught:
        await endpoint.connect(glair).create_session(SessionKind.PASSIVE, success_url="/done")
    assert caught.value.http_status == 400


async def test_non_image_upload_is_rejected_as_unsupported_type(endpoint: Any) -> None:
    with pytest.raises(RequestRejected) as caught:
        await endpoint.connect(glair).check_liveness(gif_bytes())
    assert caught.value.http_status == 415
    assert "JPEG or PNG" in caught.value.user_message


# --- sandbox semantics (deterministic stand-ins) -------------------------------------------------


async def test_same_photo_reencoded_matches(sandbox: SandboxEndpoint) -> None:
    image = noisy(7)
    result = await sandbox.connect(glair).match_faces(
        _encode(image, quality=95), _encode(image.resize((300, 375)), quality=70)
    )
    assert result.verdict is Verdict.POSITIVE
    assert result.score is not None
    assert result.score.value > 0.75
    assert result.score.scale == "0–1 fraction"
    assert result.raw["result"]["match_status_code"] == "MATCH"


async def test_different_photos_do_not_match(sandbox: SandboxEndpoint) -> None:
    result = await sandbox.connect(glair).match_faces(photo(8), photo(9))
    assert result.verdict is Verdict.NEGATIVE
    assert result.score is not None
    assert result.score.value < 0.75


@pytest.mark.parametrize(
    ("reference", "probe", "code", "headline"),
    [
        ("blank", "face", "NO_FACE_STORED_IMG", "No face in the ID photo"),
        ("face", "blank", "NO_FACE_CAPTURED_IMG", "No face in the selfie"),
        ("strip", "face", "MANY_FACES_STORED_IMG", "Several faces in the ID photo"),
        ("face", "strip", "MANY_FACES_CAPTURED_IMG", "Several faces in the selfie"),
    ],
)
async def test_face_detection_problems_are_inconclusive_with_an_explanation(
    sandbox: SandboxEndpoint, reference: str, probe: str, code: str, headline: str
) -> None:
    images = {"blank": blank(), "face": photo(10), "strip": photo(11, size=(1000, 400))}
    result = await sandbox.connect(glair).match_faces(images[reference], images[probe])
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.headline == headline
    assert result.details["Match status code"] == code
    assert result.score is None
    assert result.reasons


async def test_match_accepts_json_base64_and_refuses_data_prefix(sandbox: SandboxEndpoint) -> None:
    import base64

    client = raw_client(sandbox)
    a = base64.b64encode(photo(12).data).decode()
    ok = await client.post(
        f"{sandbox.origin}{API}/match",
        json={"captured_image": a, "stored_image": a},
        auth=SANDBOX_AUTH,
        headers=SANDBOX_KEY,
    )
    assert ok.status_code == 200
    assert ok.json()["result"]["match_status_code"] == "MATCH"
    prefixed = await client.post(
        f"{sandbox.origin}{API}/match",
        json={"captured_image": "data:image/jpeg;base64," + a, "stored_image": a},
        auth=SANDBOX_AUTH,
        headers=SANDBOX_KEY,
    )
    assert prefixed.status_code == 400
    assert "error" in prefixed.json()


async def test_match_sniffs_parts_sent_as_octet_stream_blobs(sandbox: SandboxEndpoint) -> None:
    data = photo(13).data
    response = await raw_client(sandbox).post(
        f"{sandbox.origin}{API}/match",
        files={
            "captured_image": ("blob", data, "application/octet-stream"),
            "stored_image": ("blob", data, "application/octet-stream"),
        },
        auth=SANDBOX_AUTH,
        headers={**SANDBOX_KEY, "GLAIR-Vision-Java-SDK-Version": "1.0", "x-request-id": "r-1"},
    )
    assert response.status_code == 200
    assert response.headers["request-id"] == "r-1"


async def test_missing_match_field_is_rejected(sandbox: SandboxEndpoint) -> None:
    response = await raw_client(sandbox).post(
        f"{sandbox.origin}{API}/match",
        files={"captured_image": ("blob", photo(14).data, "application/octet-stream")},
        auth=SANDBOX_AUTH,
        headers=SANDBOX_KEY,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "stored_image is required"}


async def test_colour_photo_is_live_and_gray_photo_is_spoof(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    live = await provider.check_liveness(photo(15))
    spoof = await provider.check_liveness(_encode(noisy(15, gray=True)))
    assert live.verdict is Verdict.POSITIVE
    assert live.details["Spoof status"] == "LOW"
    assert spoof.verdict is Verdict.NEGATIVE
    assert spoof.details["Spoof status"] == "HIGH"
    assert spoof.score is not None
    assert spoof.score.value > 0.7
    assert spoof.raw["status"] == "success"  # §2: HIGH still comes with "success"


async def test_passive_liveness_without_face_is_inconclusive(sandbox: SandboxEndpoint) -> None:
    result = await sandbox.connect(glair).check_liveness(blank())
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.headline == "No face found"


async def test_active_liveness_gesture_match_and_mismatch(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    shown = await provider.check_active_liveness(photo(16), "HAND_01100")
    wrong = await provider.check_active_liveness(_encode(noisy(16, gray=True)), "HAND_01100")
    no_hand = await provider.check_active_liveness(blank(), "HAND_01100")
    assert shown.verdict is Verdict.POSITIVE
    assert wrong.verdict is Verdict.NEGATIVE
    assert "Detected gesture" in wrong.details
    assert no_hand.verdict is Verdict.INCONCLUSIVE
    assert no_hand.headline == "No hand found"


async def test_active_liveness_refuses_unknown_gesture_before_sending(
    sandbox: SandboxEndpoint,
) -> None:
    with pytest.raises(RequestRejected):
        await sandbox.connect(glair).check_active_liveness(photo(17), "HAND_22222")
    response = await raw_client(sandbox).post(
        f"{sandbox.origin}{API}/active-liveness",
        files={"image": ("blob", photo(17).data, "application/octet-stream")},
        data={"gesture-code": "HAND_22222"},
        auth=SANDBOX_AUTH,
        headers=SANDBOX_KEY,
    )
    assert response.status_code == 400
    assert all(code.startswith(("HAND_", "HEAD_")) for code in GESTURES)


async def test_number_of_gestures_out_of_range_is_rejected(sandbox: SandboxEndpoint) -> None:
    with pytest.raises(RequestRejected) as caught:
        await sandbox.connect(glair).create_session(
            SessionKind.ACTIVE, success_url="https://example.com/done", number_of_gestures=0
        )
    assert "number_of_gestures" in caught.value.user_message


# --- auth and the shape of every answer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "auth", "status"),
    [
        ({}, SANDBOX_AUTH, 401),  # missing API key
        (SANDBOX_KEY, None, 401),  # missing Basic auth
        (SANDBOX_KEY, ("sandbox", "nope"), 401),  # wrong password
        ({"x-api-key": "other"}, SANDBOX_AUTH, 401),  # wrong key (configurable, see below)
    ],
)
async def test_auth_failures_answer_the_documented_json(
    sandbox: SandboxEndpoint, headers: dict[str, str], auth: Any, status: int
) -> None:
    response = await raw_client(sandbox).get(
        f"{sandbox.origin}{API}/passive-liveness-sessions/x", headers=headers, auth=auth
    )
    assert response.status_code == status
    assert response.json() == {"error": "Access to this API has been disallowed"}
    assert response.headers["request-id"]


async def test_unknown_paths_and_methods_answer_json(sandbox: SandboxEndpoint) -> None:
    client = raw_client(sandbox)
    missing = await client.get(f"{sandbox.origin}/glair/face/v2/match")
    wrong_method = await client.get(f"{sandbox.origin}{API}/match")
    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.headers["content-type"].startswith("application/json")
        assert "error" in response.json()
        assert response.headers["request-id"]


async def test_wrong_key_as_403_and_denied_feature_are_permission_errors(
    sandbox: SandboxEndpoint,
) -> None:
    await sandbox.admin("PUT", "/settings", {"glair.wrong_key_status": 403})
    bad_key = sandbox.connect(
        glair, credentials={"username": "sandbox", "password": "sandbox", "api_key": "other"}
    )
    with pytest.raises(PermissionDenied) as caught:
        await bad_key.check_liveness(photo(18))
    assert "API key" in caught.value.user_message
    await sandbox.admin("PUT", "/settings", {"glair.denied_operations": ["passive-liveness"]})
    with pytest.raises(PermissionDenied) as denied:
        await sandbox.connect(glair).check_liveness(photo(18))
    assert "passive liveness" in denied.value.user_message


# --- failure classes via fault injection ---------------------------------------------------------


async def test_rate_limit_carries_retry_after(sandbox: SandboxEndpoint) -> None:
    await sandbox.fault(
        kind="status",
        path="/glair/face/v1/match",
        status=429,
        body={"error": "Too many requests"},
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RateLimited) as caught:
        await sandbox.connect(glair).match_faces(photo(1), photo(1))
    assert caught.value.retry_after == 7
    assert "7 s" in caught.value.user_message


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_unavailable(sandbox: SandboxEndpoint, status: int) -> None:
    await sandbox.fault(kind="status", path="/passive-liveness$", status=status)
    with pytest.raises(ProviderUnavailable) as caught:
        await sandbox.connect(glair).check_liveness(photo(1))
    assert caught.value.http_status == status
    assert "server problem" in caught.value.user_message


async def test_malformed_json_is_an_unexpected_response(sandbox: SandboxEndpoint) -> None:
    await sandbox.fault(kind="malformed", path="/match$")
    with pytest.raises(UnexpectedResponse):
        await sandbox.connect(glair).match_faces(photo(1), photo(1))


async def test_non_json_success_is_unexpected_and_non_json_error_is_unavailable(
    sandbox: SandboxEndpoint,
) -> None:
    provider = sandbox.connect(glair)
    await sandbox.fault(kind="non_json", path="/passive-liveness$", status=200)
    with pytest.raises(UnexpectedResponse):
        await provider.check_liveness(photo(1))
    await sandbox.fault(kind="non_json", path="/passive-liveness$", status=502)
    with pytest.raises(ProviderUnavailable):
        await provider.check_liveness(photo(1))


async def test_wrong_shape_is_an_unexpected_response(sandbox: SandboxEndpoint) -> None:
    await sandbox.fault(kind="status", path="/match$", status=200, body={"status": "success"})
    with pytest.raises(UnexpectedResponse):
        await sandbox.connect(glair).match_faces(photo(1), photo(1))


async def test_detection_failure_sent_as_400_is_still_a_verdict(sandbox: SandboxEndpoint) -> None:
    body = {
        "status": "failed",
        "result": {
            "match_percentage": 0,
            "match_status": "",
            "match_status_code": "NO_FACE_CAPTURED_IMG",
        },
    }
    await sandbox.fault(kind="status", path="/match$", status=400, body=body)
    result = await sandbox.connect(glair).match_faces(photo(1), photo(1))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.headline == "No face in the selfie"


async def test_timeout_is_unavailable(sandbox: SandboxEndpoint) -> None:
    await sandbox.fault(kind="delay", path="/passive-liveness-sessions", delay=1.0)
    provider = sandbox.connect(glair, timeout=httpx.Timeout(0.2))
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.get_session(SessionKind.PASSIVE, "a" * 32)
    assert "did not answer in time" in caught.value.user_message


async def test_dropped_connection_is_unavailable(sandbox: SandboxEndpoint) -> None:
    await sandbox.fault(kind="drop", path="/passive-liveness-sessions$")
    with pytest.raises(ProviderUnavailable) as caught:
        await sandbox.connect(glair).create_session(
            SessionKind.PASSIVE, success_url="https://example.com/done"
        )
    assert "dropped" in caught.value.user_message


# --- sessions: expiry, admin hooks, hosted page, watcher ----------------------------------------


async def test_session_expires_after_24_hours_of_sandbox_time(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done"
    )
    await sandbox.admin("POST", "/clock", {"seconds": 23 * 3600})
    assert (await provider.get_session(SessionKind.PASSIVE, session.sid)).sid == session.sid
    await sandbox.admin("POST", "/clock", {"seconds": 3600})
    with pytest.raises(NotFound):
        await provider.get_session(SessionKind.PASSIVE, session.sid)


async def test_session_kinds_do_not_mix(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done"
    )
    with pytest.raises(NotFound):
        await provider.get_session(SessionKind.ACTIVE, session.sid)


@pytest.mark.parametrize(
    ("outcome", "verdict", "band"),
    [("live", Verdict.POSITIVE, "LOW"), ("spoof", Verdict.NEGATIVE, "HIGH")],
)
async def test_admin_completes_a_session_with_the_chosen_outcome(
    sandbox: SandboxEndpoint, outcome: str, verdict: Verdict, band: str
) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done?ref=1"
    )
    done = await sandbox.admin(
        "POST", f"/glair/sessions/{session.sid}/complete", {"outcome": outcome}
    )
    assert done["redirect"] == f"https://example.com/done?ref=1&sid={session.sid}"
    finished = await provider.get_session(SessionKind.PASSIVE, session.sid)
    assert finished.status is SessionStatus.FINISHED
    assert finished.result is not None
    assert finished.result.verdict is verdict
    assert finished.result.details["Spoof status"] == band


async def test_active_session_result_lists_gestures(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.ACTIVE, success_url="https://example.com/done", number_of_gestures=2
    )
    await sandbox.admin("POST", f"/glair/sessions/{session.sid}/complete", {"outcome": "spoof"})
    finished = await provider.get_session(SessionKind.ACTIVE, session.sid)
    assert finished.result is not None
    assert finished.result.verdict is Verdict.NEGATIVE
    assert "Gesture 2" in finished.result.details


async def test_forced_status_and_tolerated_result_variants(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done"
    )
    path = f"/glair/sessions/{session.sid}/status"
    await sandbox.admin("POST", path, {"status": "PENDING", "result": {}})
    assert (await provider.get_session(SessionKind.PASSIVE, session.sid)).result is None
    flat = {"spoof_percentage": 0.8, "spoof_status": "HIGH"}  # the Next.js example's naming
    await sandbox.admin("POST", path, {"status": "FINISHED", "result": flat})
    finished = await provider.get_session(SessionKind.PASSIVE, session.sid)
    assert finished.result is not None
    assert finished.result.verdict is Verdict.NEGATIVE
    await sandbox.admin("POST", path, {"status": "EXPIRED"})
    with pytest.raises(NotFound):
        await provider.get_session(SessionKind.PASSIVE, session.sid)


async def test_hosted_page_offers_cancel_only_with_a_cancel_url(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    with_cancel = await provider.create_session(
        SessionKind.PASSIVE,
        success_url="https://example.com/ok",
        cancel_url="https://example.com/no",
    )
    without = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/ok"
    )
    client = raw_client(sandbox)
    page = await client.get(with_cancel.url)
    assert page.status_code == 200
    assert "Complete as live" in page.text
    assert "Cancel" in page.text
    assert "Cancel" not in (await client.get(without.url)).text
    cancelled = await client.post(with_cancel.url, data={"outcome": "cancel"})
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "https://example.com/no"
    still = await provider.get_session(SessionKind.PASSIVE, with_cancel.sid)
    assert still.status is SessionStatus.PENDING


async def test_watch_reports_expiry(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done"
    )
    seen = []
    async for update in provider.watch_session(
        SessionKind.PASSIVE, session.sid, initial_interval=0.01, max_interval=0.02
    ):
        seen.append(update.status)
        if len(seen) == 2:
            await sandbox.admin("POST", "/clock", {"seconds": 24 * 3600 + 1})
    assert seen[0] is SessionStatus.PENDING
    assert seen[-1] is SessionStatus.EXPIRED


async def test_watch_rides_out_a_transient_server_error(sandbox: SandboxEndpoint) -> None:
    provider = sandbox.connect(glair)
    session = await provider.create_session(
        SessionKind.PASSIVE, success_url="https://example.com/done"
    )
    await sandbox.fault(kind="status", path=f"/{session.sid}$", status=503, count=2)
    await sandbox.admin("POST", f"/glair/sessions/{session.sid}/complete", {"outcome": "live"})
    updates = [
        u
        async for u in provider.watch_session(
            SessionKind.PASSIVE, session.sid, initial_interval=0.01
        )
    ]
    assert [u.status for u in updates] == [SessionStatus.FINISHED]


async def test_pending_session_completed_on_the_hosted_page_is_seen_finished_by_the_watcher(
    socket_endpoint: SandboxEndpoint,
) -> None:
    """Done-when: end user completes the hosted page over a real socket; the watcher notices."""
    sandbox = socket_endpoint
    provider = sandbox.connect(glair)
    success_url = f"{sandbox.origin}/glair/hosted/return?case=42"
    session = await provider.create_session(SessionKind.ACTIVE, success_url=success_url)
    assert session.url.startswith(sandbox.origin)

    updates: list[Any] = []

    async def watch() -> None:
        async for update in provider.watch_session(
            SessionKind.ACTIVE, session.sid, initial_interval=0.05, max_interval=0.2
        ):
            updates.append(update)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.15)
    assert not watcher.done()
    assert updates
    assert updates[-1].status is SessionStatus.PENDING

    # The end user's browser: open the page, press "Complete as live", follow the redirect.
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(session.url)
        assert "Complete as live" in page.text
        answer = await browser.post(session.url, data={"outcome": "live"})
        assert answer.status_code == 303
        location = answer.headers["location"]
        query = parse_qs(urlsplit(location).query)
        assert query == {"case": ["42"], "sid": [session.sid]}
        landing = await browser.get(location)
        assert landing.status_code == 200
        assert session.sid in landing.text

    await asyncio.wait_for(watcher, timeout=5)
    final = updates[-1]
    assert final.status is SessionStatus.FINISHED
    assert final.result is not None
    assert final.result.verdict is Verdict.POSITIVE
    sandbox.store.close()
    for client in sandbox.clients:
        await client.aclose()


# --- review fixes ---------------------------------------------------------------------------------


async def test_not_found_on_session_creation_points_at_the_connection_settings(
    sandbox: SandboxEndpoint,
) -> None:
    """A 404 on create means a wrong base URL or version, not an unknown session id."""
    await sandbox.fault(
        kind="status",
        path="/passive-liveness-sessions$",
        method="POST",
        status=404,
        body={"error": "not found"},
    )
    with pytest.raises(NotFound) as caught:
        await sandbox.connect(glair).create_session(
            SessionKind.PASSIVE, success_url="https://example.com/done"
        )
    assert "base URL" in caught.value.user_message
    assert "no passive liveness session" not in caught.value.user_message


async def test_unknown_session_message_names_the_type_to_check(sandbox: SandboxEndpoint) -> None:
    with pytest.raises(NotFound) as caught:
        await sandbox.connect(glair).get_session(SessionKind.ACTIVE, "0" * 32)
    assert "active liveness" in caught.value.user_message
    assert "other type" in caught.value.user_message


async def test_connection_test_fails_when_the_base_url_answers_a_non_glair_404(
    sandbox: SandboxEndpoint,
) -> None:
    """A web server's HTML 404 proves nothing about the credentials (§0: GLAIR answers JSON)."""
    await sandbox.fault(kind="non_json", path="/passive-liveness-sessions/", status=404)
    with pytest.raises(NotFound) as caught:
        await sandbox.connect(glair).test_connection()
    assert "base URL" in caught.value.user_message


async def test_api_key_that_http_cannot_carry_is_a_configuration_error(
    sandbox: SandboxEndpoint,
) -> None:
    """A key pasted with a curly quote must not crash the app with a UnicodeEncodeError."""
    provider = sandbox.connect(
        glair,
        credentials={"username": "sandbox", "password": "sandbox", "api_key": "sandbox-key\u2019"},
    )
    with pytest.raises(ConfigurationError) as caught:
        await provider.get_session(SessionKind.PASSIVE, "0" * 32)
    assert "API key" in caught.value.user_message
    assert "Credentials" in caught.value.user_message
    assert "sandbox-key" not in caught.value.user_message


async def test_non_ascii_api_key_gets_the_documented_json_refusal(sandbox: SandboxEndpoint) -> None:
    response = await raw_client(sandbox).get(
        f"{sandbox.origin}{API}/passive-liveness-sessions/x",
        auth=SANDBOX_AUTH,
        headers={"x-api-key": "cl\xe9".encode("latin-1")},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Access to this API has been disallowed"}


async def test_trailing_slash_answers_json_not_a_bodiless_redirect(
    sandbox: SandboxEndpoint,
) -> None:
    """Emulator rule 3: every answer has a JSON body."""
    response = await raw_client(sandbox).get(
        f"{sandbox.origin}{API}/passive-liveness-sessions/", auth=SANDBOX_AUTH, headers=SANDBOX_KEY
    )
    assert response.status_code == 404
    assert "error" in response.json()


async def test_create_answer_lists_expired_and_a_null_result(sandbox: SandboxEndpoint) -> None:
    """§4a: the create object also lists `expired` and `result` ("include them")."""
    response = await raw_client(sandbox).post(
        f"{sandbox.origin}{API}/passive-liveness-sessions",
        json={"success_url": "https://example.com/done"},
        auth=SANDBOX_AUTH,
        headers=SANDBOX_KEY,
    )
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["cancel_url"] is None
    assert isinstance(body["expired"], int)
    assert "result" in body
    assert body["result"] is None


async def test_sid_is_appended_to_the_success_url_query_verbatim(sandbox: SandboxEndpoint) -> None:
    """§4a: GLAIR appends `sid`; the operator's own query string is kept byte for byte."""
    provider = sandbox.connect(glair)
    success_url = "https://example.com/done?next=%2Fcase%2F7&flag#top"
    session = await provider.create_session(SessionKind.PASSIVE, success_url=success_url)
    done = await sandbox.admin("POST", f"/glair/sessions/{session.sid}/complete", {})
    assert (
        done["redirect"] == f"https://example.com/done?next=%2Fcase%2F7&flag&sid={session.sid}#top"
    )
