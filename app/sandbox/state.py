"""Shared sandbox state: the sandbox clock, injected faults, and reset hooks for each vendor."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SandboxClock:
    """Wall-clock time plus an offset the admin API can advance (expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


FAULT_KINDS = ("status", "delay", "malformed", "non_json", "drop")


@dataclass
class Fault:
    """Applied to the next `count` requests whose method and path match."""

    kind: str
    path: str  # a regular expression matched against the request path (search, not full match)
    method: str = "*"
    count: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and bool(
            re.search(self.path, path)
        )


class SandboxState:
    def __init__(self) -> None:
        self.clock = SandboxClock()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._resets: list[Callable[[], None]] = []
        self.settings: dict[str, Any] = {}

    def on_reset(self, callback: Callable[[], None]) -> None:
        self._resets.append(callback)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
        self.clock.offset = 0.0
        self.settings.clear()
        for callback in self._resets:
            callback()

    def reset_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
