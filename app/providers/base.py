"""What every vendor module receives: its connection, its HTTP client and its credentials."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from app.capabilities import ProviderInfo
from app.errors import (
    AppError,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from app.http import describe_shape, parse_json, parse_retry_after, request_id_of
from app.store import Store

log = logging.getLogger("facedesk.providers")


@dataclass(frozen=True, slots=True)
class ProviderContext:
    info: ProviderInfo
    connection: str  # "Sandbox" or a profile name
    profile_key: str  # scopes registry rows, ledgers and keyring entries, e.g. "glair.Sandbox"
    fields: Mapping[str, str]  # the connection_fields' values (URLs already resolved)
    http: httpx.AsyncClient
    credential: Callable[[str], Awaitable[str]]  # raises CredentialsMissing when unset
    store: Store  # blocking: call through asyncio.to_thread
    is_sandbox: bool

    def field(self, name: str) -> str:
        return self.fields.get(name, "")

    def url(self, field_name: str, path: str) -> str:
        return self.fields.get(field_name, "").rstrip("/") + path


ERROR_CLASSES: dict[int, type[ProviderError]] = {
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    429: RateLimited,
}


def error_from_status(
    response: httpx.Response,
    *,
    provider: str,
    operation: str,
    message: str,
    vendor_code: str | None = None,
    cls: type[ProviderError] | None = None,
) -> AppError:
    """Build the typed error for a failed response; vendor modules supply the message."""
    status = response.status_code
    if cls is None:
        cls = ProviderUnavailable if status >= 500 else ERROR_CLASSES.get(status, RequestRejected)
    kwargs: dict[str, Any] = {
        "provider": provider,
        "operation": operation,
        "request_id": request_id_of(response),
        "vendor_code": vendor_code,
        "http_status": status,
    }
    if issubclass(cls, RateLimited):
        return cls(
            message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kwargs
        )
    return cls(message, **kwargs)


def retry_hint(response: httpx.Response) -> str:
    """'Try again in 30 s.' from Retry-After, or a generic hint."""
    seconds = parse_retry_after(response.headers.get("retry-after"))
    if seconds is None:
        return "Wait a minute and try again."
    if seconds < 90:
        return f"Try again in {max(1, round(seconds))} s."
    return f"Try again in {round(seconds / 60)} min."


def error_body(response: httpx.Response) -> dict[str, Any]:
    """A failed response's JSON object, or {} (a proxy's HTML 502 still maps by its status)."""
    try:
        body = parse_json(response.content)
    except ValueError:  # not JSON, not UTF-8, or nested too deeply
        return {}
    return body if isinstance(body, dict) else {}


_NO_BODY = object()


def unexpected_response(
    provider: str,
    operation: str,
    *,
    body: object = _NO_BODY,
    response: httpx.Response | None = None,
    request_id: str | None = None,
    detail: str = "",
) -> UnexpectedResponse:
    """The error for a reply outside the vendor's contract; logs its shape, never its content.

    `detail` is a content-free hint for the operator and support (e.g. "no match level").
    """
    if body is not _NO_BODY:
        log.warning("%s %s: unexpected reply shape %s", provider, operation, describe_shape(body))
    else:
        log.warning("%s %s: unreadable reply (%s)", provider, operation, detail or "-")
    what = f" ({detail})" if detail else ""
    return UnexpectedResponse(
        f"{provider} sent a reply FaceDesk cannot read{what}. Try again; if it persists, copy "
        "the details for support.",
        provider=provider,
        operation=operation,
        request_id=request_id or (request_id_of(response) if response is not None else None),
        http_status=response.status_code if response is not None else None,
    )
