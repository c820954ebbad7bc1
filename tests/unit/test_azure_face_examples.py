"""The official Azure Face example files parse with the client's models."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from app.vendors.azure_face.client import (
    parse_audit_entry,
    parse_ga_session,
    parse_preview_create,
    verify_result,
)
from app.vendors.azure_face.errors import _BY_CODE, _BY_STATUS, error_for
from app.vendors.azure_face.types import SessionKind
from tests.shared_specs import azure_face_specs

EXAMPLES = azure_face_specs() / "examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def test_v12_get_result_example() -> None:
    body = example("v1.2__LivenessSessionOperations_GetLivenessWithVerifySessionResult.json")
    session = parse_ga_session(
        body["responses"]["200"]["body"], SessionKind.LIVENESS_WITH_VERIFY, "v1.2"
    )
    assert session.session_id == "b12e033e-bda7-4b83-a211-e721c661f30e"
    assert [a.attempt_id for a in session.attempts] == [2, 1]
    latest = session.attempts[0]
    assert latest.decision == "realface"  # the example's "realFace", compared case-insensitively
    assert latest.match_confidence == pytest.approx(0.08871888)
    assert latest.is_identical is False
    assert latest.face is not None
    assert latest.face.width == 646
    assert session.attempts[1].error_code == "FaceWithMaskDetected"
    assert session.verify_reference is not None
    assert session.verify_reference.reference_type == "image"
    assert session.raw["authToken"] == "«hidden»"
    assert session.check_result().verdict.value == "negative"


def test_v12_get_result_shows_every_attempt_and_the_reference() -> None:
    """The issue: "each attempt's liveness decision", not only the latest attempt's."""
    body = example("v1.2__LivenessSessionOperations_GetLivenessWithVerifySessionResult.json")
    session = parse_ga_session(
        body["responses"]["200"]["body"], SessionKind.LIVENESS_WITH_VERIFY, "v1.2"
    )
    details = session.check_result().details
    assert details["Attempt 2"] == ("Succeeded: realface, matchConfidence 0.089 (not identical)")
    assert details["Attempt 1"] == "Failed: FaceWithMaskDetected"
    assert details["Reference face"] == "498×677 at (131, 316), quality high"


def test_v12_create_example() -> None:
    body = example("v1.2__LivenessSessionOperations_CreateLivenessWithVerifySession.json")
    session = parse_ga_session(
        body["responses"]["200"]["body"], SessionKind.LIVENESS_WITH_VERIFY, "v1.2"
    )
    assert session.status == "NotStarted"
    assert session.auth_token == "eyJhbGciOiJFUzI1NiIsIm"
    assert session.attempts == ()
    assert session.verify_reference is not None
    assert session.verify_reference.quality == "high"


def test_v12_delete_example_has_no_body() -> None:
    body = example("v1.2__LivenessSessionOperations_DeleteLivenessWithVerifySession.json")
    # The example says 200, the spec 204 (shared/providers/azure-face.md §9); neither has a body.
    assert all("body" not in r for r in body["responses"].values())


def test_preview_create_with_verify_image_example() -> None:
    name = (
        "v1.2-preview.1__LivenessSessionOperations_CreateLivenessWithVerifySessionWithVerifyImage"
        ".json"
    )
    body = example(name)
    params = json.loads(body["parameters"]["Parameters"])
    assert params["livenessOperationMode"] == "Passive"
    session = parse_preview_create(
        body["responses"]["200"]["body"], SessionKind.LIVENESS_WITH_VERIFY, "v1.2-preview.1"
    )
    assert session.verify_reference is not None
    assert session.verify_reference.face is not None
    assert session.verify_reference.face.left == 394
    assert "authToken" not in repr(session)


def test_preview_audit_entries_example() -> None:
    body = example(
        "v1.2-preview.1__LivenessSessionOperations_GetLivenessWithVerifySessionAuditEntries.json"
    )
    (entry,) = [parse_audit_entry(e) for e in body["responses"]["200"]["body"]]
    assert entry.entry_id == 4
    assert entry.status_code == 200
    assert entry.method == "POST"
    assert entry.attempt.decision is None  # the example's response body is empty


def test_verify_result_and_tolerance() -> None:
    result = verify_result({"isIdentical": True, "confidence": 0.9, "extra": 1})
    assert result.verdict.value == "positive"
    assert result.score is not None
    assert result.score.value == 0.9


def test_every_error_message_says_what_happened_and_what_to_do() -> None:
    """A user_message says what happened, then what to do (two sentences at least)."""
    messages = {f"code {k}": m for k, (_cls, m) in _BY_CODE.items()}
    messages.update({f"HTTP {k}": m for k, (_cls, m) in _BY_STATUS.items()})
    response = httpx.Response(418, json={"error": {"code": "Teapot", "message": "x"}})
    messages["fallback"] = error_for(response, "op").user_message.split(" Azure said:")[0]
    thin = {k: m for k, m in messages.items() if len(re.findall(r"[.!?](\s|$)", m)) < 2}
    assert not thin, thin
