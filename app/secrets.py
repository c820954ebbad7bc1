"""Credentials live only in the OS keyring (service "facedesk", username "<profile>:<field>").

When no keyring backend exists (a headless Linux box without Secret Service), secrets are kept
in memory for this run only and the operator is told so. Nothing is ever written to a file.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from app.errors import ConfigurationError

log = logging.getLogger("facedesk.secrets")

SERVICE = "facedesk"


def secret_username(profile_key: str, field: str) -> str:
    return f"{profile_key}:{field}"


class SecretStore(Protocol):
    """Blocking API (keyring may wait for an unlock prompt): call it through asyncio.to_thread."""

    @property
    def persistent(self) -> bool: ...

    @property
    def backend_name(self) -> str: ...

    def get(self, profile_key: str, field: str) -> str | None: ...

    def set(self, profile_key: str, field: str, value: str) -> None: ...

    def delete(self, profile_key: str, field: str) -> None: ...


class MemorySecretStore:
    """Secrets for this run only: the fallback without a keyring, and the store tests use."""

    def __init__(self, reason: str = "") -> None:
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self.reason = reason

    @property
    def persistent(self) -> bool:
        return False

    @property
    def backend_name(self) -> str:
        return "memory (this run only)"

    def get(self, profile_key: str, field: str) -> str | None:
        with self._lock:
            return self._values.get((profile_key, field))

    def set(self, profile_key: str, field: str, value: str) -> None:
        with self._lock:
            self._values[(profile_key, field)] = value

    def delete(self, profile_key: str, field: str) -> None:
        with self._lock:
            self._values.pop((profile_key, field), None)


class KeyringSecretStore:
    """The OS keyring: macOS Keychain, Windows Credential Manager, Secret Service on Linux."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend or keyring.get_keyring()

    @property
    def persistent(self) -> bool:
        return True

    @property
    def backend_name(self) -> str:
        return f"{type(self._backend).__module__}.{type(self._backend).__name__}"

    def get(self, profile_key: str, field: str) -> str | None:
        try:
            return self._backend.get_password(SERVICE, secret_username(profile_key, field))
        except keyring.errors.KeyringError as exc:
            raise _keyring_failed("read") from exc

    def set(self, profile_key: str, field: str, value: str) -> None:
        try:
            self._backend.set_password(SERVICE, secret_username(profile_key, field), value)
        except keyring.errors.KeyringError as exc:
            raise _keyring_failed("save") from exc

    def delete(self, profile_key: str, field: str) -> None:
        try:
            self._backend.delete_password(SERVICE, secret_username(profile_key, field))
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise _keyring_failed("delete") from exc


def _keyring_failed(action: str) -> ConfigurationError:
    return ConfigurationError(
        f"The system keyring could not {action} the credential. Unlock your keyring (or log in "
        "to your desktop session) and try again."
    )


def _refused(backend: KeyringBackend) -> bool:
    """True for a failing, null or plaintext backend, or a chainer holding only such ones."""
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail") or module == "keyring.backends.null":
        return True
    # The third-party "alt" backends keep secrets in a plaintext (base64) file: never use them,
    # even when someone installed that package, and however they are reached (directly, by
    # configuration, or inside a chainer).
    if tuple(module.split(".")[:2]) == ("keyrings", "alt"):
        return True
    chained = getattr(backend, "backends", None)
    if chained is not None:
        return all(_refused(inner) for inner in list(chained))
    return False


def usable_backend() -> KeyringBackend | None:
    """The keyring backend to use, or None when only a failing or plaintext one exists.

    A chainer that holds some secure backend is narrowed to that backend, so a plaintext
    backend it also holds can never receive a write.
    """
    backend = keyring.get_keyring()
    if _refused(backend):
        return None
    chained = getattr(backend, "backends", None)
    if chained is not None:
        secure: KeyringBackend = next(inner for inner in list(chained) if not _refused(inner))
        return secure
    return backend


def open_secret_store() -> SecretStore:
    backend = usable_backend()
    if backend is None:
        log.warning("no usable keyring backend; credentials are kept in memory for this run")
        return MemorySecretStore(
            reason="No system keyring is available, so credentials are kept in memory for this "
            "run only and must be entered again next time."
        )
    return KeyringSecretStore(backend)
