"""Azure AI Face client against the sandbox (in-process and socket), in all four API versions."""

from __future__ import annotations

import base64
import io
import os
import random
from typing import Any

import httpx
import pytest
from PIL import Image

from app.domain import EncodedImage, ImageFormat, Verdict
from app.errors import (
    AuthenticationFailed,
    CapabilityNotSupported,
    CredentialsMissing,
    NotFound,
    OperationRefused,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.vendors.azure_face import client as azure_face
from app.vendors.azure_face.types import API_VERSIONS, SessionKind, SessionOptions
from tests.contract.conftest import SandboxEndpoint

PREVIEW = ("v1.1-preview.1", "v1.2-preview.1")
GA = ("v1.2", "v1.3-preview.1")


def photo(seed: int, size: tuple[int, int] = (400, 500), quality: int = 90) -> EncodedImage:
    """A colourful noisy JPEG: same seed → same "person", different seed → someone else."""
    rng = random.Random(seed)
    width, height = size
    small = Image.new("RGB", (16, 20))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(16 * 20)]
    )
    image = small.resize(size, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(size, 20).convert("RGB")
    image = Image.blend(image, noise, 0.1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return EncodedImage(out.getvalue(), ImageFormat.JPEG, width, height, source_name="test.jpg")


def blank() -> EncodedImage:
    """A nearly uniform frame (no face in the sandbox), large enough to pass the 1 KB minimum."""
    rng = random.Random(7)
    image = Image.new("RGB", (300, 300))
    image.putdata([(120 + rng.randrange(3),) * 3 for _ in range(300 * 300)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return EncodedImage(out.getvalue(), ImageFormat.PNG, 300, 300)


def connect(sandbox: SandboxEndpoint, version: str = "v1.2", **kwargs: Any) -> Any:
    return sandbox.connect(azure_face, fields={"api_version": version}, **kwargs)


async def simulate(
    sandbox: SandboxEndpoint, session_id: str, outcome: str = "realface", **extra: Any
) -> Any:
    return await sandbox.admin(
        "POST", f"/azure/sessions/{session_id}/simulate", {"outcome": outcome, **extra}
    )


def b64(image: EncodedImage) -> str:
    return base64.b64encode(image.data).decode()


def options(**kwargs: Any) -> SessionOptions:
    kwargs.setdefault("device_correlation_id", "device-1")
    return SessionOptions(**kwargs)


# --- liveness sessions, every version ----------------------------------------------------------


@pytest.mark.parametrize("version", API_VERSIONS)
async def test_liveness_session_lifecycle_and_exact_delete(
    sandbox: SandboxEndpoint, version: str
) -> None:
    provider = connect(sandbox, version)
    created = await provider.create_session(SessionKind.LIVENESS, options())
    assert created.auth_token
    assert "authToken" not in repr(created)
    assert created.request_id
    fetched = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert fetched.status == "NotStarted"
    assert fetched.check_result().verdict is Verdict.PENDING

    await simulate(sandbox, created.session_id, "realface")
    done = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert done.status == ("ResultAvailable" if version in PREVIEW else "Succeeded")
    assert done.latest is not None
    assert done.latest.decision == "realface"
    assert done.latest.face is not None
    assert done.check_result().verdict is Verdict.POSITIVE

    await provider.delete_session(SessionKind.LIVENESS, created.session_id)
    with pytest.raises(NotFound) as info:
        await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert info.value.vendor_code == "SessionNotFound"
    with pytest.raises(NotFound):
        await provider.delete_session(SessionKind.LIVENESS, created.session_id)


@pytest.mark.parametrize("version", API_VERSIONS)
async def test_liveness_with_verify_scores_against_reference(
    sandbox: SandboxEndpoint, version: str
) -> None:
    provider = connect(sandbox, version)
    reference = photo(1)
    created = await provider.create_session(
        SessionKind.LIVENESS_WITH_VERIFY, options(verify_image=reference)
    )
    assert created.verify_reference is not None
    assert created.verify_reference.face is not None
    same = photo(1, quality=70)
    await simulate(sandbox, created.session_id, "realface", image_base64=b64(same))
    result = await provider.get_session(SessionKind.LIVENESS_WITH_VERIFY, created.session_id)
    attempt = result.latest
    assert attempt is not None
    assert attempt.is_identical is True
    assert attempt.match_confidence is not None
    assert attempt.match_confidence > 0.8
    assert result.check_result().verdict is Verdict.POSITIVE
    await provider.delete_session(SessionKind.LIVENESS_WITH_VERIFY, created.session_id)


@pytest.mark.parametrize("version", ["v1.2-preview.1", "v1.2"])
async def test_verify_session_with_someone_else_is_not_identical(
    sandbox: SandboxEndpoint, version: str
) -> None:
    provider = connect(sandbox, version)
    created = await provider.create_session(
        SessionKind.LIVENESS_WITH_VERIFY,
        options(verify_image=photo(1), verify_confidence_threshold=0.6),
    )
    await simulate(sandbox, created.session_id, "realface", image_base64=b64(photo(99)))
    result = await provider.get_session(SessionKind.LIVENESS_WITH_VERIFY, created.session_id)
    assert result.latest is not None
    assert result.latest.is_identical is False
    assert result.check_result().verdict is Verdict.NEGATIVE


@pytest.mark.parametrize(
    ("outcome", "verdict"), [("spoofface", Verdict.NEGATIVE), ("uncertain", Verdict.INCONCLUSIVE)]
)
async def test_other_outcomes_map_to_verdicts(
    sandbox: SandboxEndpoint, outcome: str, verdict: Verdict
) -> None:
    provider = connect(sandbox, "v1.3-preview.1")
    created = await provider.create_session(SessionKind.LIVENESS, options())
    await simulate(sandbox, created.session_id, outcome)
    result = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert result.check_result().verdict is verdict


async def test_ga_attempts_newest_first_and_failed_attempt_error(
    sandbox: SandboxEndpoint,
) -> None:
    provider = connect(sandbox, "v1.2")
    created = await provider.create_session(SessionKind.LIVENESS, options())
    await simulate(sandbox, created.session_id, "error", error_code="FaceWithMaskDetected")
    running = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert running.status == "Running"
    assert running.latest is not None
    assert running.latest.error_code == "FaceWithMaskDetected"
    await simulate(sandbox, created.session_id, "realface")
    result = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert [a.attempt_id for a in result.attempts] == [2, 1]
    assert result.status == "Succeeded"


@pytest.mark.parametrize("version", PREVIEW)
async def test_preview_list_is_paged_with_start_and_top(
    sandbox: SandboxEndpoint, version: str
) -> None:
    provider = connect(sandbox, version)
    ids = sorted(
        [
            (await provider.create_session(SessionKind.LIVENESS, options())).session_id
            for _ in range(3)
        ]
    )
    first = await provider.list_sessions(SessionKind.LIVENESS, top=2)
    assert [s.session_id for s in first.items] == ids[:2]
    assert first.next_start == ids[1]
    second = await provider.list_sessions(SessionKind.LIVENESS, start=first.next_start, top=2)
    assert [s.session_id for s in second.items] == ids[2:]
    assert second.next_start is None
    assert all(s.device_correlation_id == "device-1" for s in first.items)
    verify_list = await provider.list_sessions(SessionKind.LIVENESS_WITH_VERIFY)
    assert verify_list.items == ()


@pytest.mark.parametrize("version", PREVIEW)
async def test_preview_audit_entries_are_paged(sandbox: SandboxEndpoint, version: str) -> None:
    provider = connect(sandbox, version)
    created = await provider.create_session(
        SessionKind.LIVENESS_WITH_VERIFY, options(verify_image=photo(3))
    )
    await simulate(sandbox, created.session_id, "error")
    await simulate(sandbox, created.session_id, "realface", image_base64=b64(photo(3)))
    page = await provider.audit_entries(SessionKind.LIVENESS_WITH_VERIFY, created.session_id, top=1)
    assert len(page.items) == 1
    assert page.items[0].attempt.error_code == "FaceWithMaskDetected"
    assert page.next_start == str(page.items[0].entry_id)
    rest = await provider.audit_entries(
        SessionKind.LIVENESS_WITH_VERIFY, created.session_id, start=page.next_start
    )
    assert len(rest.items) == 1
    assert rest.items[0].attempt.decision == "realface"
    assert rest.items[0].attempt.is_identical is True
    assert rest.items[0].url == f"/face/{version}/detectLivenessWithVerify/singleModal"


@pytest.mark.parametrize("version", GA)
async def test_ga_family_cannot_list_or_audit(sandbox: SandboxEndpoint, version: str) -> None:
    provider = connect(sandbox, version)
    assert not provider.can_list
    with pytest.raises(CapabilityNotSupported):
        await provider.list_sessions(SessionKind.LIVENESS)
    with pytest.raises(CapabilityNotSupported):
        await provider.audit_entries(SessionKind.LIVENESS, "x")


@pytest.mark.parametrize("version", ["v1.2-preview.1", "v1.2", "v1.3-preview.1"])
async def test_session_image_download(sandbox: SandboxEndpoint, version: str) -> None:
    provider = connect(sandbox, version)
    created = await provider.create_session(
        SessionKind.LIVENESS, options(enable_session_image=True)
    )
    capture = photo(5)
    await simulate(sandbox, created.session_id, "realface", image_base64=b64(capture))
    result = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert result.latest is not None
    assert result.latest.session_image_id
    assert await provider.session_image(result.latest.session_image_id) == capture.data
    with pytest.raises(NotFound):
        await provider.session_image("unknown-image")


async def test_session_image_refused_in_v1_1_preview(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, "v1.1-preview.1")
    with pytest.raises(OperationRefused):
        await provider.create_session(SessionKind.LIVENESS, options(enable_session_image=True))


@pytest.mark.parametrize("version", API_VERSIONS)
async def test_delete_is_exact_per_version(sandbox: SandboxEndpoint, version: str) -> None:
    """A preview delete must be 200 and a GA delete 204; the other 2xx is not accepted."""
    provider = connect(sandbox, version)
    created = await provider.create_session(SessionKind.LIVENESS, options())
    wrong = 204 if version in PREVIEW else 200
    await sandbox.fault(kind="status", path="sessions", method="DELETE", status=wrong, body="")
    with pytest.raises(UnexpectedResponse) as info:
        await provider.delete_session(SessionKind.LIVENESS, created.session_id)
    assert info.value.http_status == wrong
    await provider.delete_session(SessionKind.LIVENESS, created.session_id)


async def test_set_in_client_sessions_carry_no_device_id(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, "v1.2-preview.1")
    created = await provider.create_session(
        SessionKind.LIVENESS, SessionOptions(set_in_client=True, auth_token_ttl=60)
    )
    page = await provider.list_sessions(SessionKind.LIVENESS)
    (item,) = [s for s in page.items if s.session_id == created.session_id]
    assert item.device_correlation_id is None
    assert item.auth_token_ttl == 60


@pytest.mark.parametrize("version", ["v1.1-preview.1", "v1.2"])
@pytest.mark.parametrize(
    ("opts", "code"),
    [
        ({"auth_token_ttl": 30}, "InvalidTokenLifetime"),
        ({"auth_token_ttl": 86401}, "InvalidTokenLifetime"),
        ({"device_correlation_id": None}, "InvalidDeviceCorrelationId"),
        ({"device_correlation_id": "d" * 65}, "InvalidDeviceCorrelationId"),
    ],
)
async def test_session_validation_codes(
    sandbox: SandboxEndpoint, version: str, opts: dict[str, Any], code: str
) -> None:
    provider = connect(sandbox, version)
    with pytest.raises(RequestRejected) as info:
        await provider.create_session(SessionKind.LIVENESS, SessionOptions(**opts))
    assert info.value.vendor_code == code
    assert info.value.http_status == 400


@pytest.mark.parametrize("version", API_VERSIONS)
@pytest.mark.parametrize("device_id", ["12345", "true", "0.5"])
async def test_verify_session_device_id_that_looks_like_a_number_stays_text(
    sandbox: SandboxEndpoint, version: str, device_id: str
) -> None:
    """§2.2: deviceCorrelationId is a string form field, whatever its characters."""
    provider = connect(sandbox, version)
    created = await provider.create_session(
        SessionKind.LIVENESS_WITH_VERIFY,
        options(device_correlation_id=device_id, verify_image=photo(1)),
    )
    assert created.session_id
    await provider.delete_session(SessionKind.LIVENESS_WITH_VERIFY, created.session_id)


@pytest.mark.parametrize("version", API_VERSIONS)
async def test_verify_image_validation(sandbox: SandboxEndpoint, version: str) -> None:
    provider = connect(sandbox, version)
    tiny = EncodedImage(b"\xff\xd8\xff" + b"0" * 100, ImageFormat.JPEG, 1, 1)
    garbage = EncodedImage(b"\xff\xd8\xff" + os.urandom(4000), ImageFormat.JPEG, 1, 1)
    cases = [(tiny, "InvalidImageSize"), (garbage, "InvalidImage"), (blank(), "InvalidImage")]
    for image, code in cases:
        with pytest.raises(RequestRejected) as info:
            await provider.create_session(
                SessionKind.LIVENESS_WITH_VERIFY, options(verify_image=image)
            )
        assert info.value.vendor_code == code
    with pytest.raises(OperationRefused):
        await provider.create_session(SessionKind.LIVENESS_WITH_VERIFY, options())


@pytest.mark.parametrize("version", ["v1.2-preview.1", "v1.2"])
async def test_invalid_operation_mode_raw(sandbox: SandboxEndpoint, version: str) -> None:
    path = (
        "detectLiveness/singleModal/sessions" if version in PREVIEW else "detectLiveness-sessions"
    )
    client = sandbox.client()
    response = await client.post(
        f"{sandbox.origin}/azure/face/{version}/{path}",
        json={"livenessOperationMode": "Active", "deviceCorrelationId": "d"},
        headers={"Ocp-Apim-Subscription-Key": "sandbox-azure-key"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "InvalidLivenessOperationMode",
            "message": response.json()["error"]["message"],
        }
    }
    assert response.headers["x-ms-error-code"] == "InvalidLivenessOperationMode"
    assert response.headers["apim-request-id"]


async def test_preview_session_expires_on_the_sandbox_clock(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, "v1.2-preview.1")
    created = await provider.create_session(SessionKind.LIVENESS, options(auth_token_ttl=60))
    fresh = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert fresh.expired is False
    await sandbox.admin("POST", "/clock", {"seconds": 61})
    stale = await provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert stale.expired is True
    client = sandbox.client()
    response = await client.post(
        f"{sandbox.origin}/_sandbox/azure/sessions/{created.session_id}/simulate",
        json={"outcome": "realface"},
    )
    assert response.status_code == 409
    await sandbox.admin("POST", "/clock", {"seconds": 48 * 3600})
    with pytest.raises(NotFound):
        await provider.get_session(SessionKind.LIVENESS, created.session_id)


async def test_session_of_other_family_is_not_found(sandbox: SandboxEndpoint) -> None:
    ga = connect(sandbox, "v1.2")
    preview = connect(sandbox, "v1.2-preview.1")
    created = await ga.create_session(SessionKind.LIVENESS, options())
    with pytest.raises(NotFound):
        await preview.get_session(SessionKind.LIVENESS, created.session_id)
    with pytest.raises(NotFound):
        await ga.get_session(SessionKind.LIVENESS_WITH_VERIFY, created.session_id)


# --- auth and transport failures ---------------------------------------------------------------


async def test_bearer_token_is_accepted(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, credentials={"entra_token": "sandbox-entra-token"})
    assert "v1.2" in await provider.test_connection()


@pytest.mark.parametrize(
    "credentials", [{"subscription_key": "wrong"}, {"entra_token": "Bearer wrong-token"}]
)
async def test_bad_credentials(sandbox: SandboxEndpoint, credentials: dict[str, str]) -> None:
    provider = connect(sandbox, credentials=credentials)
    with pytest.raises(AuthenticationFailed) as info:
        await provider.test_connection()
    assert info.value.vendor_code == "401"
    assert info.value.http_status == 401
    assert "credentials" in info.value.user_message


async def test_missing_credentials(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, credentials={})
    with pytest.raises(CredentialsMissing, match="subscription key nor an Entra token"):
        await provider.test_connection()


async def test_unknown_version_and_path_are_404_with_error_body(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, "v9.9")
    with pytest.raises(NotFound):
        await provider.test_connection()
    client = sandbox.client()
    headers = {"Ocp-Apim-Subscription-Key": "sandbox-azure-key"}
    for path in (
        "/azure/face/v1.2/nothing-here",
        "/azure/face/v1.2/detectLiveness/singleModal/sessions",
        "/azure/x",
    ):
        response = await client.get(f"{sandbox.origin}{path}", headers=headers)
        assert response.status_code == 404, path
        assert set(response.json()["error"]) == {"code", "message"}
        assert response.headers["apim-request-id"]


async def test_rate_limit_with_retry_after(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    await sandbox.fault(
        kind="status",
        path="largepersongroups",
        status=429,
        body={"error": {"code": "429", "message": "Rate limit is exceeded."}},
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RateLimited) as info:
        await provider.test_connection()
    assert info.value.retry_after == 7
    assert "7 s" in info.value.user_message


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "status", "status": 500}, ProviderUnavailable),
        ({"kind": "status", "status": 503}, ProviderUnavailable),
        ({"kind": "malformed"}, UnexpectedResponse),
        ({"kind": "non_json", "status": 502}, ProviderUnavailable),
        ({"kind": "drop"}, ProviderUnavailable),
    ],
)
async def test_failure_classes(
    sandbox: SandboxEndpoint, fault: dict[str, Any], error: type[Exception]
) -> None:
    provider = connect(sandbox)
    await sandbox.fault(path="detectLiveness-sessions", method="POST", **fault)
    with pytest.raises(error):
        await provider.create_session(SessionKind.LIVENESS, options())


async def test_malformed_success_shape_is_unexpected(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    await sandbox.fault(kind="status", path="detectLiveness-sessions", status=200, body={"x": 1})
    with pytest.raises(UnexpectedResponse):
        await provider.create_session(SessionKind.LIVENESS, options())


async def test_timeout(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, timeout=httpx.Timeout(0.2))
    await sandbox.fault(kind="delay", path="detectLiveness-sessions", delay=1.0)
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        await provider.create_session(SessionKind.LIVENESS, options())


# --- detect and verify ---------------------------------------------------------------------------


async def test_detect_single_and_several_faces(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    single = await provider.detect(photo(1))
    assert len(single.faces) == 1
    assert single.faces[0].face_id
    assert single.faces[0].quality in ("low", "medium", "high")
    group = await provider.detect(photo(2, size=(900, 300)))
    assert len(group.faces) > 1
    areas = [f.rect.width * f.rect.height for f in group.faces]
    assert areas == sorted(areas, reverse=True)
    assert (await provider.detect(blank())).faces == ()


async def test_verify_same_and_different(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox, "v1.2-preview.1")
    same = await provider.match_faces(photo(1), photo(1, quality=60))
    assert same.verdict is Verdict.POSITIVE
    assert same.score is not None
    assert same.score.value > 0.8
    other = await provider.match_faces(photo(1), photo(42))
    assert other.verdict is Verdict.NEGATIVE
    none = await provider.match_faces(photo(1), blank())
    assert none.verdict is Verdict.INCONCLUSIVE


async def test_operator_picks_a_face_among_several(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    first = await provider.detect(photo(1))
    strip = await provider.detect(photo(2, size=(900, 300)))
    result = await provider.verify_faces(first.faces[0].face_id, strip.faces[1].face_id)
    assert result.verdict is Verdict.NEGATIVE
    with pytest.raises(NotFound) as info:
        await provider.verify_faces(first.faces[0].face_id, "00000000-0000-0000-0000-000000000000")
    assert info.value.vendor_code == "FaceNotFound"


async def test_limited_access_is_explained(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    await sandbox.admin("PUT", "/settings", {"azure_face.limited_access": True})
    with pytest.raises(PermissionDenied, match="Limited Access") as info:
        await provider.detect(photo(1))
    assert info.value.vendor_code == "UnsupportedFeature"
    assert info.value.http_status == 403


# --- LargePersonGroups ---------------------------------------------------------------------------


async def test_person_group_flow(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    await sandbox.admin("PUT", "/settings", {"azure_face.training_seconds": 0.3})
    await provider.create_group("staff", "Staff", "demo")
    with pytest.raises(RequestRejected) as exists:
        await provider.create_group("staff", "Staff")
    assert exists.value.vendor_code == "LargePersonGroupExists"
    assert [g.group_id for g in await provider.list_groups()] == ["staff"]
    alice = await provider.create_person("staff", "Alice", "employee 1")
    bob = await provider.create_person("staff", "Bob")
    await provider.add_person_face("staff", alice.person_id, photo(10))
    await provider.add_person_face("staff", bob.person_id, photo(20))
    with pytest.raises(RequestRejected) as several:
        await provider.add_person_face("staff", bob.person_id, photo(3, size=(900, 300)))
    assert several.value.vendor_code == "InvalidImage"
    strip = await provider.detect(photo(3, size=(900, 300)))
    await provider.add_person_face(
        "staff", bob.person_id, photo(3, size=(900, 300)), strip.faces[0].rect
    )
    persons = await provider.list_persons("staff")
    assert {p.name for p in persons} == {"Alice", "Bob"}
    assert (await provider.training_status("staff")).status == "notStarted"
    with pytest.raises(RequestRejected) as untrained:
        await provider.identify("staff", photo(10))
    assert untrained.value.vendor_code == "LargePersonGroupNotTrained"

    statuses = [s.status async for s in provider.follow_training("staff", interval=0.1)]
    assert statuses[-1] == "succeeded"
    assert "running" in statuses

    found = await provider.identify("staff", photo(10, quality=60))
    assert found.result.verdict is Verdict.POSITIVE
    assert found.candidates[0].name == "Alice"
    assert found.candidates[0].user_data == "employee 1"
    nobody = await provider.identify("staff", photo(77))
    assert nobody.result.verdict is Verdict.NEGATIVE

    await provider.delete_person("staff", alice.person_id)
    with pytest.raises(NotFound):
        await provider.delete_person("staff", alice.person_id)
    await provider.delete_group("staff")
    assert await provider.list_groups() == ()
    with pytest.raises(NotFound) as gone:
        await provider.list_persons("staff")
    assert gone.value.vendor_code == "LargePersonGroupNotFound"


async def test_group_id_validation(sandbox: SandboxEndpoint) -> None:
    provider = connect(sandbox)
    with pytest.raises(RequestRejected) as info:
        await provider.create_group("Not Valid!", "x")
    assert info.value.vendor_code == "BadArgument"


# --- live: the same operations against a real Azure Face resource -------------------------------

LIVE_ENDPOINT = os.environ.get("FACEDESK_LIVE_AZURE_ENDPOINT", "")
LIVE_KEY = os.environ.get("FACEDESK_LIVE_AZURE_KEY", "")
LIVE_TOKEN = os.environ.get("FACEDESK_LIVE_AZURE_TOKEN", "")
LIVE_VERSION = os.environ.get("FACEDESK_LIVE_AZURE_API_VERSION", "v1.2")


@pytest.fixture
async def live_provider(tmp_path: Any) -> Any:
    if not LIVE_ENDPOINT or not (LIVE_KEY or LIVE_TOKEN):
        pytest.skip("FACEDESK_LIVE_AZURE_ENDPOINT and _KEY or _TOKEN are not set")
    from app.http import ProviderContext, make_client
    from app.store import Store

    creds = {"subscription_key": LIVE_KEY, "entra_token": LIVE_TOKEN}

    async def credential(name: str) -> str:
        if not creds.get(name):
            raise CredentialsMissing(name)
        return creds[name]

    client = make_client()
    store = Store(tmp_path / "live.sqlite3")
    ctx = ProviderContext(
        info=azure_face.INFO,
        connection="live",
        profile_key="azure_face.live",
        fields={"endpoint": LIVE_ENDPOINT, "api_version": LIVE_VERSION},
        http=client,
        credential=credential,
        store=store,
        is_sandbox=False,
    )
    yield azure_face.create(ctx)
    await client.aclose()
    store.close()


@pytest.mark.live
async def test_live_session_create_get_delete(live_provider: Any) -> None:
    created = await live_provider.create_session(SessionKind.LIVENESS, options())
    fetched = await live_provider.get_session(SessionKind.LIVENESS, created.session_id)
    assert fetched.status == "NotStarted"
    await live_provider.delete_session(SessionKind.LIVENESS, created.session_id)
    with pytest.raises(NotFound):
        await live_provider.get_session(SessionKind.LIVENESS, created.session_id)


@pytest.mark.live
async def test_live_connection_and_groups(live_provider: Any) -> None:
    assert await live_provider.test_connection()
    await live_provider.create_group("facedesk-live-test", "FaceDesk live test")
    try:
        assert "facedesk-live-test" in [g.group_id for g in await live_provider.list_groups()]
    finally:
        await live_provider.delete_group("facedesk-live-test")
