"""Batch: one operation over many inputs, rate-limit aware and resumable.

Three jobs, each one row per input in input order:

- search: 1:N search of every image in a folder (uqudo's 1:N index; Azure identify against a
  large person group), optionally inserting faces not found;
- match: every image in a folder against one reference photo (the compare workflow's face
  match, vendor by vendor);
- sessions: session ids from a text file, looked up for their status and decision.

Rules (the same for the window and `facedesk batch`):

- Concurrency per job (default 4) and an optional requests-per-second cap (`RateGate`).
- A 429 slows the whole job: every worker waits out its Retry-After (or a backoff) and the
  job's concurrency is halved, then grows back by one after a run of successes. 5xx, timeouts
  and dropped connections are retried with exponential backoff and jitter. Neither becomes an
  error row while attempts remain (`max_attempts`).
- Retrying a uqudo search with insert is safe: a search re-sent after uqudo inserted the face
  finds that face instead of adding it again. Azure's insert is two calls (create person, add
  face); a retry after the first succeeded leaves an empty person behind, never a second face.
- Rejected credentials (or a feature not enabled for them, or an incomplete connection) stop
  the job with `JobStopped`: every further input would fail the same way.
- Each finished input is written to the `BatchJobStore` before it counts as done; a job started
  again with the same arguments (the same `job_key`) skips every finished input.
- `stop()` takes no new inputs and lets the in-flight requests finish; `pause()` / `resume()`
  hold and release new requests.
- Every vendor call is audited (attempt and outcome) with the image's fingerprint or the
  session id, `batch:<job key>` and the case, never a file name.

One module past ~600 lines because it is one job, a batch run: the rate gate, the row writer,
the per-vendor calls and the resumable job loop share the job's spec and rows; persistence
lives in batch_jobs.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from app.capabilities import SupportsOneToNSearch
from app.domain import EncodedImage, LoadedImage, Verdict
from app.errors import (
    AppError,
    AuthenticationFailed,
    CapabilityNotSupported,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from app.services import VerificationService
from app.vendors.azure_face.types import AzureLivenessSessions, AzurePersonGroups
from app.vendors.azure_face.types import SessionKind as AzureSessionKind
from app.vendors.glair.types import GlairLivenessSessions, SessionStatus
from app.vendors.glair.types import SessionKind as GlairSessionKind
from app.vendors.uqudo.types import (
    DEFAULT_MATCH_LEVEL,
    DETAIL_INSERTED,
    DETAIL_VERIFICATION_ID,
    UqudoSessionResults,
)
from app.vendors.veriff.types import VeriffVerificationSessions
from app.workflows import compare
from app.workflows.batch_jobs import JOB_FINISHED, JOB_STOPPED, BatchJobStore
from app.workflows.connections import Connection

COLUMNS = (
    "file",
    "vendor",
    "connection",
    "outcome",
    "match_id",
    "score",
    "inserted",
    "request_id",
    "error",
)
"""The output columns, in order (CSV header, JSON-lines keys)."""

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".avif", ".bmp", ".gif", ".tif", ".tiff"}
)
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_TIMEOUT_SECONDS = 90.0
UNTRAINED_GROUP = "LargePersonGroupNotTrained"  # Azure's error code
SUCCESSES_TO_GROW = 8  # successes in a row before a slowed job takes one more request at once


class BatchKind(StrEnum):
    SEARCH = "search"
    MATCH = "match"
    SESSIONS = "sessions"

    @property
    def operation(self) -> str:
        return {
            BatchKind.SEARCH: "batch 1:N search",
            BatchKind.MATCH: "batch face match",
            BatchKind.SESSIONS: "batch session lookup",
        }[self]


VENDORS: Mapping[BatchKind, tuple[str, ...]] = {
    BatchKind.SEARCH: ("uqudo", "azure_face"),
    BatchKind.MATCH: compare.COMPARE_VENDORS,
    BatchKind.SESSIONS: ("veriff", "uqudo", "glair", "azure_face"),
}
"""Which vendors each job supports (uqudo's Info API and Veriff's decisions for sessions)."""


class JobStopped(Exception):
    """The job cannot go on (credentials rejected, connection incomplete); for the operator."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class BatchUsageError(ValueError):
    """The job's inputs or options cannot be used; the message says what to fix."""


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchItem:
    position: int
    name: str  # the `file` column: a file name in the folder, or a session id
    source: str  # the file's path, or the session id


