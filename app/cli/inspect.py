"""`facedesk inspect FILE... [--json] [--case REF] [--ela-dir DIR]`: image forensics.

For each FILE: the metadata the upload strips (EXIF with GPS, XMP, IPTC, ICC, text chunks), the
SHA-256 and perceptual hashes, and the findings (JPEG quality and table origin, double
compression, EXIF thumbnail check, editing-software traces, error-level analysis), each with what
it can and cannot prove. Readable text by default; `--json` prints one JSON object per file
(`{"file": ..., "error": "..."}` for a file that could not be read). `--case REF` records the
findings with the images' fingerprints on that case's timeline; `--ela-dir DIR` writes each
error-level overlay as DIR/NAME.ela.png.

Exit status: 0 every file inspected, 1 a file could not be read (the others are still reported)
or the case could not take the findings, 2 bad usage (including an unknown case).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from app.cli.common import Parser, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_LEVEL_MARK = {"info": " ", "notice": "!", "alert": "‼"}


def _parser() -> Parser:
    parser = Parser(
        prog="facedesk inspect",
        description="Show what a photo hides and what its bytes say about its history.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument("--case", dest="case_reference", metavar="REF", help="record on case REF")
    parser.add_argument("--ela-dir", type=Path, metavar="DIR", help="write ELA overlays here")
    return parser


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk inspect`; `argv` may start with "inspect" or with the files."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args_list = list(argv)
    if args_list[:1] == ["inspect"]:
        args_list = args_list[1:]
    parser = _parser()
    if any(arg in ("-h", "--help") for arg in args_list):
        parser.print_help(out)
        return EXIT_OK
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        parser.print_usage(err)
        print(f"facedesk inspect: {exc}", file=err)
        return EXIT_USAGE
    if args.ela_dir is not None:
        try:
            args.ela_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            print(f"facedesk inspect: cannot create the folder {args.ela_dir}", file=err)
            return EXIT_USAGE
    book = None
    if args.case_reference:
        book, status = _open_case(args.case_reference, err)
        if book is None:
            return status
    try:
        return _inspect_all(args, book, out, err)
    finally:
        if book is not None:
            book.store.close()


def _open_case(reference: str, err: TextIO) -> tuple[Any, int]:
    """The case book when case `reference` exists; else (None, exit status) with a message."""
    from app.cli.audit import open_store
    from app.errors import AppError
    from app.secrets import open_secret_store
    from app.workflows.cases import CaseBook, CaseError

    try:
        store = open_store()
    except AppError as exc:
        print(f"facedesk inspect: {exc.user_message}", file=err)
        return None, EXIT_FAILED
    try:
        book = CaseBook(store, open_secret_store())
    except AppError as exc:
        store.close()
        print(f"facedesk inspect: {exc.user_message}", file=err)
        return None, EXIT_FAILED
    try:
        book.require_writable(reference)
    except CaseError as exc:
        store.close()
        print(f"facedesk inspect: {exc.user_message}", file=err)
        return None, EXIT_USAGE
    return book, EXIT_OK


def _inspect_all(args: argparse.Namespace, book: Any, out: TextIO, err: TextIO) -> int:
    from app import forensics, imaging
    from app.errors import AppError, ImageError

    status = EXIT_OK
    for file in args.files:
        try:
            report = forensics.inspect_image(_read(file, imaging.MAX_INPUT_BYTES), file.name)
        except ImageError as exc:
            status = EXIT_FAILED
            if args.json:
                out.write(json.dumps({"file": str(file), "error": exc.user_message}) + "\n")
            else:
                out.write(f"{file}\n  ✗ {exc.user_message}\n\n")
            print(f"facedesk inspect: {exc.user_message}", file=err)
            continue
        document = report.as_dict()
        document["file"] = str(file)
        if args.ela_dir is not None and report.ela_png is not None:
            target = args.ela_dir / f"{file.name}.ela.png"
            try:
                target.write_bytes(report.ela_png)
                document["ela_png"] = str(target)
            except OSError:
                print(f"facedesk inspect: could not write {target}", file=err)
                status = EXIT_FAILED
        if book is not None:
            try:
                record = book.record_forensics(args.case_reference, report.as_dict())
                document["case"] = {
                    "reference": args.case_reference.upper(),
                    "item": record.item_id,
                }
            except AppError as exc:
                print(f"facedesk inspect: {exc.user_message}", file=err)
                status = EXIT_FAILED
        if args.json:
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
        else:
            _write_text(document, out)
        out.flush()
    return status


def _read(file: Path, limit: int) -> bytes:
    from app.errors import ImageError

    try:
        size = file.stat().st_size
        if size > limit:
            raise ImageError(
                f"{file.name} is {size / 1e6:.0f} MB; FaceDesk reads images up to "
                f"{limit // 1_000_000} MB. Use a smaller export of the photo."
            )
        return file.read_bytes()
    except OSError as exc:
        raise ImageError(
            f"FaceDesk could not read {file}: check that the file exists and that you may open it."
        ) from exc


def _write_text(document: dict[str, Any], out: TextIO) -> None:
    out.write(
        f"{document['file']}\n  {document['format']} · {document['width']}×{document['height']}"
        f" · {document['bytes']} bytes · {document['fingerprint']}\n"
    )
    out.write("  findings (‼ alert, ! notice):\n")
    for finding in document["findings"]:
        mark = _LEVEL_MARK.get(finding["level"], " ")
        out.write(f"  {mark} {finding['title']}: {finding['value']}\n")
        out.write(f"      can/cannot prove: {finding['proves']}\n")
    entries = document["metadata"]
    if entries:
        out.write(f"  metadata the upload strips ({len(entries)} fields; * identifying):\n")
        width = max(len(f"{e['group']} {e['tag']}") for e in entries)
        for entry in entries:
            label = f"{entry['group']} {entry['tag']}"
            star = "*" if entry["sensitive"] else " "
            out.write(f"   {star}{label:<{width}}  {entry['value']}\n")
    else:
        out.write("  metadata the upload strips: none\n")
    if "ela_png" in document:
        out.write(f"  error-level overlay: {document['ela_png']}\n")
    if "case" in document:
        out.write(f"  recorded on {document['case']['reference']}\n")
    out.write("\n")
