"""`facedesk compare ID_PHOTO SELFIE`: one pair through every vendor's face match, side by side.

Usage: `facedesk compare ID_PHOTO SELFIE [--vendor ID]... [--connection ID=NAME]... [--case REF]
[--json]`.

One pair through every vendor with a synchronous face match (azure_face, uqudo, glair), at once,
each on its own connection, the images prepared per vendor exactly as in the window. Output:
a readable table, or with `--json` one JSON object per vendor per line (`vendor`, `connection`,
`verdict`, `score`, `scale`, `threshold`, `request_id`, `latency_ms`, and `error` when that
vendor failed). Every run is audited (ids and image fingerprints, never file names); `--case`
adds `case:REF` to the audit targets.

Exit status: 0 when every vendor answered (whatever the verdict), 1 when any vendor failed or an
image could not be read, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from app.cli.common import Parser, UsageError, connections_help

if TYPE_CHECKING:
    from app.workflows.compare import Comparison

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Kept here (not imported) so `--help` and usage errors import no provider module.
VENDORS = ("azure_face", "uqudo", "glair")
LEFT_OUT = {"veriff": "Veriff has no synchronous 1:1 face match (only inside a session)."}


def _epilog() -> str:
    return (
        f"{connections_help(VENDORS)}\n\n"
        "Veriff is left out: it has no synchronous 1:1 face match.\n"
        "exit status: 0 every vendor answered, 1 a vendor failed, 2 bad usage"
    )


def _parser(with_epilog: bool = False) -> Parser:
    parser = Parser(
        prog="facedesk compare",
        description="Face match one ID photo and one selfie on every vendor, side by side.",
        epilog=_epilog() if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("id_photo", metavar="ID_PHOTO", help="the reference photo (ID document)")
    parser.add_argument("selfie", metavar="SELFIE", help="the photo to compare with it")
    parser.add_argument(
        "--vendor",
        action="append",
        default=[],
        metavar="ID",
        help=f"run only these vendors (repeatable; default: {', '.join(VENDORS)})",
    )
    parser.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="ID=NAME",
        help="connection for a vendor: a saved profile name, Sandbox, or env (repeatable)",
    )
    parser.add_argument("--case", metavar="REF", help="case reference recorded in the audit trail")
    parser.add_argument(
        "--uqudo-level",
        type=int,
        default=3,
        metavar="N",
        help="uqudo's minimum match level, 1 to 5 (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="give up on a vendor after this long (default 90)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per vendor per line")
    return parser


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk compare`; `argv` may start with "compare" or with the arguments."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args_list = list(argv)
    if args_list[:1] == ["compare"]:
        args_list = args_list[1:]
    if any(arg in ("-h", "--help") for arg in args_list):
        _parser(with_epilog=True).print_help(out)
        return EXIT_OK
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
        vendors = _vendors(args.vendor)
        if not 1 <= args.uqudo_level <= 5:
            raise UsageError("--uqudo-level must be from 1 to 5")
        if not args.timeout > 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if args.case is not None and not args.case.strip():
            raise UsageError("--case needs a reference")
    except UsageError as exc:
        parser.print_usage(err)
        print(f"facedesk compare: {exc}", file=err)
        return EXIT_USAGE
    return asyncio.run(_run(args, vendors, out, err))


def _vendors(chosen: Sequence[str]) -> tuple[str, ...]:
    picked: list[str] = []
    for vendor in chosen:
        if vendor in LEFT_OUT:
            raise UsageError(f"{vendor} cannot be compared: {LEFT_OUT[vendor]}")
        if vendor not in VENDORS:
            raise UsageError(f"unknown vendor {vendor!r} (choose from {', '.join(VENDORS)})")
        if vendor not in picked:
            picked.append(vendor)
    return tuple(picked) or VENDORS


async def _run(args: argparse.Namespace, vendors: tuple[str, ...], out: TextIO, err: TextIO) -> int:
    from app.errors import AppError
    from app.paths import default_paths
    from app.services import open_service
    from app.workflows import compare as workflow
    from app.workflows.connections import (
        ConnectionChoiceError,
        parse_connection_options,
        resolve_all,
    )

    async with open_service(default_paths()) as service:
        try:
            chosen = parse_connection_options(args.connection)
            connections = resolve_all(service, vendors, chosen)
        except ConnectionChoiceError as exc:
            print(f"facedesk compare: {exc}", file=err)
            return EXIT_USAGE
        if args.case is not None:
            try:
                args.case = await asyncio.to_thread(service.case_book().require_writable, args.case)
            except AppError as exc:
                print(f"facedesk compare: {exc.user_message}", file=err)
                return EXIT_USAGE
        try:
            pair = workflow.ImagePair(
                await service.load_image_file(args.id_photo),
                await service.load_image_file(args.selfie),
            )
        except AppError as exc:
            print(f"facedesk compare: {exc.user_message}", file=err)
            return EXIT_FAILED
        options = workflow.CompareOptions(
            uqudo_level=args.uqudo_level, timeout=args.timeout, case_ref=args.case
        )
        comparison = await workflow.compare(service, pair, connections, options)
    if args.json:
        for row in comparison.rows:
            out.write(json.dumps(row.record(), ensure_ascii=False) + "\n")
    else:
        out.write(format_table(comparison) + "\n")
    out.flush()
    return EXIT_OK if comparison.all_answered else EXIT_FAILED


def format_table(comparison: Comparison) -> str:
    """The readable table: one line per vendor, then any errors and the disagreement marker."""
    header = ("VENDOR", "CONNECTION", "VERDICT", "SCORE", "SCALE", "THRESHOLD", "MS", "REQUEST ID")
    lines = [header]
    for row in comparison.rows:
        lines.append(
            (
                row.vendor,
                row.connection,
                row.verdict.label,
                "" if row.score is None else f"{row.score:.4g}",
                row.scale,
                "" if row.threshold is None else f"{row.threshold:g}",
                "" if row.latency_ms is None else str(row.latency_ms),
                row.request_id or "",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    for row in comparison.rows:
        if row.error:
            text.append(f"{row.vendor}: {row.error}")
        elif row.verdict.value == "inconclusive" and row.headline:
            text.append(f"{row.vendor}: {row.headline}")
    if comparison.disagreement:
        text.append("DISAGREEMENT: the vendors that answered do not give the same verdict.")
    return "\n".join(text)
