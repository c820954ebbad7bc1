"""SQLite in the data folder: the session registry, the audit trail, and rate-limit ledgers.

- Session registry: every session created or looked up, so sessions stay findable where the
  vendor has no list endpoint (GLAIR, uqudo, Veriff, Azure's `-sessions` family).
- Audit trail: append-only (triggers refuse UPDATE and DELETE). It records who did what to
  which id and how it ended; never an image, a secret or a person's name.
- Rate ledger: timestamps of rate-limited actions (Veriff deletions), so limits survive restarts.

WAL journal with synchronous=FULL: an audit row that was reported written survives a power cut.
Methods block briefly; the service calls them through asyncio.to_thread.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.domain import AuditEntry, SessionRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    status TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (provider, profile, session_id)
);
CREATE INDEX IF NOT EXISTS sessions_by_time ON sessions (provider, profile, created_at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc TEXT NOT NULL,
    os_user TEXT NOT NULL,
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    operation TEXT NOT NULL,
    targets TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS rate_events (
    scope TEXT NOT NULL,
    at_utc REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_by_scope ON rate_events (scope, at_utc);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at);
CREATE INDEX IF NOT EXISTS audit_by_provider ON audit (provider, id);
"""

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
# What the registry's free-text filter searches (case-insensitive substring).
SESSION_FILTER_COLUMNS = ("session_id", "status", "label", "kind")
SCHEMA_VERSION = "1"


def _now() -> datetime:
    return datetime.now(UTC)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

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

    def forget_session(self, provider: str, profile: str, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM sessions WHERE provider=? AND profile=? AND session_id=?",
                (provider, profile, session_id),
            )

    # --- paged registry queries (large registries: the dialog reads one page at a time) -------

    @staticmethod
    def _session_where(provider: str | None, needle: str) -> tuple[str, list[str]]:
        clauses: list[str] = []
        args: list[str] = []
        if provider is not None:
            clauses.append("provider=?")
            args.append(provider)
        if needle:
            pattern = "%" + _escape_like(needle) + "%"
            clauses.append(
                "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in SESSION_FILTER_COLUMNS) + ")"
            )
            args += [pattern] * len(SESSION_FILTER_COLUMNS)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def count_sessions(self, *, provider: str | None = None, needle: str = "") -> int:
        """How many registry rows match the provider and free-text filter."""
        where, args = self._session_where(provider, needle.strip())
        with self._lock:
            row = self._db.execute(f"SELECT count(*) FROM sessions{where}", args).fetchone()
        return int(row[0])

    def session_page(
        self, *, provider: str | None = None, needle: str = "", offset: int = 0, limit: int = 200
    ) -> list[SessionRecord]:
        """One page of matching registry rows, newest first (the order `all_sessions` uses)."""
        where, args = self._session_where(provider, needle.strip())
        query = (
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions{where} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        )
        with self._lock:
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
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (time_utc, os_user, provider, profile, operation, targets, "
                "outcome, request_id) VALUES (?,?,?,?,?,?,?,?)",
                (
                    _now().isoformat(),
                    _os_user(),
                    provider,
                    profile,
                    operation,
                    json.dumps(list(targets)),
                    outcome,
                    request_id,
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

    def count_audit(self, *, provider: str | None = None) -> int:
        """How many audit entries there are (for one provider, or all)."""
        where, args = (" WHERE provider=?", [provider]) if provider is not None else ("", [])
        with self._lock:
            row = self._db.execute(f"SELECT count(*) FROM audit{where}", args).fetchone()
        return int(row[0])

    def audit_page(
        self, *, provider: str | None = None, offset: int = 0, limit: int = 200
    ) -> list[AuditEntry]:
        """One page of audit entries, newest first."""
        where, args = (" WHERE provider=?", [provider]) if provider is not None else ("", [])
        query = (
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._db.execute(query, [*args, limit, offset]).fetchall()
        return [_audit_entry(r) for r in rows]

    # --- rate ledger ---------------------------------------------------------------------------

    def record_rate_event(self, scope: str, at: datetime | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO rate_events (scope, at_utc) VALUES (?, ?)",
                (scope, (at or _now()).timestamp()),
            )

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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
