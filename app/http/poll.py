"""The one polling loop: ask, yield, wait a growing interval, under a deadline and a clock.

Every vendor that waits for work on its side (Azure training, GLAIR sessions, Veriff decisions)
polls through `poll()`. The clock is injected (`PollClock`), so tests run it without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from app.errors import ProviderUnavailable, RateLimited

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PollClock:
    """What `poll()` reads the time with and waits with."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


REAL_CLOCK = PollClock()


async def poll(
    fetch: Callable[[], Awaitable[T]],
    *,
    done: Callable[[T], bool],
    interval: float,
    max_interval: float | None = None,
    growth: float = 1.0,
    give_up_after: float | None = None,
    transient_failures: int = 0,
    clock: PollClock = REAL_CLOCK,
) -> AsyncIterator[T]:
    """Yield `fetch()` results until one is `done`, or until the next wait would pass the deadline.

    Args:
        fetch: one look at the remote state.
        done: True for a final state; it is yielded, then the loop ends.
        interval: the first wait, in seconds.
        max_interval: the longest wait, in seconds (None: no cap).
        growth: each wait is this many times the last one (1.0: a steady interval).
        give_up_after: seconds from the start after which no further wait begins; the loop then
            ends after yielding the last (unfinished) state, and the caller decides what that
            means (an error, or "still pending").
        transient_failures: how many `ProviderUnavailable` in a row are waited out (a
            `RateLimited` waits at least its Retry-After) before the next one is raised.
        clock: the time source and sleep, injected by tests.
    """
    deadline = None if give_up_after is None else clock.monotonic() + give_up_after
    wait = interval
    failures = 0
    while True:
        try:
            state = await fetch()
        except ProviderUnavailable as exc:
            failures += 1
            if failures > transient_failures:
                raise
            pause = wait
            if isinstance(exc, RateLimited) and exc.retry_after:
                pause = max(pause, exc.retry_after)
            await clock.sleep(pause)
            wait = _next(wait, growth, max_interval)
            continue
        failures = 0
        yield state
        if done(state):
            return
        if deadline is not None and clock.monotonic() + wait > deadline:
            return
        await clock.sleep(wait)
        wait = _next(wait, growth, max_interval)


def _next(wait: float, growth: float, max_interval: float | None) -> float:
    grown = wait * growth
    return grown if max_interval is None else min(max_interval, grown)
