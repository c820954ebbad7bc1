"""Compare: one ID photo and one selfie through every vendor's synchronous face match.

Each vendor gets the pair prepared for its own upload rules, on its own connection, at the same
time as the others. Every vendor ends in one `CompareRow`: a normalized verdict (match / no
match / inconclusive / error), the vendor's score on its own scale with its threshold and what
that means, face rectangles where the vendor returns them, latency and request id. One vendor
failing, timing out or being cancelled never hides another's row.

Vendors and how they are asked (shared/providers/*.md):
- azure_face: detect on both photos (rectangles), then verify the largest faces (§ detect,
  verify); a photo with no face or several faces is inconclusive, since a 1:1 comparison cannot
  know which face was meant.
- uqudo: face match at a chosen minimum level (1–5, default 3).
- glair: face match (§1); its match status code decides, its percentage is shown.
- veriff is left out: it has no synchronous 1:1 face match (see `LEFT_OUT`).

Every vendor call is audited (attempt and outcome) with image fingerprints and, when given, the
case reference; never a file name.

Slightly past ~600 lines because it is one job: each vendor's matcher, the row model, the
verdict mapping and the concurrent run are read together (export lives in compare_export.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.capabilities import SupportsFaceMatch
from app.domain import CheckResult, EncodedImage, LoadedImage, Verdict
from app.errors import AppError, CapabilityNotSupported, ConfigurationError, RequestRejected
from app.services import VerificationService
from app.vendors.azure_face.types import AzureFaceVerify, Detection
from app.vendors.uqudo.types import (
    DEFAULT_MATCH_LEVEL,
    MATCH_LEVEL_MEANINGS,
    MAX_MATCH_LEVEL,
    MIN_MATCH_LEVEL,
    UqudoFaceMatch,
)
from app.workflows.connections import Connection

OPERATION = "compare face match"
DEFAULT_TIMEOUT_SECONDS = 90.0

COMPARE_VENDORS = ("azure_face", "uqudo", "glair")
"""Vendors with a synchronous 1:1 face match, in the order rows are shown."""

LEFT_OUT: Mapping[str, str] = {
    "veriff": "Veriff has no synchronous 1:1 face match: it compares faces only inside a "
    "verification session the end user completes, so it cannot answer for a pair here.",
}

AZURE_THRESHOLD = 0.5


class RowVerdict(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class RowState(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face rectangle as fractions (0–1) of the prepared image, so any view can draw it."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class ImagePair:
    id_photo: LoadedImage
    selfie: LoadedImage

    @property
    def fingerprints(self) -> tuple[str, str]:
        """Audit targets naming the two inputs by content, never by file name."""
        return (
            "id photo sha256:" + _digest(self.id_photo.data),
            "selfie sha256:" + _digest(self.selfie.data),
        )

    @property
    def key(self) -> str:
        """Identifies this exact pair: results are bound to it (stale when it changes)."""
        return _digest(self.id_photo.data + b"\0" + self.selfie.data)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class CompareRow:
    """One vendor's answer (or failure) for one pair."""

    vendor: str
    vendor_name: str
    connection: str
    pair_key: str
    state: RowState = RowState.DONE
    verdict: RowVerdict = RowVerdict.INCONCLUSIVE
    headline: str = ""
    score: float | None = None
    scale: str = ""
    score_meaning: str = ""
    threshold: float | None = None
    threshold_meaning: str = ""
    id_photo_faces: tuple[FaceBox, ...] = ()
    selfie_faces: tuple[FaceBox, ...] = ()
    latency_ms: int | None = None
    request_id: str | None = None
    error: str | None = None
    error_kind: str | None = None
    cancelled: bool = False
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    answered_at: datetime | None = None  # UTC, set when the row is done

    @property
    def answered(self) -> bool:
        return self.state is RowState.DONE and self.verdict is not RowVerdict.ERROR

    def record(self) -> dict[str, Any]:
        """The row as the command line's JSON line and the window's JSON export."""
        record: dict[str, Any] = {
            "vendor": self.vendor,
            "connection": self.connection,
            "verdict": self.verdict.value,
            "score": self.score,
            "scale": self.scale,
            "threshold": self.threshold,
            "threshold_meaning": self.threshold_meaning,
            "headline": self.headline,
            "request_id": self.request_id,
            "latency_ms": self.latency_ms,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
        }
        if self.error is not None:
            record["error"] = self.error
        if self.warnings:
            record["warnings"] = list(self.warnings)
        return record


