"""`facedesk COMMAND ...`: the headless command line, one subcommand a module.

Each entry of `COMMANDS` names a module in this package that exposes `SUMMARY` (one line for
`facedesk --help`) and `main(argv, *, stdout=None, stderr=None) -> int`. Modules are imported only
when their command runs, so `facedesk --help` stays fast and the window's start-up pays nothing.

Exit status, for every command: 0 success, 1 the command ran and something failed (a vendor, a
file, a check), 2 bad usage.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO, cast

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# name -> (module, one-line summary). The summary lives here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("app.cli.prepare", "prepare images for a vendor's upload rules"),
    "compare": ("app.cli.compare", "face match one ID photo and selfie on every vendor"),
    "audit": ("app.cli.audit", "verify the tamper-evident audit trail, list its entries"),
    "case": ("app.cli.case", "cases: new, list, show, note, decide, export an evidence report"),
    "batch": ("app.cli.batch", "1:N search, face match or session lookup over a folder, resumable"),
    "inspect": ("app.cli.inspect", "image forensics: hidden metadata, edits, re-saves, ELA"),
    "db": ("app.cli.db", "the team store: upgrade its schema (owner), status, keep a password"),
}


class _CommandModule(Protocol):
    def main(
        self, argv: Sequence[str], *, stdout: TextIO | None = ..., stderr: TextIO | None = ...
    ) -> int: ...


def is_command(name: str) -> bool:
    """Whether `name` is a subcommand (so the window's launcher hands over to the CLI)."""
    return name in COMMANDS


def usage() -> str:
    """The command list printed by `facedesk --help` below the window's own options."""
    width = max(len(name) for name in COMMANDS)
    lines = ["commands (each has its own --help):"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk COMMAND ARGS...`; `argv[0]` is the command name."""
    err = stderr or sys.stderr
    if not argv or argv[0] not in COMMANDS:
        given = argv[0] if argv else ""
        err.write(f"facedesk: unknown command {given!r}\n{usage()}\n")
        return EXIT_USAGE
    module = cast(_CommandModule, importlib.import_module(COMMANDS[argv[0]][0]))
    return module.main(list(argv[1:]), stdout=stdout, stderr=stderr)
