"""What several commands share: argparse that returns a status, and the connections help text."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TextIO

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad usage: the command prints its usage and this message, and exits 2."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` returns its status."""

    def error(self, message: str) -> None:  # type: ignore[override]  # argparse: NoReturn
        raise UsageError(message)


def parse_action_command(
    command: str, parser: Parser, argv: Sequence[str], out: TextIO, err: TextIO
) -> argparse.Namespace | int:
    """`facedesk COMMAND ACTION …` parsed, or the exit status when there is nothing to run.

    `argv` may start with the command's name. No action prints the help and gives 2; -h or
    --help gives the help and 0; bad usage prints the usage and the reason, and gives 2.
    """
    args_list = list(argv)
    if args_list[:1] == [command]:
        args_list = args_list[1:]
    if not args_list or args_list[:1] in (["-h"], ["--help"]):
        parser.print_help(out)
        return EXIT_OK if args_list else EXIT_USAGE
    try:
        return parser.parse_args(args_list)
    except UsageError as exc:
        parser.print_usage(err)
        print(f"facedesk {command}: {exc}", file=err)
        return EXIT_USAGE


def connections_help(vendors: Sequence[str]) -> str:
    """The `--connection` rules and every `FACEDESK_<ID>_<FIELD>` variable of these vendors."""
    from app.vendors import registry
    from app.workflows.connections import describe_env_variables

    infos = [module.INFO for pid, module in registry().items() if pid in vendors]
    return (
        "connections:\n"
        "  Without --connection a vendor uses its active connection (the built-in Sandbox\n"
        "  unless the settings say otherwise). --connection ID=NAME picks a saved profile\n"
        "  (credentials from the keyring); --connection ID=env reads the variables below.\n"
        "  Unset fields take the vendor's defaults; URLs must be https (or http to loopback).\n"
        "  Values are never printed, logged or written.\n\n"
        "environment variables for --connection ID=env:\n"
        f"{describe_env_variables(infos)}"
    )