def disagreement(rows: Sequence[CompareRow]) -> bool:
    """Whether the vendors that answered gave different verdicts (errors do not count)."""
    return len({row.verdict for row in rows if row.answered}) > 1


@dataclass(frozen=True, slots=True)
class Comparison:
    pair_key: str
    rows: tuple[CompareRow, ...]

    @property
    def disagreement(self) -> bool:
        return disagreement(self.rows)

    @property
    def all_answered(self) -> bool:
        return all(row.answered for row in self.rows)


@dataclass(frozen=True, slots=True)
class CompareOptions:
    uqudo_level: int = DEFAULT_MATCH_LEVEL
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    case_ref: str | None = None
    # Extra audit targets (e.g. a batch line); the pair's fingerprints are always recorded.
    audit_targets: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not MIN_MATCH_LEVEL <= self.uqudo_level <= MAX_MATCH_LEVEL:
            raise ValueError("uqudo_level must be from 1 to 5")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")


# --- one vendor ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    result: CheckResult
    id_photo_faces: tuple[FaceBox, ...] = ()
    selfie_faces: tuple[FaceBox, ...] = ()
    verdict: RowVerdict | None = None  # overrides the result's verdict when set


_Matcher = Callable[[object, EncodedImage, EncodedImage, CompareOptions], Awaitable[_Answer]]


def _boxes(detection: Detection, image: EncodedImage) -> tuple[FaceBox, ...]:
    w, h = max(1, image.width), max(1, image.height)
    return tuple(
        FaceBox(f.rect.left / w, f.rect.top / h, f.rect.width / w, f.rect.height / h)
        for f in detection.faces
    )


async def _azure(
    provider: object, reference: EncodedImage, probe: EncodedImage, options: CompareOptions
) -> _Answer:
    azure = _as(provider, AzureFaceVerify)
    first, second = await asyncio.gather(azure.detect(reference), azure.detect(probe))
    faces = (_boxes(first, reference), _boxes(second, probe))
    for label, detection in (("ID photo", first), ("selfie", second)):
        count = len(detection.faces)
        if count != 1:
            headline = f"No face in the {label}" if not count else f"{count} faces in the {label}"
            reason = (
                f"Azure detected no face in the {label}; use a clearer photo."
                if not count
                else f"Azure detected {count} faces in the {label}; crop it to one person."
            )
            result = CheckResult(
                Verdict.INCONCLUSIVE,
                headline,
                reasons=(reason,),
                request_id=detection.request_id,
            )
            return _Answer(result, *faces)
    face1, face2 = first.faces[0].face_id, second.faces[0].face_id
    if face1 is None or face2 is None:
        raise CapabilityNotSupported(
            "Azure returned no face ids, so it cannot verify: this Face resource needs "
            "Limited Access approval for face identification."
        )
    return _Answer(await azure.verify_faces(face1, face2), *faces)


async def _uqudo(
    provider: object, reference: EncodedImage, probe: EncodedImage, options: CompareOptions
) -> _Answer:
    uqudo = _as(provider, UqudoFaceMatch)
    try:
        return _Answer(await uqudo.match_faces(reference, probe, minimum_level=options.uqudo_level))
    except RequestRejected as exc:
        if exc.http_status != 400:
            raise
        # §3: uqudo documents no answer for a photo without a usable face; 400 is what it
        # sends. The level was checked before sending, so the 400 is about the images: an
        # answer (inconclusive), not a failure of the vendor.
        result = CheckResult(
            Verdict.INCONCLUSIVE,
            "uqudo found no usable face",
            reasons=(exc.user_message,),
            request_id=exc.request_id,
        )
        return _Answer(result)


