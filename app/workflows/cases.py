"""Cases: one subject's photos, what each vendor said, the reviewer's decision, and why.

A case has an operator-chosen reference (`CASE-2026-0042`; no personal data needed), a state
(open → decided → closed), tags and a timeline. The timeline is assembled from two sources:

- the audit trail: every entry whose targets contain `case:REF` (vendor runs made with
  `--case REF` or while the case is active in the window, and the case's own changes), so a
  run is attached by the same row that proves it happened;
- explicit case rows: image pairs (by fingerprint), run results (verdict, score on the vendor's
  scale, threshold, request id, matched to their audit entries by request id), notes with
  threaded replies, and the reviewer's decisions. A decision is recorded beside the vendors'
  verdicts and never replaces them.

Photos are kept only where a persistent keyring exists: AES-GCM under a per-case 256-bit key held
in the keyring, ciphertext in the store. Erasing deletes the key and the ciphertext and audits
the erasure. A retention period (days after closing) is applied by `apply_retention`.
Blocking calls (store, keyring): run them through asyncio.to_thread from async code.

One module past ~600 lines because it is one job, the case file: references, states, photos
under their keys, notes, decisions and the timeline assembled from the audit trail are the
rules of one object; the rows stay in app.store and the report in report.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.errors import AppError
from app.store import AuditChainRow, Store

if TYPE_CHECKING:
    from app.secrets import SecretStore

CASE_PROVIDER = "facedesk"
REFERENCE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")
RETENTION_META_KEY = "cases.retention_days"
KEEP_PHOTOS_META_KEY = "cases.keep_photos"
NO_KEYRING_NOTE = (
    "No system keyring is available, so this case keeps no photos: only their fingerprints are "
    "recorded."
)

if TYPE_CHECKING:  # keyring loads after the first paint, not with the window
    from app.secrets import SecretStore


class CaseError(AppError):
    """A case operation the operator asked for cannot be done (message says why)."""


class CaseState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    CLOSED = "closed"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ESCALATE = "escalate"


def case_target(reference: str) -> str:
    """The audit target that attaches an entry to a case."""
    return f"case:{reference}"


def image_fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def validate_reference(text: str) -> str:
    """The normalised reference (upper case), or CaseError saying what a reference may hold."""
    reference = text.strip().upper()
    if not REFERENCE_RE.fullmatch(reference):
        raise CaseError(
            f"{text!r} is not a case reference: use 3-64 letters, digits, '-' or '_', starting "
            "with a letter or digit, e.g. CASE-2026-0042 (no names or other personal data)."
        )
    return reference


@dataclass(frozen=True, slots=True)
class Case:
    reference: str
    state: CaseState
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    keeps_photos: bool
    photos_erased_at: datetime | None
    photos_note: str = ""
    # Who has the case (a team store's database login, or this workstation's user); None when
    # nobody has claimed it. A case assigned to someone else is read-only for everyone else.
    assignee: str | None = None
    assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImagePair:
    item_id: int
    time_utc: datetime
    operator: str
    fingerprints: tuple[str, ...]
    photos_kept: bool


@dataclass(frozen=True, slots=True)
class VendorRun:
    """A vendor operation attached to the case, with its result where one was recorded."""

    time_utc: datetime
    vendor: str
    profile: str
    operation: str
    outcome: str
    request_id: str | None
    audit_id: int | None = None
    audit_hash: str | None = None
    verdict: str | None = None
    score: float | None = None
    scale: str | None = None
    threshold: str | None = None
    headline: str | None = None
    operator: str = ""  # who ran it: the audit entry's operator (a team store's login)


@dataclass(frozen=True, slots=True)
class Note:
    item_id: int
    time_utc: datetime
    operator: str
    text: str
    parent_id: int | None
    replies: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewerDecision:
    item_id: int
    time_utc: datetime
    operator: str
    decision: Decision
    reason: str


@dataclass(frozen=True, slots=True)
class ForensicsRecord:
    """An image's forensic findings as recorded on the timeline (`facedesk inspect --case`)."""

    item_id: int
    time_utc: datetime
    operator: str
    name: str
    fingerprint: str
    sha256: str
    phash: str
    findings: tuple[dict[str, Any], ...]  # key, title, value, level of each finding


