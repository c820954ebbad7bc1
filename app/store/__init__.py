"""The store interface: session registry, audit trail, rate ledgers and cases, on two backends.

`Store` is the interface every caller uses; the backend is chosen by what it is opened on,
the way `pathlib.Path` picks its flavour:

- `Store(path)` — SQLite in the data folder (`app.store.sqlite`), the embedded default: nothing
  to set up for one operator.
- `Store("postgresql://…")` — the team store (`app.store.postgres`): cases, the registry, the
  audit trail and the rate ledgers shared by a review team, with the database keeping the rules
  (append-only audit enforced by privileges and triggers, the operator set by the database, the
  hash chain extended inside the database).

`open_store(paths)` picks the target for a run: `FACEDESK_DATABASE_URL`, else Settings › Team
store (`team_store_url`), else the SQLite file.

Schema changes: the team store's schema is migrated by Alembic (`facedesk db upgrade`, run by
the database owner; revisions in `app/store/alembic`, their SQL in
`app.store.migrations.postgres`). The DDL is plain SQL per dialect, not SQLAlchemy Core: the
two schemas differ exactly where the rules live (SQLite triggers vs. PostgreSQL roles, grants,
PL/pgSQL chain triggers, LISTEN/NOTIFY), which Core cannot describe. The SQLite file of one
operator upgrades itself in place on open (`app.store.migrations.sqlite`): there is no
database owner to run a command, and the window must not import SQLAlchemy to start. An app
meeting an older team schema says which command to run; a newer one says to update FaceDesk.

The audit chain's canonical encoding (`canonical_audit_encoding`) is defined once, here; the
PostgreSQL trigger computes the same bytes in SQL, so `app.workflows.audit.verify` recomputes
either backend's chain the same way. Checkpoints (count + head hash) are written outside the
database, in the workstation's data folder, at close.

Past ~600 lines because it is one job, the contract both backends keep: the interface, and
what must be the same on both (the canonical encoding, checkpoints, the filters' SQL, URL and
password handling), so neither backend can drift from the other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

from app.domain import AuditEntry, SessionRecord
from app.errors import AppError

if TYPE_CHECKING:
    from app.paths import AppPaths
    from app.secrets import SecretStore

DATABASE_URL_ENV = "FACEDESK_DATABASE_URL"
GENESIS_HASH = "0" * 64
CHECKPOINT_FILE_NAME = "audit-checkpoints.jsonl"
TRIGGERS_MISSING_OPERATION = "audit.triggers_missing"
TEAM_STORE_SECRET_SCOPE = "team_store"


# --- errors -------------------------------------------------------------------------------------


class StoreError(AppError):
    """The store refused or could not do what was asked; the message says what to do."""


class StoreUnavailable(StoreError):
    """The team database cannot be reached; what was being done was not done (not audited)."""

    retryable = True


class StoreSchemaMismatch(StoreError):
    """The database's schema is older or newer than this FaceDesk; the message names the fix."""


# --- values shared by both backends -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditChainRow:
    entry_id: int
    entry: AuditEntry
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True, slots=True)
class StoreChange:
    """What another workstation changed: `table` is "audit" or "cases"; `case` when known."""

    table: str
    case: str | None = None


class ChangeSubscription(Protocol):
    """A running LISTEN; `stop()` ends it (idempotent)."""

    def stop(self) -> None: ...