async def _glair(
    provider: object, reference: EncodedImage, probe: EncodedImage, options: CompareOptions
) -> _Answer:
    return _Answer(await _as(provider, SupportsFaceMatch).match_faces(reference, probe))


_MATCHERS: Mapping[str, _Matcher] = {"azure_face": _azure, "uqudo": _uqudo, "glair": _glair}


async def face_match(
    vendor: str,
    provider: object,
    reference: EncodedImage,
    probe: EncodedImage,
    options: CompareOptions,
) -> tuple[CheckResult, RowVerdict]:
    """One vendor's synchronous face match on prepared images, unaudited (the caller audits).

    The batch's "each image against one reference" reuses it, so both ask the same way.
    """
    matcher = _MATCHERS.get(vendor)
    if matcher is None:
        raise CapabilityNotSupported(LEFT_OUT.get(vendor, "This vendor has no synchronous match."))
    answer = await matcher(provider, reference, probe, options)
    return answer.result, answer.verdict or _VERDICTS[answer.result.verdict]


def _as(provider: object, protocol: type[Any]) -> Any:
    if not isinstance(provider, protocol):
        raise CapabilityNotSupported("This provider does not offer a synchronous face match.")
    return provider


def threshold_of(vendor: str, options: CompareOptions) -> tuple[float | None, str]:
    """The vendor's threshold on its own scale, and what reaching it means."""
    if vendor == "azure_face":
        return AZURE_THRESHOLD, (
            "isIdentical is true at a confidence of 0.5 or above (Azure's default threshold)"
        )
    if vendor == "uqudo":
        level = options.uqudo_level
        return float(level), (
            f"match when the achieved level reaches the chosen minimum {level}: "
            f"{MATCH_LEVEL_MEANINGS[level]}"
        )
    if vendor == "glair":
        return None, (
            "GLAIR publishes no threshold; its match status code (MATCH / NOT_MATCH) decides"
        )
    return None, ""


_VERDICTS = {
    Verdict.POSITIVE: RowVerdict.MATCH,
    Verdict.NEGATIVE: RowVerdict.NO_MATCH,
    Verdict.INCONCLUSIVE: RowVerdict.INCONCLUSIVE,
    Verdict.PENDING: RowVerdict.INCONCLUSIVE,
}


def waiting_row(
    service: VerificationService, vendor: str, connection: str, pair: ImagePair
) -> CompareRow:
    """The row shown before (and while) a vendor answers."""
    return CompareRow(
        vendor=vendor,
        vendor_name=service.info(vendor).display_name,
        connection=connection,
        pair_key=pair.key,
        state=RowState.WAITING,
        headline="Waiting",
    )


