"""`facedesk batch search|match|sessions`: one operation over a folder or a list of ids.

    facedesk batch search --vendor uqudo|azure_face [--group ID] [--insert-if-not-found]
        [--connection ID=NAME] [--case REF] [--concurrency N] [--rate R] --out FILE.csv FOLDER
    facedesk batch match --vendor ID --reference ID_PHOTO [...] --out FILE.csv FOLDER
    facedesk batch sessions --vendor veriff|uqudo|glair|azure_face [...] --out FILE.csv IDS.txt

One row per input in input order (`file,vendor,connection,outcome,match_id,score,inserted,
request_id,error`), CSV or with `--json` JSON lines. The job's state is kept in FaceDesk's
database: run the same command again after a crash, a kill or Ctrl+C and it does only what was
not finished. Progress goes to stderr: a bar with rate and ETA on a terminal, plain lines
otherwise.

Exit status: 0 every input has a row and none failed, 1 some input failed or the job stopped
(credentials, Ctrl+C), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.common import Parser, UsageError, connections_help

if TYPE_CHECKING:
    from app.workflows.batch import BatchJob, BatchSummary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Kept here (not imported) so `--help` and usage errors import no provider module.
JOBS: dict[str, tuple[str, ...]] = {
    "search": ("uqudo", "azure_face"),
    "match": ("azure_face", "uqudo", "glair"),
    "sessions": ("veriff", "uqudo", "glair", "azure_face"),
}
PLAIN_PROGRESS_EVERY = 2.0  # seconds between plain progress lines (not a terminal)


def _common(parser: argparse.ArgumentParser, kind: str) -> None:
    vendors = JOBS[kind]
    parser.add_argument(
        "--vendor", required=True, choices=vendors, help=f"the vendor ({', '.join(vendors)})"
    )
    parser.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="ID=NAME",
        help="the vendor's connection: a saved profile name, Sandbox, or env",
    )
    parser.add_argument("--case", metavar="REF", help="attach the run to this (existing) case")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="requests at once (default 4; a 429 lowers it for a while)",
    )
    parser.add_argument(
        "--rate", type=float, metavar="R", help="at most R requests a second (default: no cap)"
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=8,
        metavar="N",
        help="tries per input on 429 and 5xx before it becomes an error row (default 8)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="give up on one request after this long (default 90; then retried)",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="the CSV (or JSON lines)")
    parser.add_argument("--json", action="store_true", help="write JSON lines instead of CSV")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress on stderr (errors only)"
    )


def _parser(with_epilog: bool = False) -> Parser:
    vendors = sorted({v for vs in JOBS.values() for v in vs})
    epilog = (
        f"{connections_help(vendors)}\n\n"
        "Run the same command again to resume a stopped or killed job.\n"
        "exit status: 0 every input done without error, 1 errors or stopped, 2 bad usage"
    )
    parser = Parser(
        prog="facedesk batch",
        description="1:N search, face match or session lookup over many inputs.",
        epilog=epilog if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="job", metavar="search|match|sessions")
    search = sub.add_parser(
        "search",
        help="1:N search of every image in FOLDER",
        epilog=epilog if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(search, "search")
    search.add_argument("--group", metavar="ID", help="Azure: the large person group to search")
    search.add_argument(
        "--insert-if-not-found",
        action="store_true",
        help="enrol faces not found (uqudo's index; a new person in the Azure group)",
    )
    search.add_argument("folder", metavar="FOLDER", help="the folder of images")
    match = sub.add_parser(
        "match",
        help="every image in FOLDER against one reference photo",
        epilog=epilog if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(match, "match")
    match.add_argument("--reference", required=True, metavar="ID_PHOTO", help="the reference")
    match.add_argument(
        "--uqudo-level", type=int, default=3, metavar="N", help="uqudo's minimum level (1-5)"
    )
    match.add_argument("folder", metavar="FOLDER", help="the folder of images")
    sessions = sub.add_parser(
        "sessions",
        help="status and decision of every session id in IDS.txt",
        epilog=epilog if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(sessions, "sessions")
    sessions.add_argument("ids", metavar="IDS.txt", help="session ids, one a line")
    parser.jobs = {"search": search, "match": match, "sessions": sessions}  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run `facedesk batch`; `argv` may start with "batch" or with the job."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args_list = list(argv)
    if args_list[:1] == ["batch"]:
        args_list = args_list[1:]
    if any(arg in ("-h", "--help") for arg in args_list):
        parser = _parser(with_epilog=True)
        job = next((a for a in args_list if a in JOBS), None)
        if job is None:
            parser.print_help(out)
        else:
            _subparser(parser, job).print_help(out)
        return EXIT_OK
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
        if args.job is None:
            raise UsageError("choose a job: search, match or sessions")
        _check(args)
    except UsageError as exc:
        parser.print_usage(err)
        print(f"facedesk batch: {exc}", file=err)
        return EXIT_USAGE
    return asyncio.run(_run(args, out, err))


def _subparser(parser: argparse.ArgumentParser, job: str) -> argparse.ArgumentParser:
    chosen: argparse.ArgumentParser = getattr(parser, "jobs", {}).get(job, parser)
    return chosen


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.concurrency <= 64:
        raise UsageError("--concurrency must be from 1 to 64")
    if args.rate is not None and not args.rate > 0:
        raise UsageError("--rate must be a positive number of requests a second")
    if args.attempts < 1:
        raise UsageError("--attempts must be at least 1")
    if not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.case is not None and not args.case.strip():
        raise UsageError("--case needs a reference")
    if args.job == "search" and args.vendor == "azure_face" and not args.group:
        raise UsageError("Azure searches a large person group: give its id with --group")
    if args.job == "match" and not 1 <= args.uqudo_level <= 5:
        raise UsageError("--uqudo-level must be from 1 to 5")


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from app.errors import AppError
    from app.paths import default_paths
    from app.services import open_service
    from app.workflows import batch as workflow
    from app.workflows.batch_jobs import open_batch_store
    from app.workflows.connections import (
        ConnectionChoiceError,
        parse_connection_options,
        resolve,
    )

    paths = default_paths()
    async with open_service(paths) as service:
        try:
            chosen = parse_connection_options(args.connection)
            unknown = sorted(set(chosen) - {args.vendor})
            if unknown:
                raise ConnectionChoiceError(
                    f"--connection names {', '.join(unknown)}, but this job uses {args.vendor}"
                )
            connection = resolve(service, args.vendor, chosen.get(args.vendor))
            if args.job == "sessions":
                items = workflow.read_session_ids(args.ids)
            else:
                items = workflow.list_images(args.folder)
            await asyncio.to_thread(workflow.require_case, service, args.case)
            spec = workflow.BatchSpec(
                kind=workflow.BatchKind(args.job),
                vendor=args.vendor,
                connection=connection,
                items=items,
                group=getattr(args, "group", None),
                insert_if_not_found=getattr(args, "insert_if_not_found", False),
                reference=Path(args.reference) if args.job == "match" else None,
                concurrency=args.concurrency,
                rate=args.rate,
                case_ref=args.case,
                uqudo_level=getattr(args, "uqudo_level", 3),
                max_attempts=args.attempts,
                timeout=args.timeout,
            )
        except (ConnectionChoiceError, workflow.BatchUsageError) as exc:
            print(f"facedesk batch: {exc}", file=err)
            return EXIT_USAGE
        except AppError as exc:
            print(f"facedesk batch: {exc.user_message}", file=err)
            return EXIT_USAGE
        store = await asyncio.to_thread(open_batch_store, service.store)
        writer = workflow.RowWriter(args.out, json_lines=args.json)
        reporter = _Reporter(err, enabled=not args.no_progress)
        job = workflow.BatchJob(service, spec, store, writer=writer, on_row=reporter.on_row)
        reporter.job = job
        try:
            summary = await _run_with_interrupts(job, reporter, err)
        finally:
            reporter.close()
            await asyncio.to_thread(store.close)
    return _report(summary, args, err)


async def _run_with_interrupts(job: BatchJob, reporter: _Reporter, err: TextIO) -> BatchSummary:
    """Ctrl+C once: finish the requests in flight and stop; twice: stop at once."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(job.run())
    presses = 0

    def interrupted() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            job.stop()
            reporter.message("stopping after the requests in flight (Ctrl+C again: at once)")
        else:
            task.cancel()

    installed = False
    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
        installed = True
    except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
        pass
    reporter.start()
    try:
        return await task
    except asyncio.CancelledError:
        from app.workflows.batch import BatchSummary

        progress = job.progress()
        return BatchSummary(
            job.key, progress.total, progress.done, progress.failed, progress.resumed, True
        )
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)


