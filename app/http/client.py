"""One httpx.AsyncClient per connection, with FaceDesk's network rules built into its transport.

Rules (each one has a test that fails without it):
- explicit timeouts and a User-Agent naming FaceDesk and its version;
- retries only for idempotent methods (GET, DELETE, PUT, HEAD, OPTIONS) on connection errors and
  429/502/503/504, with exponential backoff and full jitter, honouring `Retry-After` (seconds or
  an HTTP date), all under an overall deadline; POST and PATCH are never retried automatically
  (a retried POST could create a second vendor session);
- allow-list logging: method, path template, status, request id, elapsed; never headers,
  bodies, query strings or images;
- redirects are followed here, not by httpx: only GET/HEAD, only to the same origin (scheme,
  host, port), at most 3; any other redirect ends in `UnexpectedResponse` naming the host it
  pointed to, so no body and no credential ever reaches another origin;
- replies are streamed under a byte cap (JSON 8 MB, media 64 MB, per call) and JSON is parsed
  with a nesting limit, so a hostile reply ends in `UnexpectedResponse`, never a crash;
- every vendor path is built by `vendor_path` from a template and validated ids;
- `https` is required for every host that is not loopback. The in-process sandbox is the one
  exception, and it never touches a network.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from app import __version__
from app.errors import (
    AppError,
    ConfigurationError,
    ProviderUnavailable,
    UnexpectedResponse,
    ValidationError,
)

log = logging.getLogger("facedesk.http")

USER_AGENT = f"FaceDesk/{__version__} (+identity-verification desktop)"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
REQUEST_ID_HEADERS = ("request-id", "apim-request-id", "x-request-id", "x-ms-request-id")
MAX_REDIRECTS = 3
# Reply caps, in bytes after content decoding (a gzip bomb counts at its unpacked size).
JSON_REPLY_CAP = 8 * 1024 * 1024
MEDIA_REPLY_CAP = 64 * 1024 * 1024
# Deeper JSON than this is refused: no vendor contract nests beyond a dozen levels.
MAX_JSON_DEPTH = 64
MAX_ID_LENGTH = 256
_REDIRECT_METHODS = frozenset({"GET", "HEAD"})
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


def is_literal_loopback(host: str) -> bool:
    """127.0.0.0/8 or ::1 written as an address: a name like `localhost` can be re-pointed."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(url: httpx.URL | str, *, allow_plain_http: bool = False) -> None:
    """Refuse user-info in a URL, and plain http to anything but a literal loopback address.

    TLS verification can never be turned off. `user:pass@` in a base URL would be stored in
    settings.toml and sent as Basic auth, so it is refused rather than stripped.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError("That is not a valid URL. Check it and try again.") from exc
    if parsed.userinfo:
        raise ConfigurationError(
            "The URL contains a user name or password (the part before “@”). FaceDesk keeps "
            "credentials only in the system keyring: remove it from the URL and enter the "
            "credentials in their own fields."
        )
    if parsed.scheme == "https":
        return
    if parsed.scheme == "http" and (allow_plain_http or is_literal_loopback(parsed.host)):
        return
    raise ConfigurationError(
        f"FaceDesk only talks to {parsed.host or 'this address'} over https. "
        "Change the URL to start with https:// (plain http is allowed only for "
        "the loopback addresses 127.0.0.1 and [::1], e.g. the sandbox)."
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
        raise UnexpectedResponse(
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
            await response.aclose()  # unread: a retried reply's body is never needed
            log.info(
                "retrying %s after HTTP %d in %.2fs", request.method, response.status_code, wait
            )
            await self.clock.sleep(wait)

    def _may_retry(self, attempt: int, wait: float, deadline: float) -> bool:
        return attempt < self.retry.max_attempts and self.clock.monotonic() + wait < deadline

    async def _redirected(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Request | None:
        """The next request for a followable redirect; raise for any other redirect.

        Only GET/HEAD are followed, and only within the origin (scheme, host, port): a body or
        credential never reaches a host the operator did not configure.
        """
        location = response.headers.get("location")
        if not location:
            return None
        await response.aclose()  # the redirect's own body is never read
        try:
            target = request.url.join(location)
        except httpx.InvalidURL as exc:
            raise UnexpectedResponse(
                "The vendor redirected the request to an address that is not valid. Check the "
                "base URL in the connection settings."
            ) from exc
        require_secure_url(target, allow_plain_http=self.allow_plain_http)
        same_origin = (target.scheme, target.host, target.port) == (
            request.url.scheme,
            request.url.host,
            request.url.port,
        )
        if not same_origin:
            where = f"{target.host}:{target.port}" if target.port else target.host or "?"
            raise UnexpectedResponse(
                f"The vendor redirected the request to another address ({where}). "
                "FaceDesk does not follow redirects to other hosts, so nothing was sent there. "
                "Check the base URL in the connection settings."
            )
        if request.method.upper() not in _REDIRECT_METHODS:
            raise UnexpectedResponse(
                f"The vendor answered {request.method} with a redirect (HTTP "
                f"{response.status_code}). FaceDesk does not re-send data after a redirect. "
                "Check the base URL in the connection settings."
            )
        headers = httpx.Headers(request.headers)
        headers.pop("host", None)
        return httpx.Request(request.method, target, headers=headers, extensions=request.extensions)

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
    max_reply_bytes: int = JSON_REPLY_CAP,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, turning transport failures into `ProviderUnavailable` for the operator.

    Besides httpx's per-phase timeouts, the whole exchange is bounded, so a server that
    trickles bytes forever cannot hold an operation open. The reply is streamed and refused
    with `UnexpectedResponse` once it passes `max_reply_bytes` (use `MEDIA_REPLY_CAP` for
    images), so an endless or huge body cannot exhaust memory.
    """
    extensions: dict[str, Any] = {"path_template": path_template, NO_AUTOMATIC_RETRY: auto_retry}
    try:
        async with asyncio.timeout(_overall_limit(client.timeout)):
            request = client.build_request(method, url, extensions=extensions, **_build(kwargs))
            response = await client.send(request, auth=kwargs.get("auth"), stream=True)
            try:
                await _read_capped(response, max_reply_bytes, provider, operation)
            finally:
                await response.aclose()
    except AppError as exc:
        # Raised inside the transport (redirect refused), which knows neither name.
        exc.provider = exc.provider or provider
        exc.operation = exc.operation or operation
        raise
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
    except httpx.InvalidURL as exc:
        raise ConfigurationError(
            f"The address for this {provider} request is not valid. Check the base URL in the "
            "connection settings.",
            provider=provider,
            operation=operation,
        ) from exc
    except httpx.DecodingError as exc:
        raise UnexpectedResponse(
            f"{provider} sent a reply FaceDesk cannot read (its compression is broken). Try "
            "again; if it persists, copy the details for support.",
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


_REQUEST_KEYWORDS = ("content", "data", "files", "json", "params", "headers", "cookies", "timeout")


def _build(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(kwargs) - set(_REQUEST_KEYWORDS) - {"auth"}
    if unknown:
        raise TypeError(f"send() got unexpected keyword arguments {sorted(unknown)}")
    return {k: v for k, v in kwargs.items() if k in _REQUEST_KEYWORDS}


async def _read_capped(response: httpx.Response, cap: int, provider: str, operation: str) -> None:
    """Read the body into `response.content`, refusing it once it grows past `cap` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and "content-encoding" not in response.headers:
        raise _too_large(response, cap, provider, operation)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise _too_large(response, cap, provider, operation)
        chunks.append(chunk)
    # httpx keeps a read body here; aread() would do the same without the cap.
    response._content = b"".join(chunks)


def _too_large(
    response: httpx.Response, cap: int, provider: str, operation: str
) -> UnexpectedResponse:
    log.warning("%s %s: reply larger than %d bytes refused", provider, operation, cap)
    return UnexpectedResponse(
        f"{provider} sent a reply larger than FaceDesk accepts ({cap // (1024 * 1024)} MB). "
        "Try again; if it persists, copy the details for support.",
        provider=provider,
        operation=operation,
        request_id=request_id_of(response),
        http_status=response.status_code,
    )


def _overall_limit(timeout: httpx.Timeout) -> float | None:
    parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return sum(parts) if parts else None


_FORBIDDEN_ID_CHARS = re.compile(r"[/\\?#\x00-\x1f\x7f]")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def path_segment(value: str, *, field: str) -> str:
    """One validated, percent-encoded path segment for a vendor id.

    Refused with `ValidationError` naming `field`: empty, `.`, `..`, longer than
    `MAX_ID_LENGTH`, or holding `/`, a backslash, `?`, `#` or a control character. Such an id
    would change which resource the request reaches (`..` is resolved away by the URL).
    """
    text = value.strip()
    problem = ""
    if not text:
        problem = "is empty"
    elif text in (".", ".."):
        problem = f"cannot be “{text}”"
    elif len(text) > MAX_ID_LENGTH:
        problem = f"is longer than {MAX_ID_LENGTH} characters"
    elif _FORBIDDEN_ID_CHARS.search(text):
        problem = "contains /, \\, ?, # or a control character"
    if problem:
        raise ValidationError(
            f"The {field.replace('_', ' ')} {problem}. Paste the id exactly as the vendor "
            "shows it.",
            field=field,
        )
    return quote(text, safe="")


def vendor_path(template: str, /, **ids: str) -> str:
    """Fill a path template such as `persons/{person_id}` with validated, encoded ids."""
    names = _PLACEHOLDER.findall(template)
    if set(names) != set(ids):
        raise TypeError(f"vendor_path({template!r}) needs {sorted(names)}, got {sorted(ids)}")
    return _PLACEHOLDER.sub(lambda m: path_segment(ids[m.group(1)], field=m.group(1)), template)
