"""The shared vendor kit in app/http: one ErrorTable + map_error, tolerant readers, one poll()."""

from __future__ import annotations

import httpx
import pytest

from app.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import ErrorTable, PollClock, map_error, poll
from app.http.parse import (
    as_bool,
    as_float,
    as_int,
    as_str,
    as_time,
    optional_int,
    required_list,
    required_str,
)

TABLE = ErrorTable(
    provider="Vendor",
    rules={
        ("*", 401): (AuthenticationFailed, "Vendor rejected the key."),
        ("*", 403): (PermissionDenied, "Vendor does not allow {feature}."),
        ("liveness", 403): (PermissionDenied, "Liveness is not enabled."),
        ("*", "Gone"): (NotFound, "The item is gone."),
        ("*", 429): (RateLimited, "Slow down. {retry}"),
        ("*", 500): (ProviderUnavailable, "Vendor had a problem ({status}) during {op}."),
    },
    features={"liveness": "liveness", "match": "face match"},
    status_first=frozenset({401, 429, 500}),
    vendor_said=" Vendor said: {said}",
)


def reply(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, request=httpx.Request("GET", "https://v"))


def test_a_kind_rule_beats_a_vendor_code_and_the_fallback_kind() -> None:
    error = map_error(TABLE, reply(403), operation="create", kind="liveness", code="Gone")
    assert type(error) is PermissionDenied
    assert error.user_message == "Liveness is not enabled."


def test_a_code_rule_beats_the_generic_status_rule() -> None:
    error = map_error(TABLE, reply(403), operation="get", kind="match", code="Gone")
    assert type(error) is NotFound
    assert error.vendor_code == "Gone"


def test_status_first_ignores_the_code_and_5xx_is_looked_up_as_500() -> None:
    assert type(map_error(TABLE, reply(401), operation="x", code="Gone")) is AuthenticationFailed
    error = map_error(TABLE, reply(503), operation="face match", code="Gone")
    assert type(error) is ProviderUnavailable
    assert error.user_message == "Vendor had a problem (503) during face match."


def test_templates_are_filled_and_rate_limits_carry_retry_after() -> None:
    error = map_error(TABLE, reply(403), operation="match", kind="match")
    assert error.user_message == "Vendor does not allow face match."
    limited = map_error(TABLE, reply(429, {"retry-after": "30"}), operation="x")
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 30
    assert limited.user_message == "Slow down. Try again in 30 s."


def test_unknown_statuses_fall_back_and_quote_the_vendor_text() -> None:
    error = map_error(TABLE, reply(418), operation="x", vendor_message="teapot {x}")
    assert type(error) is RequestRejected
    assert error.user_message.endswith(
        "(HTTP 418). Copy the details for support. Vendor said: teapot {x}"
    )


def test_tolerant_readers_never_take_a_bool_for_a_number() -> None:
    assert as_int(True) is None
    assert as_int(3.0) == 3
    assert as_int(3.5) is None
    assert as_int(" 42", from_text=True) == 42
    assert as_int("42") is None
    assert as_float(False) is None
    assert as_float("0.5", from_text=True) == 0.5
    assert as_bool("TRUE", from_text=True) is True
    assert as_bool("TRUE") is None
    assert as_str("") is None
    assert as_str(7) is None
    assert as_str(7, numbers=True) == "7"
    assert optional_int({"n": "5"}, "n") == 5
    moment = as_time("2026-01-02T03:04:05Z")
    assert moment is not None
    assert moment.utcoffset() is not None
    assert as_time("not a time") is None


def test_required_readers_raise_a_named_unexpected_response() -> None:
    assert required_str({"id": "a"}, "id", provider="V", operation="get") == "a"
    with pytest.raises(UnexpectedResponse, match=r"\(no id\)"):
        required_str({"id": 5}, "id", provider="V", operation="get")
    with pytest.raises(UnexpectedResponse, match=r"\(no items\)"):
        required_list({"items": {}}, "items", provider="V", operation="list")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> PollClock:
        return PollClock(monotonic=self.monotonic, sleep=self.sleep)


async def test_poll_stops_at_the_first_final_state_with_growing_capped_waits() -> None:
    fake = FakeClock()
    states = iter([1, 2, 3, 4, 5])

    async def fetch() -> int:
        return next(states)

    seen = [
        s
        async for s in poll(
            fetch, done=lambda s: s == 4, interval=2, growth=2, max_interval=5, clock=fake.clock()
        )
    ]
    assert seen == [1, 2, 3, 4]
    assert fake.slept == [2, 4, 5]


async def test_poll_ends_unfinished_when_the_next_wait_would_pass_the_deadline() -> None:
    fake = FakeClock()

    async def fetch() -> str:
        return "pending"

    seen = [
        s
        async for s in poll(
            fetch, done=lambda s: False, interval=4, give_up_after=10, clock=fake.clock()
        )
    ]
    assert seen == ["pending"] * 3
    assert fake.slept == [4, 4]


async def test_poll_waits_out_transient_failures_then_raises_the_next_one() -> None:
    fake = FakeClock()
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RateLimited("slow", retry_after=9)
        raise ProviderUnavailable("down")

    with pytest.raises(ProviderUnavailable, match="down"):
        async for _state in poll(
            fetch, done=lambda s: True, interval=1, transient_failures=2, clock=fake.clock()
        ):
            pass
    assert calls == 3
    assert fake.slept == [9, 1]
