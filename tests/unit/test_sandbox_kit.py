"""The emulators' shared kit: credential guards, id checks, JSON bodies, one emulator per state."""

from __future__ import annotations

import base64

import pytest
from starlette.requests import Request

from app.sandbox.kit import (
    BodyProblem,
    PerState,
    basic_credentials,
    bearer_token,
    error_body,
    is_uuid,
    json_object,
    secret_matches,
)
from app.sandbox.state import SandboxState


def request_with(authorization: str) -> Request:
    headers = [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def test_secrets_compare_without_crashing_on_non_ascii_or_empty() -> None:
    assert secret_matches("key", "key")
    assert not secret_matches("kéy", "key")
    assert not secret_matches(None, "key")
    assert not secret_matches("", "key")


def test_bearer_and_basic_headers_are_read_or_refused() -> None:
    assert bearer_token(request_with("bearer  tok ")) == "tok"
    assert bearer_token(request_with("Basic abc")) is None
    assert bearer_token(request_with("Bearer ")) is None
    encoded = base64.b64encode(b"user:pa:ss").decode()
    assert basic_credentials(request_with(f"Basic {encoded}")) == ("user", "pa:ss")
    assert basic_credentials(request_with("Basic !!!")) is None
    no_colon = base64.b64encode(b"user").decode()
    assert basic_credentials(request_with(f"Basic {no_colon}")) is None


def test_ids_are_canonical_uuids_only() -> None:
    assert is_uuid("5a9c1d6e-0b7f-4c2e-9d3a-1E8F2B4C6D70")
    assert not is_uuid("5a9c1d6e0b7f4c2e9d3a1e8f2b4c6d70")
    assert not is_uuid("{5a9c1d6e-0b7f-4c2e-9d3a-1e8f2b4c6d70}")
    assert not is_uuid(None)


def test_bodies_must_be_json_objects() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    with pytest.raises(BodyProblem, match="not valid JSON"):
        json_object(b"{")
    with pytest.raises(BodyProblem, match="a JSON object is expected"):
        json_object(b"[1]")
    with pytest.raises(BodyProblem, match="a JSON object is expected"):
        json_object(b"")
    response = error_body(404, {"error": "gone"}, {"x-code": "Gone"})
    assert response.status_code == 404
    assert response.headers["x-code"] == "Gone"
    assert response.body == b'{"error":"gone"}'


def test_one_emulator_per_state_and_the_reset_reaches_it() -> None:
    class Emulator:
        def __init__(self, state: SandboxState) -> None:
            self.state = state
            self.resets = 0

        def reset(self) -> None:
            self.resets += 1

    emulator_for = PerState(Emulator, reset=lambda emulator: emulator.reset)
    first, second = SandboxState(), SandboxState()
    assert emulator_for(first) is emulator_for(first)
    assert emulator_for(first) is not emulator_for(second)
    first.reset()
    assert emulator_for(first).resets == 1
    assert emulator_for(second).resets == 0