@dataclass(frozen=True, slots=True)
class CasePhoto:
    fingerprint: str
    role: str
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CaseFile:
    """Everything about a case, for the case view and the evidence report."""

    case: Case
    pairs: tuple[ImagePair, ...]
    runs: tuple[VendorRun, ...]
    notes: tuple[Note, ...]
    decisions: tuple[ReviewerDecision, ...]
    audit: tuple[AuditChainRow, ...]
    photo_fingerprints: tuple[str, ...] = field(default_factory=tuple)
    forensics: tuple[ForensicsRecord, ...] = ()

    @property
    def decision(self) -> ReviewerDecision | None:
        """The reviewer's current decision (the latest one; earlier ones stay in the file)."""
        return self.decisions[-1] if self.decisions else None


class CaseBook:
    """Case operations over one store and secret store; every change is audited."""

    def __init__(self, store: Store, secrets: SecretStore) -> None:
        self.store = store
        self.secrets = secrets

    # --- settings ------------------------------------------------------------------------------

    @property
    def photos_possible(self) -> bool:
        return self.secrets.persistent

    def keep_photos_default(self) -> bool:
        return self.store.get_meta(KEEP_PHOTOS_META_KEY) != "0"

    def set_keep_photos_default(self, keep: bool) -> None:
        self.store.set_meta(KEEP_PHOTOS_META_KEY, "1" if keep else "0")

    def retention_days(self) -> int | None:
        value = self.store.get_meta(RETENTION_META_KEY)
        return int(value) if value else None

    def set_retention_days(self, days: int | None) -> None:
        if days is not None and days < 0:
            raise CaseError("The retention period is a number of days, 0 or more.")
        self.store.set_meta(RETENTION_META_KEY, "" if days is None else str(days))

    # --- cases ---------------------------------------------------------------------------------

    def new_case(
        self, reference: str, *, tags: Sequence[str] = (), keep_photos: bool | None = None
    ) -> Case:
        ref = validate_reference(reference)
        keep = self.keep_photos_default() if keep_photos is None else keep_photos
        if not self.store.insert_case(ref, keep_photos=keep, tags=_clean_tags(tags)):
            raise CaseError(f"A case {ref} already exists; open it or choose another reference.")
        self._audit(ref, "case.open", outcome="succeeded")
        return self.get(ref)

    def get(self, reference: str) -> Case:
        ref = validate_reference(reference)
        row = self.store.case_row(ref)
        if row is None:
            raise CaseError(f"There is no case {ref}. `facedesk case list` shows the cases.")
        return self._case(row)

    def exists(self, reference: str) -> bool:
        try:
            return self.store.case_row(validate_reference(reference)) is not None
        except CaseError:
            return False

    def find(
        self,
        *,
        state: CaseState | None = None,
        tag: str | None = None,
        reference: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Case]:
        """Newest first. `reference` matches a part of the reference; dates are creation time."""
        cases = [self._case(r) for r in self.store.case_rows()]
        needle = reference.strip().upper() if reference else None
        return [
            c
            for c in cases
            if (state is None or c.state is state)
            and (tag is None or tag.strip().lower() in c.tags)
            and (needle is None or needle in c.reference)
            and (since is None or c.created_at >= since)
            and (until is None or c.created_at <= until)
        ]

    def set_tags(self, reference: str, tags: Sequence[str]) -> Case:
        case = self.get(reference)
        self._require_not_someone_elses(case)
        cleaned = _clean_tags(tags)
        self.store.update_case(case.reference, tags=cleaned)
        self._audit(case.reference, "case.tags", outcome="succeeded", extra=cleaned)
        return self.get(case.reference)

    def set_keep_photos(self, reference: str, keep: bool) -> Case:
        case = self.get(reference)
        self._require_not_someone_elses(case)
        self.store.update_case(case.reference, keep_photos=int(keep))
        if not keep:
            self.erase_photos(case.reference, reason="photos switched off for this case")
        self._audit(case.reference, "case.keep_photos", outcome="on" if keep else "off")
        return self.get(case.reference)

    def close(self, reference: str) -> Case:
        case = self.get(reference)
        self._require_not_someone_elses(case)
        self.store.update_case(
            case.reference, state=CaseState.CLOSED.value, closed_at=_now().isoformat()
        )
        if case.assignee is not None:
            # A closed case is nobody's work any more (and retention may erase its photos).
            self.store.release_case(case.reference)
        self._audit(case.reference, "case.close", outcome="succeeded")
        return self.get(case.reference)

    def reopen(self, reference: str) -> Case:
        case = self.get(reference)
        self._require_not_someone_elses(case)
        state = CaseState.DECIDED if self.case_file(case.reference).decisions else CaseState.OPEN
        self.store.update_case(case.reference, state=state.value, closed_at=None)
        self._audit(case.reference, "case.reopen", outcome="succeeded")
        return self.get(case.reference)

    # --- timeline ------------------------------------------------------------------------------

    def attach_pair(self, reference: str, photos: Sequence[tuple[str, bytes, str]]) -> ImagePair:
        """Attach an image pair: (role, image bytes, media type) each, e.g. ("id", ..., ...).

        Only fingerprints are recorded unless the case keeps photos and a keyring exists.
        """
        case = self._writable(reference)
        fingerprints = [image_fingerprint(data) for _, data, _ in photos]
        keep = case.keeps_photos and self.photos_possible and case.photos_erased_at is None
        if keep:
            key = self._photo_key(case.reference, create=True) or b""
            for (role, data, media_type), fingerprint in zip(photos, fingerprints, strict=True):
                nonce = os.urandom(12)
                ciphertext = AESGCM(key).encrypt(nonce, data, _aad(case.reference, fingerprint))
                self.store.put_case_photo(
                    case.reference,
                    fingerprint=fingerprint,
                    role=role,
                    media_type=media_type,
                    nonce=nonce,
                    ciphertext=ciphertext,
                )
        item = self.store.add_case_item(
            case.reference,
            "pair",
            {"fingerprints": fingerprints, "roles": [r for r, _, _ in photos], "kept": keep},
        )
        self._audit(case.reference, "case.attach_pair", outcome="succeeded", extra=fingerprints)
        return next(p for p in self.case_file(case.reference).pairs if p.item_id == item)

    def record_run(
        self,
        reference: str,
        *,
        vendor: str,
        operation: str,
        request_id: str | None,
        verdict: str | None,
        audit_id: int | None = None,
        score: float | None = None,
        scale: str | None = None,
        threshold: str | None = None,
        headline: str | None = None,
    ) -> None:
        """Record a vendor run's result beside its audit entry, which carries the proof.

        `audit_id` is the outcome entry's id; without it the entry is found by request id.
        """
        case = self._writable(reference)
        self.store.add_case_item(
            case.reference,
            "run",
            {
                "vendor": vendor,
                "operation": operation,
                "request_id": request_id,
                "audit_id": audit_id,
                "verdict": verdict,
                "score": score,
                "scale": scale,
                "threshold": threshold,
                "headline": headline,
            },
        )

    def record_forensics(self, reference: str, report: dict[str, Any]) -> ForensicsRecord:
        """Put an image's forensic findings on the case timeline, bound to its fingerprints.

        `report` is `ForensicsReport.as_dict()`; only fingerprints and findings are kept (no
        pixels, no metadata values beyond the findings' one-line summaries).
        """
        case = self.get(self.require_writable(reference))
        payload = {
            "name": str(report["file"]),
            "fingerprint": str(report["fingerprint"]),
            "sha256": str(report["sha256"]),
            "phash": str(report["phash"]),
            "findings": [
                {key: finding[key] for key in ("key", "title", "value", "level")}
                for finding in report["findings"]
            ],
        }
        item = self.store.add_case_item(case.reference, "forensics", payload)
        self._audit(
            case.reference,
            "case.forensics",
            outcome="succeeded",
            extra=[str(report["fingerprint"]), f"item:{item}"],
        )
        return next(r for r in self.case_file(case.reference).forensics if r.item_id == item)

    def add_note(self, reference: str, text: str, *, reply_to: int | None = None) -> Note:
        case = self._writable(reference)
        body = text.strip()
        if not body:
            raise CaseError("A note needs some text.")
        if reply_to is not None:
            notes = {i["id"] for i in self.store.case_items(case.reference) if i["kind"] == "note"}
            if reply_to not in notes:
                raise CaseError(f"There is no note {reply_to} in {case.reference} to reply to.")
        item = self.store.add_case_item(case.reference, "note", {"text": body}, parent_id=reply_to)
        self._audit(case.reference, "case.note", outcome="succeeded", extra=[f"note:{item}"])
        return _find_note(self.case_file(case.reference).notes, item)

    def decide(self, reference: str, decision: Decision | str, reason: str) -> ReviewerDecision:
        """Record the reviewer's decision (approve/reject/escalate) with its required reason."""
        case = self._writable(reference)
        try:
            chosen = Decision(str(decision).lower())
        except ValueError:
            raise CaseError(
                f"{decision!r} is not a decision: use approve, reject or escalate."
            ) from None
        why = reason.strip()
        if not why:
            raise CaseError("A decision needs a reason: say what you based it on.")
        item = self.store.add_case_item(
            case.reference, "decision", {"decision": chosen.value, "reason": why}
        )
        self.store.update_case(case.reference, state=CaseState.DECIDED.value)
        self._audit(case.reference, "case.decide", outcome=chosen.value, extra=[f"item:{item}"])
        return next(d for d in self.case_file(case.reference).decisions if d.item_id == item)

    def case_file(self, reference: str) -> CaseFile:
        case = self.get(reference)
        items = self.store.case_items(case.reference)
        audit_rows = tuple(self.store.audit_rows_naming(case_target(case.reference)))
        pairs = tuple(
            ImagePair(
                item_id=int(str(i["id"])),
                time_utc=_time(i["time_utc"]),
                operator=str(i["operator"]),
                fingerprints=tuple(_payload(i)["fingerprints"]),
                photos_kept=bool(_payload(i).get("kept")),
            )
            for i in items
            if i["kind"] == "pair"
        )
        decisions = tuple(
            ReviewerDecision(
                item_id=int(str(i["id"])),
                time_utc=_time(i["time_utc"]),
                operator=str(i["operator"]),
                decision=Decision(_payload(i)["decision"]),
                reason=str(_payload(i)["reason"]),
            )
            for i in items
            if i["kind"] == "decision"
        )
        return CaseFile(
            case=case,
            pairs=pairs,
            runs=_runs(audit_rows, [i for i in items if i["kind"] == "run"]),
            notes=_thread([i for i in items if i["kind"] == "note"]),
            decisions=decisions,
            audit=audit_rows,
            photo_fingerprints=tuple(r[0] for r in self.store.case_photo_rows(case.reference)),
            forensics=tuple(_forensics(i) for i in items if i["kind"] == "forensics"),
        )

    # --- photos --------------------------------------------------------------------------------

    def photos(self, reference: str) -> list[CasePhoto]:
        """Decrypted photos of the case (empty when none are kept or the key is gone)."""
        case = self.get(reference)
        rows = self.store.case_photo_rows(case.reference)
        if not rows:
            return []
        key = self._photo_key(case.reference, create=False)
        if key is None:
            return []
        result = []
        for fingerprint, role, media_type, nonce, ciphertext in rows:
            try:
                data = AESGCM(key).decrypt(nonce, ciphertext, _aad(case.reference, fingerprint))
            except InvalidTag:
                continue
            result.append(CasePhoto(fingerprint, role, media_type, data))
        return result

    def erase_photos(self, reference: str, *, reason: str = "erase requested") -> int:
        """Delete the case's photo key and ciphertext; audit the erasure. Returns photos erased."""
        case = self.get(reference)
        removed = self.store.delete_case_photos(case.reference)
        self.secrets.delete(_key_scope(case.reference), "photo_key")
        self.store.update_case(case.reference, photos_erased_at=_now().isoformat())
        self._audit(
            case.reference,
            "case.erase_photos",
            outcome=f"erased {removed} photos and the case key",
            extra=[f"reason:{reason}"],
        )
        return removed

    def apply_retention(self, now: datetime | None = None) -> list[str]:
        """Erase photos of cases closed more than the retention period ago; their references."""
        days = self.retention_days()
        if days is None:
            return []
        cutoff = (now or _now()) - timedelta(days=days)
        erased = []
        for case in self.find(state=CaseState.CLOSED):
            if case.closed_at is None or case.closed_at > cutoff:
                continue
            if not self.store.case_photo_rows(case.reference) and case.photos_erased_at:
                continue
            if self.store.case_photo_rows(case.reference) or self._photo_key(
                case.reference, create=False
            ):
                self.erase_photos(case.reference, reason=f"retention: {days} days after closing")
                erased.append(case.reference)
        return erased

    def require_writable(self, reference: str) -> str:
        """The normalised reference of an existing case that may take new runs, or CaseError.

        Commands that take `--case REF` call this before any vendor call, so a typo never
        leaves runs attached to no case (or to a closed one).
        """
        normalized = validate_reference(reference)
        if self.store.case_row(normalized) is None:
            raise CaseError(
                f"There is no case {normalized}: create it with `facedesk case new {normalized}`"
                " (or pick one from `facedesk case list`)."
            )
        return self._writable(normalized).reference

    # --- internals -----------------------------------------------------------------------------

    def _writable(self, reference: str) -> Case:
        case = self.get(reference)
        if case.state is CaseState.CLOSED:
            raise CaseError(f"{case.reference} is closed; reopen it to add to it.")
        self._require_not_someone_elses(case)
        return case

    def _require_not_someone_elses(self, case: Case) -> None:
        if case.assignee is not None and case.assignee != self.store.operator:
            raise CaseError(
                f"{case.reference} is assigned to {case.assignee}; it is read-only for you "
                f"until {case.assignee} releases it."
            )

    # --- assignment (shared work in a team store) ----------------------------------------------

    @property
    def operator(self) -> str:
        """Who this book acts as: the database login of a team store, else the OS user."""
        return self.store.operator

    def read_only_reason(self, case: Case) -> str | None:
        """Why this operator cannot add runs, notes or decisions to `case`; None when they can."""
        if case.state is CaseState.CLOSED:
            return f"{case.reference} is closed; reopen it to add to it."
        if case.assignee is not None and case.assignee != self.operator:
            return f"Assigned to {case.assignee}: read-only for you."
        return None

    def assign_to_me(self, reference: str) -> Case:
        """Claim a case for this operator; CaseError naming the holder when someone else has it.

        The claim is one row lock (`SELECT … FOR UPDATE SKIP LOCKED` on a team store), so two
        reviewers pressing "Assign to me" at once never both get it.
        """
        case = self.get(reference)
        claimed, holder = self.store.claim_case(case.reference)
        if not claimed:
            self._audit(case.reference, "case.assign", outcome="refused")
            who = holder or "another reviewer"
            raise CaseError(f"{case.reference} is assigned to {who}; ask them to release it.")
        self._audit(case.reference, "case.assign", outcome="succeeded")
        return self.get(case.reference)

    def release(self, reference: str) -> Case:
        """Give a case this operator holds back to the team."""
        case = self.get(reference)
        if not self.store.release_case(case.reference):
            who = case.assignee or "nobody"
            raise CaseError(f"{case.reference} is not yours to release (assigned to {who}).")
        self._audit(case.reference, "case.release", outcome="succeeded")
        return self.get(case.reference)

    def _photo_key(self, reference: str, *, create: bool) -> bytes | None:
        stored = self.secrets.get(_key_scope(reference), "photo_key")
        if stored is None:
            if not create:
                return None
            key = AESGCM.generate_key(bit_length=256)
            self.secrets.set(_key_scope(reference), "photo_key", base64.b64encode(key).decode())
            return key
        return base64.b64decode(stored)

    def _case(self, row: dict[str, object]) -> Case:
        keeps = bool(row["keep_photos"])
        case = Case(
            reference=str(row["reference"]),
            state=CaseState(str(row["state"])),
            tags=tuple(str(t) for t in row["tags"]),  # type: ignore[attr-defined]
            created_at=_time(row["created_at"]),
            updated_at=_time(row["updated_at"]),
            closed_at=_time(row["closed_at"]) if row["closed_at"] else None,
            keeps_photos=keeps,
            photos_erased_at=_time(row["photos_erased_at"]) if row["photos_erased_at"] else None,
            assignee=str(row["assignee"]) if row.get("assignee") else None,
            assigned_at=_time(row["assigned_at"]) if row.get("assigned_at") else None,
        )
        if not self.photos_possible:
            return replace(case, photos_note=NO_KEYRING_NOTE)
        if not keeps:
            return replace(case, photos_note="Photos are switched off for this case.")
        if case.photos_erased_at is not None:
            return replace(
                case, photos_note=f"Photos were erased on {case.photos_erased_at:%Y-%m-%d %H:%M}."
            )
        return case

    def _audit(
        self, reference: str, operation: str, *, outcome: str, extra: Sequence[str] = ()
    ) -> None:
        self.store.audit(
            provider=CASE_PROVIDER,
            profile="",
            operation=operation,
            targets=[case_target(reference), *extra],
            outcome=outcome,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _time(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _payload(item: dict[str, object]) -> dict[str, Any]:
    payload = item["payload"]
    return payload if isinstance(payload, dict) else {}


def _key_scope(reference: str) -> str:
    return f"case:{reference}"


def _aad(reference: str, fingerprint: str) -> bytes:
    # Binds each ciphertext to its case and fingerprint: a row copied elsewhere fails to open.
    return json.dumps([reference, fingerprint]).encode()


def _clean_tags(tags: Sequence[str]) -> list[str]:
    return sorted({t.strip().lower() for t in tags if t.strip()})


def _runs(
    audit_rows: Sequence[AuditChainRow], run_items: Sequence[dict[str, object]]
) -> tuple[VendorRun, ...]:
    """Vendor runs: final audit outcomes naming the case, completed by recorded results.

    A result names its outcome's audit entry (`audit_id`); results recorded without one are
    matched by request id.
    """
    by_entry: dict[int, dict[str, Any]] = {}
    by_request: dict[str, dict[str, Any]] = {}
    unmatched: list[tuple[dict[str, object], dict[str, Any]]] = []
    for item in run_items:
        payload = _payload(item)
        entry_id = payload.get("audit_id")
        if isinstance(entry_id, int):
            by_entry[entry_id] = payload
        elif payload.get("request_id"):
            by_request[str(payload["request_id"])] = payload
        else:
            unmatched.append((item, payload))
    runs: list[VendorRun] = []
    used: set[int] = set()
    seen: set[str] = set()
    for row in audit_rows:
        entry = row.entry
        if entry.provider == CASE_PROVIDER or entry.outcome == "attempt":
            continue
        recorded = by_entry.get(row.entry_id)
        if recorded is not None:
            used.add(row.entry_id)
        else:
            recorded = by_request.get(entry.request_id or "", {})
            if entry.request_id:
                seen.add(entry.request_id)
        run = VendorRun(
            time_utc=entry.time_utc,
            vendor=entry.provider,
            profile=entry.profile,
            operation=entry.operation,
            outcome=entry.outcome,
            request_id=entry.request_id,
            audit_id=row.entry_id,
            audit_hash=row.hash,
            operator=entry.os_user,
        )
        runs.append(_with_result(run, recorded))
    unmatched += [({"time_utc": None}, p) for e, p in by_entry.items() if e not in used]
    unmatched += [({"time_utc": None}, p) for r, p in by_request.items() if r not in seen]
    for item, payload in unmatched:
        run = VendorRun(
            time_utc=_time(item["time_utc"]) if item.get("time_utc") else _now(),
            vendor=str(payload.get("vendor", "")),
            profile="",
            operation=str(payload.get("operation", "")),
            outcome="recorded (no audit entry names this case)",
            request_id=_opt_str(payload.get("request_id")),
            operator=str(item.get("operator") or ""),
        )
        runs.append(_with_result(run, payload))
    return tuple(sorted(runs, key=lambda r: r.time_utc))


def _with_result(run: VendorRun, payload: dict[str, object]) -> VendorRun:
    score = payload.get("score")
    return replace(
        run,
        verdict=_opt_str(payload.get("verdict")),
        score=float(score) if isinstance(score, int | float) else None,
        scale=_opt_str(payload.get("scale")),
        threshold=_opt_str(payload.get("threshold")),
        headline=_opt_str(payload.get("headline")),
    )


def _forensics(item: dict[str, object]) -> ForensicsRecord:
    payload = _payload(item)
    return ForensicsRecord(
        item_id=int(str(item["id"])),
        time_utc=_time(item["time_utc"]),
        operator=str(item["operator"]),
        name=str(payload.get("name", "")),
        fingerprint=str(payload.get("fingerprint", "")),
        sha256=str(payload.get("sha256", "")),
        phash=str(payload.get("phash", "")),
        findings=tuple(payload.get("findings", ())),
    )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _thread(items: Sequence[dict[str, object]]) -> tuple[Note, ...]:
    notes = {
        int(str(i["id"])): Note(
            item_id=int(str(i["id"])),
            time_utc=_time(i["time_utc"]),
            operator=str(i["operator"]),
            text=str(_payload(i)["text"]),
            parent_id=int(str(i["parent_id"])) if i["parent_id"] is not None else None,
        )
        for i in items
    }

    def with_replies(note: Note) -> Note:
        children = [n for n in notes.values() if n.parent_id == note.item_id]
        return replace(note, replies=tuple(with_replies(c) for c in children))

    return tuple(with_replies(n) for n in notes.values() if n.parent_id is None)


def _find_note(notes: Sequence[Note], item_id: int) -> Note:
    for note in notes:
        if note.item_id == item_id:
            return note
        if note.replies:
            try:
                return _find_note(note.replies, item_id)
            except LookupError:
                pass
    raise LookupError(item_id)
