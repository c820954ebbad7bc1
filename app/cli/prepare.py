"""`facedesk prepare --for PROVIDER [--out DIR] FILE...`: the image pipeline for scripts and checks.

Each FILE is prepared for the provider's upload rules and reported as one JSON object per line:
`{"input": ..., "output": ..., "bytes": ..., "width": ..., "height": ..., "format": ...,
"removed": [...]}` or `{"input": ..., "error": "<operator message>"}`. `output` is the written
path with `--out`, and null without it (nothing is written to disk unless asked).

Exit status: 0 when every file was prepared, 1 when any was rejected, 2 for bad usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app import imaging
from app.cli.common import Parser, UsageError
from app.domain import EncodedImage, LoadedImage, UploadRules
from app.errors import ImageError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def _parser() -> Parser:
    parser = Parser(
        prog="facedesk prepare",
        description="Prepare images for a provider's upload rules; one JSON object per line.",
    )
    parser.add_argument("--for", dest="provider", required=True, help="provider id, e.g. uqudo")
    parser.add_argument("--out", type=Path, help="write prepared images into this folder")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    return parser


def _provider_rules() -> dict[str, UploadRules]:
    # Imported here: the provider modules pull in httpx, which `--help` does not need.
    from app.vendors import registry

    return {pid: module.INFO.upload_rules for pid, module in registry().items()}


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk prepare`; `argv` may start with "prepare" or with the options."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args_list = list(argv)
    if args_list[:1] == ["prepare"]:
        args_list = args_list[1:]
    parser = _parser()
    if any(arg in ("-h", "--help") for arg in args_list):
        parser.print_help(out)
        return EXIT_OK
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        parser.print_usage(err)
        print(f"facedesk prepare: {exc}", file=err)
        return EXIT_USAGE
    rules = _provider_rules()
    if args.provider not in rules:
        known = ", ".join(sorted(rules)) or "none registered"
        print(f"facedesk prepare: unknown provider {args.provider!r} (known: {known})", file=err)
        return EXIT_USAGE
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError:
            print(f"facedesk prepare: cannot create the folder {args.out}", file=err)
            return EXIT_USAGE
    return prepare_files(args.files, rules[args.provider], args.provider, args.out, out)


def prepare_files(
    files: Sequence[Path],
    rules: UploadRules,
    provider_id: str,
    out_dir: Path | None,
    stream: TextIO,
) -> int:
    """Prepare each file, print one JSON line per file, return the exit status."""
    status = EXIT_OK
    used_names: set[str] = set()
    for file in files:
        record: dict[str, object] = {"input": str(file)}
        try:
            encoded = imaging.prepare(_load(file), rules)
            written = _write(encoded, file, provider_id, out_dir, used_names)
        except ImageError as exc:
            record["error"] = exc.user_message
            status = EXIT_REJECTED
        else:
            record.update(
                output=str(written) if written is not None else None,
                bytes=len(encoded.data),
                width=encoded.width,
                height=encoded.height,
                format=encoded.format.value,
                removed=list(encoded.removed),
            )
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        stream.flush()
    return status


def _load(file: Path) -> LoadedImage:
    try:
        size = file.stat().st_size
        if size > imaging.MAX_INPUT_BYTES:
            raise ImageError(
                f"{file.name} is {size / 1e6:.0f} MB; FaceDesk reads images up to "
                f"{imaging.MAX_INPUT_BYTES // 1_000_000} MB. Use a smaller export of the photo."
            )
        data = file.read_bytes()
    except OSError as exc:
        raise ImageError(
            f"FaceDesk could not read {file.name}: check that the file exists and that you may "
            "open it."
        ) from exc
    return imaging.load(data, file.name)


def _write(
    encoded: EncodedImage,
    source: Path,
    provider_id: str,
    out_dir: Path | None,
    used_names: set[str],
) -> Path | None:
    if out_dir is None:
        return None
    stem = f"{source.stem}.{provider_id}"
    name, counter = f"{stem}{encoded.extension}", 2
    while name in used_names:
        name, counter = f"{stem}-{counter}{encoded.extension}", counter + 1
    used_names.add(name)
    target = out_dir / name
    try:
        target.write_bytes(encoded.data)
    except OSError as exc:
        raise ImageError(
            f"FaceDesk prepared {source.name} but could not write {target}: check the folder "
            "and the free space."
        ) from exc
    return target
