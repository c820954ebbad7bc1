"""uqudo client against the uqudo sandbox (in-process and socket), plus opt-in live tests.

Live tests run with `-m live` when FACEDESK_LIVE_UQUDO_CLIENT_ID and
FACEDESK_LIVE_UQUDO_CLIENT_SECRET are set (optionally FACEDESK_LIVE_UQUDO_AUTH_URL and
FACEDESK_LIVE_UQUDO_API_URL for a tenant-specific host). They never touch the 1:N index.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.domain import EncodedImage, ImageFormat, Verdict
from app.errors import (
    AuthenticationFailed,
    CredentialsMissing,
    NotFound,
    OperationRefused,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import ProviderContext, make_client
from app.store import Store
from app.vendors.uqudo import client as uqudo
from app.vendors.uqudo.types import DETAIL_VERIFICATION_ID

API = "/uqudo/api/v1"


@lru_cache(maxsize=16)
def face_jpeg(seed: int, quality: int = 90, size: tuple[int, int] = (400, 500)) -> bytes:
    """A colourful blocky-noise 'face' photo; the same seed gives the same picture."""
    rng = random.Random(seed)
    cols, rows = size[0] // 25, size[1] // 25
    small = Image.new("RGB", (cols, rows))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(cols * rows)]
    )
    image = small.resize(size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def blank_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 500), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


@lru_cache(maxsize=1)
def huge_png() -> bytes:
    """Over 5 MB: random pixels do not compress."""
    image = Image.frombytes("RGB", (1500, 1500), random.Random(7).randbytes(1500 * 1500 * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) > 5 * 1024 * 1024
    return data


def encoded(data: bytes, fmt: ImageFormat = ImageFormat.JPEG) -> EncodedImage:
    return EncodedImage(data=data, format=fmt, width=400, height=500)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def raw_token(sandbox) -> str:
    response = await sandbox.client().post(
        f"{sandbox.origin}/uqudo/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


# --- auth ---------------------------------------------------------------------------------------


async def test_connection_test_gets_a_token_and_reads_the_keys(sandbox):
    provider = sandbox.connect(uqudo)
    message = await provider.test_connection()
    assert "access token" in message


async def test_token_endpoint_answers_like_the_contract(sandbox):
    client = sandbox.client()
    url = f"{sandbox.origin}/uqudo/api/oauth/token"
    ok = await client.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["access_token"].count(".") == 2
    assert uuid.UUID(body["jti"])
    bad = await client.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "x",
        },
    )
    assert bad.status_code == 401
    as_json = await client.post(
        url,
        json={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
    )
    assert as_json.status_code == 400


async def test_wrong_secret_is_an_authentication_failure(sandbox):
    provider = sandbox.connect(
        uqudo, credentials={"client_id": "sandbox-client", "client_secret": "wrong"}
    )
    with pytest.raises(AuthenticationFailed, match="client id or client secret") as caught:
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    assert caught.value.http_status == 401
    assert caught.value.vendor_code == "invalid_client"


async def test_missing_secret_sends_nothing(sandbox):
    provider = sandbox.connect(uqudo, credentials={"client_id": "sandbox-client"})
    with pytest.raises(CredentialsMissing):
        await provider.test_connection()


async def test_api_rejects_missing_malformed_and_expired_tokens(sandbox):
    client = sandbox.client()
    url = f"{sandbox.origin}{API}/face/match"
    body = {"sourceImage": b64(face_jpeg(1)), "targetImage": b64(face_jpeg(1))}
    assert (await client.post(url, json=body)).status_code == 401
    bad = await client.post(url, json=body, headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    token = await raw_token(sandbox)
    good = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200
    await sandbox.admin("POST", "/clock", {"seconds": 1801})
    expired = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401


async def test_token_is_cached_between_calls(sandbox):
    provider = sandbox.connect(uqudo)
    await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    # A second token request would fail now; the cached token makes it unnecessary.
    await sandbox.fault(kind="status", path="/uqudo/api/oauth/token", status=500, count=5)
    result = await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(2)))
    assert result.verdict is Verdict.NEGATIVE


async def test_expired_token_is_renewed_once_after_a_401(sandbox):
    provider = sandbox.connect(uqudo)
    await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    await sandbox.admin("POST", "/clock", {"seconds": 1801})  # the server-side token expires
    result = await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    assert result.verdict is Verdict.POSITIVE


async def test_a_second_401_is_an_authentication_failure(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/face/match$", status=401, count=2)
    with pytest.raises(AuthenticationFailed, match="API URL"):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))


# --- face session -------------------------------------------------------------------------------


async def test_face_session_is_created_from_the_id_photo(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(3)))
    assert uuid.UUID(session.session_id)
    assert 599 <= (session.expires_at - session.created_at).total_seconds() <= 600
    assert session.created_at <= datetime.now(UTC)


async def test_face_session_accepts_json_base64(sandbox):
    token = await raw_token(sandbox)
    response = await sandbox.client().post(
        f"{sandbox.origin}{API}/face",
        json={"idPhoto": b64(face_jpeg(3))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert uuid.UUID(response.json()["sessionId"])


async def test_face_session_without_id_photo_is_400(sandbox):
    token = await raw_token(sandbox)
    response = await sandbox.client().post(
        f"{sandbox.origin}{API}/face",
        files={"other": ("a.jpg", face_jpeg(3), "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400


async def test_face_session_rejects_a_gif_with_415(sandbox):
    provider = sandbox.connect(uqudo)
    gif = io.BytesIO()
    Image.new("RGB", (50, 50), (200, 10, 10)).save(gif, "GIF")
    with pytest.raises(RequestRejected, match="JPEG or PNG") as caught:
        await provider.create_face_session(encoded(gif.getvalue()))
    assert caught.value.http_status == 415


async def test_face_session_rejects_over_5_mb_with_413(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(RequestRejected, match="5 MB") as caught:
        await provider.create_face_session(encoded(huge_png(), ImageFormat.PNG))
    assert caught.value.http_status == 413


async def test_face_session_permission_off_is_permission_denied(sandbox):
    await sandbox.admin("PUT", "/settings", {"uqudo.face_session_permission": False})
    provider = sandbox.connect(uqudo)
    with pytest.raises(PermissionDenied, match="face sessions") as caught:
        await provider.create_face_session(encoded(face_jpeg(3)))
    assert caught.value.http_status == 403


async def test_face_session_expires_after_ten_minutes(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(3)))
    await sandbox.admin("POST", "/clock", {"seconds": 601})
    response = await sandbox.client().post(
        f"{sandbox.origin}/_sandbox/uqudo/sessions/{session.session_id}/complete", json={}
    )
    assert response.status_code == 404


# --- face match ---------------------------------------------------------------------------------


async def test_same_face_matches_at_level_5(sandbox):
    provider = sandbox.connect(uqudo)
    result = await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1, quality=60)))
    assert result.verdict is Verdict.POSITIVE
    assert result.score is not None
    assert result.score.value == 5
    assert result.score.scale == "level 1–5"
    assert "minimum of 3" in result.headline
    assert result.raw == {"match": True, "matchLevel": 5}


async def test_different_faces_do_not_match(sandbox):
    provider = sandbox.connect(uqudo)
    result = await provider.match_faces(
        encoded(face_jpeg(1)), encoded(face_jpeg(2)), minimum_level=1
    )
    # Level 1 meets a minimum of 1: uqudo's rule is matchLevel >= minimumMatchLevel (§3).
    assert result.verdict is Verdict.POSITIVE
    assert result.score is not None
    assert result.score.value == 1
    strict = await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(2)))
    assert strict.verdict is Verdict.NEGATIVE
    assert "below the minimum of 3" in strict.headline


async def test_minimum_level_outside_1_to_5_is_refused_before_sending(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(OperationRefused, match="1 to 5"):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)), minimum_level=6)


GOOD = "good"


@pytest.mark.parametrize(
    "body",
    [
        {"targetImage": GOOD},
        {"sourceImage": "%%%not-base64%%%", "targetImage": GOOD},
        {"sourceImage": GOOD, "targetImage": GOOD, "minimumMatchLevel": 0},
        {"sourceImage": GOOD, "targetImage": GOOD, "minimumMatchLevel": 6},
        {"sourceImage": GOOD, "targetImage": GOOD, "minimumMatchLevel": "3"},
    ],
    ids=["missing-source", "bad-base64", "level-0", "level-6", "level-string"],
)
async def test_match_validation_answers_400(sandbox, body):
    token = await raw_token(sandbox)
    payload = {k: b64(face_jpeg(1)) if v == GOOD else v for k, v in body.items()}
    response = await sandbox.client().post(
        f"{sandbox.origin}{API}/face/match",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400


async def test_image_without_a_face_is_rejected(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(RequestRejected, match="one clear face") as caught:
        await provider.match_faces(encoded(blank_jpeg()), encoded(face_jpeg(1)))
    assert caught.value.http_status == 400


async def test_match_over_5_mb_is_413(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(RequestRejected) as caught:
        await provider.match_faces(encoded(huge_png(), ImageFormat.PNG), encoded(face_jpeg(1)))
    assert caught.value.http_status == 413


# --- 1:N index ----------------------------------------------------------------------------------


async def test_search_insert_search_delete_search_keeps_the_features(sandbox):
    provider = sandbox.connect(uqudo)
    selfie = encoded(face_jpeg(11))

    first = await provider.search_face(selfie, insert_if_missing=False)
    assert first.verdict is Verdict.NEGATIVE
    assert DETAIL_VERIFICATION_ID not in first.details
    assert first.raw == {"oneToNVerificationId": None, "oneToNVerificationMatch": False}

    inserted = await provider.enroll_face(selfie)
    face_id = inserted.details[DETAIL_VERIFICATION_ID]
    assert uuid.UUID(face_id)

    found = await provider.search_face(encoded(face_jpeg(11, quality=70)), insert_if_missing=False)
    assert found.verdict is Verdict.POSITIVE
    assert found.details[DETAIL_VERIFICATION_ID] == face_id

    await provider.delete_face(face_id)
    index = await sandbox.admin("GET", "/uqudo/index")
    assert index["entries"] == [{"oneToNVerificationId": face_id, "selfieStored": False}]

    still = await provider.search_face(selfie, insert_if_missing=False)
    assert still.verdict is Verdict.POSITIVE
    assert still.details[DETAIL_VERIFICATION_ID] == face_id


async def test_search_with_insert_adds_a_miss_once(sandbox):
    provider = sandbox.connect(uqudo)
    added = await provider.search_face(encoded(face_jpeg(12)), insert_if_missing=True)
    assert added.verdict is Verdict.NEGATIVE
    assert "added" in added.headline
    face_id = added.details[DETAIL_VERIFICATION_ID]
    again = await provider.search_face(encoded(face_jpeg(12)), insert_if_missing=True)
    assert again.verdict is Verdict.POSITIVE
    assert again.details[DETAIL_VERIFICATION_ID] == face_id
    index = await sandbox.admin("GET", "/uqudo/index")
    assert len(index["entries"]) == 1


async def test_delete_answers_204_with_no_body(sandbox):
    provider = sandbox.connect(uqudo)
    face_id = (await provider.enroll_face(encoded(face_jpeg(13)))).details[DETAIL_VERIFICATION_ID]
    token = await raw_token(sandbox)
    response = await sandbox.client().delete(
        f"{sandbox.origin}{API}/face/one-to-n/search/{face_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 204
    assert response.content == b""


async def test_delete_of_an_unknown_id_is_not_found(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(NotFound, match="oneToNVerificationId"):
        await provider.delete_face(str(uuid.uuid4()))


async def test_404_outside_a_lookup_points_at_the_api_url_not_at_an_id(sandbox):
    # A wrong API URL answers 404 on every route; only the delete and Info lookups carry an id.
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/face/match$", status=404)
    with pytest.raises(NotFound, match="API URL") as caught:
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    assert "does not know this id" not in caught.value.user_message
    await sandbox.fault(kind="status", path="/one-to-n/search$", status=404)
    with pytest.raises(NotFound, match="API URL") as caught:
        await provider.search_face(encoded(face_jpeg(1)), insert_if_missing=False)
    assert "oneToNVerificationId" not in caught.value.user_message
    await sandbox.fault(kind="status", path="/jwks.json$", status=404)
    with pytest.raises(NotFound, match="API URL"):
        await provider.test_connection()


async def test_400_on_delete_is_about_the_id_not_the_image(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/one-to-n/search/", status=400, method="DELETE")
    with pytest.raises(RequestRejected, match="oneToNVerificationId") as caught:
        await provider.delete_face("not-an-id")
    assert "JPEG" not in caught.value.user_message


async def test_one_to_n_without_permission_is_403_everywhere(sandbox):
    provider = sandbox.connect(uqudo)
    face_id = (await provider.enroll_face(encoded(face_jpeg(14)))).details[DETAIL_VERIFICATION_ID]
    await sandbox.admin("PUT", "/settings", {"uqudo.one_to_n_permission": False})
    with pytest.raises(PermissionDenied, match="1:N") as caught:
        await provider.search_face(encoded(face_jpeg(14)), insert_if_missing=False)
    assert caught.value.http_status == 403
    with pytest.raises(PermissionDenied):
        await provider.enroll_face(encoded(face_jpeg(14)))
    with pytest.raises(PermissionDenied):
        await provider.delete_face(face_id)
    # Face match needs no 1:N permission.
    match = await provider.match_faces(encoded(face_jpeg(14)), encoded(face_jpeg(14)))
    assert match.verdict is Verdict.POSITIVE


async def test_one_to_n_rejects_a_png_disguised_as_nothing_with_415(sandbox):
    token = await raw_token(sandbox)
    response = await sandbox.client().post(
        f"{sandbox.origin}{API}/face/one-to-n/search",
        json={"idPhoto": b64(b"RIFF0000WEBPVP8 not really")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 415
    missing = await sandbox.client().post(
        f"{sandbox.origin}{API}/face/one-to-n/insert",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert missing.status_code == 400


# --- Info API -----------------------------------------------------------------------------------


async def complete(sandbox, session_id: str, **payload) -> dict:
    result: dict = await sandbox.admin("POST", f"/uqudo/sessions/{session_id}/complete", payload)
    return result


async def test_completed_session_result_is_verified_and_decoded(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(21)))
    selfie = face_jpeg(21, quality=65)
    await complete(sandbox, session.session_id, selfie=b64(selfie), oneToN=True, nonce="n-1")

    result = await provider.fetch_session_result(session.session_id)
    assert result.algorithm == "RS256"
    assert result.data_session_id == session.session_id
    assert result.nonce == "n-1"
    assert result.warnings == ()
    assert result.face is not None
    assert result.face.match is True
    assert result.face.match_level == 5
    assert result.face.one_to_n_verification_match is False
    assert result.face.one_to_n_verification_id
    assert result.check.verdict is Verdict.POSITIVE
    assert result.check.details[DETAIL_VERIFICATION_ID] == result.face.one_to_n_verification_id

    image_id = result.face.audit_trail_image_id
    assert image_id
    assert result.image_ids == {"Audit-trail selfie": image_id}
    image = await provider.download_image(image_id)
    assert image.content_type == "image/jpeg"
    assert image.data == selfie

    by_header = await provider.fetch_session_result(session.session_id, id_in_header=True)
    assert by_header.claims == result.claims


async def test_result_is_application_jwt(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(22)))
    await complete(sandbox, session.session_id)
    token = await raw_token(sandbox)
    response = await sandbox.client().get(
        f"{sandbox.origin}{API}/info/{session.session_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwt")
    assert response.text.count(".") == 2
    jwks = await sandbox.client().get(f"{sandbox.origin}/uqudo/api/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert jwks.json()["keys"][0]["kty"] == "RSA"


async def test_no_match_outcome_is_a_negative_result(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(23)))
    await complete(sandbox, session.session_id, outcome="no_match", matchLevel=2)
    result = await provider.fetch_session_result(session.session_id)
    assert result.check.verdict is Verdict.NEGATIVE
    assert result.face is not None
    assert result.face.match_level == 2


async def test_purge_removes_result_and_images(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(24)))
    face = (await complete(sandbox, session.session_id))["face"]
    await provider.purge_session(session.session_id)
    with pytest.raises(NotFound, match="purged"):
        await provider.fetch_session_result(session.session_id)
    with pytest.raises(NotFound, match="image"):
        await provider.download_image(face["auditTrailImageId"])


async def test_result_expires_after_thirty_minutes(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(25)))
    await complete(sandbox, session.session_id)
    await sandbox.admin("POST", "/clock", {"seconds": 1801})
    with pytest.raises(NotFound):
        await provider.fetch_session_result(session.session_id)


async def test_unknown_session_is_not_found(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(NotFound, match="not completed yet"):
        await provider.fetch_session_result(str(uuid.uuid4()))


async def test_non_uuid_session_id_is_refused_before_sending_and_400_on_the_wire(sandbox):
    provider = sandbox.connect(uqudo)
    with pytest.raises(OperationRefused, match="8-4-4-4-12"):
        await provider.fetch_session_result("not-a-uuid")
    with pytest.raises(OperationRefused):
        await provider.purge_session("123")
    token = await raw_token(sandbox)
    response = await sandbox.client().get(
        f"{sandbox.origin}{API}/info/not-a-uuid", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400


async def test_tampered_result_fails_verification(sandbox):
    provider = sandbox.connect(uqudo)
    session = await provider.create_face_session(encoded(face_jpeg(26)))
    await complete(sandbox, session.session_id, tamper=True)
    with pytest.raises(UnexpectedResponse, match="does not verify"):
        await provider.fetch_session_result(session.session_id)


async def test_rotated_key_is_fetched_on_unknown_kid(sandbox):
    provider = sandbox.connect(uqudo)
    first = await provider.create_face_session(encoded(face_jpeg(27)))
    await complete(sandbox, first.session_id)
    before = await provider.fetch_session_result(first.session_id)
    rotated = await sandbox.admin("POST", "/uqudo/rotate-key")
    second = await provider.create_face_session(encoded(face_jpeg(28)))
    await complete(sandbox, second.session_id)
    after = await provider.fetch_session_result(second.session_id)
    assert after.key_id == rotated["kid"] != before.key_id


async def test_info_permission_off_is_permission_denied(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.admin("PUT", "/settings", {"uqudo.info_permission": False})
    with pytest.raises(PermissionDenied, match="Info API"):
        await provider.fetch_session_result(str(uuid.uuid4()))


# --- transport and server failures ---------------------------------------------------------------


async def test_429_is_rate_limited_with_retry_after(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(
        kind="status", path="/face/match$", status=429, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimited, match="Try again in 7 s") as caught:
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    assert caught.value.retry_after == 7


async def test_5xx_is_provider_unavailable(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/one-to-n/search", status=503)
    with pytest.raises(ProviderUnavailable, match="problem on its side") as caught:
        await provider.search_face(encoded(face_jpeg(1)), insert_if_missing=False)
    assert caught.value.http_status == 503


async def test_token_endpoint_5xx_is_provider_unavailable(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/oauth/token$", status=500)
    with pytest.raises(ProviderUnavailable):
        await provider.test_connection()


async def test_non_json_body_is_unexpected_response(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="non_json", path="/face/match$", status=200)
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))


async def test_html_502_from_a_gateway_is_provider_unavailable(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="non_json", path="/one-to-n/insert$")
    with pytest.raises(ProviderUnavailable):
        await provider.enroll_face(encoded(face_jpeg(1)))


async def test_malformed_body_is_unexpected_response(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="malformed", path="/oauth/token$")
    with pytest.raises(UnexpectedResponse):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))


async def test_wrong_shape_is_unexpected_response(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="status", path="/face/match$", status=200, body={"hello": "world"})
    with pytest.raises(UnexpectedResponse, match="no match level"):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))


async def test_timeout_is_provider_unavailable(sandbox):
    provider = sandbox.connect(uqudo, timeout=httpx.Timeout(0.3))
    await provider.test_connection()
    await sandbox.fault(kind="delay", path="/face/match$", delay=1.5)
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        await provider.match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))


async def test_dropped_connection_is_provider_unavailable(sandbox):
    provider = sandbox.connect(uqudo)
    await sandbox.fault(kind="drop", path="/one-to-n/search$")
    with pytest.raises(ProviderUnavailable, match="dropped"):
        await provider.search_face(encoded(face_jpeg(1)), insert_if_missing=False)


# --- live (opt-in: -m live with credentials in the environment) ---------------------------------

LIVE_ENV = ("FACEDESK_LIVE_UQUDO_CLIENT_ID", "FACEDESK_LIVE_UQUDO_CLIENT_SECRET")


@pytest.fixture
async def live(tmp_path: Path):
    if not all(os.environ.get(name) for name in LIVE_ENV):
        pytest.skip("set " + " and ".join(LIVE_ENV) + " to run live uqudo tests")
    creds = {
        "client_id": os.environ["FACEDESK_LIVE_UQUDO_CLIENT_ID"],
        "client_secret": os.environ["FACEDESK_LIVE_UQUDO_CLIENT_SECRET"],
    }
    fields = {
        "auth_url": os.environ.get("FACEDESK_LIVE_UQUDO_AUTH_URL", "https://auth.uqudo.io"),
        "api_url": os.environ.get("FACEDESK_LIVE_UQUDO_API_URL", "https://id.uqudo.io"),
    }
    store = Store(tmp_path / "live.sqlite3")
    client = make_client()

    def connect(credentials=None):
        values = dict(creds if credentials is None else credentials)

        async def credential(name: str) -> str:
            return values[name]

        ctx = ProviderContext(
            info=uqudo.INFO,
            connection="live",
            profile_key="uqudo.live",
            fields=fields,
            http=client,
            credential=credential,
            store=store,
            is_sandbox=False,
        )
        return uqudo.create(ctx)

    yield connect
    await client.aclose()
    store.close()


@pytest.mark.live
async def test_live_connection(live):
    assert "access token" in await live().test_connection()


@pytest.mark.live
async def test_live_wrong_secret_is_authentication_failed(live):
    provider = live({"client_id": os.environ[LIVE_ENV[0]], "client_secret": "wrong"})
    with pytest.raises(AuthenticationFailed):
        await provider.test_connection()


@pytest.mark.live
async def test_live_face_match_gives_a_level(live):
    result = await live().match_faces(encoded(face_jpeg(1)), encoded(face_jpeg(1)))
    assert result.score is not None
    assert 1 <= result.score.value <= 5


@pytest.mark.live
async def test_live_unknown_session_is_not_found(live):
    with pytest.raises((NotFound, PermissionDenied)):
        await live().fetch_session_result(str(uuid.uuid4()))


def test_uuid_pattern_matches_the_contract():
    assert re.match(uqudo.UUID_RE, str(uuid.uuid4()))