class CheckpointSigner(Protocol):
    """Signs checkpoint messages (HMAC-SHA256 under a key from the keyring)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> str: ...

    def verify(self, message: bytes, signature: str) -> bool: ...


class HmacCheckpointSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @property
    def key_id(self) -> str:
        # Names the key without revealing it, so a verifier can say which key signed.
        return (
            "hmac-sha256:" + hashlib.sha256(b"facedesk-checkpoint-key" + self._key).hexdigest()[:16]
        )

    def sign(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)


def canonical_audit_encoding(entry_id: int, entry: AuditEntry, prev_hash: str) -> bytes:
    """Sorted-key compact UTF-8 JSON of the entry, its id and the previous hash.

    `app.store.migrations.postgres` builds the same bytes in SQL (`facedesk_audit_canonical`);
    a test holds the two to each other on awkward text.
    """
    document = {
        "id": entry_id,
        "time_utc": entry.time_utc.isoformat(),
        "os_user": entry.os_user,
        "provider": entry.provider,
        "profile": entry.profile,
        "operation": entry.operation,
        "targets": list(entry.targets),
        "outcome": entry.outcome,
        "request_id": entry.request_id,
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def audit_entry_hash(entry_id: int, entry: AuditEntry, prev_hash: str) -> str:
    return hashlib.sha256(canonical_audit_encoding(entry_id, entry, prev_hash)).hexdigest()


def checkpoint_message(checkpoint: Mapping[str, object]) -> bytes:
    """The signed part of a checkpoint: count, head and time."""
    signed = {k: checkpoint[k] for k in ("count", "head", "time")}
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()


def read_checkpoints(path: Path) -> list[dict[str, object]]:
    """Checkpoints in file order; a line that is not a JSON object is kept as {"invalid": line}."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    result: list[dict[str, object]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        result.append(value if isinstance(value, dict) else {"invalid": line})
    return result


def is_database_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable database URL)"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with each secret and any `password=…` / URL password removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


# --- free-text filters (both backends build the same LIKE patterns) ---------------------------

# What the audit dialog's text filter searches besides the targets (case-insensitive substring).
AUDIT_FILTER_COLUMNS = ("operation", "outcome", "request_id", "os_user", "profile")


def like_contains(text: str) -> str:
    """A LIKE pattern (backslash escapes) matching `text` anywhere, its `%` and `_` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The shortest filter text a trigram index can narrow (shorter text has no trigram).
TEXT_INDEX_MIN_CHARS = 3

# Given the filter text (at least TEXT_INDEX_MIN_CHARS, no line break), a condition an index
# answers that is the text filter itself, with its parameters.
TextIndex = Callable[[str], tuple[str, list[str]]]


def audit_text_condition(
    text: str, *, mark: str, like: str, elements: str, index: TextIndex | None = None
) -> tuple[str, list[str]]:
    """The audit text filter as one SQL condition and its parameters, in a backend's dialect.

    `mark` is the placeholder ("?", "%s"), `like` the case-insensitive operator, `elements` a
    FROM item yielding each decoded target of the row as `value`, `index` the backend's
    trigram index over the same text, used when `text` is long enough and has no line break
    (a full scan of a 1,000,000-entry trail takes about a quarter of a second).

    Targets are stored as a JSON array, so in general only a match on a decoded element is
    exact (a raw match would find "t" in the escape of a tab, "," between elements), and
    decoding every row costs twice a plain scan. Text of printable ASCII without a quote,
    backslash, comma or bracket can only match the raw JSON inside one element's string; where
    that JSON has no backslash (no escapes: the usual ASCII ids) the string is the element
    itself, so the raw match is exact and only rows with escapes are decoded.
    """
    if index is not None and len(text) >= TEXT_INDEX_MIN_CHARS and "\n" not in text:
        return index(text)
    pattern = like_contains(text)
    test = f"{like} {mark} ESCAPE '\\'"
    element = f"EXISTS (SELECT 1 FROM {elements} WHERE value {test})"
    # Targets first: ids are what an operator looks for most, and OR stops at the first match.
    if all(" " <= char <= "~" and char not in '"\\,[]' for char in text):
        matches = [f"(targets {test} AND (targets NOT {test} OR {element}))"]
        args = [pattern, like_contains("\\"), pattern]
    else:
        matches, args = [element], [pattern]
    matches += [f"{column} {test}" for column in AUDIT_FILTER_COLUMNS]
    args += [pattern] * len(AUDIT_FILTER_COLUMNS)
    return "(" + " OR ".join(matches) + ")", args


# What the registry's free-text filter searches (case-insensitive substring).
SESSION_FILTER_COLUMNS = ("session_id", "status", "label", "kind")


@dataclass(frozen=True, slots=True)
class SqlDialect:
    """What the two backends' filter SQL differs in; the filters themselves are written once."""

    mark: str  # the parameter placeholder
    like: str  # the case-insensitive LIKE
    target_elements: str  # a FROM item yielding each decoded audit target as `value`
    audit_text_index: TextIndex | None = None  # the audit text filter by an index (None: a scan)


