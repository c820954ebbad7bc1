#!/usr/bin/env bash
# Runs every gate, headless: formatting, lint, strict typing, import contracts, the test suite.
# Extra arguments go to pytest (e.g. `scripts/test.sh tests/unit -k retry`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 QT_API=pyside6
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
# Tests never touch the developer's real settings, data or logs.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export FACEDESK_CONFIG_DIR="$scratch/config" FACEDESK_DATA_DIR="$scratch/data"
export FACEDESK_LOG_DIR="$scratch/logs"
bin=.venv/bin
echo "== ruff format --check";  "$bin/ruff" format --check .
echo "== ruff check";           "$bin/ruff" check .
echo "== mypy --strict";        "$bin/mypy"
echo "== import contracts";     "$bin/lint-imports"
echo "== pytest"
# An external timeout: a Qt deadlock can hold the GIL where pytest-timeout cannot act.
timeout --kill-after=30 "${FACEDESK_TEST_TIMEOUT:-2400}" "$bin/pytest" -p no:cacheprovider "$@"
