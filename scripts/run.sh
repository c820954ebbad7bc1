#!/usr/bin/env bash
# Runs FaceDesk. The default connection of every vendor tab is the built-in Sandbox, so this
# works with no credentials and no network. Extra arguments go to `facedesk`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export QT_API=pyside6
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "No display found: starting FaceDesk on a virtual X server (xvfb-run)." >&2
  echo "Use --screenshot out.png to see the window, or run from a desktop session." >&2
  exec xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/facedesk "$@"
fi
exec .venv/bin/facedesk "$@"
