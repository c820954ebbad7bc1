"""The AppError tree: every failure the operator can meet, with a message written for them.

```
AppError(user_message, *, provider=None, operation=None, request_id=None)   retryable = False
├── ConfigurationError        nothing was sent: missing URL, missing credentials, keyring failure
│   └── CredentialsMissing    a credential field of the active connection is empty
├── ImageError                undecodable, decompression bomb, too small / too large, wrong format
├── CapabilityNotSupported    the provider does not offer this operation
├── OperationRefused          FaceDesk itself refused before sending (a rule or a quota)
│   └── ValidationError       an id or value typed by the operator cannot be sent; names the field
└── ProviderError             a vendor call failed
    ├── ProviderUnavailable   timeout, network, 5xx                        retryable = True
    │   └── RateLimited       429, with .retry_after (seconds)
    ├── AuthenticationFailed  401/403 on credentials; never retried; offers "Open credentials"
    ├── PermissionDenied      403: credentials are fine but the feature is not enabled
    ├── RequestRejected       other 4xx, with the vendor's code and message
    ├── NotFound              unknown, deleted or expired id
    └── UnexpectedResponse    the body does not match the contract (shape logged, never content)
```

`user_message` says what happened and what to do next. It never contains exception text,
secrets or personal data: those stay out of banners, logs and crash reports alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """What "Copy details" puts on the clipboard: enough for support, nothing personal."""

    kind: str
    message: str
    provider: str | None
    operation: str | None
    request_id: str | None
    vendor_code: str | None
    http_status: int | None
    time_utc: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def as_text(self) -> str:
        lines = [f"{self.kind}: {self.message}"]
        for label, value in (
            ("Provider", self.provider),
            ("Operation", self.operation),
            ("HTTP status", self.http_status),
            ("Vendor code", self.vendor_code),
            ("Request id", self.request_id),
            ("Time (UTC)", self.time_utc),
        ):
            if value is not None:
                lines.append(f"{label}: {value}")
        return "\n".join(lines)


class AppError(Exception):
    """Base of every error FaceDesk expects; anything else is a bug and opens the crash dialog."""

    retryable: bool = False

    def __init__(
        self,
        user_message: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
        vendor_code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.provider = provider
        self.operation = operation
        self.request_id = request_id
        self.vendor_code = vendor_code
        self.http_status = http_status

    def details(self) -> ErrorDetails:
        return ErrorDetails(
            kind=type(self).__name__,
            message=self.user_message,
            provider=self.provider,
            operation=self.operation,
            request_id=self.request_id,
            vendor_code=self.vendor_code,
            http_status=self.http_status,
        )


class ConfigurationError(AppError):
    """Nothing was sent: the connection is incomplete or the keyring failed."""


class CredentialsMissing(ConfigurationError):
    """A credential the active connection needs is not set."""


class ImageError(AppError):
    """The image cannot be used; the message says what is wrong with the file and what to do."""


class CapabilityNotSupported(AppError):
    """The provider does not offer this operation (a programming error, surfaced politely)."""


class OperationRefused(AppError):
    """FaceDesk refused before sending anything, e.g. a vendor rule or a local quota."""


class ValidationError(OperationRefused):
    """A value cannot be sent as it is (e.g. an id of `..`); `field` names the input to fix."""

    def __init__(self, user_message: str, *, field: str, **kwargs: object) -> None:
        super().__init__(user_message, **kwargs)  # type: ignore[arg-type]  # same keywords as AppError
        self.field = field


class ProviderError(AppError):
    """A vendor call failed."""


class ProviderUnavailable(ProviderError):
    """Timeout, network failure or a 5xx: trying again later may work."""

    retryable = True


class RateLimited(ProviderUnavailable):
    """429 Too Many Requests; `retry_after` is the vendor's advice in seconds, if it gave one."""

    def __init__(self, user_message: str, *, retry_after: float | None = None, **kwargs: object):
        super().__init__(user_message, **kwargs)  # type: ignore[arg-type]  # same keywords as AppError
        self.retry_after = retry_after


class AuthenticationFailed(ProviderError):
    """The vendor rejected the credentials (never retried; the UI offers "Open credentials")."""


class PermissionDenied(ProviderError):
    """The credentials work, but this feature is not enabled for them."""


class RequestRejected(ProviderError):
    """The vendor refused the request (a 4xx other than auth/not-found), with its own code."""


class NotFound(ProviderError):
    """The id is unknown to the vendor, deleted, or expired."""


class UnexpectedResponse(ProviderError):
    """The vendor answered with something its contract does not describe."""
