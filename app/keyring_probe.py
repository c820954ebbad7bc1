"""The keyring, probed in a thread after the window is up instead of on the way to it.

Importing keyring and asking it for a backend takes ~100 ms (it loads every backend, the
macOS one included on Linux). `DeferredSecretStore` starts that probe when told to (after the
first paint) or on first use, in a daemon thread, and then delegates to the store it found.
This module imports neither keyring nor `app.secrets` itself, so start-up does not pay for them.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.secrets import SecretStore


def _open_default() -> SecretStore:
    from app.secrets import open_secret_store

    return open_secret_store()


class DeferredSecretStore:
    """A `SecretStore` whose backend is chosen in a thread, on `start()` or on first use."""

    def __init__(self, opener: Callable[[], SecretStore] = _open_default) -> None:
        self._opener = opener
        self._future: concurrent.futures.Future[SecretStore] | None = None
        self._lock = threading.Lock()

    def start(self) -> concurrent.futures.Future[SecretStore]:
        with self._lock:
            if self._future is None:
                future: concurrent.futures.Future[SecretStore] = concurrent.futures.Future()
                self._future = future
                threading.Thread(
                    target=self._probe, args=(future,), name="facedesk-keyring", daemon=True
                ).start()
            return self._future

    def _probe(self, future: concurrent.futures.Future[SecretStore]) -> None:
        try:
            future.set_result(self._opener())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the store
            future.set_exception(exc)

    @property
    def resolved(self) -> bool:
        return self._future is not None and self._future.done()

    def store(self) -> SecretStore:
        """The chosen store; blocks until the probe has finished (call from a thread)."""
        return self.start().result()

    @property
    def reason(self) -> str:
        return str(getattr(self.store(), "reason", ""))

    @property
    def persistent(self) -> bool:
        return self.store().persistent

    @property
    def backend_name(self) -> str:
        return self.store().backend_name

    def get(self, profile_key: str, field: str) -> str | None:
        return self.store().get(profile_key, field)

    def set(self, profile_key: str, field: str, value: str) -> None:
        self.store().set(profile_key, field, value)

    def delete(self, profile_key: str, field: str) -> None:
        self.store().delete(profile_key, field)
