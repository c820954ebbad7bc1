"""One httpx.AsyncClient per connection, with FaceDesk's network rules built into its transport.

Rules (each one has a test that fails without it):
- explicit timeouts and a User-Agent naming FaceDesk and its version;
- retries only for idempotent methods (GET, DELETE, PUT, HEAD, OPTIONS) on connection errors and
  429/502/503/504, with exponential backoff and full jitter, honouring `Retry-After` (seconds or
  an HTTP date), all under an overall deadline; POST and PATCH are never retried automatically
  (a retried POST could create a second vendor session);
- allow-list logging: method, path template, status, request id, elapsed; never headers,
  bodies, query strings or images;
- redirects are followed here, not by httpx, so that credentials are dropped when a redirect
  leaves the original host;
- `https` is required for every host that is not loopback. The in-process sandbox is the one
  exception, and it never touches a network.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from app import __version__
from app.errors import ConfigurationError, ProviderUnavailable, UnexpectedResponse

log = logging.getLogger("facedesk.http")

USER_AGENT = f"FaceDesk/{__version__} (+identity-verification desktop)"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
REQUEST_ID_HEADERS = ("request-id", "apim-request-id", "x-request-id", "x-ms-request-id")
# Headers that carry a credential; dropped when a redirect leaves the original host.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "ocp-apim-subscription-key",
        "x-auth-client",
        "x-hmac-signature",
        "x-signature",
        "vrf-integration-id",
        "cookie",
        "uq-session-id",
    }
)
MAX_REDIRECTS = 5
# Request extension: set to False for an idempotent call whose every attempt has a cost the
# caller must count itself (Veriff's rate-limited DELETE), so it is sent exactly once.
NO_AUTOMATIC_RETRY = "facedesk_auto_retry"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to retry. Auth failures and POST are never retried."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    deadline: float = 45.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    idempotent_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential backoff for the given (1-based) failed attempt."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return float(ceiling * rng())


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        current = time.time() if now is None else now
        return max(0.0, moment.timestamp() - current)
    return max(0.0, seconds)


def is_loopback_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: httpx.URL | str, *, allow_plain_http: bool = False) -> None:
    """Refuse plain http to anything but loopback; TLS verification can never be turned off."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https":
        return
    if parsed.scheme == "http" and (allow_plain_http or is_loopback_host(parsed.host)):
        return
    raise ConfigurationError(
        f"FaceDesk only talks to {parsed.host or 'this address'} over https. "
        "Change the URL to start with https:// (plain http is allowed only for "
        "127.0.0.1 / localhost, e.g. the sandbox)."
    )


