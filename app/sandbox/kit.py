"""What the four emulated vendors share: credential guards, error bodies, id checks, one state each.

Only vendor-neutral mechanics live here; every wire detail (which header, which status, which
body shape) stays in the vendor's module, written from its contract. Nothing here is shared with
the clients in `app/vendors/`, so a misreading of a contract in one is still caught by the other.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.sandbox.state import SandboxState

T = TypeVar("T")

UUID_PATTERN = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


# --- id checks ----------------------------------------------------------------------------------


def is_uuid(value: object) -> bool:
    """A UUID in its 8-4-4-4-12 hexadecimal form (any case), as every vendor here writes them."""
    return isinstance(value, str) and UUID_PATTERN.match(value) is not None


# --- credential guards --------------------------------------------------------------------------


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a credential taken from a request.

    Compares bytes: `compare_digest` refuses non-ASCII str, and a header may carry any latin-1
    byte; a stray é must get the vendor's documented refusal, not a crash.
    """
    if not given:
        return False
    return secrets.compare_digest(given.encode("latin-1", "replace"), expected.encode())


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header (scheme in any case), if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic …` header, or None when absent or garbled."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


# --- bodies -------------------------------------------------------------------------------------


def error_body(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error answer in the vendor's own body shape (the caller builds `body`)."""
    return JSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


class BodyProblem(ValueError):
    """A request body that is not JSON, or not a JSON object; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def json_object(raw: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object; `BodyProblem` otherwise.

    Each vendor turns the problem into its own documented error (status, code and words).
    """
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        raise BodyProblem("not valid JSON") from None
    if not isinstance(payload, dict):
        raise BodyProblem("a JSON object is expected")
    return payload


# --- one emulated vendor per sandbox ------------------------------------------------------------


class PerState(Generic[T]):
    """One vendor emulator per `SandboxState`, shared by its API app and its admin app.

    `reset` names the emulator's method that forgets everything; it is registered with the state
    so that the sandbox's reset reaches every vendor.
    """

    def __init__(
        self,
        factory: Callable[[SandboxState], T],
        reset: Callable[[T], Callable[[], None]] | None = None,
    ) -> None:
        self._factory = factory
        self._reset = reset
        self._lock = threading.Lock()
        self._instances: weakref.WeakKeyDictionary[SandboxState, T] = weakref.WeakKeyDictionary()

    def __call__(self, state: SandboxState) -> T:
        with self._lock:
            found = self._instances.get(state)
            if found is None:
                found = self._factory(state)
                if self._reset is not None:
                    state.on_reset(self._reset(found))
                self._instances[state] = found
            return found
