"""Each network rule of app/http.py, proven by a test that fails without it."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable

import httpx
import pytest

from app.errors import ConfigurationError, ProviderUnavailable, UnexpectedResponse
from app.http import (
    USER_AGENT,
    RetryPolicy,
    _Clock,
    make_client,
    parse_retry_after,
    require_secure_url,
    send,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def as_clock(self) -> _Clock:
        return _Clock(monotonic=self.monotonic, sleep=self.sleep, rng=lambda: 1.0)


def scripted(
    responses: list[Callable[[httpx.Request], httpx.Response]],
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1](request)

    return httpx.MockTransport(handler), seen


def status(
    code: int, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, headers=headers or {}, json={"code": code})


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_get_is_retried_on_503_then_succeeds() -> None:
    clock = FakeClock()
    transport, seen = scripted([status(503), status(502), status(200)])
    async with make_client(transport=transport, clock=clock.as_clock()) as client:
        response = await client.get("https://vendor.example/v1/thing")
    assert response.status_code == 200
    assert len(seen) == 3
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff (jitter pinned to its ceiling)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_non_idempotent_methods_are_never_retried(method: str) -> None:
    clock = FakeClock()
    transport, seen = scripted([status(503), status(200)])
    async with make_client(transport=transport, clock=clock.as_clock()) as client:
        response = await client.request(method, "https://vendor.example/v1/sessions", json={})
    assert response.status_code == 503
    assert len(seen) == 1


async def test_post_is_not_retried_after_a_connection_error() -> None:
    transport, seen = scripted([dropped, status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("https://vendor.example/v1/sessions", json={})
    assert len(seen) == 1


async def test_delete_is_retried_after_a_connection_error() -> None:
    transport, seen = scripted([dropped, status(204)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        response = await client.delete("https://vendor.example/v1/sessions/abc")
    assert response.status_code == 204
    assert len(seen) == 2


async def test_retry_after_seconds_is_honoured() -> None:
    clock = FakeClock()
    transport, _seen = scripted([status(429, {"Retry-After": "7"}), status(200)])
    async with make_client(transport=transport, clock=clock.as_clock()) as client:
        response = await client.get("https://vendor.example/v1/thing")
    assert response.status_code == 200
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_is_parsed() -> None:
    now = time.time()
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30, abs=1.5)
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("-5") == 0.0


async def test_overall_deadline_stops_retrying_and_returns_the_last_answer() -> None:
    clock = FakeClock()
    transport, seen = scripted([status(429, {"Retry-After": "120"}), status(200)])
    policy = RetryPolicy(deadline=60.0)
    async with make_client(transport=transport, retry=policy, clock=clock.as_clock()) as client:
        response = await client.get("https://vendor.example/v1/thing")
    assert response.status_code == 429  # waiting 120 s would break the 60 s deadline
    assert len(seen) == 1
    assert clock.sleeps == []


async def test_attempts_are_capped() -> None:
    clock = FakeClock()
    transport, seen = scripted([status(503)])
    policy = RetryPolicy(max_attempts=3)
    async with make_client(transport=transport, retry=policy, clock=clock.as_clock()) as client:
        response = await client.get("https://vendor.example/v1/thing")
    assert response.status_code == 503
    assert len(seen) == 3


async def test_401_is_never_retried() -> None:
    transport, seen = scripted([status(401), status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        response = await client.get("https://vendor.example/v1/thing")
    assert response.status_code == 401
    assert len(seen) == 1


async def test_a_redirect_to_another_host_is_not_followed_and_names_that_host() -> None:
    def first(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/file"})

    transport, seen = scripted([first, status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises(UnexpectedResponse, match=r"elsewhere\.example") as info:
            await send(
                client,
                "GET",
                "https://vendor.example/v1/media/1",
                provider="Vendor",
                operation="download",
                path_template="/v1/media/{id}",
                headers={"Authorization": "Bearer secret", "x-api-key": "k"},
            )
    assert [r.url.host for r in seen] == ["vendor.example"]  # nothing reached the other host
    assert (info.value.provider, info.value.operation) == ("Vendor", "download")


@pytest.mark.parametrize(
    "location",
    ["https://vendor.example:8443/x", "http://127.0.0.1:9/x", "https://evil.example/x"],
)
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_no_redirect_to_another_origin_is_followed(code: int, location: str) -> None:
    transport, seen = scripted([lambda r: httpx.Response(code, headers={"Location": location})])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises((UnexpectedResponse, ConfigurationError)):
            await client.get("https://vendor.example/v1/thing")
    assert len(seen) == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_a_request_with_a_body_is_never_redirected_even_on_the_same_host(
    method: str, code: int
) -> None:
    transport, seen = scripted([lambda r: httpx.Response(code, headers={"Location": "/v2/x"})])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises(UnexpectedResponse, match=method):
            await client.request(method, "https://vendor.example/v1/x", content=b"person data")
    assert len(seen) == 1


async def test_same_origin_redirects_stop_after_three() -> None:
    loop = lambda r: httpx.Response(302, headers={"Location": f"/hop{len(seen)}"})  # noqa: E731
    transport, seen = scripted([loop])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises(UnexpectedResponse, match="too many"):
            await client.get("https://vendor.example/v1/thing")
    assert len(seen) == 4  # the request and three followed redirects


async def test_credentials_are_kept_on_a_same_host_redirect() -> None:
    def first(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "/v2/media/1"})

    transport, seen = scripted([first, status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        await client.get("https://vendor.example/v1/media/1", headers={"x-api-key": "k"})
    assert seen[1].url.path == "/v2/media/1"
    assert seen[1].headers["x-api-key"] == "k"


async def test_redirect_to_plain_http_is_refused() -> None:
    def first(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://evil.example/steal"})

    transport, seen = scripted([first, status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        with pytest.raises(ConfigurationError):
            await client.get("https://vendor.example/v1/media/1")
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.vendor.example/v1", True),
        ("http://127.0.0.1:8765/glair", True),
        # A name can be re-pointed (hosts file, DNS search domain): only literal addresses.
        ("http://localhost:8765/glair", False),
        ("http://127.0.0.2:8765/glair", True),
        ("https://user:pass@api.vendor.example/v1", False),
        ("https://key@api.vendor.example/v1", False),
        ("http://[::1]:8765/glair", True),
        ("http://api.vendor.example/v1", False),
        ("http://10.0.0.5/v1", False),
        ("ftp://api.vendor.example", False),
    ],
)
def test_https_is_required_except_for_loopback(url: str, allowed: bool) -> None:
    if allowed:
        require_secure_url(url)
    else:
        with pytest.raises(ConfigurationError, match=r"https|user name"):
            require_secure_url(url)


async def test_plain_http_request_to_a_remote_host_is_refused_before_sending() -> None:
    transport, seen = scripted([status(200)])
    async with make_client(transport=transport) as client:
        with pytest.raises(ConfigurationError):
            await client.get("http://api.vendor.example/v1/thing")
    assert seen == []


async def test_user_agent_names_facedesk() -> None:
    transport, seen = scripted([status(200)])
    async with make_client(transport=transport) as client:
        await client.get("https://vendor.example/")
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("FaceDesk/")


async def test_timeouts_are_explicit() -> None:
    client = make_client()
    try:
        assert client.timeout.connect is not None
        assert client.timeout.read is not None
    finally:
        await client.aclose()


async def test_logging_is_an_allow_list(caplog: pytest.LogCaptureFixture) -> None:
    transport, _seen = scripted(
        [lambda r: httpx.Response(200, headers={"apim-request-id": "req-42"}, json={"ok": 1})]
    )
    caplog.set_level(logging.INFO, logger="facedesk.http")
    async with make_client(transport=transport) as client:
        response = await send(
            client,
            "POST",
            "https://vendor.example/v1/sessions?name=Jane",
            provider="Vendor",
            operation="create",
            path_template="/v1/sessions",
            headers={"Authorization": "Bearer top-secret"},
            content=b'{"firstName": "Jane"}',
        )
    assert response.status_code == 200
    text = caplog.text
    assert "POST /v1/sessions -> 200 request_id=req-42" in text
    for leaked in ("top-secret", "Jane", "firstName", "name="):
        assert leaked not in text


async def test_send_turns_timeouts_into_provider_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    async with make_client(transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(ProviderUnavailable, match="did not answer in time") as info:
            await send(
                client,
                "POST",
                "https://vendor.example/x",
                provider="Vendor",
                operation="op",
                path_template="/x",
            )
    assert info.value.retryable


async def test_a_request_can_opt_out_of_automatic_retries() -> None:
    # Veriff's DELETE is idempotent but rate-limited: each attempt must be counted by the caller.
    transport, seen = scripted([status(503), status(200)])
    async with make_client(transport=transport, clock=FakeClock().as_clock()) as client:
        response = await send(
            client,
            "DELETE",
            "https://vendor.example/v1/sessions/1",
            provider="Vendor",
            operation="delete",
            path_template="/x",
            auto_retry=False,
        )
    assert response.status_code == 503
    assert len(seen) == 1


async def test_a_credential_that_http_cannot_carry_is_a_configuration_error() -> None:
    transport, seen = scripted([status(200)])
    pasted = "key-with-curly-quote\u201d"
    async with make_client(transport=transport) as client:
        with pytest.raises(ConfigurationError, match="enter it again") as info:
            await send(
                client,
                "GET",
                "https://vendor.example/x",
                provider="Vendor",
                operation="op",
                path_template="/x",
                headers={"x-api-key": pasted},
            )
    assert seen == []
    assert pasted not in info.value.user_message
