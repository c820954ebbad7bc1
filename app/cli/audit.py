"""`facedesk audit verify|list`: check the hash-chained audit trail and print its entries.

`verify` recomputes the chain and compares it with the checkpoints beside the database: exit 0
and the head hash when intact, exit 1 naming the first bad entry otherwise. `list` prints the
newest entries first; with `--json`, one object a line with `operator`, `time`, `vendor`,
`operation`, `targets`, `outcome`, `request_id` and `hash`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from app.cli.common import Parser, parse_action_command
from app.paths import default_paths
from app.store import CheckpointSigner, Store

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> Parser:
    parser = Parser(prog="facedesk audit", description="Check and print the audit trail.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=Parser)
    verify = sub.add_parser("verify", help="recompute the hash chain and compare checkpoints")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    listing = sub.add_parser("list", help="print entries, newest first")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument(
        "--limit", type=_positive_count, default=500, help="at most this many (500)"
    )
    listing.add_argument("--case", dest="case_reference", help="only entries naming case:REF")
    return parser


def open_store() -> Store:
    """This run's store (the data folder's SQLite file or the team store), connected now.

    Checkpoints are signed with the keyring's key when it holds one. Raises StoreError (an
    AppError) saying what to do when the team store is unreachable or its schema is not current.
    """
    from app.secrets import open_secret_store
    from app.store import open_store as open_configured_store

    paths = default_paths().ensure()
    store = open_configured_store(paths, secrets=open_secret_store())
    try:
        store.ping()
    except BaseException:
        store.close(checkpoint=False)
        raise
    store.checkpoint_signer = keyring_signer()
    return store


def keyring_signer() -> CheckpointSigner | None:
    from app.errors import AppError
    from app.secrets import open_secret_store
    from app.workflows.audit import signer_from_secrets

    try:
        return signer_from_secrets(open_secret_store(), create=True)
    except AppError:
        return None


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk audit`; `argv` may start with "audit" or with the action."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parsed = parse_action_command("audit", _parser(), argv, out, err)
    if isinstance(parsed, int):
        return parsed
    args = parsed
    from app.errors import AppError

    try:
        store = open_store()
    except AppError as exc:
        print(f"facedesk audit: {exc.user_message}", file=err)
        return EXIT_FAILED
    if args.action == "verify":
        return _verify(store, as_json=args.json, out=out)
    try:
        _list(store, limit=args.limit, case=args.case_reference, as_json=args.json, out=out)
    finally:
        store.close()
    return EXIT_OK


def _verify(store: Store, *, as_json: bool, out: TextIO) -> int:
    from app.workflows.audit import verify

    result = verify(store, store.checkpoint_signer)
    # A failing trail gets no new checkpoint: it would record the tampered state as known.
    store.close(checkpoint=result.ok)
    if as_json:
        document = {
            "ok": result.ok,
            "count": result.count,
            "head": result.head,
            "first_bad_entry": result.first_bad_entry,
            "problems": list(result.problems),
            "checkpoints_checked": result.checkpoints_checked,
            "notes": list(result.notes),
        }
        out.write(json.dumps(document) + "\n")
    elif result.ok:
        out.write(
            f"audit trail intact: {result.count} entries, "
            f"{result.checkpoints_checked} checkpoints checked\nhead {result.head}\n"
        )
        for note in result.notes:
            out.write(f"note: {note}\n")
    else:
        out.write(f"audit trail FAILED verification: {result.summary}\n")
        for problem in result.problems[1:]:
            out.write(f"  also: {problem}\n")
    return EXIT_OK if result.ok else EXIT_FAILED


def _list(store: Store, *, limit: int, case: str | None, as_json: bool, out: TextIO) -> None:
    rows = store.audit_chain_rows()
    if case is not None:
        rows = [r for r in rows if f"case:{case}" in r.entry.targets]
    for row in list(reversed(rows))[:limit]:
        entry = row.entry
        record = {
            "id": row.entry_id,
            "operator": entry.os_user,
            "time": entry.time_utc.isoformat(),
            "vendor": entry.provider,
            "profile": entry.profile,
            "operation": entry.operation,
            "targets": list(entry.targets),
            "outcome": entry.outcome,
            "request_id": entry.request_id,
            "hash": row.hash,
        }
        if as_json:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            targets = ", ".join(entry.targets)
            out.write(
                f"#{row.entry_id}  {record['time']}  {entry.os_user}  {entry.provider}  "
                f"{entry.operation}  [{targets}]  {entry.outcome}  "
                f"{entry.request_id or '-'}  {(row.hash or '')[:12]}\n"
            )
