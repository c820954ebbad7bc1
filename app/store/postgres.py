"""The PostgreSQL backend of `app.store.Store`: the team store a review team shares.

The database keeps the rules (see `app.store.migrations.postgres`): reviewers' logins hold
`facedesk_reviewer`, which may only INSERT and SELECT the audit trail; the operator of every
audit entry and timeline item is `session_user`; the audit chain is extended by a trigger
under an advisory lock in the inserting transaction. This module only moves rows.

Connection: one psycopg 3 connection (autocommit, explicit transactions) behind a lock. The
password comes from the URL, from libpq's own `PGPASSFILE`/`~/.pgpass`, or from the keyring
(`team_store` / `password:<user>@<host>:<port>/<db>`), and is never logged or shown: every
message goes through `app.store.scrub`. When the connection breaks, the failing call raises
`StoreUnavailable` (what it was doing was not done: a write's transaction rolled back) and the
next call connects again; a read is retried once on a fresh connection.

One module past ~600 lines because it is one job, the `Store` protocol over one connection:
each method is a short transaction, and splitting them would scatter the connection and
reconnect rule every one of them relies on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from app.domain import AuditEntry, SessionRecord
from app.store import (
    GENESIS_HASH,
    TEAM_STORE_SECRET_SCOPE,
    TEXT_INDEX_MIN_CHARS,
    AuditChainRow,
    SqlDialect,
    Store,
    StoreChange,
    StoreError,
    StoreSchemaMismatch,
    StoreUnavailable,
    audit_filter,
    like_contains,
    redact_url,
    scrub,
    session_filter,
)
from app.store.migrations.postgres import (
    AUDIT_SEARCH_COLUMN,
    AUDIT_TRIGGERS,
    GRANTS,
    HEAD_REVISION,
    NOTIFY_CHANNEL,
    REVIEWER_ROLE,
    REVISIONS,
)

if TYPE_CHECKING:
    from app.secrets import SecretStore
    from app.workflows.batch_jobs import JobInfo

log = logging.getLogger(__name__)
T = TypeVar("T")

SESSION_COLUMNS = (
    "provider, profile, session_id, kind, created_at, last_seen_at, status, label, extra"
)
AUDIT_COLUMNS = "time_utc, os_user, provider, profile, operation, targets, outcome, request_id"
# How many of the newest entries a text filter's page is first looked for in (see audit_page).
RECENT_WINDOW = 20_000
# How this backend's SQL spells the shared filters (app.store).
DIALECT = SqlDialect(
    mark="%s",
    like="ILIKE",
    target_elements="json_array_elements_text(audit.targets::json) AS t(value)",
    # The trigram index of revision 0002 over the stored search text: exact for a text
    # without a line break. Backslash is ILIKE's default escape, as in the filter's patterns.
    audit_text_index=lambda text: (f"{AUDIT_SEARCH_COLUMN} ILIKE %s", [like_contains(text)]),
)
CASE_COLUMNS = (
    "reference, state, tags, keep_photos, created_at, updated_at, closed_at, photos_erased_at, "
    "assignee, assigned_at"
)
UPGRADE_COMMAND = "facedesk db upgrade"
CONNECT_TIMEOUT_SECONDS = 5


def _now() -> datetime:
    return datetime.now(UTC)


def secret_field(url: str) -> str:
    """The keyring field that holds the password for this URL's user, host, port and database."""
    parts = urlsplit(url)
    return (
        f"password:{unquote(parts.username or '')}@{parts.hostname or ''}:{parts.port or 5432}"
        f"{parts.path or '/'}"
    )