async def compare_one(
    service: VerificationService,
    vendor: str,
    connection: Connection | ConfigurationError,
    pair: ImagePair,
    options: CompareOptions | None = None,
    *,
    run_id: str = "",
) -> CompareRow:
    """One vendor's row; never raises for a vendor failure (it becomes an error row).

    Cancelling the task that runs this returns nothing: the caller (CompareRun) turns the
    cancellation into a cancelled row, so the other rows carry on.
    """
    options = options or CompareOptions()
    info = service.info(vendor)
    name = _connection_name(connection)
    base = CompareRow(
        vendor=vendor, vendor_name=info.display_name, connection=name, pair_key=pair.key
    )
    threshold, threshold_meaning = threshold_of(vendor, options)
    base = replace(base, threshold=threshold, threshold_meaning=threshold_meaning)
    if isinstance(connection, ConfigurationError):
        return _error_row(base, connection, None)
    matcher = _MATCHERS.get(vendor)
    if matcher is None:
        reason = LEFT_OUT.get(vendor, f"{info.display_name} has no synchronous face match.")
        return _error_row(base, CapabilityNotSupported(reason), None)
    targets = [*pair.fingerprints, *options.audit_targets]
    if run_id:
        targets.append(f"compare:{run_id}")
    if options.case_ref:
        targets.append(f"case:{options.case_ref}")
    audit = _Audit(service, vendor, name, targets)
    started: float | None = None
    try:
        reference, probe = await asyncio.gather(
            service.prepare_image(vendor, pair.id_photo),
            service.prepare_image(vendor, pair.selfie),
        )
        await audit.write("attempt")
        started = time.perf_counter()
        async with asyncio.timeout(options.timeout), connection.open(service) as provider:
            answer = await matcher(provider, reference, probe, options)
    except asyncio.CancelledError:
        if started is not None:
            await asyncio.shield(audit.write("cancelled"))
        raise
    except TimeoutError:
        # asyncio.timeout raised it (the vendor's own timeouts arrive as AppError).
        await audit.write("failed: timed out")
        return replace(
            base,
            verdict=RowVerdict.ERROR,
            headline="No answer in time",
            error=f"{info.display_name} did not answer within {options.timeout:g} s. "
            "Try again later, or check the connection.",
            error_kind="Timeout",
            latency_ms=_elapsed(started),
        )
    except AppError as exc:
        if started is not None:
            code = f" {exc.vendor_code}" if exc.vendor_code else ""
            await audit.write(f"failed: {type(exc).__name__}{code}", exc.request_id)
        return _error_row(base, exc, _elapsed(started))
    except Exception:
        if started is not None:
            await audit.write("failed: unexpected error")
        raise
    result = answer.result
    entry_id = await audit.write(f"succeeded: {_VERDICTS[result.verdict].value}", result.request_id)
    score = result.score
    row = replace(
        base,
        verdict=answer.verdict or _VERDICTS[result.verdict],
        headline=result.headline,
        score=score.value if score else None,
        scale=score.scale if score else "",
        score_meaning=score.meaning if score else "",
        id_photo_faces=answer.id_photo_faces,
        selfie_faces=answer.selfie_faces,
        latency_ms=_elapsed(started),
        request_id=result.request_id,
        reasons=result.reasons,
        warnings=result.warnings,
    )
    if options.case_ref:
        await asyncio.to_thread(_record_in_case, service, options.case_ref, row, entry_id)
    return row


def _record_in_case(
    service: VerificationService, reference: str, row: CompareRow, audit_id: int
) -> None:
    """The row's result in the case's timeline, pointing at its outcome's audit entry."""
    service.case_book().record_run(
        reference,
        vendor=row.vendor,
        operation=OPERATION,
        request_id=row.request_id,
        audit_id=audit_id,
        verdict=row.verdict.value,
        score=row.score,
        scale=row.scale or None,
        threshold=None if row.threshold is None else f"{row.threshold:g}",
        headline=row.headline,
    )


def _connection_name(connection: Connection | ConfigurationError) -> str:
    # A ConfigurationError stands for an `env` connection that could not be built.
    return connection.name if isinstance(connection, Connection) else "env"


def _elapsed(started: float | None) -> int | None:
    return None if started is None else round((time.perf_counter() - started) * 1000)


def _error_row(base: CompareRow, exc: AppError, latency_ms: int | None) -> CompareRow:
    return replace(
        base,
        verdict=RowVerdict.ERROR,
        headline="Failed",
        error=exc.user_message,
        error_kind=type(exc).__name__,
        request_id=exc.request_id,
        latency_ms=latency_ms,
    )


class _Audit:
    """Writes this vendor's attempt and outcome to the audit trail (ids and fingerprints)."""

    def __init__(
        self, service: VerificationService, vendor: str, connection: str, targets: list[str]
    ) -> None:
        self._store = service.store
        self._vendor = vendor
        self._connection = connection
        self._targets = tuple(targets)

    async def write(self, outcome: str, request_id: str | None = None) -> int:
        """Append the entry; its audit id."""
        return await asyncio.to_thread(
            lambda: self._store.audit(
                provider=self._vendor,
                profile=self._connection,
                operation=OPERATION,
                targets=self._targets,
                outcome=outcome,
                request_id=request_id,
            )
        )


# --- all vendors --------------------------------------------------------------------------------


RowListener = Callable[[CompareRow], None]


