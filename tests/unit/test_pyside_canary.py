"""Canary for the PySide6 6.12 reference-count bug that aborts Python 3.11 (ECOSYSTEM §1.6).

If this fails after an upgrade, Signal.emit() is leaking references to True again: keep
PySide6 below that version.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal()


def test_signal_emit_does_not_steal_references_to_true(qapp) -> None:
    emitter = _Emitter()
    emitter.fired.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(50):
        emitter.fired.emit()
    assert sys.getrefcount(True) - before >= 0