def without_password(url: str) -> tuple[str, str | None]:
    """(the URL with its password taken out, that password or None)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal goes back in brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(
        parts.password
    )


def where(url: str) -> str:
    """Host:port/database of the URL, for messages (never the password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


class PostgresStore(Store):
    backend = "postgresql"

    def __init__(
        self,
        url: Path | str,
        *,
        checkpoint_dir: Path | None = None,
        secrets: SecretStore | None = None,
        check_schema: bool = True,
    ) -> None:
        self.url = str(url)
        self._where = where(self.url)
        self._secrets = secrets
        self._password: str | None = None
        self._password_known = False
        self._checkpoint_dir = checkpoint_dir
        self._check_schema = check_schema
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._session_user = ""
        self.checkpoint_signer = None
        # No connection yet: the window opens even while the database is away, and the first
        # call (or `ping`) connects, checks the schema and says what is wrong.

    def ping(self) -> None:
        """Connect now (if not connected) and check the schema; raises StoreError saying why."""
        self._run(lambda cursor: cursor.execute("SELECT 1"), write=False)

    @property
    def where(self) -> str:
        """host:port/database, for messages (never the password)."""
        return self._where

    # --- connection ----------------------------------------------------------------------------

    def connect_raw(self) -> psycopg.Connection[tuple[object, ...]]:
        """A new autocommit connection with this store's credentials (the caller closes it)."""
        if not self._password_known:
            self._password = _password_for(self.url, self._secrets)
            self._password_known = True
        extra: dict[str, str] = {"password": self._password} if self._password else {}
        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="facedesk",
                **extra,  # type: ignore[arg-type]
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(self._unreachable(exc)) from None

    def _unreachable(self, exc: BaseException) -> str:
        reason = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self._password)
        return (
            f"The team store at {self._where} cannot be reached ({reason}). Nothing was recorded "
            "and the operation was not done; FaceDesk reconnects by itself on the next action."
        )

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                log.warning("team store connection lost; reconnecting to %s", self._where)
                self._drop()
            conn = self.connect_raw()
            row = conn.execute("SELECT session_user").fetchone()
            self._session_user = str(row[0]) if row else ""
            self._conn = conn
            if self._check_schema:
                try:
                    self._check_schema_on(conn)
                except BaseException:
                    self._drop()
                    raise
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                log.debug("closing a broken team store connection failed")

    def _run(
        self,
        work: Callable[[psycopg.Cursor[tuple[object, ...]]], T],
        *,
        write: bool,
    ) -> T:
        """Run `work` on a cursor, in a transaction when it writes; see the module docstring."""
        attempts = 1 if write else 2
        with self._lock:
            for attempt in range(attempts):
                try:
                    conn = self._connection()
                    if write:
                        with conn.transaction(), conn.cursor() as cursor:
                            return work(cursor)
                    with conn.cursor() as cursor:
                        return work(cursor)
                except psycopg.OperationalError as exc:
                    self._drop()
                    if attempt + 1 == attempts:
                        raise StoreUnavailable(self._unreachable(exc)) from None
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise StoreError(
                        "The team store refused this for your database login "
                        f"({self._session_user}): {scrub(exc.diag.message_primary or '')}. An "
                        "administrator grants facedesk_reviewer to each reviewer's login."
                    ) from None
                except psycopg.errors.UndefinedTable:
                    raise StoreSchemaMismatch(self._no_schema_message()) from None
                except psycopg.InterfaceError as exc:  # the connection object was closed
                    self._drop()
                    if attempt + 1 == attempts:
                        raise StoreUnavailable(self._unreachable(exc)) from None
                except psycopg.Error as exc:
                    # Anything else the database refused: a clear message, never the driver's
                    # traceback (and never a password, should one appear in it).
                    raise StoreError(
                        f"The team store at {self._where} refused the operation: "
                        f"{scrub(exc.diag.message_primary or str(exc), self._password)}"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _no_schema_message(self) -> str:
        return (
            f"The team store at {self._where} has no FaceDesk schema yet. The database owner "
            f"runs `{UPGRADE_COMMAND}` once (with FACEDESK_DATABASE_URL set to the owner's login)."
        )

    def schema_revision(self) -> str | None:
        """The database's Alembic revision; None when it has no FaceDesk schema."""
        with self._lock:
            conn = self._conn if self._conn is not None and not self._conn.broken else None
            if conn is None:
                conn = self.connect_raw()
                try:
                    return _revision_of(conn)
                finally:
                    conn.close()
            return _revision_of(conn)

    def check_schema(self) -> None:
        """Raise StoreSchemaMismatch naming the command to run when the schema is not current."""
        self._raise_for_revision(self.schema_revision())

    def _check_schema_on(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self._raise_for_revision(_revision_of(conn))

    def _raise_for_revision(self, revision: str | None) -> None:
        if revision is None:
            raise StoreSchemaMismatch(self._no_schema_message())
        if revision == HEAD_REVISION:
            return
        if revision in REVISIONS:
            raise StoreSchemaMismatch(
                f"The team store at {self._where} has schema {revision}; this FaceDesk needs "
                f"{HEAD_REVISION}. The database owner runs `{UPGRADE_COMMAND}`."
            )
        raise StoreSchemaMismatch(
            f"The team store at {self._where} has schema {revision}, newer than this FaceDesk "
            f"knows ({HEAD_REVISION}). Update FaceDesk on this workstation "
            "(`pip install --upgrade facedesk`, or the team's installer)."
        )

    def upgrade(self) -> list[str]:
        """Create or migrate the schema (Alembic) and re-apply the grants; what was done, in words.

        Run by the database owner. Idempotent: at the head revision only the grants are
        re-applied. SQLAlchemy and Alembic are imported here only, never by the window.
        """
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import create_engine

        before = self.schema_revision()
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("alembic")))
        engine = create_engine(
            "postgresql+psycopg://",
            creator=self.connect_raw_transactional,
            poolclass=_null_pool(),
        )
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except psycopg.Error as exc:
            raise StoreError(
                f"The schema upgrade of {self._where} failed: "
                f"{scrub(str(exc).strip(), self._password)}"
            ) from None
        except Exception as exc:  # noqa: BLE001 (SQLAlchemy wraps the driver's errors in its own)
            raise StoreError(
                f"The schema upgrade of {self._where} failed: "
                f"{scrub(str(getattr(exc, 'orig', exc)).strip(), self._password)}"
            ) from None
        finally:
            engine.dispose()
        self._run(lambda cursor: cursor.execute(GRANTS.encode()), write=True)
        after = self.schema_revision()
        return [
            f"schema {after} (was {before})" if before != after else f"schema {after}: current",
            f"role {REVIEWER_ROLE}: SELECT and INSERT on the audit trail, the least the app "
            "needs elsewhere; grant it to each reviewer's login",
        ]

    def connect_raw_transactional(self) -> psycopg.Connection[tuple[object, ...]]:
        """A new connection in psycopg's default (transactional) mode, for SQLAlchemy."""
        conn = self.connect_raw()
        conn.autocommit = False
        return conn

    def close(self, *, checkpoint: bool = True) -> None:
        if checkpoint:
            try:
                self.write_checkpoint()
            except (StoreError, OSError):
                log.warning("no audit checkpoint written: the team store was not reachable")
        with self._lock:
            self._drop()

    @property
    def operator(self) -> str:
        """The database's `session_user` (connecting first if needed): who the entries name."""
        if not self._session_user:
            self.ping()
        return self._session_user

    @property
    def checkpoint_file(self) -> Path | None:
        if self._checkpoint_dir is None:
            return None
        # One file per team store, so a workstation that uses several never mixes their chains.
        tag = hashlib.sha256(self._where.encode()).hexdigest()[:12]
        return self._checkpoint_dir / f"audit-checkpoints-{tag}.jsonl"

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

        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> None:
            cursor.execute(
                "SELECT label, extra FROM sessions WHERE provider=%s AND profile=%s "
                "AND session_id=%s FOR UPDATE",
                (provider, profile, session_id),
            )
            row = cursor.fetchone()
            if row is None:
                cursor.execute(
                    f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT DO NOTHING",
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
                return
            merged = {**json.loads(str(row[1])), **dict(extra or {})}
            cursor.execute(
                "UPDATE sessions SET kind=%s, last_seen_at=%s, status=%s, label=%s, extra=%s "
                "WHERE provider=%s AND profile=%s AND session_id=%s",
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

        self._run(work, write=True)
        record = self.get_session(provider, profile, session_id)
        assert record is not None
        return record

    def _sessions(self, query: str, args: Sequence[object]) -> list[SessionRecord]:
        def read(cursor: psycopg.Cursor[tuple[object, ...]]) -> list[SessionRecord]:
            cursor.execute(query.encode(), tuple(args))
            return [_session(r) for r in cursor.fetchall()]

        return self._run(read, write=False)

    def get_session(self, provider: str, profile: str, session_id: str) -> SessionRecord | None:
        rows = self._sessions(
            f"SELECT {SESSION_COLUMNS} FROM sessions "
            "WHERE provider=%s AND profile=%s AND session_id=%s",
            (provider, profile, session_id),
        )
        return rows[0] if rows else None

    def list_sessions(
        self, provider: str, profile: str, *, kind: str | None = None
    ) -> list[SessionRecord]:
        query = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE provider=%s AND profile=%s"
        args: list[object] = [provider, profile]
        if kind is not None:
            query += " AND kind=%s"
            args.append(kind)
        return self._sessions(query + " ORDER BY created_at DESC", args)

    def all_sessions(self) -> list[SessionRecord]:
        return self._sessions(
            f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at DESC, row_order DESC", ()
        )

    def _execute(self, query: str, args: Sequence[object]) -> int:
        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
            cursor.execute(query.encode(), tuple(args))
            return cursor.rowcount

        return self._run(work, write=True)

    def set_label(self, provider: str, profile: str, session_id: str, label: str) -> None:
        self._execute(
            "UPDATE sessions SET label=%s WHERE provider=%s AND profile=%s AND session_id=%s",
            (label, provider, profile, session_id),
        )

    def rename_profile(self, provider: str, old: str, new: str) -> int:
        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
            # SQLite's UPDATE OR REPLACE: rows already under the new name give way.
            cursor.execute(
                "DELETE FROM sessions s WHERE provider=%s AND profile=%s AND EXISTS (SELECT 1 "
                "FROM sessions o WHERE o.provider=s.provider AND o.profile=%s "
                "AND o.session_id=s.session_id)",
                (provider, new, old),
            )
            cursor.execute(
                "UPDATE sessions SET profile=%s WHERE provider=%s AND profile=%s",
                (new, provider, old),
            )
            return cursor.rowcount

        return self._run(work, write=True)

    def forget_session(self, provider: str, profile: str, session_id: str) -> None:
        self._execute(
            "DELETE FROM sessions WHERE provider=%s AND profile=%s AND session_id=%s",
            (provider, profile, session_id),
        )

    def count_sessions(self, *, provider: str | None = None, needle: str = "") -> int:
        clause, args = session_filter(provider, needle, DIALECT)
        return self._scalar_int(f"SELECT count(*) FROM sessions{clause}", args)

    def session_page(
        self, *, provider: str | None = None, needle: str = "", offset: int = 0, limit: int = 200
    ) -> list[SessionRecord]:
        clause, args = session_filter(provider, needle, DIALECT)
        return self._sessions(
            f"SELECT {SESSION_COLUMNS} FROM sessions{clause} "
            "ORDER BY created_at DESC, row_order DESC LIMIT %s OFFSET %s",
            [*args, limit, offset],
        )

    def _scalar_int(self, query: str, args: Sequence[object]) -> int:
        def read(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
            cursor.execute(query.encode(), tuple(args))
            row = cursor.fetchone()
            return int(str(row[0])) if row else 0

        return self._run(read, write=False)

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
        # id, time, operator and hashes are the trigger's (facedesk_audit_chain): the client's
        # clock and login name are not evidence.
        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
            cursor.execute(
                "INSERT INTO audit (id, time_utc, provider, profile, operation, targets, outcome, "
                "request_id) VALUES (0, '', %s, %s, %s, %s, %s, %s) RETURNING id",
                (provider, profile, operation, json.dumps(list(targets)), outcome, request_id),
            )
            row = cursor.fetchone()
            return int(str(row[0])) if row else 0

        return self._run(work, write=True)

    def _audit_rows(self, query: str, args: Sequence[object]) -> list[tuple[object, ...]]:
        def read(cursor: psycopg.Cursor[tuple[object, ...]]) -> list[tuple[object, ...]]:
            cursor.execute(query.encode(), tuple(args))
            return list(cursor.fetchall())

        return self._run(read, write=False)

    def audit_entries(self, *, provider: str | None = None, limit: int = 500) -> list[AuditEntry]:
        return self.audit_page(provider=provider, offset=0, limit=limit)

    def count_audit(
        self, *, provider: str | None = None, text: str | None = None, at_most: int | None = None
    ) -> int:
        clause, args = audit_filter(provider, text, DIALECT)
        if at_most is not None:
            return self._scalar_int(
                f"SELECT count(*) FROM (SELECT 1 FROM audit{clause} LIMIT %s) AS hits",
                [*args, at_most],
            )
        return self._scalar_int(f"SELECT count(*) FROM audit{clause}", args)

    def audit_page(
        self,
        *,
        provider: str | None = None,
        text: str | None = None,
        offset: int = 0,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """One page of matching entries, newest first.

        The planner reads a text filter's page by walking the id index backwards, which is
        quick when matches are spread through the trail and crosses most of it when they are
        old (a case id from last year: 0.55 s at 1,000,000 entries). So the newest entries are
        tried first, within a bounded window; when they do not fill the page, the matches are
        collected through the trigram index and sorted.
        """
        text = (text or "").strip()
        clause, args = audit_filter(provider, text, DIALECT)
        if len(text) < TEXT_INDEX_MIN_CHARS:
            rows = self._audit_rows(
                f"SELECT {AUDIT_COLUMNS} FROM audit{clause} ORDER BY id DESC LIMIT %s OFFSET %s",
                [*args, limit, offset],
            )
            return [_audit_entry(r) for r in rows]
        window = max(RECENT_WINDOW, 4 * (offset + limit))
        rows = self._audit_rows(
            f"SELECT {AUDIT_COLUMNS} FROM (SELECT * FROM audit ORDER BY id DESC LIMIT %s) "
            f"AS audit{clause} ORDER BY id DESC LIMIT %s OFFSET %s",
            [window, *args, limit, offset],
        )
        if len(rows) < limit:
            rows = self._audit_rows(
                f"WITH hits AS MATERIALIZED (SELECT id, {AUDIT_COLUMNS} FROM audit{clause}) "
                f"SELECT {AUDIT_COLUMNS} FROM hits ORDER BY id DESC LIMIT %s OFFSET %s",
                [*args, limit, offset],
            )
        return [_audit_entry(r) for r in rows]

    def audit_head(self) -> tuple[int, str]:
        rows = self._audit_rows(
            "SELECT (SELECT count(*) FROM audit), (SELECT hash FROM audit ORDER BY id DESC "
            "LIMIT 1)",
            (),
        )
        count, head = rows[0]
        return int(str(count)), (str(head) if head else GENESIS_HASH)

    def audit_chain_rows(self) -> list[AuditChainRow]:
        rows = self._audit_rows(
            f"SELECT id, {AUDIT_COLUMNS}, prev_hash, hash FROM audit ORDER BY id", ()
        )
        return [
            AuditChainRow(
                entry_id=int(str(r[0])),
                entry=_audit_entry(r[1:9]),
                prev_hash=None if r[9] is None else str(r[9]),
                hash=None if r[10] is None else str(r[10]),
            )
            for r in rows
        ]

    def audit_triggers_missing(self) -> str | None:
        rows = self._audit_rows(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass AND tgenabled <> 'D'",
            (),
        )
        present = {str(r[0]) for r in rows}
        if all(name in present for name in AUDIT_TRIGGERS):
            return None
        return _now().isoformat()

    # --- cases ---------------------------------------------------------------------------------

    def insert_case(self, reference: str, *, keep_photos: bool, tags: Sequence[str]) -> bool:
        now = _now().isoformat()
        inserted = self._execute(
            "INSERT INTO cases (reference, state, tags, keep_photos, created_at, updated_at) "
            "VALUES (%s, 'open', %s, %s, %s, %s) ON CONFLICT (reference) DO NOTHING",
            (reference, json.dumps(sorted(set(tags))), int(keep_photos), now, now),
        )
        return inserted == 1

    def _cases(self, clause: str, args: Sequence[object]) -> list[dict[str, object]]:
        def read(cursor: psycopg.Cursor[tuple[object, ...]]) -> list[dict[str, object]]:
            cursor.execute(f"SELECT {CASE_COLUMNS} FROM cases {clause}".encode(), tuple(args))
            names = [d.name for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        rows = self._run(read, write=False)
        for record in rows:
            record["tags"] = json.loads(str(record["tags"]))
            record["keep_photos"] = bool(record["keep_photos"])
        return rows

    def case_row(self, reference: str) -> dict[str, object] | None:
        rows = self._cases("WHERE reference=%s", (reference,))
        return rows[0] if rows else None

    def case_rows(self) -> list[dict[str, object]]:
        return self._cases("ORDER BY created_at DESC", ())

    def update_case(self, reference: str, **fields: object) -> None:
        allowed = {"state", "tags", "keep_photos", "closed_at", "photos_erased_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not case columns: {sorted(unknown)}")
        values = {k: json.dumps(v) if k == "tags" else v for k, v in fields.items()}
        values["updated_at"] = _now().isoformat()
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values
        )

        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> None:
            cursor.execute(
                sql.SQL("UPDATE cases SET {} WHERE reference = %s").format(assignments),
                (*values.values(), reference),
            )

        self._run(work, write=True)

    def claim_case(self, reference: str) -> tuple[bool, str | None]:
        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> tuple[bool, str | None]:
            cursor.execute(
                "SELECT assignee FROM cases WHERE reference=%s FOR UPDATE SKIP LOCKED",
                (reference,),
            )
            row = cursor.fetchone()
            if row is None:
                # Locked right now by someone else's claim (or gone): see who holds it as
                # committed; that claim wins, unless it was this same login's.
                cursor.execute("SELECT assignee FROM cases WHERE reference=%s", (reference,))
                other = cursor.fetchone()
                holder = str(other[0]) if other and other[0] else None
                return holder == self._session_user, holder
            if row[0] is not None and row[0] != self._session_user:
                return False, str(row[0])
            cursor.execute(
                "UPDATE cases SET assignee=session_user, assigned_at=%s, updated_at=%s "
                "WHERE reference=%s",
                (_now().isoformat(), _now().isoformat(), reference),
            )
            return True, self._session_user

        return self._run(work, write=True)

    def release_case(self, reference: str) -> bool:
        released = self._execute(
            "UPDATE cases SET assignee=NULL, assigned_at=NULL WHERE reference=%s "
            "AND assignee=session_user",
            (reference,),
        )
        return released == 1

    def add_case_item(
        self,
        reference: str,
        kind: str,
        payload: Mapping[str, object],
        *,
        parent_id: int | None = None,
    ) -> int:
        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> int:
            cursor.execute(
                "INSERT INTO case_items (reference, kind, time_utc, parent_id, payload) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (
                    reference,
                    kind,
                    _now().isoformat(),
                    parent_id,
                    json.dumps(dict(payload), sort_keys=True),
                ),
            )
            row = cursor.fetchone()
            return int(str(row[0])) if row else 0

        return self._run(work, write=True)

    def case_items(self, reference: str) -> list[dict[str, object]]:
        rows = self._audit_rows(
            "SELECT id, kind, time_utc, operator, parent_id, payload FROM case_items "
            "WHERE reference=%s ORDER BY id",
            (reference,),
        )
        return [
            {
                "id": int(str(r[0])),
                "kind": r[1],
                "time_utc": r[2],
                "operator": r[3],
                "parent_id": None if r[4] is None else int(str(r[4])),
                "payload": json.loads(str(r[5])),
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
        self._execute(
            "INSERT INTO case_photos (reference, fingerprint, role, media_type, nonce, "
            "ciphertext, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (reference, fingerprint) DO UPDATE SET role=EXCLUDED.role, "
            "media_type=EXCLUDED.media_type, nonce=EXCLUDED.nonce, "
            "ciphertext=EXCLUDED.ciphertext, created_at=EXCLUDED.created_at",
            (reference, fingerprint, role, media_type, nonce, ciphertext, _now().isoformat()),
        )

    def case_photo_rows(self, reference: str) -> list[tuple[str, str, str, bytes, bytes]]:
        rows = self._audit_rows(
            "SELECT fingerprint, role, media_type, nonce, ciphertext FROM case_photos "
            "WHERE reference=%s ORDER BY created_at, row_order",
            (reference,),
        )
        return [(str(r[0]), str(r[1]), str(r[2]), _bytes(r[3]), _bytes(r[4])) for r in rows]

    def delete_case_photos(self, reference: str) -> int:
        # The rows go at commit; VACUUM (owner's maintenance) reclaims the dead tuples.
        return self._execute("DELETE FROM case_photos WHERE reference=%s", (reference,))

    def get_meta(self, key: str) -> str | None:
        rows = self._audit_rows("SELECT value FROM team_settings WHERE key=%s", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._execute(
            "INSERT INTO team_settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, value),
        )

    # --- rate ledger ---------------------------------------------------------------------------

    def record_rate_event(self, scope: str, at: datetime | None = None) -> None:
        self._execute(
            "INSERT INTO rate_events (scope, at_utc) VALUES (%s, %s)",
            (scope, (at or _now()).timestamp()),
        )

    def reserve_rate_slot(
        self, scope: str, limits: Sequence[tuple[int, int]], at: datetime | None = None
    ) -> int | None:
        moment = (at or _now()).timestamp()

        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> int | None:
            # One team account's quota, counted by every workstation: serialise per scope.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (scope,))
            for window, allowed in limits:
                cursor.execute(
                    "SELECT count(*) FROM rate_events WHERE scope=%s AND at_utc>=%s",
                    (scope, moment - window),
                )
                row = cursor.fetchone()
                if row is not None and int(str(row[0])) >= allowed:
                    return None
            cursor.execute(
                "INSERT INTO rate_events (scope, at_utc) VALUES (%s, %s) RETURNING id",
                (scope, moment),
            )
            created = cursor.fetchone()
            return int(str(created[0])) if created else None

        return self._run(work, write=True)

    def release_rate_slot(self, slot: int) -> None:
        self._execute("DELETE FROM rate_events WHERE id=%s", (slot,))

    def rate_events_since(self, scope: str, since: datetime) -> list[datetime]:
        rows = self._audit_rows(
            "SELECT at_utc FROM rate_events WHERE scope=%s AND at_utc>=%s ORDER BY at_utc",
            (scope, since.timestamp()),
        )
        return [datetime.fromtimestamp(float(str(r[0])), UTC) for r in rows]

    # --- live changes --------------------------------------------------------------------------

    def listen(self, callback: Callable[[StoreChange], None]) -> ChangeListener:
        listener = ChangeListener(self.connect_raw, callback)
        listener.start()
        return listener


class ChangeListener:
    """LISTEN on its own connection in a daemon thread; calls `callback` for each NOTIFY.

    Qt-free: the window hands the callback a thread-safe hop to its own thread. A lost
    connection is re-opened with a growing pause (up to 30 s); `stop()` ends the thread.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[tuple[object, ...]]],
        callback: Callable[[StoreChange], None],
    ) -> None:
        self._connect = connect
        self._callback = callback
        self._stopped = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="facedesk-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Whether LISTEN is in place within `timeout` seconds (tests use it before writing)."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        pause = 0.5
        while not self._stopped.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(NOTIFY_CHANNEL)))
                    self._listening.set()
                    pause = 0.5
                    while not self._stopped.is_set():
                        for notice in conn.notifies(timeout=0.5):
                            self._deliver(notice.payload)
            except (StoreError, psycopg.Error):
                self._listening.clear()
                log.warning("team store change feed lost; listening again in %.1f s", pause)
                self._stopped.wait(pause)
                pause = min(pause * 2, 30.0)

    def _deliver(self, payload: str) -> None:
        try:
            data = json.loads(payload)
        except json.JSONDecodeError:
            return
        if isinstance(data, dict):
            case = data.get("case")
            self._callback(StoreChange(str(data.get("table", "")), str(case) if case else None))


def _revision_of(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    try:
        present = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if not present or not present[0]:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    return str(row[0]) if row else None


def _null_pool() -> type[object]:
    from sqlalchemy.pool import NullPool

    return NullPool


def _password_for(url: str, secrets: SecretStore | None) -> str | None:
    """The keyring's password when the URL, PGPASSWORD and a pgpass file give none."""
    parts = urlsplit(url)
    if parts.password or os.environ.get("PGPASSWORD") or secrets is None:
        return None
    pgpass = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass")
    if pgpass.exists():
        return None
    try:
        return secrets.get(TEAM_STORE_SECRET_SCOPE, secret_field(url))
    except StoreError:
        return None
    except Exception:  # noqa: BLE001 (a keyring backend's own error: no password then)
        log.warning("the keyring did not answer for the team store password of %s", redact_url(url))
        return None


def _session(row: Sequence[object]) -> SessionRecord:
    return SessionRecord(
        provider=str(row[0]),
        profile=str(row[1]),
        session_id=str(row[2]),
        kind=str(row[3]),
        created_at=datetime.fromisoformat(str(row[4])),
        last_seen_at=datetime.fromisoformat(str(row[5])),
        status=str(row[6]),
        label=str(row[7]),
        extra=json.loads(str(row[8])),
    )


def _audit_entry(row: Sequence[object]) -> AuditEntry:
    return AuditEntry(
        time_utc=datetime.fromisoformat(str(row[0])),
        os_user=str(row[1]),
        provider=str(row[2]),
        profile=str(row[3]),
        operation=str(row[4]),
        targets=tuple(json.loads(str(row[5]))),
        outcome=str(row[6]),
        request_id=None if row[7] is None else str(row[7]),
    )


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"expected bytea, got {type(value).__name__}")


class PostgresBatchJobStore:
    """`app.workflows.batch_jobs.BatchJobStore` in the team store (batch_jobs, batch_items).

    Rides on a `PostgresStore`'s connection and its fault handling: a job resumed on another
    workstation of the team finds the items this one finished.
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def open_job(
        self, job_key: str, *, kind: str, vendor: str, connection: str, item_count: int
    ) -> JobInfo:
        from app.workflows.batch_jobs import JOB_RUNNING, JobInfo

        now = _now().isoformat(timespec="seconds")

        def work(cursor: psycopg.Cursor[tuple[object, ...]]) -> JobInfo:
            cursor.execute(
                "INSERT INTO batch_jobs (job_key, kind, vendor, connection, item_count, "
                "created_at, updated_at, state) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (job_key) DO UPDATE SET updated_at = EXCLUDED.updated_at, "
                "state = EXCLUDED.state "
                "RETURNING job_key, kind, vendor, connection, item_count, state",
                (job_key, kind, vendor, connection, item_count, now, now, JOB_RUNNING),
            )
            row = cursor.fetchone()
            assert row is not None
            return JobInfo(
                str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(str(row[4])), str(row[5])
            )

        return self._store._run(work, write=True)

    def finished_items(self, job_key: str) -> dict[int, dict[str, Any]]:
        rows = self._store._audit_rows(
            "SELECT position, record FROM batch_items WHERE job_key = %s ORDER BY position",
            (job_key,),
        )
        return {int(str(position)): json.loads(str(record)) for position, record in rows}

    def finish_item(
        self, job_key: str, position: int, input_name: str, record: Mapping[str, Any]
    ) -> None:
        self._store._execute(
            "INSERT INTO batch_items (job_key, position, input, record, finished_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (job_key, position) DO NOTHING",
            (
                job_key,
                position,
                input_name,
                json.dumps(dict(record)),
                _now().isoformat(timespec="seconds"),
            ),
        )

    def set_state(self, job_key: str, state: str) -> None:
        self._store._execute(
            "UPDATE batch_jobs SET state = %s, updated_at = %s WHERE job_key = %s",
            (state, _now().isoformat(timespec="seconds"), job_key),
        )

    def close(self) -> None:
        """The connection is the store's; it closes with the store."""
