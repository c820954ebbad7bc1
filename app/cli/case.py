"""`facedesk case ...`: cases and their evidence reports from the command line.

    facedesk case new REF [--tag T ...] [--no-photos]
    facedesk case list [--state S] [--tag T] [--ref TEXT] [--since DATE] [--until DATE] [--json]
    facedesk case show REF [--json]
    facedesk case attach REF --id FILE --selfie FILE [--no-photos]
    facedesk case note REF TEXT [--reply-to NOTE_ID]
    facedesk case decide REF approve|reject|escalate --reason TEXT
    facedesk case close|reopen|erase REF
    facedesk case export REF --out DIR

`export` writes DIR/REF.pdf and DIR/REF.json and prints each file's SHA-256. Vendor runs attach
to a case through their audit entries (`--case REF` on the vendor commands).
Exit status: 0 done, 1 the case operation failed (message on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from app.cli.audit import open_store
from app.cli.common import Parser, parse_action_command

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> Parser:
    parser = Parser(prog="facedesk case", description="Cases and their evidence reports.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=Parser)
    new = sub.add_parser("new", help="open a case")
    new.add_argument("reference")
    new.add_argument("--tag", action="append", default=[])
    new.add_argument("--no-photos", action="store_true", help="keep no photos for this case")
    listing = sub.add_parser("list", help="list cases, newest first")
    listing.add_argument("--state", choices=["open", "decided", "closed"])
    listing.add_argument("--tag")
    listing.add_argument("--ref", help="part of the reference")
    listing.add_argument("--since", type=_date, help="opened on or after (YYYY-MM-DD)")
    listing.add_argument("--until", type=_date, help="opened before the end of (YYYY-MM-DD)")
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="print a case's timeline")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    attach = sub.add_parser("attach", help="attach an image pair (ID photo and selfie)")
    attach.add_argument("reference")
    attach.add_argument("--id", dest="id_photo", type=Path, required=True)
    attach.add_argument("--selfie", type=Path, required=True)
    note = sub.add_parser("note", help="add a note or a reply")
    note.add_argument("reference")
    note.add_argument("text")
    note.add_argument("--reply-to", type=int)
    decide = sub.add_parser("decide", help="record the reviewer's decision")
    decide.add_argument("reference")
    decide.add_argument("decision", choices=["approve", "reject", "escalate"])
    decide.add_argument("--reason", required=True)
    for name, text in (
        ("close", "close a case"),
        ("reopen", "reopen a closed case"),
        ("erase", "erase a case's photos and its key"),
        ("assign", "assign a case to yourself (others then see it read-only)"),
        ("release", "give a case you hold back to the team"),
    ):
        sub.add_parser(name, help=text).add_argument("reference")
    export = sub.add_parser("export", help="write DIR/REF.pdf and DIR/REF.json")
    export.add_argument("reference")
    export.add_argument("--out", type=Path, required=True)
    return parser


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk case`; `argv` may start with "case" or with the action."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parsed = parse_action_command("case", _parser(), argv, out, err)
    if isinstance(parsed, int):
        return parsed
    args = parsed

    from app.errors import AppError
    from app.secrets import open_secret_store
    from app.workflows.cases import CaseBook

    try:
        store = open_store()
    except AppError as exc:
        print(f"facedesk case: {exc.user_message}", file=err)
        return EXIT_FAILED
    try:
        book = CaseBook(store, open_secret_store())
        return _run(book, args, out)
    except AppError as exc:
        print(f"facedesk case: {exc.user_message}", file=err)
        return EXIT_FAILED
    finally:
        store.close()


def _run(book: Any, args: argparse.Namespace, out: TextIO) -> int:
    from app.workflows.cases import CaseState

    action = args.action
    if action == "new":
        case = book.new_case(args.reference, tags=args.tag, keep_photos=not args.no_photos)
        out.write(f"opened {case.reference}\n")
        if case.photos_note:
            out.write(f"note: {case.photos_note}\n")
    elif action == "list":
        until = args.until.replace(hour=23, minute=59, second=59) if args.until else None
        state = CaseState(args.state) if args.state else None
        for case in book.find(
            state=state, tag=args.tag, reference=args.ref, since=args.since, until=until
        ):
            if args.json:
                out.write(json.dumps(_case_summary(case)) + "\n")
            else:
                tags = ", ".join(case.tags)
                holder = case.assignee or "-"
                out.write(
                    f"{case.reference}  {case.state.value:<8} {case.created_at:%Y-%m-%d}  "
                    f"{holder:<12} {tags}\n"
                )
    elif action == "show":
        _show(book, args.reference, as_json=args.json, out=out)
    elif action == "attach":
        photos = [
            ("id", _read(args.id_photo), _media_type(args.id_photo)),
            ("selfie", _read(args.selfie), _media_type(args.selfie)),
        ]
        pair = book.attach_pair(args.reference, photos)
        kept = "kept encrypted" if pair.photos_kept else "not kept (fingerprints only)"
        out.write(f"attached {', '.join(pair.fingerprints)}; photos {kept}\n")
    elif action == "note":
        note = book.add_note(args.reference, args.text, reply_to=args.reply_to)
        out.write(f"note {note.item_id} added\n")
    elif action == "decide":
        decision = book.decide(args.reference, args.decision, args.reason)
        out.write(f"{decision.decision.value} recorded for {args.reference.upper()}\n")
    elif action in ("close", "reopen"):
        case = getattr(book, action)(args.reference)
        out.write(f"{case.reference} is {case.state.value}\n")
    elif action == "assign":
        case = book.assign_to_me(args.reference)
        out.write(f"{case.reference} is assigned to {case.assignee}\n")
    elif action == "release":
        case = book.release(args.reference)
        out.write(f"{case.reference} is released to the team\n")
    elif action == "erase":
        removed = book.erase_photos(args.reference)
        out.write(f"erased {removed} photos and the case key of {args.reference.upper()}\n")
    elif action == "export":
        return _export(book, args.reference, args.out, out)
    return EXIT_OK


def _read(path: Path) -> bytes:
    from app.errors import ImageError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"FaceDesk could not read {path}: check that the file exists.") from exc


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _case_summary(case: Any) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "state": case.state.value,
        "tags": list(case.tags),
        "created_at": case.created_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "photos_note": case.photos_note,
        "assignee": case.assignee,
    }


def _document(book: Any, reference: str) -> dict[str, Any]:
    from app.workflows.report import case_report

    return case_report(book, reference)


def _show(book: Any, reference: str, *, as_json: bool, out: TextIO) -> None:
    document = _document(book, reference)
    for photo in document["photos"]:
        photo.pop("data_base64")  # `show` is for reading; `export` carries the photos
    if as_json:
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    case = document["case"]
    out.write(f"{case['reference']}  state {case['state']}  tags {', '.join(case['tags'])}\n")
    if case.get("assignee"):
        out.write(f"  assigned to {case['assignee']}\n")
    if case["photos_note"]:
        out.write(f"  {case['photos_note']}\n")
    for pair in document["image_pairs"]:
        out.write(f"  pair    {pair['time']}  {', '.join(pair['fingerprints'])}\n")
    for run in document["vendor_runs"]:
        score = "" if run["score"] is None else f" score {run['score']:g} ({run['scale']})"
        out.write(
            f"  run     {run['time']}  {run['operator'] or '-'}  {run['vendor']} "
            f"{run['operation']} {run['outcome']}"
            f" verdict {run['verdict'] or '-'}{score} request {run['request_id'] or '-'}\n"
        )
    for note in document["notes"]:
        _write_note(note, 0, out)
    decision = document["decision"]
    if decision:
        out.write(f"  decision {decision['decision']}: {decision['reason']}\n")


def _write_note(note: dict[str, Any], depth: int, out: TextIO) -> None:
    out.write(f"  {'  ' * depth}note {note['id']} {note['operator']}: {note['text']}\n")
    for reply in note["replies"]:
        _write_note(reply, depth + 1, out)


def _export(book: Any, reference: str, out_dir: Path, out: TextIO) -> int:
    from app.workflows.report import export_case_report

    files = export_case_report(book, reference, out_dir)
    for exported in files:
        out.write(f"{exported.sha256}  {exported.path}\n")
    out.write(f"audit head {book.store.audit_head()[1]}\n")
    return EXIT_OK