def filter_clause(
    provider: str | None, condition: tuple[str, list[str]] | None, dialect: SqlDialect
) -> tuple[str, list[str]]:
    """` WHERE provider=… AND (condition)`, or "" when neither applies; with its parameters."""
    clauses: list[str] = []
    args: list[str] = []
    if provider is not None:
        clauses.append(f"provider={dialect.mark}")
        args.append(provider)
    if condition is not None:
        clauses.append(condition[0])
        args += condition[1]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def session_filter(provider: str | None, needle: str, dialect: SqlDialect) -> tuple[str, list[str]]:
    """The registry filter: the provider, and `needle` anywhere in id, status, label or kind."""
    needle = needle.strip()
    condition = None
    if needle:
        test = f"{dialect.like} {dialect.mark} ESCAPE '\\'"
        condition = (
            "(" + " OR ".join(f"{column} {test}" for column in SESSION_FILTER_COLUMNS) + ")",
            [like_contains(needle)] * len(SESSION_FILTER_COLUMNS),
        )
    return filter_clause(provider, condition, dialect)


def audit_filter(
    provider: str | None, text: str | None, dialect: SqlDialect
) -> tuple[str, list[str]]:
    """The audit trail filter: the provider, and `text` (see `audit_text_condition`)."""
    text = (text or "").strip()
    condition = (
        audit_text_condition(
            text,
            mark=dialect.mark,
            like=dialect.like,
            elements=dialect.target_elements,
            index=dialect.audit_text_index,
        )
        if text
        else None
    )
    return filter_clause(provider, condition, dialect)


def _now() -> datetime:
    return datetime.now(UTC)


# --- the interface ------------------------------------------------------------------------------


