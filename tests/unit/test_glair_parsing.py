"""GLAIR reply parsing: tolerant of the [INFERRED] variants, strict about the unknown."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from app.domain import Verdict
from app.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.vendors.glair import client as glair
from app.vendors.glair import errors as glair_errors
from app.vendors.glair.types import GESTURES, SessionKind, SessionStatus, describe_gesture


def test_sid_is_the_last_path_segment() -> None:
    assert glair.sid_from_url("https://x.glair.ai/liveness/abc123") == "abc123"
    assert glair.sid_from_url("https://x.glair.ai/liveness/abc123/?lang=id") == "abc123"


def test_every_documented_gesture_has_a_description() -> None:
    assert len(GESTURES) == 19
    assert all(description and description != code for code, description in GESTURES.items())
    assert describe_gesture("HAND_99999") == "HAND_99999"


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("MATCH", Verdict.POSITIVE),
        ("NOT_MATCH", Verdict.NEGATIVE),
        ("NO_FACE_STORED_IMG", Verdict.INCONCLUSIVE),
        ("MANY_FACES_CAPTURED_IMG", Verdict.INCONCLUSIVE),
        ("SOMETHING_NEW", Verdict.INCONCLUSIVE),
    ],
)
def test_match_codes_become_verdicts(code: str, verdict: Verdict) -> None:
    body = {"status": "success", "result": {"match_percentage": 0.95768, "match_status_code": code}}
    result = glair.parse_match(body, "rid")
    assert result.verdict is verdict
    assert result.request_id == "rid"
    assert result.reasons
    if verdict is Verdict.INCONCLUSIVE:
        assert result.score is None
    else:
        assert result.score is not None
        assert result.score.value == pytest.approx(0.95768)
        assert "fraction" in result.score.meaning


def test_match_without_status_code_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse):
        glair.parse_match({"status": "success", "result": {"match_percentage": 0.5}})


@pytest.mark.parametrize(
    ("band", "verdict"),
    [
        ("LOW", Verdict.POSITIVE),
        ("MODERATE", Verdict.INCONCLUSIVE),
        ("HIGH", Verdict.NEGATIVE),
        ("face not detected", Verdict.INCONCLUSIVE),
        ("too many faces detected", Verdict.INCONCLUSIVE),
    ],
)
def test_passive_liveness_bands(band: str, verdict: Verdict) -> None:
    result = glair.parse_passive_liveness(
        {"status": "success", "result": {"spoof_percentage": 0.5678, "status": band}}
    )
    assert result.verdict is verdict


def test_passive_liveness_unknown_band_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse):
        glair.parse_passive_liveness({"status": "success", "result": {"status": "PURPLE"}})


def test_active_liveness_names_both_gestures() -> None:
    result = glair.parse_active_liveness(
        {
            "status": "success",
            "result": {"gesture_status": "NOT_MATCH", "detected_gesture": "HEAD_UP"},
        },
        "HEAD_DOWN",
    )
    assert result.verdict is Verdict.NEGATIVE
    assert result.details["Detected gesture"] == "HEAD_UP: Head tilted up"
    assert result.details["Requested gesture"] == "HEAD_DOWN: Head tilted down"


def _session(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "status": "PENDING",
        "success_url": "https://example.com/ok",
        "cancel_url": None,
        "url": "https://web.glair.ai/passive-liveness/0123456789abcdef0123456789abcdef",
        "expired": 1_790_000_000_000,
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("pending_result", [None, {}])
def test_pending_session_result_may_be_null_or_empty(pending_result: object) -> None:
    session = glair.parse_session(SessionKind.PASSIVE, _session(result=pending_result))
    assert session.sid == "0123456789abcdef0123456789abcdef"
    assert session.status is SessionStatus.PENDING
    assert session.result is None
    assert session.expires_at == datetime.fromtimestamp(1_790_000_000, UTC)


@pytest.mark.parametrize(
    "result",
    [
        {"status": "success", "result": {"spoof_percentage": 0.9, "status": "HIGH"}},
        {"status": "success", "result": {"spoof_percentage": 0.9, "spoof_status": "HIGH"}},
        {"spoof_percentage": 0.9, "spoof_status": "HIGH"},
    ],
)
def test_finished_session_result_variants(result: dict[str, object]) -> None:
    session = glair.parse_session(SessionKind.PASSIVE, _session(status="FINISHED", result=result))
    assert session.status is SessionStatus.FINISHED
    assert session.result is not None
    assert session.result.verdict is Verdict.NEGATIVE
    assert session.result.score is not None
    assert session.result.score.value == pytest.approx(0.9)


def test_finished_session_with_unknown_result_is_inconclusive_not_an_error() -> None:
    session = glair.parse_session(
        SessionKind.ACTIVE, _session(status="FINISHED", result={"weird": True})
    )
    assert session.result is not None
    assert session.result.verdict is Verdict.INCONCLUSIVE


def test_expiry_in_seconds_is_accepted() -> None:
    session = glair.parse_session(SessionKind.PASSIVE, _session(expired=1_790_000_000))
    assert session.expires_at == datetime.fromtimestamp(1_790_000_000, UTC)


def test_session_without_url_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse):
        glair.parse_session(SessionKind.PASSIVE, {"status": "PENDING"})


@pytest.mark.parametrize(
    ("status", "headers", "cls"),
    [
        (400, {}, RequestRejected),
        (401, {}, AuthenticationFailed),
        (403, {}, PermissionDenied),
        (404, {}, NotFound),
        (415, {}, RequestRejected),
        (422, {}, RequestRejected),
        (429, {"Retry-After": "30"}, RateLimited),
        (500, {}, ProviderUnavailable),
        (504, {}, ProviderUnavailable),
    ],
)
def test_status_table(status: int, headers: dict[str, str], cls: type[Exception]) -> None:
    response = httpx.Response(
        status,
        json={"error": "bad thing"},
        headers={**headers, "Request-Id": "r-9"},
        request=httpx.Request("POST", "https://api.vision.glair.ai/face/v1/match"),
    )
    error = glair_errors.error_for(response, "face match", {"error": "bad thing"})
    assert type(error) is cls
    assert error.request_id == "r-9"
    assert error.user_message
    assert "{" not in error.user_message
