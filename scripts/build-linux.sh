#!/usr/bin/env bash
# Builds the Linux bundle: dist/facedesk/facedesk (PyInstaller onedir, about a minute).
# Check it with: QT_QPA_PLATFORM=offscreen dist/facedesk/facedesk --self-test
# Extra arguments go to PyInstaller (e.g. --clean).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# The packaging files must carry pyproject.toml's version before anything is frozen.
.venv/bin/python packaging/version.py --check >/dev/null
started=$(date +%s)
.venv/bin/pyinstaller packaging/facedesk.spec --noconfirm --log-level WARN \
  --distpath dist --workpath build "$@"
echo "build-linux: dist/facedesk/facedesk ($(du -sh dist/facedesk | cut -f1)," \
  "$(( $(date +%s) - started )) s)"
