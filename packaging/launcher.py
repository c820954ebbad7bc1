"""Entry script of the frozen FaceDesk (PyInstaller runs this as __main__).

Same as `python -m ui`; it only pins qasync's Qt binding first (ECOSYSTEM.md §1.7: qasync
may otherwise pick another binding it finds).
"""

import os

os.environ.setdefault("QT_API", "pyside6")

# QT_API is set first: qasync reads it on import (ui.main imports it lazily, but be safe).
from ui.main import run

raise SystemExit(run())
