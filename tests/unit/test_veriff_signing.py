"""Veriff request signing (shared/providers/veriff.md §2.1, §2.1b test vectors) and quota maths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.domain import Verdict
from app.vendors.veriff.auth import VeriffAuth, response_signature_ok, sign, signed_message
from app.vendors.veriff.client import VeriffProvider, quota_from_events
from app.vendors.veriff.types import (
    REASON_CODES,
    VeriffDecision,
    VeriffSessionRequest,
    reason_words,
)

VECTOR_SECRET = "abcdef12-abcd-abcd-abcd-abcdef012345"
VECTOR_BODY = (
    b'{"verification":{"callback":"https://veriff.com","person":{"firstName":"John",'
    b'"lastName":"Smith"},"document":{"type":"PASSPORT","country":"EE"},'
    b'"vendorData":"unique id of a user","timestamp":"2016-05-19T08:30:25.597Z"}}'
)
VECTOR_BODY_SIGNATURE = "6af6d95822e19e9cc707aec55395d8d363ba2c7bc4625bc04ebeca0c7bf8cd67"
VECTOR_ID = "aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7"
VECTOR_ID_SIGNATURE = "895cb3fd31139d89aeb7b263682e15479ab57651e70591256ad2c14fde4950dd"


def _signed(request: httpx.Request) -> httpx.Request:
    flow = VeriffAuth("api-key", VECTOR_SECRET).sync_auth_flow(request)
    return next(flow)


def test_vector_post_body() -> None:
    assert sign(VECTOR_SECRET, VECTOR_BODY) == VECTOR_BODY_SIGNATURE
    request = httpx.Request("POST", "https://x.test/v1/sessions", content=VECTOR_BODY)
    assert _signed(request).headers["X-HMAC-SIGNATURE"] == VECTOR_BODY_SIGNATURE
    assert _signed(request).headers["X-AUTH-CLIENT"] == "api-key"


def test_vector_session_id_for_get_and_delete() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID.encode()) == VECTOR_ID_SIGNATURE
    for method, path in (
        ("GET", f"/v1/sessions/{VECTOR_ID}/decision"),
        ("GET", f"/v1/sessions/{VECTOR_ID}/media"),
        ("GET", f"/v1/sessions/{VECTOR_ID}/watchlist-screening"),
        ("DELETE", f"/v1/sessions/{VECTOR_ID}"),
    ):
        request = httpx.Request(method, "https://x.test/prefix" + path)
        assert _signed(request).headers["X-HMAC-SIGNATURE"] == VECTOR_ID_SIGNATURE, path


@pytest.mark.parametrize("route", ["attempts", "media"])
def test_attempt_and_media_routes_sign_their_own_id(route: str) -> None:
    suffix = "/media" if route == "attempts" else ""
    request = httpx.Request("GET", f"https://x.test/v1/{route}/{VECTOR_ID}{suffix}")
    assert signed_message(request) == VECTOR_ID.encode()


def test_patch_signs_the_exact_bytes_sent() -> None:
    body = b'{"verification": {"status": "submitted"}}'  # spaces: still the bytes that are sent
    request = httpx.Request("PATCH", f"https://x.test/v1/sessions/{VECTOR_ID}", content=body)
    assert _signed(request).headers["X-HMAC-SIGNATURE"] == sign(VECTOR_SECRET, body)


def test_response_signature_check() -> None:
    body = b'{"status":"success"}'
    good = httpx.Response(200, content=body, headers={"x-hmac-signature": sign("s", body)})
    bad = httpx.Response(200, content=body, headers={"x-hmac-signature": "0" * 64})
    assert response_signature_ok(good, "s") is True
    assert response_signature_ok(bad, "s") is False
    assert response_signature_ok(httpx.Response(200, content=body), "s") is None


def test_payload_leaves_out_empty_values() -> None:
    payload = VeriffProvider.session_payload(
        VeriffSessionRequest(first_name="Approve", document_country="ee", vendor_data="case-1")
    )
    assert payload == {
        "verification": {
            "person": {"firstName": "Approve"},
            "document": {"country": "EE"},
            "vendorData": "case-1",
        }
    }


def test_quota_sliding_windows() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    events = [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    quota = quota_from_events(events, now)
    assert (quota.used_last_hour, quota.remaining) == (5, 0)
    assert quota.next_possible_at == now + timedelta(minutes=10)
    day = [now - timedelta(hours=h) for h in (23, 22, 21, 20, 19, 18, 17, 16, 15, 14)]
    quota = quota_from_events(day, now)
    assert (quota.used_last_hour, quota.used_last_day, quota.remaining) == (0, 10, 0)
    assert quota.next_possible_at == now + timedelta(hours=1)
    assert quota_from_events([], now).remaining == 5


def test_decision_words() -> None:
    assert reason_words(103) == REASON_CODES[103]
    assert "not in FaceDesk's table" in reason_words(999)
    decision = VeriffDecision(
        session_id=VECTOR_ID,
        status="declined",
        verdict=Verdict.NEGATIVE,
        code=9102,
        reason="x",
        reason_code=103,
    )
    card = decision.as_check_result()
    assert card.verdict is Verdict.NEGATIVE
    assert card.reasons[0].startswith("9102")
    assert "Reason 103" in card.reasons[1]


def test_every_mapped_error_says_what_to_do() -> None:
    """Each message says what happened and what to do (here: an instruction is present)."""
    from app.vendors.veriff.client import _delete_refusal
    from app.vendors.veriff.errors import _CODE_ERRORS, _STATUS_ERRORS

    actions = (
        "Check", "Choose", "Try", "Ask", "Create", "Load", "Paste", "Wait", "Enter", "Open",
        "Reload", "Remove", "Shorten", "must", "delete it",
    )  # fmt: skip
    for key, (_cls, message) in [*_CODE_ERRORS.items(), *_STATUS_ERRORS.items()]:
        if key == 429:
            continue  # built per response from Retry-After (see rate_message)
        assert any(word in message for word in actions), (key, message)
    for status in ("submitted", "review"):
        assert "Wait for Veriff's decision" in _delete_refusal(status)[1]