def request_id_of(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


@dataclass
class _Clock:
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: Callable[[], float] = random.random


@dataclass
class VendorTransport(httpx.AsyncBaseTransport):
    """Wraps the real (or in-process, or mock) transport with FaceDesk's network rules."""

    inner: httpx.AsyncBaseTransport
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_plain_http: bool = False
    clock: _Clock = field(default_factory=_Clock)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        require_secure_url(request.url, allow_plain_http=self.allow_plain_http)
        started = self.clock.monotonic()
        deadline = started + self.retry.deadline
        current = request
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send_with_retries(current, deadline)
            if not response.is_redirect:
                self._log(request, response, started)
                return response
            next_request = await self._redirected(current, response)
            if next_request is None:
                self._log(request, response, started)
                return response
            current = next_request
        raise ProviderUnavailable(
            "The vendor redirected the request too many times. Check the base URL in the "
            "connection settings."
        )

    async def _send_with_retries(self, request: httpx.Request, deadline: float) -> httpx.Response:
        retryable = request.method.upper() in self.retry.idempotent_methods and bool(
            request.extensions.get(NO_AUTOMATIC_RETRY, True)
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.inner.handle_async_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # RemoteProtocolError on an idempotent call is a dropped keep-alive connection.
                wait = self.retry.backoff(attempt, self.clock.rng)
                if not retryable or not self._may_retry(attempt, wait, deadline):
                    raise
                log.info(
                    "retrying %s after %s (attempt %d)", request.method, type(exc).__name__, attempt
                )
                await self.clock.sleep(wait)
                continue
            if not retryable or response.status_code not in self.retry.retry_statuses:
                return response
            advised = parse_retry_after(response.headers.get("retry-after"))
            wait = advised if advised is not None else self.retry.backoff(attempt, self.clock.rng)
            if not self._may_retry(attempt, wait, deadline):
                return response
            await response.aread()
            await response.aclose()
            log.info(
                "retrying %s after HTTP %d in %.2fs", request.method, response.status_code, wait
            )
            await self.clock.sleep(wait)

    def _may_retry(self, attempt: int, wait: float, deadline: float) -> bool:
        return attempt < self.retry.max_attempts and self.clock.monotonic() + wait < deadline

    async def _redirected(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Request | None:
        location = response.headers.get("location")
        if not location:
            return None
        target = request.url.join(location)
        require_secure_url(target, allow_plain_http=self.allow_plain_http)
        same_origin = (target.scheme, target.host, target.port) == (
            request.url.scheme,
            request.url.host,
            request.url.port,
        )
        headers = httpx.Headers(
            [
                (k, v)
                for k, v in request.headers.multi_items()
                if same_origin or k.lower() not in SENSITIVE_HEADERS
            ]
        )
        method = request.method
        content: bytes | None = request.content if request.method not in ("GET", "HEAD") else None
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, content = "GET", None
            for name in ("content-type", "content-length"):
                if name in headers:
                    del headers[name]
        await response.aread()
        await response.aclose()
        headers.pop("host", None)
        return httpx.Request(
            method, target, headers=headers, content=content, extensions=request.extensions
        )

    def _log(self, request: httpx.Request, response: httpx.Response, started: float) -> None:
        template = request.extensions.get("path_template") or "<untemplated>"
        log.info(
            "%s %s -> %d request_id=%s elapsed_ms=%d",
            request.method,
            template,
            response.status_code,
            request_id_of(response) or "-",
            int((self.clock.monotonic() - started) * 1000),
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    allow_plain_http: bool = False,
    clock: _Clock | None = None,
) -> httpx.AsyncClient:
    """Build the one client a connection uses; `transport` is injected in tests and the sandbox."""
    inner = transport or httpx.AsyncHTTPTransport(retries=0)
    wrapped = VendorTransport(
        inner=inner,
        retry=retry or RetryPolicy(),
        allow_plain_http=allow_plain_http,
        clock=clock or _Clock(),
    )
    return httpx.AsyncClient(
        transport=wrapped,
        timeout=timeout,
        follow_redirects=False,  # VendorTransport follows them, dropping credentials off-host
        headers={"User-Agent": USER_AGENT},
        trust_env=False,  # no proxy or .netrc credentials picked up behind the operator's back
    )


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    operation: str,
    path_template: str,
    auto_retry: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, turning transport failures into `ProviderUnavailable` for the operator.

    Besides httpx's per-phase timeouts, the whole exchange is bounded, so a server that
    trickles bytes forever cannot hold an operation open.
    """
    extensions: dict[str, Any] = {"path_template": path_template, NO_AUTOMATIC_RETRY: auto_retry}
    try:
        async with asyncio.timeout(_overall_limit(client.timeout)):
            response = await client.request(method, url, extensions=extensions, **kwargs)
            await response.aread()
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise ProviderUnavailable(
            f"{provider} did not answer in time. Check your network and try again; if it keeps "
            "happening the vendor may be having problems.",
            provider=provider,
            operation=operation,
        ) from exc
    except UnicodeEncodeError as exc:
        # Header values must be ASCII: a credential pasted with a curly quote or a
        # non-breaking space cannot be sent. Say so without repeating the value.
        raise ConfigurationError(
            f"A credential or setting of this {provider} connection contains a character that "
            "cannot be sent (often a curly quote, a line break or a non-breaking space picked "
            "up while copying). Open Connection settings and enter it again.",
            provider=provider,
            operation=operation,
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(
            f"Could not reach {provider} (the connection failed or was dropped). Check the base "
            "URL and your network, then try again.",
            provider=provider,
            operation=operation,
        ) from exc
    return response


def _overall_limit(timeout: httpx.Timeout) -> float | None:
    parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return sum(parts) if parts else None


def json_body(response: httpx.Response, *, provider: str, operation: str) -> Any:
    """Parse a JSON body, or raise `UnexpectedResponse` (logging its shape, never its content)."""
    try:
        return response.json()
    except ValueError as exc:
        log.warning(
            "%s %s: non-JSON body (content-type=%s, %d bytes)",
            provider,
            operation,
            response.headers.get("content-type", "-"),
            len(response.content),
        )
        raise UnexpectedResponse(
            f"{provider} sent a reply FaceDesk cannot read (not JSON). Try again; if it "
            "persists, copy the details for support.",
            provider=provider,
            operation=operation,
            request_id=request_id_of(response),
            http_status=response.status_code,
        ) from exc


def describe_shape(value: object, depth: int = 0) -> str:
    """A content-free description of a JSON value, safe to log."""
    if depth > 2:
        return "…"
    if isinstance(value, dict):
        inner = ", ".join(
            f"{k}: {describe_shape(v, depth + 1)}" for k, v in list(value.items())[:12]
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return f"[{describe_shape(value[0], depth + 1) if value else ''}]×{len(value)}"
    return type(value).__name__


def first_present(mapping: dict[str, Any], names: Iterable[str]) -> Any:
    for name in names:
        if name in mapping and mapping[name] is not None:
            return mapping[name]
    return None
