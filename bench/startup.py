"""Start-up: `facedesk` to the first paint of its window, against a bare PySide6 window.

Run: `.venv/bin/python bench/startup.py [--runs N] [--screenshot]`.

Each measurement is a fresh process (bytecode cached by one warm-up run of each, not timed),
timed from spawn to exit. To first paint: the process exits at the first paint event of its
main window (its shell: see ui/main_window.py); the anchor is a process that creates a
QApplication and a bare QMainWindow and exits the same way. To its tabs: the process exits at
the first paint of the vendor tab bar, when the window is usable (reported, no target). With
`--screenshot`: `facedesk --screenshot PNG` against a bare window rendered to a PNG. Runs are
interleaved; medians and the ratio facedesk / bare are printed.
Target (issue 16): <= 2x the bare window, to first paint and for --screenshot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Exit at the first paint of the main window, whoever built it.
PAINT_HOOK = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow):
            os._exit(0)
        return False

app = QApplication([sys.argv[0]])
hook = FirstPaint()
app.installEventFilter(hook)
"""

BARE_PAINT = (
    PAINT_HOOK
    + """
window = QMainWindow()
window.resize(1360, 860)
window.show()
app.exec()
"""
)

FACEDESK_PAINT = (
    PAINT_HOOK
    + """
from ui.main import run
run([])
"""
)

# Exit at the first paint of the vendor tabs' bar: the window is usable from then on. From the
# end of the shell's first frame to then, a 1 ms Qt timer measures the longest gap in the
# window's thread (the first frame itself is the first paint, timed above).
FACEDESK_TABS = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTabBar

class TabsPainted(QObject):
    beat = None
    last = 0.0
    longest = 0.0

    def tick(self):
        now = time.perf_counter()
        if self.last:  # the first tick comes when the first frame is drawn: gaps count from it
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def eventFilter(self, watched, event):
        if event.type() != QEvent.Type.Paint:
            return False
        if isinstance(watched, QMainWindow) and self.beat is None:
            self.beat = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=1)
            self.beat.timeout.connect(self.tick)
            self.beat.start()
        if isinstance(watched, QTabBar) and watched.count():
            self.tick()
            print(f"longest-gap-ms {self.longest * 1000:.1f}", flush=True)
            os._exit(0)
        return False

app = QApplication([sys.argv[0]])
hook = TabsPainted()
app.installEventFilter(hook)
from ui.main import run
run([])
"""

BARE_SCREENSHOT = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([sys.argv[0]])
window = QMainWindow()
window.resize(1360, 860)
window.show()
app.processEvents()
window.grab().save(sys.argv[1])
"""


def timed(command: list[str], env: dict[str, str], gaps: list[float] | None = None) -> float:
    """Seconds from spawn to exit; a `longest-gap-ms` line printed by the run goes to `gaps`."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, timeout=120, text=True)
    elapsed = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith("longest-gap-ms ") and gaps is not None:
            gaps.append(float(line.split()[1]) / 1000)
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--screenshot", action="store_true", help="measure --screenshot too")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "FACEDESK_CONFIG_DIR": f"{tmp}/config",
            "FACEDESK_DATA_DIR": f"{tmp}/data",
            "FACEDESK_LOG_DIR": f"{tmp}/log",
        }
        python = sys.executable
        png = f"{tmp}/shot.png"
        cases = {
            "bare window to first paint": [python, "-c", BARE_PAINT],
            "facedesk to first paint": [python, "-c", FACEDESK_PAINT],
            "facedesk to its tabs": [python, "-c", FACEDESK_TABS],
        }
        if args.screenshot:
            cases["bare window --screenshot"] = [python, "-c", BARE_SCREENSHOT, png]
            cases["facedesk --screenshot"] = [python, "-m", "ui", "--screenshot", png]
        for command in cases.values():  # warm-up: bytecode compiled, files cached
            timed(command, env)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        gaps: list[float] = []
        for _ in range(args.runs):
            for name, command in cases.items():
                samples[name].append(timed(command, env, gaps))
    for name, values in samples.items():
        figures[name] = statistics.median(values)
        print(f"{name:>28}: {figures[name] * 1000:7.0f} ms (median of {len(values)})")
    pairs = [
        ("first paint", "facedesk to first paint", "bare window to first paint", True),
        ("tabs usable", "facedesk to its tabs", "bare window to first paint", False),
    ]
    if args.screenshot:
        pairs.append(("--screenshot", "facedesk --screenshot", "bare window --screenshot", True))
    for label, ours, anchor, has_target in pairs:
        ratio = figures[ours] / figures[anchor]
        figures[f"ratio {label}"] = ratio
        verdict = ("met" if ratio <= 2 else "NOT met") if has_target else "no target"
        print(f"{label}: facedesk / bare = {ratio:.2f}x (target <= 2x: {verdict})")
    figures["longest stall while the tabs are built"] = statistics.median(gaps)
    print(
        "longest stall from the first frame to the usable window: "
        f"{statistics.median(gaps) * 1000:.1f} ms (median of {len(gaps)}; one 60 Hz frame: 16.7 ms)"
    )
    return figures


if __name__ == "__main__":
    main()
