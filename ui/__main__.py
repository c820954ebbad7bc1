"""`python -m ui` runs FaceDesk."""

from ui.main import run

raise SystemExit(run())