class CompareRun:
    """One pair through several vendors at once; each row can be cancelled or run again.

    `on_row` is called (on the event loop) whenever a row changes state. `wait()` returns the
    `Comparison` once every row is done; cancelling one row makes it an error row marked
    cancelled and leaves the others running.
    """

    def __init__(
        self,
        service: VerificationService,
        pair: ImagePair,
        connections: Mapping[str, Connection | ConfigurationError],
        options: CompareOptions | None = None,
        *,
        on_row: RowListener | None = None,
    ) -> None:
        self._service = service
        self.pair = pair
        self._connections = dict(connections)
        self.options = options or CompareOptions()
        self._on_row = on_row
        self.run_id = uuid.uuid4().hex[:12]
        self._rows: dict[str, CompareRow] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        for vendor, connection in self._connections.items():
            self._rows[vendor] = waiting_row(service, vendor, _connection_name(connection), pair)

    @property
    def vendors(self) -> tuple[str, ...]:
        return tuple(self._rows)

    @property
    def rows(self) -> tuple[CompareRow, ...]:
        return tuple(self._rows.values())

    @property
    def comparison(self) -> Comparison:
        return Comparison(self.pair.key, self.rows)

    def start(self) -> None:
        """Start every vendor's row (call on a running event loop)."""
        for vendor in self._rows:
            self.rerun(vendor)

    def rerun(
        self,
        vendor: str,
        *,
        connection: Connection | ConfigurationError | None = None,
        pair: ImagePair | None = None,
    ) -> None:
        """(Re)start one row, optionally on another connection or a newer pair.

        A row still running is cancelled first. Each row keeps the key of the pair it answered
        for, so a view can mark rows whose pair is no longer the one on screen as stale.
        """
        previous = self._tasks.get(vendor)
        if previous is not None and not previous.done():
            previous.cancel()
        if connection is not None:
            self._connections[vendor] = connection
        if pair is not None:
            self.pair = pair
        name = _connection_name(self._connections[vendor])
        running = replace(
            waiting_row(self._service, vendor, name, self.pair),
            state=RowState.RUNNING,
            headline="Running",
        )
        self._set(running)
        self._tasks[vendor] = asyncio.create_task(
            self._run(vendor, self.pair), name=f"compare:{vendor}"
        )

    def cancel(self, vendor: str) -> None:
        task = self._tasks.get(vendor)
        if task is not None and not task.done():
            task.cancel()

    def cancel_all(self) -> None:
        for vendor in self._tasks:
            self.cancel(vendor)

    async def _run(self, vendor: str, pair: ImagePair) -> None:
        try:
            row = await compare_one(
                self._service,
                vendor,
                self._connections[vendor],
                pair,
                self.options,
                run_id=self.run_id,
            )
        except asyncio.CancelledError:
            current = self._rows[vendor]
            self._set(
                replace(
                    current,
                    state=RowState.DONE,
                    verdict=RowVerdict.ERROR,
                    headline="Cancelled",
                    error="Cancelled by the operator.",
                    error_kind="Cancelled",
                    cancelled=True,
                )
            )
            return
        self._set(row)

    def _set(self, row: CompareRow) -> None:
        if row.state is RowState.DONE and row.answered_at is None:
            row = replace(row, answered_at=datetime.now(UTC))
        self._rows[row.vendor] = row
        if self._on_row is not None:
            self._on_row(row)

    async def wait(self) -> Comparison:
        """Wait until every row is done (rows re-run meanwhile are waited for too)."""
        while True:
            pending = [t for t in self._tasks.values() if not t.done()]
            if not pending:
                return self.comparison
            await asyncio.wait(pending)


async def compare(
    service: VerificationService,
    pair: ImagePair,
    connections: Mapping[str, Connection | ConfigurationError],
    options: CompareOptions | None = None,
) -> Comparison:
    """Run every vendor at once and return when all rows are done."""
    run = CompareRun(service, pair, connections, options)
    run.start()
    try:
        return await run.wait()
    except asyncio.CancelledError:
        run.cancel_all()
        raise
