"""Keeping FaceDesk's windows out of screen shares and screenshots (Windows only).

Windows 10 2004 and later honour `SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)`: the
window shows on the operator's monitor and is left out of captures (Teams, Zoom, the Snipping
Tool, PrintScreen). Older Windows only know `WDA_MONITOR` (the window captures as black), which
is the fallback. Other platforms have no such call; the Privacy view is their protection.

Tested here with an injected `user32` function only: untested on a real Windows desktop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WDA_NONE = 0x00
WDA_MONITOR = 0x01
WDA_EXCLUDEFROMCAPTURE = 0x11

SetAffinity = Callable[[int, int], int]  # (hwnd, affinity) -> BOOL


@dataclass(frozen=True, slots=True)
class CaptureResult:
    applied: bool
    affinity: int
    message: str


def set_capture_exclusion(
    hwnd: int,
    exclude: bool,
    *,
    platform: str = sys.platform,
    set_affinity: SetAffinity | None = None,
) -> CaptureResult:
    """Exclude the window `hwnd` from capture (or allow it again); says what happened."""
    if platform != "win32":
        return CaptureResult(
            False, WDA_NONE, "Only Windows can keep a window out of screen captures."
        )
    call = set_affinity if set_affinity is not None else _user32_set_affinity()
    if call is None:
        return CaptureResult(False, WDA_NONE, "SetWindowDisplayAffinity is not available.")
    if not exclude:
        ok = bool(call(hwnd, WDA_NONE))
        return CaptureResult(ok, WDA_NONE, "Screen captures show FaceDesk." if ok else _FAILED)
    if call(hwnd, WDA_EXCLUDEFROMCAPTURE):
        return CaptureResult(True, WDA_EXCLUDEFROMCAPTURE, "Screen captures leave FaceDesk out.")
    # Before Windows 10 2004 the exclude value is refused; WDA_MONITOR captures as black.
    if call(hwnd, WDA_MONITOR):
        return CaptureResult(
            True, WDA_MONITOR, "This Windows shows FaceDesk as a black area in captures."
        )
    return CaptureResult(False, WDA_NONE, _FAILED)


_FAILED = "Windows refused to change whether screen captures show FaceDesk."


def _user32_set_affinity() -> SetAffinity | None:  # pragma: no cover - Windows only
    import ctypes

    windll: Any = getattr(ctypes, "windll", None)
    if windll is None:
        return None
    function: Any = windll.user32.SetWindowDisplayAffinity
    function.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
    function.restype = ctypes.c_int

    def call(hwnd: int, affinity: int) -> int:
        return int(function(hwnd, affinity))

    return call
