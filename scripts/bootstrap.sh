#!/usr/bin/env bash
# Prepares this checkout on Debian 12 (or Ubuntu): the OS libraries Qt needs when missing,
# a virtual environment in .venv, and exactly the locked dependencies from requirements.lock.
# Safe to run repeatedly: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt offscreen + X11 (xcb) runtime libraries, Xvfb for screenshots, venv support
# (ECOSYSTEM.md §2.2), what PyInstaller needs to freeze the app (binutils, libpython), and
# poppler-utils, with which the tests read the evidence report back as text, and PostgreSQL,
# whose initdb/pg_ctl the team-store tests use to start a throwaway cluster (no service needed).
APT_PACKAGES=(
  python3-venv
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
  xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
  binutils libpython3.11
  poppler-utils
  postgresql
)

install_os_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "bootstrap: not a Debian-family system; install Qt's runtime libraries yourself." >&2
    return 0
  fi
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: installing OS packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "bootstrap: run as root: apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

make_venv() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: FaceDesk needs Python 3.11 or newer ($python is older)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$python" -m venv .venv
  fi
  local stamp
  stamp=".venv/.facedesk-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "bootstrap: installing locked dependencies (requirements.lock)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
      -r requirements.lock
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
      --no-build-isolation -e .
    rm -f .venv/.facedesk-*
    touch "$stamp"
  fi
}

install_os_packages
make_venv
