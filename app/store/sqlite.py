"""The SQLite backend of `app.store.Store`: the data folder's registry, audit trail, ledgers, cases.

- Session registry: every session created or looked up, so sessions stay findable where the
  vendor has no list endpoint (GLAIR, uqudo, Veriff, Azure's `-sessions` family).
- Audit trail: append-only (triggers refuse UPDATE and DELETE) and hash-chained: each entry
  carries the SHA-256 of its canonical encoding, which includes the previous entry's hash, and
  checkpoints (count + head hash) are written to a file beside the database on close, so an
  edit, removal, insertion or reordering shows up in `app.workflows.audit.verify`. It records
  who did what to which id and how it ended; never an image, a secret or a person's name.
  An FTS5 trigram index over its text finds a filter's entries without reading the trail.
- Rate ledger: timestamps of rate-limited actions (Veriff deletions), so limits survive restarts.
- Cases: case rows, their timeline items (pairs, runs, notes, decisions) and AES-GCM photo
  ciphertext; the logic lives in `app.workflows.cases`, this module only keeps the rows.

One module (over 600 lines) because one connection and one lock serialise every write; each
part keeps to its own section so the parts stay separable.

WAL journal with synchronous=FULL: an audit row that was reported written survives a power cut.
Methods block briefly; the service calls them through asyncio.to_thread. The schema is in
`app.store.migrations.sqlite`; the canonical audit encoding and checkpoints in `app.store`.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.domain import AuditEntry, SessionRecord
from app.store import (
    CHECKPOINT_FILE_NAME,
    GENESIS_HASH,
    TEXT_INDEX_MIN_CHARS,
    TRIGGERS_MISSING_OPERATION,
    AuditChainRow,
    SqlDialect,
    Store,
    audit_entry_hash,
    audit_filter,
    session_filter,
)
from app.store.migrations.sqlite import (
    ASSIGNMENT_COLUMNS,
    AUDIT_NO_UPDATE_TRIGGER,
    AUDIT_SEARCH_FILL,
    AUDIT_SEARCH_SCHEMA,
    AUDIT_SEARCH_TABLE,
    AUDIT_TRIGGERS,
    CASES_SCHEMA,
    SCHEMA,
    SCHEMA_VERSION,
)

log = logging.getLogger(__name__)

# Columns the paged queries read, by name: the tables may gain columns (e.g. audit hash chains).
SESSION_COLUMNS = (
    "provider",
    "profile",
    "session_id",
    "kind",
    "created_at",
    "last_seen_at",
    "status",
    "label",
    "extra",
)
AUDIT_COLUMNS = (
    "time_utc",
    "os_user",
    "provider",
    "profile",
    "operation",
    "targets",
    "outcome",
    "request_id",
)
# How this backend's SQL spells the shared filters (app.store).
DIALECT = SqlDialect(mark="?", like="LIKE", target_elements="json_each(audit.targets)")


# A filter with at most this many matches is "rare": its rows are then read by rowid.
SPARSE_MATCHES = 1200
# An exact count of an indexed audit filter reads each candidate's entry by id (~6 µs each); a
# plain scan of the trail costs about as much as 200,000 of those, so past this many candidates
# the scan counts instead.
INDEXED_COUNT_CANDIDATES = 100_000


def _search_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, its rows contain it (any case)."""
    return '"' + text.replace('"', '""') + '"'