def list_images(folder: Path | str) -> tuple[BatchItem, ...]:
    """Every image file directly in `folder`, sorted by name (the job's input order)."""
    root = Path(folder)
    if not root.is_dir():
        raise BatchUsageError(f"{root} is not a folder. Give the folder that holds the images.")
    files = sorted(
        (p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: p.name,
    )
    if not files:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise BatchUsageError(f"{root} holds no images ({suffixes}).")
    return tuple(BatchItem(i, p.name, str(p.resolve())) for i, p in enumerate(files))


def read_session_ids(path: Path | str) -> tuple[BatchItem, ...]:
    """Session ids, one a line; blank lines and lines starting with # are skipped."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchUsageError(f"FaceDesk could not read {file.name} as UTF-8 text.") from exc
    ids = [line.strip() for line in text.splitlines()]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise BatchUsageError(f"{file.name} holds no session ids (one a line).")
    return tuple(BatchItem(i, sid, sid) for i, sid in enumerate(ids))


# --- the job's description ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchSpec:
    kind: BatchKind
    vendor: str
    connection: Connection
    items: tuple[BatchItem, ...]
    group: str | None = None  # Azure: the large person group to identify against
    insert_if_not_found: bool = False
    reference: Path | None = None  # match: the reference photo
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None  # requests per second, None: no cap
    case_ref: str | None = None
    uqudo_level: int = DEFAULT_MATCH_LEVEL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.vendor not in VENDORS[self.kind]:
            raise BatchUsageError(
                f"batch {self.kind.value} supports {', '.join(VENDORS[self.kind])}, "
                f"not {self.vendor!r}"
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise BatchUsageError(f"concurrency must be from 1 to {MAX_CONCURRENCY}")
        if self.rate is not None and not self.rate > 0:
            raise BatchUsageError("the rate cap must be a positive number of requests a second")
        if self.max_attempts < 1:
            raise BatchUsageError("max_attempts must be at least 1")
        if self.kind is BatchKind.SEARCH and self.vendor == "azure_face" and not self.group:
            raise BatchUsageError("Azure searches a large person group: give its id (--group)")
        if self.kind is BatchKind.MATCH and self.reference is None:
            raise BatchUsageError("batch match needs a reference photo (--reference)")
        if self.insert_if_not_found and self.kind is not BatchKind.SEARCH:
            raise BatchUsageError("insert-if-not-found is for batch search only")
        if not self.items:
            raise BatchUsageError("the job has no inputs")


def job_key(spec: BatchSpec) -> str:
    """Names the job by its arguments: the same arguments give the same key (and resume it)."""
    reference = ""
    if spec.reference is not None:
        with contextlib.suppress(OSError):
            reference = hashlib.sha256(spec.reference.read_bytes()).hexdigest()
    described = {
        "kind": spec.kind.value,
        "vendor": spec.vendor,
        "connection": spec.connection.name,
        "group": spec.group,
        "insert": spec.insert_if_not_found,
        "reference": reference,
        "level": spec.uqudo_level if spec.vendor == "uqudo" else None,
        "inputs": [item.source for item in spec.items],
    }
    encoded = json.dumps(described, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:24]


# --- rows ---------------------------------------------------------------------------------------


class ItemState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One input's row: the output record once done, what is happening meanwhile."""

    position: int
    name: str
    state: ItemState = ItemState.PENDING
    record: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    note: str = ""  # e.g. "429: waiting 2 s"
    resumed: bool = False  # finished in an earlier run of the same job

    @property
    def failed(self) -> bool:
        return self.state is ItemState.DONE and bool(self.record.get("error"))


def _record(
    name: str,
    vendor: str,
    connection: str,
    outcome: str,
    *,
    match_id: str | None = None,
    score: float | None = None,
    inserted: bool = False,
    request_id: str | None = None,
    error: str = "",
) -> dict[str, Any]:
    return {
        "file": name,
        "vendor": vendor,
        "connection": connection,
        "outcome": outcome,
        "match_id": match_id or "",
        "score": score,
        "inserted": inserted,
        "request_id": request_id or "",
        "error": error,
    }


# --- output -------------------------------------------------------------------------------------


class RowWriter:
    """CSV or JSON lines, in input order: a row is written once every earlier one is.

    `start()` rewrites the file from the rows finished so far (a restarted job's file therefore
    holds each input once, whatever the killed run had left in it).
    """

    def __init__(self, path: Path | str, *, json_lines: bool = False) -> None:
        self.path = Path(path)
        self.json_lines = json_lines
        self._file: TextIO | None = None
        self._pending: dict[int, Mapping[str, Any]] = {}
        self._next = 0

    def start(self, finished: Mapping[int, Mapping[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8", newline="")
        if not self.json_lines:
            self._write_line(COLUMNS)
        self._pending = dict(finished)
        self._next = 0
        self._drain()

    def add(self, position: int, record: Mapping[str, Any]) -> None:
        self._pending[position] = record
        self._drain()

    def _drain(self) -> None:
        assert self._file is not None, "start() first"
        wrote = False
        while self._next in self._pending:
            record = self._pending.pop(self._next)
            if self.json_lines:
                self._file.write(json.dumps(dict(record), ensure_ascii=False) + "\n")
            else:
                self._write_line([_csv_cell(record.get(c)) for c in COLUMNS])
            self._next += 1
            wrote = True
        if wrote:
            self._file.flush()

    def _write_line(self, cells: Iterable[str]) -> None:
        import csv

        assert self._file is not None
        csv.writer(self._file, lineterminator="\n").writerow(list(cells))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# --- rate control -------------------------------------------------------------------------------


class RateGate:
    """Admission for a job's requests: concurrency, an optional rate cap, 429 slow-downs, pause.

    The rate cap spaces request starts 1/rate apart (a token bucket of one token). A 429 halves
    the concurrency and holds every new request until its Retry-After has passed; successes
    grow the concurrency back by one per `SUCCESSES_TO_GROW`.
    """

    def __init__(
        self,
        concurrency: int,
        rate: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_concurrency = concurrency
        self.concurrency = concurrency
        self.rate = rate
        self._clock = clock
        self._in_flight = 0
        self._next_start = 0.0
        self._hold_until = 0.0
        self._successes = 0
        self._paused = False
        self._changed = asyncio.Condition()
        self.slowdowns = 0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def hold_remaining(self) -> float:
        return max(0.0, self._hold_until - self._clock())

    async def acquire(self) -> None:
        async with self._changed:
            while True:
                if self._paused or self._in_flight >= self.concurrency:
                    await self._changed.wait()
                    continue
                now = self._clock()
                start = max(now, self._hold_until, self._next_start)
                if start > now:
                    # Wake up when the hold or the rate slot is over, or sooner on a change.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), start - now)
                    continue
                self._in_flight += 1
                if self.rate:
                    self._next_start = start + 1.0 / self.rate
                return

    async def release(self, *, succeeded: bool) -> None:
        async with self._changed:
            self._in_flight -= 1
            if succeeded and self.concurrency < self.max_concurrency:
                self._successes += 1
                if self._successes >= SUCCESSES_TO_GROW:
                    self._successes = 0
                    self.concurrency += 1
            self._changed.notify_all()

    async def slow_down(self, wait: float) -> None:
        """A 429: hold every new request for `wait` seconds and halve the concurrency."""
        async with self._changed:
            self.slowdowns += 1
            self._successes = 0
            self._hold_until = max(self._hold_until, self._clock() + wait)
            self.concurrency = max(1, self.concurrency // 2)
            self._changed.notify_all()

    async def set_paused(self, paused: bool) -> None:
        async with self._changed:
            self._paused = paused
            self._changed.notify_all()


def backoff_seconds(attempt: int, *, base: float = 0.25, cap: float = 20.0) -> float:
    """Exponential backoff with full jitter: attempt 1 → up to 0.25 s, doubling, capped."""
    return float(random.uniform(0, min(cap, base * 2 ** (attempt - 1))))


# --- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    done: int
    failed: int
    resumed: int
    started_at: float
    now: float

    @property
    def done_this_run(self) -> int:
        return self.done - self.resumed

    @property
    def rate(self) -> float:
        """Inputs finished per second in this run."""
        elapsed = self.now - self.started_at
        return self.done_this_run / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    job_key: str
    total: int
    done: int
    failed: int
    resumed: int
    stopped: bool  # stopped before the end (operator, Ctrl+C); run again to continue
    stop_reason: str = ""  # JobStopped's message, when the job could not go on
    slowdowns: int = 0

    @property
    def complete(self) -> bool:
        return self.done == self.total


RowListener = Callable[[BatchRow], None]


_Operation = Callable[[BatchItem, Any], Awaitable[dict[str, Any]]]


# --- the job ------------------------------------------------------------------------------------


class BatchJob:
    """Runs one `BatchSpec` against a service, writing finished rows to `store` and `writer`."""

    def __init__(
        self,
        service: VerificationService,
        spec: BatchSpec,
        store: BatchJobStore,
        *,
        writer: RowWriter | None = None,
        on_row: RowListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.spec = spec
        self.store = store
        self.writer = writer
        self.key = job_key(spec)
        self._on_row = on_row
        self._clock = clock
        self.gate = RateGate(spec.concurrency, spec.rate, clock=clock)
        self.rows: list[BatchRow] = [BatchRow(i.position, i.name) for i in spec.items]
        self._stopping = False
        self._started_at = clock()
        self._resumed = 0
        self._provider: object | None = None
        self._reference: EncodedImage | None = None
        self._inserted_azure = False

    # operator controls

    def stop(self) -> None:
        """Take no new inputs; the requests in flight finish and are recorded."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def pause(self) -> None:
        await self.gate.set_paused(True)

    async def resume(self) -> None:
        await self.gate.set_paused(False)

    def progress(self) -> Progress:
        done = sum(1 for r in self.rows if r.state is ItemState.DONE)
        failed = sum(1 for r in self.rows if r.failed)
        return Progress(
            len(self.rows), done, failed, self._resumed, self._started_at, self._clock()
        )

    # running

    async def run(self) -> BatchSummary:
        spec = self.spec
        await asyncio.to_thread(
            lambda: self.store.open_job(
                self.key,
                kind=spec.kind.value,
                vendor=spec.vendor,
                connection=spec.connection.name,
                item_count=len(spec.items),
            )
        )
        finished = await asyncio.to_thread(self.store.finished_items, self.key)
        finished = {p: r for p, r in finished.items() if 0 <= p < len(self.rows)}
        for position, record in finished.items():
            self._set(
                replace(self.rows[position], state=ItemState.DONE, record=record, resumed=True)
            )
        self._resumed = len(finished)
        if self.writer is not None:
            self.writer.start(finished)
        self._started_at = self._clock()
        stop_reason = ""
        try:
            if len(finished) < len(self.rows):
                stop_reason = await self._run_pending(finished)
        finally:
            if self.writer is not None:
                self.writer.close()
        progress = self.progress()
        complete = progress.done == progress.total
        await asyncio.to_thread(
            self.store.set_state, self.key, JOB_FINISHED if complete else JOB_STOPPED
        )
        summary = BatchSummary(
            self.key,
            progress.total,
            progress.done,
            progress.failed,
            self._resumed,
            stopped=not complete,
            stop_reason=stop_reason,
            slowdowns=self.gate.slowdowns,
        )
        if spec.case_ref and progress.done_this_run:
            await asyncio.to_thread(self._record_case_run, summary)
        return summary

    async def _run_pending(self, finished: Mapping[int, Any]) -> str:
        queue: asyncio.Queue[BatchItem] = asyncio.Queue()
        for item in self.spec.items:
            if item.position not in finished:
                queue.put_nowait(item)
        stop_reason = ""
        async with self.spec.connection.open(self.service) as provider:
            self._provider = provider
            try:
                await self._prepare_reference()
            except JobStopped as exc:
                return exc.user_message
            workers = [
                asyncio.create_task(self._worker(queue), name=f"batch:{self.key}:{n}")
                for n in range(self.spec.concurrency)
            ]
            try:
                results = await asyncio.gather(*workers, return_exceptions=True)
            except asyncio.CancelledError:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                raise
            for result in results:
                if isinstance(result, JobStopped):
                    stop_reason = stop_reason or result.user_message
                elif isinstance(result, BaseException):
                    raise result
            if self._inserted_azure and not stop_reason:
                await self._train_azure_group()
        return stop_reason

    async def _worker(self, queue: asyncio.Queue[BatchItem]) -> None:
        while not self._stopping:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                record = await self._run_item(item)
            except JobStopped:
                self._stopping = True  # the other workers take no new input either
                self._set(replace(self.rows[item.position], state=ItemState.PENDING, note=""))
                raise
            await asyncio.to_thread(
                self.store.finish_item, self.key, item.position, item.name, record
            )
            row = replace(self.rows[item.position], state=ItemState.DONE, record=record, note="")
            self._set(row)
            if self.writer is not None:
                self.writer.add(item.position, record)

    async def _run_item(self, item: BatchItem) -> dict[str, Any]:
        spec = self.spec
        connection = spec.connection.name
        try:
            prepared, target = await self._prepare(item)
        except AppError as exc:
            return _record(item.name, spec.vendor, connection, "error", error=exc.user_message)
        attempt = 0
        while True:
            attempt += 1
            row = self.rows[item.position]
            self._set(replace(row, state=ItemState.RUNNING, attempts=attempt))
            await self.gate.acquire()
            succeeded = False
            try:
                record = await self._audited_call(item, prepared, target)
                succeeded = True
                return record
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(attempt)
                if attempt >= spec.max_attempts:
                    return self._error_record(item, exc, attempt)
                await self.gate.slow_down(wait)
                note = f"rate limited (429): waiting {wait:.1f} s, attempt {attempt + 1}"
            except ProviderUnavailable as exc:
                if attempt >= spec.max_attempts:
                    return self._error_record(item, exc, attempt)
                wait = backoff_seconds(attempt)
                note = f"{exc.http_status or 'unavailable'}: retrying, attempt {attempt + 1}"
            except (AuthenticationFailed, PermissionDenied, ConfigurationError) as exc:
                raise JobStopped(
                    f"{exc.user_message} The batch stopped so as not to send the remaining "
                    "inputs with these credentials; fix the connection and run it again "
                    "(finished inputs are kept)."
                ) from exc
            except AppError as exc:
                return self._error_record(item, exc, attempt)
            finally:
                await self.gate.release(succeeded=succeeded)
            self._set(replace(self.rows[item.position], state=ItemState.RETRYING, note=note))
            await asyncio.sleep(wait)

    def _error_record(self, item: BatchItem, exc: AppError, attempts: int) -> dict[str, Any]:
        message = exc.user_message
        if exc.retryable and attempts > 1:
            message = f"{message} (gave up after {attempts} attempts)"
        return _record(
            item.name,
            self.spec.vendor,
            self.spec.connection.name,
            "error",
            request_id=exc.request_id,
            error=message,
        )

    async def _audited_call(self, item: BatchItem, prepared: Any, target: str) -> dict[str, Any]:
        targets = [target, f"batch:{self.key}"]
        if self.spec.case_ref:
            targets.append(f"case:{self.spec.case_ref}")
        await self._audit(targets, "attempt")
        try:
            async with asyncio.timeout(self.spec.timeout):
                record = await self._operation()(item, prepared)
        except asyncio.CancelledError:
            await asyncio.shield(self._audit(targets, "cancelled"))
            raise
        except TimeoutError:
            await self._audit(targets, "failed: timed out")
            raise ProviderUnavailable(
                f"The vendor did not answer within {self.spec.timeout:g} s."
            ) from None
        except AppError as exc:
            code = f" {exc.vendor_code}" if exc.vendor_code else ""
            await self._audit(targets, f"failed: {type(exc).__name__}{code}", exc.request_id)
            raise
        except Exception:
            await self._audit(targets, "failed: unexpected error")
            raise
        await self._audit(targets, f"succeeded: {record['outcome']}", record["request_id"] or None)
        return record

    async def _audit(
        self, targets: Sequence[str], outcome: str, request_id: str | None = None
    ) -> None:
        store = self.service.store
        await asyncio.to_thread(
            lambda: store.audit(
                provider=self.spec.vendor,
                profile=self.spec.connection.name,
                operation=self.spec.kind.operation,
                targets=list(targets),
                outcome=outcome,
                request_id=request_id,
            )
        )

    # preparing inputs

    async def _prepare(self, item: BatchItem) -> tuple[Any, str]:
        """The input as sent (a prepared image, or the session id) and its audit target."""
        if self.spec.kind is BatchKind.SESSIONS:
            return item.source, item.source
        loaded = await self.service.load_image_file(item.source, thumbnail=False)
        prepared = await self.service.prepare_image(self.spec.vendor, loaded)
        return prepared, "image sha256:" + _digest(loaded)

    async def _prepare_reference(self) -> None:
        if self.spec.kind is not BatchKind.MATCH or self.spec.reference is None:
            return
        try:
            loaded = await self.service.load_image_file(self.spec.reference)
            self._reference = await self.service.prepare_image(self.spec.vendor, loaded)
        except AppError as exc:
            raise JobStopped(f"The reference photo cannot be used: {exc.user_message}") from exc

    # the vendor calls

    def _operation(self) -> _Operation:
        kind, vendor = self.spec.kind, self.spec.vendor
        if kind is BatchKind.SEARCH:
            return self._search_uqudo if vendor == "uqudo" else self._search_azure
        if kind is BatchKind.MATCH:
            return self._match
        return {
            "uqudo": self._session_uqudo,
            "glair": self._session_glair,
            "azure_face": self._session_azure,
        }.get(vendor, self._session_veriff)

    def _row(self, item: BatchItem, outcome: str, **values: Any) -> dict[str, Any]:
        return _record(item.name, self.spec.vendor, self.spec.connection.name, outcome, **values)

    async def _search_uqudo(self, item: BatchItem, prepared: Any) -> dict[str, Any]:
        provider = _as(self._provider, SupportsOneToNSearch)
        result = await provider.search_face(
            prepared, insert_if_missing=self.spec.insert_if_not_found
        )
        inserted = result.details.get(DETAIL_INSERTED) == "yes"
        outcome = {
            Verdict.POSITIVE: "found",
            Verdict.NEGATIVE: "inserted" if inserted else "not_found",
        }.get(result.verdict, "inconclusive")
        return self._row(
            item,
            outcome,
            match_id=result.details.get(DETAIL_VERIFICATION_ID),
            inserted=inserted,
            request_id=result.request_id,
        )

    async def _search_azure(self, item: BatchItem, prepared: Any) -> dict[str, Any]:
        groups = _as(self._provider, AzurePersonGroups)
        group = self.spec.group
        assert group is not None
        try:
            found = await groups.identify(group, prepared, max_candidates=1)
        except RequestRejected as exc:
            # A group never trained (a new, empty one) knows nobody: when enrolling, that is
            # "not found"; the group is trained at the end of the job.
            if exc.vendor_code != UNTRAINED_GROUP or not self.spec.insert_if_not_found:
                raise
            return await self._insert_azure(item, prepared, exc.request_id)
        request_id = found.result.request_id
        if found.face is None:
            return self._row(item, "no_face", request_id=request_id)
        if found.candidates:
            best = found.candidates[0]
            return self._row(
                item, "found", match_id=best.person_id, score=best.confidence, request_id=request_id
            )
        if not self.spec.insert_if_not_found:
            return self._row(item, "not_found", request_id=request_id)
        return await self._insert_azure(item, prepared, request_id)

    async def _insert_azure(
        self, item: BatchItem, prepared: Any, request_id: str | None
    ) -> dict[str, Any]:
        groups = _as(self._provider, AzurePersonGroups)
        group = self.spec.group
        assert group is not None
        # The person is named by the image's fingerprint: never a file name.
        person = await groups.create_person(group, f"batch {prepared_digest(prepared)}")
        await groups.add_person_face(group, person.person_id, prepared)
        self._inserted_azure = True
        return self._row(
            item, "inserted", match_id=person.person_id, inserted=True, request_id=request_id
        )

    async def _train_azure_group(self) -> None:
        """Faces added to a large person group are found only after training."""
        groups = _as(self._provider, AzurePersonGroups)
        group = self.spec.group
        assert group is not None
        with contextlib.suppress(AppError):
            async for _status in groups.follow_training(group):
                pass

    async def _match(self, item: BatchItem, prepared: Any) -> dict[str, Any]:
        assert self._reference is not None
        options = compare.CompareOptions(uqudo_level=self.spec.uqudo_level)
        result, verdict = await compare.face_match(
            self.spec.vendor, self._provider, self._reference, prepared, options
        )
        return self._row(
            item,
            verdict.value,
            score=result.score.value if result.score else None,
            request_id=result.request_id,
        )

    async def _session_veriff(self, item: BatchItem, session_id: Any) -> dict[str, Any]:
        veriff = _as(self._provider, VeriffVerificationSessions)
        decision = await veriff.get_decision(str(session_id))
        return self._row(item, decision.status, request_id=decision.request_id)

    async def _session_uqudo(self, item: BatchItem, session_id: Any) -> dict[str, Any]:
        uqudo = _as(self._provider, UqudoSessionResults)
        result = await uqudo.fetch_session_result(str(session_id))
        face = result.face
        outcome = {
            Verdict.POSITIVE: "match",
            Verdict.NEGATIVE: "no_match",
            Verdict.PENDING: "pending",
        }.get(result.check.verdict, "inconclusive")
        return self._row(
            item,
            outcome,
            match_id=face.one_to_n_verification_id if face else None,
            score=float(face.match_level) if face and face.match_level is not None else None,
            request_id=result.check.request_id,
        )

    def _kinds_to_try(self, session_id: str, kinds: Sequence[str]) -> list[str]:
        """Every session kind, the one the registry recorded for this id first.

        GLAIR and Azure read a session under its kind's path; an id from a text file does not
        say which, so a NotFound under one kind moves on to the next.
        """
        record = self.service.store.get_session(
            self.spec.vendor, self.spec.connection.name, session_id
        )
        first = [record.kind] if record is not None and record.kind in kinds else []
        return first + [k for k in kinds if k not in first]

    async def _session_glair(self, item: BatchItem, session_id: Any) -> dict[str, Any]:
        glair = _as(self._provider, GlairLivenessSessions)
        missing: NotFound | None = None
        for kind in self._kinds_to_try(str(session_id), [k.value for k in GlairSessionKind]):
            try:
                session = await glair.get_session(GlairSessionKind(kind), str(session_id))
            except NotFound as exc:
                missing = exc
                continue
            verdict = session.result.verdict if session.result is not None else None
            outcome = "pending" if session.status is SessionStatus.PENDING else "inconclusive"
            if verdict is Verdict.POSITIVE:
                outcome = "live"
            elif verdict is Verdict.NEGATIVE:
                outcome = "spoof"
            if session.status is SessionStatus.EXPIRED:
                outcome = "expired"
            return self._row(item, outcome, request_id=session.request_id)
        assert missing is not None
        raise missing

    async def _session_azure(self, item: BatchItem, session_id: Any) -> dict[str, Any]:
        azure = _as(self._provider, AzureLivenessSessions)
        missing: NotFound | None = None
        for kind in self._kinds_to_try(str(session_id), [k.value for k in AzureSessionKind]):
            try:
                session = await azure.get_session(AzureSessionKind(kind), str(session_id))
            except NotFound as exc:
                missing = exc
                continue
            latest = session.attempts[0] if session.attempts else None
            decision = latest.decision if latest is not None else None
            outcome = {"realface": "live", "spoofface": "spoof", "uncertain": "inconclusive"}.get(
                decision or "", session.status.lower() or "inconclusive"
            )
            score = latest.match_confidence if latest is not None else None
            return self._row(item, outcome, score=score, request_id=session.request_id)
        assert missing is not None
        raise missing

    # listeners and the case

    def _set(self, row: BatchRow) -> None:
        self.rows[row.position] = row
        if self._on_row is not None:
            self._on_row(row)

    def _record_case_run(self, summary: BatchSummary) -> None:
        case = self.spec.case_ref
        assert case is not None
        book = self.service.case_book()
        if not book.exists(case):
            return
        book.record_run(
            case,
            vendor=self.spec.vendor,
            operation=self.spec.kind.operation,
            request_id=None,
            verdict=None,
            headline=(
                f"batch {summary.job_key[:12]}: {summary.done} of {summary.total} done, "
                f"{summary.failed} failed"
            ),
        )


def _digest(image: LoadedImage) -> str:
    return hashlib.sha256(image.data).hexdigest()[:16]


def prepared_digest(image: EncodedImage) -> str:
    return hashlib.sha256(image.data).hexdigest()[:16]


def _as(provider: object, protocol: type[Any]) -> Any:
    if not isinstance(provider, protocol):
        raise CapabilityNotSupported("This vendor does not offer this batch operation.")
    return provider


def require_case(service: VerificationService, reference: str | None) -> None:
    """Refuse a case that does not exist or is closed (blocking: call via to_thread)."""
    if reference is None:
        return
    try:
        service.case_book().require_writable(reference)
    except AppError as exc:
        raise BatchUsageError(exc.user_message) from exc
