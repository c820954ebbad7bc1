"""The one version number: read it from pyproject.toml and stamp it into the packaging files.

    .venv/bin/python packaging/version.py            # print the version, update stale files
    .venv/bin/python packaging/version.py --check    # exit 1 if a file disagrees (CI, tests)

pyproject.toml's [project] version is the only place to change it. The stamped files stay
valid as committed (an AppStream validator, Inno Setup or Xcode can read them directly);
this script rewrites only their version fields. facedesk.spec imports `read_version()`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGING = ROOT / "packaging"


def read_version(pyproject: Path = PYPROJECT) -> str:
    with pyproject.open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    if not isinstance(version, str) or not re.fullmatch(r"\d+(\.\d+){1,3}([.-]?\w+)?", version):
        raise SystemExit(f"version.py: unusable [project] version {version!r} in {pyproject}")
    return version


def numeric_version(version: str) -> str:
    """Windows and macOS want dotted numbers only: 1.2.0rc1 → 1.2.0."""
    match = re.match(r"\d+(\.\d+){0,3}", version)
    assert match is not None
    return match.group(0)


@dataclass(frozen=True, slots=True)
class Stamp:
    """One file and a function that returns its text with `version` written in."""

    path: Path
    apply: Callable[[str, str], str]


def _sub(
    pattern: str, replacement: Callable[[re.Match[str], str], str]
) -> Callable[[str, str], str]:
    compiled = re.compile(pattern, re.MULTILINE)

    def apply(text: str, version: str) -> str:
        new, count = compiled.subn(lambda m: replacement(m, version), text)
        if count == 0:
            raise SystemExit(f"version.py: no version field matching {pattern!r}")
        return new

    return apply


def _metainfo(text: str, version: str) -> str:
    """AppStream: the newest <release> names the version; a new version gets today's date."""
    match = re.search(r'<release version="([^"]*)" date="([^"]*)"', text)
    if match is None:
        raise SystemExit("version.py: facedesk.metainfo.xml has no <release> element")
    if match.group(1) == version:
        return text
    today = dt.date.today().isoformat()
    release = f'<release version="{version}" date="{today}"/>\n    '
    return text[: match.start()] + release + text[match.start() :]


def _plist_string(key: str) -> Callable[[str, str], str]:
    return _sub(
        rf"(<key>{key}</key>\s*<string>)[^<]*(</string>)",
        lambda m, v: f"{m.group(1)}{numeric_version(v)}{m.group(2)}",
    )


STAMPS = (
    # The running app's version (About, --version, User-Agent), read with no metadata lookup.
    Stamp(
        ROOT / "app" / "__init__.py",
        _sub(r'^(__version__ = ")[^"]*(")', lambda m, v: f"{m.group(1)}{v}{m.group(2)}"),
    ),
    Stamp(PACKAGING / "linux" / "facedesk.metainfo.xml", _metainfo),
    Stamp(
        PACKAGING / "windows" / "facedesk.iss",
        _sub(r'^(#define AppVersion ")[^"]*(")', lambda m, v: f"{m.group(1)}{v}{m.group(2)}"),
    ),
    Stamp(
        PACKAGING / "windows" / "facedesk.iss",
        _sub(
            r'^(#define AppNumericVersion ")[^"]*(")',
            lambda m, v: f"{m.group(1)}{numeric_version(v)}{m.group(2)}",
        ),
    ),
    Stamp(PACKAGING / "macos" / "Info.plist", _plist_string("CFBundleShortVersionString")),
    Stamp(PACKAGING / "macos" / "Info.plist", _plist_string("CFBundleVersion")),
)


def stale_files(version: str) -> dict[Path, str]:
    """Files whose text would change, with their new text."""
    texts: dict[Path, str] = {}
    for stamp in STAMPS:
        current = texts.get(stamp.path) or stamp.path.read_text(encoding="utf-8")
        texts[stamp.path] = stamp.apply(current, version)
    return {path: text for path, text in texts.items() if text != path.read_text(encoding="utf-8")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stamp pyproject's version into packaging/.")
    parser.add_argument("--check", action="store_true", help="report stale files, change none")
    args = parser.parse_args(argv)
    version = read_version()
    stale = stale_files(version)
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run packaging/version.py)", file=sys.stderr)
        print(version)
        return 1 if stale else 0
    for path, text in stale.items():
        path.write_text(text, encoding="utf-8")
        print(f"stamped {version} into {path.relative_to(ROOT)}")
    print(version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