def _report(summary: BatchSummary, args: argparse.Namespace, err: TextIO) -> int:
    done = f"{summary.done} of {summary.total} inputs done"
    if summary.resumed:
        done += f" ({summary.resumed} from an earlier run)"
    if summary.failed:
        done += f", {summary.failed} with an error"
    if summary.slowdowns:
        done += f"; slowed down {summary.slowdowns} times by rate limits"
    if summary.stop_reason:
        print(f"facedesk batch: stopped: {summary.stop_reason}", file=err)
    elif summary.stopped:
        print("facedesk batch: stopped; run the same command again to continue.", file=err)
    print(f"facedesk batch: {done}; rows in {args.out}", file=err)
    return EXIT_OK if summary.complete and not summary.failed else EXIT_FAILED


class _Reporter:
    """Progress on stderr: a rich bar with rate and ETA on a terminal, plain lines otherwise."""

    def __init__(self, err: TextIO, *, enabled: bool) -> None:
        self.job: BatchJob | None = None
        self._err = err
        self._enabled = enabled
        self._tty = enabled and err.isatty()
        self._last_line = 0.0
        self._bar: object | None = None
        self._progress: object | None = None

    def start(self) -> None:
        if not self._enabled or self.job is None:
            return
        total = len(self.job.rows)
        if self._tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            progress = Progress(
                TextColumn("batch {task.fields[kind]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self._err),
            )
            self._bar = progress.add_task(
                "batch", total=total, kind=self.job.spec.kind.value, rate=""
            )
            progress.start()
            self._progress = progress
        self._update(force=True)

    def on_row(self, _row: object) -> None:
        self._update()

    def _update(self, force: bool = False) -> None:
        if not self._enabled or self.job is None:
            return
        state = self.job.progress()
        if self._progress is not None:
            from rich.progress import Progress, TaskID

            assert isinstance(self._progress, Progress)
            assert self._bar is not None
            self._progress.update(
                TaskID(int(self._bar)),  # type: ignore[call-overload]
                completed=state.done,
                rate=f"{state.rate:.1f}/s",
            )
            return
        now = time.monotonic()
        if not force and state.done < state.total and now - self._last_line < PLAIN_PROGRESS_EVERY:
            return
        self._last_line = now
        eta = "" if state.eta_seconds is None else f", ETA {state.eta_seconds:.0f} s"
        self._err.write(
            f"batch: {state.done}/{state.total} done, {state.failed} errors, "
            f"{state.rate:.1f}/s{eta}\n"
        )
        self._err.flush()

    def message(self, text: str) -> None:
        if self._progress is not None:
            from rich.progress import Progress

            assert isinstance(self._progress, Progress)
            self._progress.console.print(text)
        else:
            self._err.write(f"facedesk batch: {text}\n")
            self._err.flush()

    def close(self) -> None:
        if self._progress is not None:
            from rich.progress import Progress

            assert isinstance(self._progress, Progress)
            self._progress.stop()
            self._progress = None