def _now() -> datetime:
    return datetime.now(UTC)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class SqliteStore(Store):
    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self._operator = _os_user()
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # table -> ((provider, filter text), connection's total_changes, rowids of every match),
        # kept by the last count of a filter with few matches (see session_page).
        self._sparse_matches: dict[str, tuple[tuple[str | None, str], int, list[int]]] = {}
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # Erased case photos must not linger in free pages.
        self._db.execute("PRAGMA secure_delete=ON")
        missing_triggers = self._missing_audit_triggers()
        self._db.executescript(SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )
        self._migrate_audit_chain()
        self._audit_search = self._migrate_audit_search()
        self._db.executescript(CASES_SCHEMA)
        self._migrate_assignment()
        self.checkpoint_signer = None
        if missing_triggers:
            self._record_missing_triggers(missing_triggers)

    def close(self, *, checkpoint: bool = True) -> None:
        """Close, first writing an audit checkpoint (skipped to avoid blessing a bad trail)."""
        if checkpoint:
            with contextlib.suppress(sqlite3.Error, OSError):
                self.write_checkpoint()
        with self._lock:
            self._db.close()

    @property
    def operator(self) -> str:
        return self._operator

    def _migrate_assignment(self) -> None:
        with self._tx() as db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(cases)")}
            for statement in ASSIGNMENT_COLUMNS:
                if statement.split()[5] not in columns:
                    db.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
        now = _now().isoformat()
        with self._tx() as db:
            row = db.execute(
                "SELECT label, extra, created_at FROM sessions "
                "WHERE provider=? AND profile=? AND session_id=?",
                (provider, profile, session_id),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO sessions (provider, profile, session_id, kind, created_at, "
                    "last_seen_at, status, label, extra) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        provider,
                        profile,
                        session_id,
                        kind,
                        (created_at or _now()).isoformat(),
                        now,
                        status,
                        label or "",
                        json.dumps(dict(extra or {}), sort_keys=True),
                    ),
                )
            else:
                merged = {**json.loads(row[1]), **dict(extra or {})}
                db.execute(
                    "UPDATE sessions SET kind=?, last_seen_at=?, status=?, label=?, extra=? "
                    "WHERE provider=? AND profile=? AND session_id=?",
                    (
                        kind,
                        now,
                        status,
                        row[0] if label is None else label,
                        json.dumps(merged, sort_keys=True),
                        provider,
                        profile,
                        session_id,
                    ),
                )
        record = self.get_session(provider, profile, session_id)
        assert record is not None
        return record

    def get_session(self, provider: str, profile: str, session_id: str) -> SessionRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT provider, profile, session_id, kind, created_at, last_seen_at, status, "
                "label, extra FROM sessions WHERE provider=? AND profile=? AND session_id=?",
                (provider, profile, session_id),
            ).fetchone()
        return _session(row) if row else None

    def list_sessions(
        self, provider: str, profile: str, *, kind: str | None = None
    ) -> list[SessionRecord]:
        query = (
            "SELECT provider, profile, session_id, kind, created_at, last_seen_at, status, label, "
            "extra FROM sessions WHERE provider=? AND profile=?"
        )
        args: list[str] = [provider, profile]
        if kind is not None:
            query += " AND kind=?"
            args.append(kind)
        query += " ORDER BY created_at DESC"
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [_session(r) for r in rows]

    def all_sessions(self) -> list[SessionRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT provider, profile, session_id, kind, created_at, last_seen_at, status, "
                "label, extra FROM sessions ORDER BY created_at DESC"
            ).fetchall()
        return [_session(r) for r in rows]

    def set_label(self, provider: str, profile: str, session_id: str, label: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET label=? WHERE provider=? AND profile=? AND session_id=?",
                (label, provider, profile, session_id),
            )

    def rename_profile(self, provider: str, old: str, new: str) -> int:
        """Move a connection's registry rows to its new name; returns how many moved."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE OR REPLACE sessions SET profile=? WHERE provider=? AND profile=?",
                (new, provider, old),
            )
            return int(cursor.rowcount)

    def forget_session(self, provider: str, profile: str, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM sessions WHERE provider=? AND profile=? AND session_id=?",
                (provider, profile, session_id),
            )

    # --- paged registry queries (large registries: the dialog reads one page at a time) -------

    def count_sessions(self, *, provider: str | None = None, needle: str = "") -> int:
        """How many registry rows match the provider and free-text filter."""
        needle = needle.strip()
        where, args = session_filter(provider, needle, DIALECT)
        with self._lock:
            return self._count_matches("sessions", (provider, needle), where, args)

    def _count_matches(
        self,
        table: str,
        key: tuple[str | None, str],
        where: str,
        args: Sequence[object],
        at_most: int | None = None,
    ) -> int:
        """count(*) of `table` under `where`; for a text filter, its rare matches are kept.

        One scan that stops early when matches are dense; when they are rare it has found them
        all, and the page query reads them by rowid instead of scanning again. Called locked.
        """
        if key[1]:
            found = [
                int(r[0])
                for r in self._db.execute(
                    f"SELECT rowid FROM {table}{where} LIMIT ?", [*args, SPARSE_MATCHES + 1]
                )
            ]
            if len(found) <= SPARSE_MATCHES:
                self._sparse_matches[table] = (key, self._db.total_changes, found)
                return min(len(found), at_most) if at_most is not None else len(found)
        if at_most is not None:
            query = f"SELECT count(*) FROM (SELECT 1 FROM {table}{where} LIMIT ?)"
            return int(self._db.execute(query, [*args, at_most]).fetchone()[0])
        row = self._db.execute(f"SELECT count(*) FROM {table}{where}", args).fetchone()
        return int(row[0])

    def _known_matches(self, table: str, key: tuple[str | None, str]) -> list[int] | None:
        """The rowids the last count found for this filter, unless a write came since."""
        known = self._sparse_matches.get(table)
        if known is None or known[0] != key or known[1] != self._db.total_changes:
            return None
        return known[2]

    def session_page(
        self, *, provider: str | None = None, needle: str = "", offset: int = 0, limit: int = 200
    ) -> list[SessionRecord]:
        """One page of matching registry rows, newest first (the order `all_sessions` uses).

        Walking the time index finds a page quickly when matches are dense, but crosses most of
        the table when they are rare (100,000 rows, a few hundred matches: ~40 ms). When the
        count just taken found few matches, their rowids are all known and the page is read by
        rowid (~1 ms); any write in between makes that list stale and the index is used.
        """
        needle = needle.strip()
        with self._lock:
            known = self._known_matches("sessions", (provider, needle))
            if known is not None:
                marks = ",".join("?" * len(known)) or "NULL"
                query = (
                    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE rowid IN ({marks}) "
                    "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
                )
                rows = self._db.execute(query, [*known, limit, offset]).fetchall()
            else:
                where, args = session_filter(provider, needle, DIALECT)
                query = (
                    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions{where} "
                    "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
                )
                rows = self._db.execute(query, [*args, limit, offset]).fetchall()
        return [_session(r) for r in rows]

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
        """Append one entry to the chain; its id (what a case's run record points at)."""
        with self._tx() as db:
            return _append_audit(
                db,
                AuditEntry(
                    time_utc=_now(),
                    os_user=self._operator,
                    provider=provider,
                    profile=profile,
                    operation=operation,
                    targets=tuple(targets),
                    outcome=outcome,
                    request_id=request_id,
                ),
            )

    def audit_entries(self, *, provider: str | None = None, limit: int = 500) -> list[AuditEntry]:
        query = (
            "SELECT time_utc, os_user, provider, profile, operation, targets, outcome, request_id "
            "FROM audit"
        )
        args: list[object] = []
        if provider is not None:
            query += " WHERE provider=?"
            args.append(provider)
        query += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [
            AuditEntry(
                time_utc=datetime.fromisoformat(r[0]),
                os_user=r[1],
                provider=r[2],
                profile=r[3],
                operation=r[4],
                targets=tuple(json.loads(r[5])),
                outcome=r[6],
                request_id=r[7],
            )
            for r in rows
        ]

    # --- audit chain: hashes, checkpoints, trigger watch ---------------------------------------

    def _missing_audit_triggers(self) -> list[str]:
        """Triggers an existing audit table has lost (someone dropped them to edit rows)."""
        with self._lock:
            table = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='audit'"
            ).fetchone()
            if table is None:
                return []
            present = {
                r[0]
                for r in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit'"
                )
            }
        return [name for name in AUDIT_TRIGGERS if name not in present]

    def _record_missing_triggers(self, missing: Sequence[str]) -> None:
        # SCHEMA has just re-created them; say so in the chain itself and in meta, so that
        # verify reports the store as tampered instead of the repair going unnoticed.
        found = _now().isoformat()
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_triggers_missing', ?)",
                (json.dumps({"time": found, "triggers": list(missing)}),),
            )
        self.audit(
            provider="facedesk",
            profile="",
            operation=TRIGGERS_MISSING_OPERATION,
            targets=list(missing),
            outcome="re-created",
        )

    def _migrate_audit_chain(self) -> None:
        """Add `prev_hash`/`hash` to a schema-1 audit table and chain its rows in id order."""
        with self._tx() as db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(audit)")}
            if "hash" in columns:
                return
            db.execute("ALTER TABLE audit ADD COLUMN prev_hash TEXT")
            db.execute("ALTER TABLE audit ADD COLUMN hash TEXT")
            # The only UPDATE the trail ever sees: filling the new columns, in this transaction.
            db.execute("DROP TRIGGER IF EXISTS audit_no_update")
            previous = GENESIS_HASH
            rows = db.execute(f"SELECT id, {_AUDIT_COLUMNS} FROM audit ORDER BY id").fetchall()
            for row in rows:
                digest = audit_entry_hash(row[0], _audit_entry(row[1:]), previous)
                db.execute(
                    "UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (previous, digest, row[0])
                )
                previous = digest
            db.execute(AUDIT_NO_UPDATE_TRIGGER)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_chain_version', '1')"
            )

    def _migrate_audit_search(self) -> bool:
        """Create the audit search index and add the entries it lacks; False without FTS5.

        A file from before the index is indexed whole, once (about 7 s per million entries,
        on the thread that opens the store); after that only entries written while its trigger
        was missing are added. Without FTS5 in this SQLite, the text filter scans the trail.
        """
        table, trigger = AUDIT_SEARCH_SCHEMA
        with self._tx() as db:
            try:
                db.execute(table)
            except sqlite3.OperationalError as exc:
                if "fts5" not in str(exc):
                    raise
                log.warning("SQLite here has no FTS5; the audit text filter scans the trail")
                return False
            db.execute(trigger)
            added = db.execute(AUDIT_SEARCH_FILL).rowcount
        if added > 0:
            log.info("audit search index: %d entries added", added)
        return True

    @property
    def checkpoint_file(self) -> Path | None:
        """Where checkpoints go: beside the database, outside it (None for `:memory:`)."""
        if self.path == ":memory:":
            return None
        return Path(self.path).with_name(CHECKPOINT_FILE_NAME)

    def audit_head(self) -> tuple[int, str]:
        """(entry count, hash of the newest entry); (0, GENESIS_HASH) for an empty trail."""
        with self._lock:
            count = self._db.execute("SELECT count(*) FROM audit").fetchone()[0]
            row = self._db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return int(count), (row[0] if row and row[0] else GENESIS_HASH)

    def audit_chain_rows(self) -> list[AuditChainRow]:
        """Every audit row with its id and stored hashes, oldest first, for verification."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, {_AUDIT_COLUMNS}, prev_hash, hash FROM audit ORDER BY id"
            ).fetchall()
        return [
            AuditChainRow(
                entry_id=int(r[0]), entry=_audit_entry(r[1:9]), prev_hash=r[9], hash=r[10]
            )
            for r in rows
        ]

    def audit_triggers_missing(self) -> str | None:
        """When the append-only triggers were found dropped (an ISO time), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM meta WHERE key='audit_triggers_missing'"
            ).fetchone()
        return str(json.loads(row[0])["time"]) if row else None

    # --- cases (rows only; app.workflows.cases holds the rules) --------------------------------

    def insert_case(self, reference: str, *, keep_photos: bool, tags: Sequence[str]) -> bool:
        """Create a case row; False when the reference is taken."""
        now = _now().isoformat()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO cases (reference, state, tags, keep_photos, created_at, "
                "updated_at) VALUES (?, 'open', ?, ?, ?, ?)",
                (reference, json.dumps(sorted(set(tags))), int(keep_photos), now, now),
            )
        return cursor.rowcount == 1

    def case_row(self, reference: str) -> dict[str, object] | None:
        rows = self._case_rows("WHERE reference=?", (reference,))
        return rows[0] if rows else None

    def case_rows(self) -> list[dict[str, object]]:
        return self._case_rows("ORDER BY created_at DESC", ())

    def _case_rows(self, where: str, args: Sequence[object]) -> list[dict[str, object]]:
        with self._lock:
            cursor = self._db.execute(
                "SELECT reference, state, tags, keep_photos, created_at, updated_at, closed_at, "
                f"photos_erased_at, assignee, assigned_at FROM cases {where}",
                tuple(args),
            )
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        result = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            record["tags"] = json.loads(str(record["tags"]))
            record["keep_photos"] = bool(record["keep_photos"])
            result.append(record)
        return result

    def update_case(self, reference: str, **fields: object) -> None:
        """Set columns of a case (state, tags, keep_photos, closed_at, photos_erased_at)."""
        allowed = {"state", "tags", "keep_photos", "closed_at", "photos_erased_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not case columns: {sorted(unknown)}")
        values = {k: json.dumps(v) if k == "tags" else v for k, v in fields.items()}
        values["updated_at"] = _now().isoformat()
        assignments = ", ".join(f"{k}=?" for k in values)
        with self._tx() as db:
            db.execute(
                f"UPDATE cases SET {assignments} WHERE reference=?",
                (*values.values(), reference),
            )

    def claim_case(self, reference: str) -> tuple[bool, str | None]:
        # BEGIN IMMEDIATE already serialises writers to this file: no row lock needed.
        with self._tx() as db:
            row = db.execute(
                "SELECT assignee FROM cases WHERE reference=?", (reference,)
            ).fetchone()
            if row is None:
                return False, None
            if row[0] not in (None, self._operator):
                return False, str(row[0])
            db.execute(
                "UPDATE cases SET assignee=?, assigned_at=? WHERE reference=?",
                (self._operator, _now().isoformat(), reference),
            )
        return True, self._operator

    def release_case(self, reference: str) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE cases SET assignee=NULL, assigned_at=NULL WHERE reference=? AND assignee=?",
                (reference, self._operator),
            )
        return cursor.rowcount == 1

    def add_case_item(
        self,
        reference: str,
        kind: str,
        payload: Mapping[str, object],
        *,
        parent_id: int | None = None,
    ) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO case_items (reference, kind, time_utc, operator, parent_id, payload) "
                "VALUES (?,?,?,?,?,?)",
                (
                    reference,
                    kind,
                    _now().isoformat(),
                    self._operator,
                    parent_id,
                    json.dumps(dict(payload), sort_keys=True),
                ),
            )
        return int(cursor.lastrowid or 0)

    def case_items(self, reference: str) -> list[dict[str, object]]:
        """Timeline rows of a case, oldest first, payload decoded."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, time_utc, operator, parent_id, payload FROM case_items "
                "WHERE reference=? ORDER BY id",
                (reference,),
            ).fetchall()
        return [
            {
                "id": r[0],
                "kind": r[1],
                "time_utc": r[2],
                "operator": r[3],
                "parent_id": r[4],
                "payload": json.loads(r[5]),
            }
            for r in rows
        ]

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
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO case_photos (reference, fingerprint, role, media_type, "
                "nonce, ciphertext, created_at) VALUES (?,?,?,?,?,?,?)",
                (reference, fingerprint, role, media_type, nonce, ciphertext, _now().isoformat()),
            )

    def case_photo_rows(self, reference: str) -> list[tuple[str, str, str, bytes, bytes]]:
        """(fingerprint, role, media type, nonce, ciphertext) in the order they were kept."""
        with self._lock:
            rows = self._db.execute(
                "SELECT fingerprint, role, media_type, nonce, ciphertext FROM case_photos "
                "WHERE reference=? ORDER BY created_at, rowid",
                (reference,),
            ).fetchall()
        return [(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in rows]

    def delete_case_photos(self, reference: str) -> int:
        """Delete a case's ciphertext and flush the WAL so no copy of the pages remains."""
        with self._tx() as db:
            cursor = db.execute("DELETE FROM case_photos WHERE reference=?", (reference,))
        with self._lock:
            # secure_delete zeroes the freed pages; truncating the WAL drops its old frames.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(cursor.rowcount)

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def count_audit(
        self, *, provider: str | None = None, text: str | None = None, at_most: int | None = None
    ) -> int:
        """How many audit entries match the provider and free-text filter (up to `at_most`)."""
        text = (text or "").strip()
        with self._lock:
            if not self._searches_index(text):
                where, args = audit_filter(provider, text, DIALECT)
                return self._count_matches("audit", (provider, text), where, args, at_most)
            source, args = self._indexed_audit_source(provider, text)
            if at_most is None:
                (candidates,) = self._db.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {AUDIT_SEARCH_TABLE} "
                    f"WHERE {AUDIT_SEARCH_TABLE} MATCH ? LIMIT ?)",
                    (_search_phrase(text), INDEXED_COUNT_CANDIDATES + 1),
                ).fetchone()
                if candidates > INDEXED_COUNT_CANDIDATES:
                    where, scan_args = audit_filter(provider, text, DIALECT)
                    row = self._db.execute(f"SELECT count(*) FROM audit{where}", scan_args)
                    return int(row.fetchone()[0])
                row = self._db.execute(f"SELECT count(*){source}", args)
            else:
                row = self._db.execute(
                    f"SELECT count(*) FROM (SELECT 1{source} LIMIT ?)", [*args, at_most]
                )
            return int(row.fetchone()[0])

    def _searches_index(self, text: str) -> bool:
        return self._audit_search and len(text) >= TEXT_INDEX_MIN_CHARS

    @staticmethod
    def _indexed_audit_source(provider: str | None, text: str) -> tuple[str, list[str]]:
        """FROM … WHERE … of the audit filter driven by the search index, newest first.

        The index yields the candidates in id order, newest first, and each one's entry is
        read by id and tested by the filter itself: a page or a capped count stops as soon as
        it has its rows, however many entries there are (the order is kept by CROSS JOIN).
        """
        where, args = audit_filter(provider, text, DIALECT)
        source = (
            f" FROM (SELECT rowid AS hit FROM {AUDIT_SEARCH_TABLE} "
            f"WHERE {AUDIT_SEARCH_TABLE} MATCH ? ORDER BY rowid DESC) AS hits "
            f"CROSS JOIN audit ON audit.id = hits.hit{where}"
        )
        return source, [_search_phrase(text), *args]

    def audit_page(
        self,
        *,
        provider: str | None = None,
        text: str | None = None,
        offset: int = 0,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """One page of matching audit entries, newest first (rare matches read by id)."""
        text = (text or "").strip()
        columns = ", ".join(AUDIT_COLUMNS)
        indexed = self._searches_index(text)
        with self._lock:
            known = None if indexed else self._known_matches("audit", (provider, text))
            if indexed:
                source, args = self._indexed_audit_source(provider, text)
                query = f"SELECT {columns}{source} ORDER BY hits.hit DESC LIMIT ? OFFSET ?"
                rows = self._db.execute(query, [*args, limit, offset])
            elif known is not None:
                marks = ",".join("?" * len(known)) or "NULL"
                query = f"SELECT {columns} FROM audit WHERE id IN ({marks}) ORDER BY id DESC"
                rows = self._db.execute(f"{query} LIMIT ? OFFSET ?", [*known, limit, offset])
            else:
                where, args = audit_filter(provider, text, DIALECT)
                query = f"SELECT {columns} FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?"
                rows = self._db.execute(query, [*args, limit, offset])
            return [_audit_entry(r) for r in rows.fetchall()]

    # --- rate ledger ---------------------------------------------------------------------------

    def record_rate_event(self, scope: str, at: datetime | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO rate_events (scope, at_utc) VALUES (?, ?)",
                (scope, (at or _now()).timestamp()),
            )

    def reserve_rate_slot(
        self, scope: str, limits: Sequence[tuple[int, int]], at: datetime | None = None
    ) -> int | None:
        """Atomically count and take one slot: its id, or None when a window is full.

        `limits` are (window seconds, allowed events). Counting and inserting happen in one
        write transaction, so two callers can never both take the last slot.
        """
        moment = (at or _now()).timestamp()
        with self._tx() as db:
            for window, allowed in limits:
                (used,) = db.execute(
                    "SELECT COUNT(*) FROM rate_events WHERE scope=? AND at_utc>=?",
                    (scope, moment - window),
                ).fetchone()
                if used >= allowed:
                    return None
            cursor = db.execute(
                "INSERT INTO rate_events (scope, at_utc) VALUES (?, ?)", (scope, moment)
            )
            return int(cursor.lastrowid or 0)

    def release_rate_slot(self, slot: int) -> None:
        """Give back a reserved slot (the counted action definitely did not happen)."""
        with self._tx() as db:
            db.execute("DELETE FROM rate_events WHERE rowid=?", (slot,))

    def rate_events_since(self, scope: str, since: datetime) -> list[datetime]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at_utc FROM rate_events WHERE scope=? AND at_utc>=? ORDER BY at_utc",
                (scope, since.timestamp()),
            ).fetchall()
        return [datetime.fromtimestamp(r[0], UTC) for r in rows]


