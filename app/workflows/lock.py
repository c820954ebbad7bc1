"""The idle lock: when the window hides itself, and how often a wrong credential may be tried.

Qt-free so its rules are tested with a fake clock: the window feeds it input events
(`activity()`), asks it on a timer whether the idle time is over (`poll()`), and locks on demand
(`lock()`). Unlocking is decided elsewhere (`app.unlock`); this only records the outcome.

    unlocked --(idle for `timeout` / lock())--> locked --(unlocked())--> unlocked
                                                  |
                                                  +--(failed())--> locked, next try after a delay

After `FREE_ATTEMPTS` wrong credentials each further one doubles the wait (capped), so a
passer-by cannot try passphrases at machine speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from app.settings import MAX_IDLE_LOCK_MINUTES

Clock = Callable[[], float]

DEFAULT_IDLE_MINUTES = 5
FREE_ATTEMPTS = 3
MAX_RETRY_DELAY = 30.0


class LockReason(StrEnum):
    IDLE = "idle"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class LockState:
    locked: bool
    reason: LockReason | None
    failed_attempts: int


class IdleLock:
    """Tracks input and decides when the window locks; `timeout_seconds=0` never idles out."""

    def __init__(self, timeout_seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._timeout = _checked_timeout(timeout_seconds)
        self._last_input = clock()
        self._reason: LockReason | None = None
        self._failed = 0
        self._retry_at = 0.0

    # --- reading -------------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self._reason is not None

    @property
    def state(self) -> LockState:
        return LockState(self.locked, self._reason, self._failed)

    @property
    def timeout_seconds(self) -> float:
        return self._timeout

    def seconds_until_lock(self) -> float | None:
        """How long until the idle lock, or None when locked already or idling never locks."""
        if self.locked or self._timeout == 0:
            return None
        return max(0.0, self._last_input + self._timeout - self._clock())

    def retry_in(self) -> float:
        """Seconds before the next unlock attempt is accepted (0 = now)."""
        return max(0.0, self._retry_at - self._clock())

    # --- events --------------------------------------------------------------------------------

    def activity(self) -> None:
        """The operator touched the keyboard or mouse: the idle time starts again."""
        if not self.locked:
            self._last_input = self._clock()

    def set_timeout(self, seconds: float) -> None:
        self._timeout = _checked_timeout(seconds)
        self._last_input = self._clock()

    def poll(self) -> bool:
        """Lock when the idle time is over; True only when this call locked."""
        remaining = self.seconds_until_lock()
        if remaining is None or remaining > 0:
            return False
        return self.lock(LockReason.IDLE)

    def lock(self, reason: LockReason = LockReason.MANUAL) -> bool:
        """Lock now; False when already locked (the first reason is kept)."""
        if self.locked:
            return False
        self._reason = reason
        return True

    def may_try(self) -> bool:
        return self.locked and self.retry_in() == 0

    def failed(self) -> float:
        """A wrong credential: returns how long the next attempt must wait."""
        self._failed += 1
        extra = self._failed - FREE_ATTEMPTS
        delay = 0.0 if extra < 0 else min(MAX_RETRY_DELAY, 2.0**extra)
        self._retry_at = self._clock() + delay
        return delay

    def unlocked(self) -> None:
        self._reason = None
        self._failed = 0
        self._retry_at = 0.0
        self._last_input = self._clock()


def _checked_timeout(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("the idle time before locking cannot be negative")
    return float(seconds)


def idle_minutes_problem(minutes: int) -> str | None:
    """Why `minutes` is not a usable idle-lock setting, or None when it is."""
    if 0 <= minutes <= MAX_IDLE_LOCK_MINUTES:
        return None
    return f"Lock after 1 to {MAX_IDLE_LOCK_MINUTES} minutes without input, or 0 to never lock."
