"""uqudo client units: parsing, token cache, JWS verification, with httpx.MockTransport."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.capabilities import protocols_for
from app.domain import EncodedImage, ImageFormat, Verdict
from app.errors import UnexpectedResponse
from app.http import NO_RETRY, ProviderContext, make_client
from app.store import Store
from app.vendors.uqudo import auth as uqudo_auth
from app.vendors.uqudo import client as uqudo
from app.vendors.uqudo.types import (
    DETAIL_ALREADY_KNOWN,
    DETAIL_INSERTED,
    DETAIL_VERIFICATION_ID,
    MATCH_LEVEL_MEANINGS,
)

ORIGIN = "https://uqudo.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()

    def uint(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "kid": kid, "alg": "RS256", "n": uint(numbers.n), "e": uint(numbers.e)}


def sign(claims: dict, *, kid: str = "k1", key: rsa.RSAPrivateKey = KEY, alg: str = "RS256") -> str:
    head = b64url(json.dumps({"alg": alg, "kid": kid}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


class FakeUqudo:
    """A scripted uqudo: counts token and JWKS requests, serves given results."""

    def __init__(self) -> None:
        self.token_requests = 0
        self.jwks_requests = 0
        self.keys = [jwk("k1", KEY)]
        self.results: dict[str, str] = {}
        self.expires_in: object = 1800
        self.reject_next_api_call = False
        self.token_forms: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/oauth/token":
            self.token_requests += 1
            self.token_forms.append(request.content.decode())
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.token_requests}",
                    "token_type": "bearer",
                    "expires_in": self.expires_in,
                },
            )
        if path == "/api/.well-known/jwks.json":
            self.jwks_requests += 1
            return httpx.Response(200, json={"keys": self.keys})
        if self.reject_next_api_call:
            self.reject_next_api_call = False
            return httpx.Response(401)
        if path.startswith("/api/v1/info/"):
            session_id = path.rsplit("/", 1)[1]
            return httpx.Response(
                200, text=self.results[session_id], headers={"content-type": "application/jwt"}
            )
        if path == "/api/v1/face/match":
            return httpx.Response(200, json={"match": True, "matchLevel": 4})
        return httpx.Response(404)


@pytest.fixture
def fake() -> FakeUqudo:
    return FakeUqudo()


@pytest.fixture
def connect(fake: FakeUqudo, tmp_path: Path) -> Callable[[], uqudo.UqudoProvider]:
    store = Store(tmp_path / "unit.sqlite3")

    def build() -> uqudo.UqudoProvider:
        async def credential(name: str) -> str:
            return {"client_id": "cid", "client_secret": "s3cret-value"}[name]

        ctx = ProviderContext(
            info=uqudo.INFO,
            connection="unit",
            profile_key="uqudo.unit",
            fields={"auth_url": ORIGIN, "api_url": ORIGIN},
            http=make_client(transport=httpx.MockTransport(fake.handle), retry=NO_RETRY),
            credential=credential,
            store=store,
            is_sandbox=False,
        )
        return uqudo.create(ctx)

    return build


def image() -> EncodedImage:
    return EncodedImage(data=b"\xff\xd8\xff fake", format=ImageFormat.JPEG, width=1, height=1)


# --- parsing ------------------------------------------------------------------------------------


def test_match_result_reads_decision_then_level_and_meaning():
    result = uqudo.match_result({"match": False, "matchLevel": 2, "extra": 1}, 3, "r1")
    assert result.verdict is Verdict.NEGATIVE
    assert result.score is not None
    assert result.score.value == 2
    assert result.score.meaning == MATCH_LEVEL_MEANINGS[2]
    assert result.request_id == "r1"


def test_match_result_clamps_levels_and_derives_a_missing_decision():
    result = uqudo.match_result({"matchLevel": "7"}, 5, None)
    assert result.verdict is Verdict.POSITIVE
    assert result.score is not None
    assert result.score.value == 5
    assert result.warnings
    with pytest.raises(ValueError, match="matchLevel"):
        uqudo.match_result({"match": True}, 3, None)


def test_search_result_variants():
    known = uqudo.search_result(
        {"oneToNVerificationId": "a", "oneToNVerificationMatch": True}, False, None
    )
    assert known.verdict is Verdict.POSITIVE
    assert known.details[DETAIL_VERIFICATION_ID] == "a"
    added = uqudo.search_result(
        {"oneToNVerificationId": "b", "oneToNVerificationMatch": False}, True, None
    )
    assert added.details[DETAIL_INSERTED] == "yes"
    miss = uqudo.search_result({"oneToNVerificationMatch": False}, False, None)
    assert miss.details[DETAIL_ALREADY_KNOWN] == "no"
    # §4: without the boolean, an id on a non-inserting search can only be a hit.
    inferred = uqudo.search_result({"oneToNVerificationId": "c"}, False, None)
    assert inferred.verdict is Verdict.POSITIVE
    unclear = uqudo.search_result({"oneToNVerificationId": "d"}, True, None)
    assert unclear.verdict is Verdict.INCONCLUSIVE


def test_insert_result_accepts_likely_id_names():
    assert uqudo.insert_result({"id": "x"}, None).details[DETAIL_VERIFICATION_ID] == "x"
    assert uqudo.insert_result({}, None).verdict is Verdict.INCONCLUSIVE


def test_face_object_from_an_enrolment_result():
    claims = {"data": {"documents": [{"scan": {}}, {"face": {"match": True, "matchLevel": 4}}]}}
    face = uqudo.face_from_claims(claims)
    assert face is not None
    assert face.match_level == 4


def test_every_declared_capability_is_implemented(connect):
    provider = connect()
    for capability in uqudo.INFO.capabilities:
        protocols = protocols_for(uqudo.INFO, capability)
        assert protocols, capability
        for protocol in protocols:
            assert isinstance(provider, protocol), (capability, protocol)


# --- token cache --------------------------------------------------------------------------------


async def test_token_is_requested_once_form_encoded_and_never_logged(fake, connect, caplog):
    caplog.set_level(logging.DEBUG)
    provider = connect()
    await provider.match_faces(image(), image())
    await provider.match_faces(image(), image())
    assert fake.token_requests == 1
    assert "grant_type=client_credentials" in fake.token_forms[0]
    assert "tok-1" not in caplog.text
    assert "s3cret-value" not in caplog.text


async def test_token_is_renewed_shortly_before_it_expires(fake, connect, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(uqudo_auth, "_monotonic", lambda: now[0])
    provider = connect()
    await provider.match_faces(image(), image())
    now[0] += 1800 - 61  # still outside the renewal margin
    await provider.match_faces(image(), image())
    assert fake.token_requests == 1
    now[0] += 2  # inside the last minute of the token's life
    await provider.match_faces(image(), image())
    assert fake.token_requests == 2


async def test_missing_expires_in_counts_as_five_minutes(fake, connect, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(uqudo_auth, "_monotonic", lambda: now[0])
    fake.expires_in = None
    provider = connect()
    await provider.match_faces(image(), image())
    now[0] += 300
    await provider.match_faces(image(), image())
    assert fake.token_requests == 2


async def test_401_renews_the_token_once(fake, connect):
    provider = connect()
    await provider.match_faces(image(), image())
    fake.reject_next_api_call = True
    await provider.match_faces(image(), image())
    assert fake.token_requests == 2


# --- JWS verification ---------------------------------------------------------------------------


async def test_jwks_is_cached_and_refetched_on_unknown_kid(fake, connect):
    provider = connect()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    fake.results[first] = sign({"jti": first, "aud": "cid", "data": {"face": {"match": True}}})
    await provider.fetch_session_result(first)
    await provider.fetch_session_result(first)
    assert fake.jwks_requests == 1
    fake.keys.append(jwk("k2", OTHER_KEY))
    fake.results[second] = sign({"jti": second}, kid="k2", key=OTHER_KEY)
    result = await provider.fetch_session_result(second)
    assert result.key_id == "k2"
    assert fake.jwks_requests == 2


async def test_unknown_kid_after_refetch_is_rejected(fake, connect):
    provider = connect()
    session = str(uuid.uuid4())
    fake.results[session] = sign({"jti": session}, kid="nope")
    with pytest.raises(UnexpectedResponse, match="does not publish"):
        await provider.fetch_session_result(session)


@pytest.mark.parametrize("alg", ["none", "HS256"])
async def test_other_algorithms_are_rejected(fake, connect, alg):
    provider = connect()
    session = str(uuid.uuid4())
    fake.results[session] = sign({"jti": session}, alg=alg)
    with pytest.raises(UnexpectedResponse, match="RS256"):
        await provider.fetch_session_result(session)


async def test_signature_by_another_key_is_rejected(fake, connect):
    provider = connect()
    session = str(uuid.uuid4())
    fake.results[session] = sign({"jti": session}, key=OTHER_KEY)
    with pytest.raises(UnexpectedResponse, match="does not verify"):
        await provider.fetch_session_result(session)


async def test_other_audience_and_jti_are_warnings(fake, connect):
    provider = connect()
    session = str(uuid.uuid4())
    fake.results[session] = sign({"jti": "other", "aud": "someone-else", "exp": 1})
    result = await provider.fetch_session_result(session)
    assert len(result.warnings) == 3
    assert result.check.warnings == result.warnings
    assert result.check.verdict is Verdict.INCONCLUSIVE


async def test_malformed_result_is_unexpected(fake, connect):
    provider = connect()
    session = str(uuid.uuid4())
    fake.results[session] = "a.b"
    with pytest.raises(UnexpectedResponse):
        await provider.fetch_session_result(session)