class Store:
    """The store both backends implement; `Store(target)` opens the backend for `target`.

    Every method blocks briefly (a file or a network round trip): async code calls them through
    `asyncio.to_thread`. A backend that cannot reach its database raises `StoreUnavailable`;
    nothing that raised was done.
    """

    backend = "base"
    checkpoint_signer: CheckpointSigner | None = None

    def __new__(cls, target: Path | str, *args: object, **kwargs: object) -> Store:
        if cls is Store:
            if is_database_url(target):
                from app.store.postgres import PostgresStore

                return super().__new__(PostgresStore)
            from app.store.sqlite import SqliteStore

            return super().__new__(SqliteStore)
        return super().__new__(cls)

    def __init__(self, target: Path | str, *args: object, **kwargs: object) -> None:
        raise NotImplementedError  # each backend's __init__ opens its database

    def close(self, *, checkpoint: bool = True) -> None:
        """Close, first writing an audit checkpoint (skipped to avoid blessing a bad trail)."""
        raise NotImplementedError

    def ping(self) -> None:
        """Make sure the store can be used now; raises StoreError saying what to do if not."""

    @property
    def operator(self) -> str:
        """Who this store records as the operator: the OS user, or the database's session_user."""
        raise NotImplementedError

    # --- session registry ----------------------------------------------------------------------

    def upsert_session(
        self,
        *,
        provider: str,
        profile: str,
        session_id: str,
        kind: str,
        status: str,
        label: str | None = None,
        extra: Mapping[str, str] | None = None,
        created_at: datetime | None = None,
    ) -> SessionRecord:
        raise NotImplementedError

    def get_session(self, provider: str, profile: str, session_id: str) -> SessionRecord | None:
        raise NotImplementedError

    def list_sessions(
        self, provider: str, profile: str, *, kind: str | None = None
    ) -> list[SessionRecord]:
        raise NotImplementedError

    def all_sessions(self) -> list[SessionRecord]:
        raise NotImplementedError

    def set_label(self, provider: str, profile: str, session_id: str, label: str) -> None:
        raise NotImplementedError

    def rename_profile(self, provider: str, old: str, new: str) -> int:
        """Move a connection's registry rows to its new name; returns how many moved."""
        raise NotImplementedError

    def forget_session(self, provider: str, profile: str, session_id: str) -> None:
        raise NotImplementedError

    def count_sessions(self, *, provider: str | None = None, needle: str = "") -> int:
        """How many registry rows match the provider and free-text filter."""
        raise NotImplementedError

    def session_page(
        self, *, provider: str | None = None, needle: str = "", offset: int = 0, limit: int = 200
    ) -> list[SessionRecord]:
        """One page of matching registry rows, newest first (the order `all_sessions` uses)."""
        raise NotImplementedError

    # --- audit trail ---------------------------------------------------------------------------

    def audit(
        self,
        *,
        provider: str,
        profile: str,
        operation: str,
        targets: Sequence[str],
        outcome: str,
        request_id: str | None = None,
    ) -> int:
        """Append one chained entry; its id, returned only once it is durably written."""
        raise NotImplementedError

    def audit_entries(self, *, provider: str | None = None, limit: int = 500) -> list[AuditEntry]:
        raise NotImplementedError

    def count_audit(
        self, *, provider: str | None = None, text: str | None = None, at_most: int | None = None
    ) -> int:
        """How many audit entries there are (for one provider, or all).

        `text`, when given, keeps the entries with it (case-insensitive, `%` and `_` literal) in
        a target or in one of `AUDIT_FILTER_COLUMNS`. With `at_most`, counting stops there (a
        result of `at_most` means "at least"): a filter's first rows need not wait for the
        count of a million matches.
        """
        raise NotImplementedError

    def audit_page(
        self,
        *,
        provider: str | None = None,
        text: str | None = None,
        offset: int = 0,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """One page of audit entries, newest first (`text` filters as in `count_audit`)."""
        raise NotImplementedError

    def audit_head(self) -> tuple[int, str]:
        """(entry count, hash of the newest entry); (0, GENESIS_HASH) for an empty trail."""
        raise NotImplementedError

    def audit_chain_rows(self) -> list[AuditChainRow]:
        """Every audit row with its id and stored hashes, oldest first, for verification."""
        raise NotImplementedError

    def audit_triggers_missing(self) -> str | None:
        """When the append-only triggers were found dropped or disabled (ISO time), or None."""
        raise NotImplementedError

    def audit_rows_naming(self, target: str) -> list[AuditChainRow]:
        """Audit rows whose targets include exactly `target` (e.g. "case:REF"), oldest first."""
        return [r for r in self.audit_chain_rows() if target in r.entry.targets]

    @property
    def checkpoint_file(self) -> Path | None:
        """Where checkpoints go: outside the database (None when there is nowhere to put them)."""
        raise NotImplementedError

    def write_checkpoint(self, signer: CheckpointSigner | None = None) -> dict[str, object] | None:
        """Append (count, head, time[, signature]) to the checkpoint file unless unchanged."""
        target = self.checkpoint_file
        if target is None:
            return None
        count, head = self.audit_head()
        existing = read_checkpoints(target)
        if existing and existing[-1].get("count") == count and existing[-1].get("head") == head:
            return existing[-1]
        if count == 0:
            return None
        checkpoint: dict[str, object] = {"count": count, "head": head, "time": _now().isoformat()}
        use = signer or self.checkpoint_signer
        if use is not None:
            checkpoint["signature"] = use.sign(checkpoint_message(checkpoint))
            checkpoint["key_id"] = use.key_id
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(checkpoint, sort_keys=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        return checkpoint

    # --- cases (rows only; app.workflows.cases holds the rules) --------------------------------

    def insert_case(self, reference: str, *, keep_photos: bool, tags: Sequence[str]) -> bool:
        """Create a case row; False when the reference is taken."""
        raise NotImplementedError

    def case_row(self, reference: str) -> dict[str, object] | None:
        raise NotImplementedError

    def case_rows(self) -> list[dict[str, object]]:
        """Every case row, newest first; each has `assignee` (None when nobody has it)."""
        raise NotImplementedError

    def update_case(self, reference: str, **fields: object) -> None:
        """Set columns of a case (state, tags, keep_photos, closed_at, photos_erased_at)."""
        raise NotImplementedError

    def claim_case(self, reference: str) -> tuple[bool, str | None]:
        """Assign the case to this store's operator unless someone else has it.

        Returns (claimed, assignee after). On PostgreSQL the row is taken with
        `SELECT … FOR UPDATE SKIP LOCKED`, so two reviewers claiming at once never both win.
        """
        raise NotImplementedError

    def release_case(self, reference: str) -> bool:
        """Unassign a case this operator holds; False when it is not theirs."""
        raise NotImplementedError

    def add_case_item(
        self,
        reference: str,
        kind: str,
        payload: Mapping[str, object],
        *,
        parent_id: int | None = None,
    ) -> int:
        raise NotImplementedError

    def case_items(self, reference: str) -> list[dict[str, object]]:
        """Timeline rows of a case, oldest first, payload decoded."""
        raise NotImplementedError

    def put_case_photo(
        self,
        reference: str,
        *,
        fingerprint: str,
        role: str,
        media_type: str,
        nonce: bytes,
        ciphertext: bytes,
    ) -> None:
        raise NotImplementedError

    def case_photo_rows(self, reference: str) -> list[tuple[str, str, str, bytes, bytes]]:
        """(fingerprint, role, media type, nonce, ciphertext) in the order they were kept."""
        raise NotImplementedError

    def delete_case_photos(self, reference: str) -> int:
        """Delete a case's ciphertext so that no copy of it remains; how many photos went."""
        raise NotImplementedError

    def get_meta(self, key: str) -> str | None:
        raise NotImplementedError

    def set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError

    # --- rate ledger ---------------------------------------------------------------------------

    def record_rate_event(self, scope: str, at: datetime | None = None) -> None:
        raise NotImplementedError

    def reserve_rate_slot(
        self, scope: str, limits: Sequence[tuple[int, int]], at: datetime | None = None
    ) -> int | None:
        """Atomically count and take one slot: its id, or None when a window is full.

        `limits` are (window seconds, allowed events). Counting and inserting are serialised
        per scope (one write transaction; on PostgreSQL an advisory lock on the scope), so two
        workstations can never both take the last slot of a team account.
        """
        raise NotImplementedError

    def release_rate_slot(self, slot: int) -> None:
        """Give back a reserved slot (the counted action definitely did not happen)."""
        raise NotImplementedError

    def rate_events_since(self, scope: str, since: datetime) -> list[datetime]:
        raise NotImplementedError

    # --- live changes --------------------------------------------------------------------------

    def listen(self, callback: Callable[[StoreChange], None]) -> ChangeSubscription | None:
        """Call `callback` (from a worker thread) when another workstation changes the store.

        None where there is nothing to listen to (SQLite: one workstation, no other writer).
        """
        return None


def database_target(paths: AppPaths) -> Path | str:
    """`FACEDESK_DATABASE_URL`, else Settings › Team store, else the data folder's SQLite file."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not url and paths.settings_file.exists():
        from app.settings import SettingsStore

        try:
            url = SettingsStore(paths.settings_file).load().team_store_url.strip()
        except AppError:
            url = ""
    if url:
        if not is_database_url(url):
            raise StoreError(
                f"{DATABASE_URL_ENV} (or Settings › Team store) must be a postgresql://… URL; "
                f"got {redact_url(url)!r}. Leave it empty to use this workstation's own store."
            )
        return url
    return paths.database_file


def open_store(paths: AppPaths, *, secrets: SecretStore | None = None) -> Store:
    """The store for this run (see `database_target`); checkpoints go in the data folder."""
    target = database_target(paths)
    if isinstance(target, Path):
        return Store(target)
    from app.store.postgres import PostgresStore

    return PostgresStore(target, checkpoint_dir=paths.data_dir, secrets=secrets)


__all__ = [
    "AUDIT_FILTER_COLUMNS",
    "CHECKPOINT_FILE_NAME",
    "DATABASE_URL_ENV",
    "GENESIS_HASH",
    "TEXT_INDEX_MIN_CHARS",
    "TRIGGERS_MISSING_OPERATION",
    "AuditChainRow",
    "ChangeSubscription",
    "CheckpointSigner",
    "HmacCheckpointSigner",
    "SqlDialect",
    "Store",
    "StoreChange",
    "StoreError",
    "StoreSchemaMismatch",
    "StoreUnavailable",
    "TextIndex",
    "audit_entry_hash",
    "audit_filter",
    "audit_text_condition",
    "canonical_audit_encoding",
    "checkpoint_message",
    "database_target",
    "is_database_url",
    "like_contains",
    "open_store",
    "read_checkpoints",
    "redact_url",
    "scrub",
    "session_filter",
]