def _session(row: Sequence[str]) -> SessionRecord:
    return SessionRecord(
        provider=row[0],
        profile=row[1],
        session_id=row[2],
        kind=row[3],
        created_at=datetime.fromisoformat(row[4]),
        last_seen_at=datetime.fromisoformat(row[5]),
        status=row[6],
        label=row[7],
        extra=json.loads(row[8]),
    )


_AUDIT_COLUMNS = "time_utc, os_user, provider, profile, operation, targets, outcome, request_id"


def _audit_entry(row: Sequence[str]) -> AuditEntry:
    return AuditEntry(
        time_utc=datetime.fromisoformat(row[0]),
        os_user=row[1],
        provider=row[2],
        profile=row[3],
        operation=row[4],
        targets=tuple(json.loads(row[5])),
        outcome=row[6],
        request_id=row[7],
    )


def _append_audit(db: sqlite3.Connection, entry: AuditEntry) -> int:
    """Insert the entry chained to the newest one (inside the caller's transaction); its id."""
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    entry_id = (int(last[0]) + 1) if last else 1
    previous = (last[1] or GENESIS_HASH) if last else GENESIS_HASH
    digest = audit_entry_hash(entry_id, entry, previous)
    db.execute(
        f"INSERT INTO audit (id, {_AUDIT_COLUMNS}, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            entry_id,
            entry.time_utc.isoformat(),
            entry.os_user,
            entry.provider,
            entry.profile,
            entry.operation,
            json.dumps(list(entry.targets)),
            entry.outcome,
            entry.request_id,
            previous,
            digest,
        ),
    )
    return entry_id
