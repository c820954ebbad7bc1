"""Where a batch job's state lives between runs: the `BatchJobStore` Protocol and SQLite.

A job is named by a key derived from its arguments (`app.workflows.batch.job_key`); its items
are the inputs in input order. An item is either pending or finished with its output record;
only finished items are written, one transaction each, so a job killed at any moment (SIGKILL
included) and started again with the same arguments redoes nothing that was finished.

The team store (PostgreSQL) keeps the same two tables (`PostgresBatchJobStore` in
`app.store.postgres`), so a job stopped on one workstation resumes on another. The SQLite
implementation keeps its own two tables in FaceDesk's database file (the one
`app.paths.AppPaths.database_file` names), on its own connection, in WAL mode. The SQL is kept
to plain CREATE / INSERT / UPDATE / SELECT so a PostgreSQL implementation of the same Protocol
is a matter of placeholders (`?` → `%s`) and `ON CONFLICT` as written here.

synchronous=NORMAL: in WAL mode a committed row survives the process being killed (only a power
cut may lose the last rows, which are then simply redone), and a batch commits once per item.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_jobs (
    job_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    vendor TEXT NOT NULL,
    connection TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_items (
    job_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    input TEXT NOT NULL,
    record TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (job_key, position)
);
"""

JOB_RUNNING = "running"
JOB_STOPPED = "stopped"
JOB_FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class JobInfo:
    job_key: str
    kind: str
    vendor: str
    connection: str
    item_count: int
    state: str


class BatchJobStore(Protocol):
    """Persistence of batch jobs; every method blocks briefly (call it via asyncio.to_thread)."""

    def open_job(
        self, job_key: str, *, kind: str, vendor: str, connection: str, item_count: int
    ) -> JobInfo:
        """Create the job, or return it as it was left (its finished items are kept)."""
        ...

    def finished_items(self, job_key: str) -> dict[int, dict[str, Any]]:
        """Position → output record of every finished item."""
        ...

    def finish_item(
        self, job_key: str, position: int, input_name: str, record: Mapping[str, Any]
    ) -> None:
        """Record one item as finished (idempotent: a second write for a position is ignored)."""
        ...

    def set_state(self, job_key: str, state: str) -> None: ...

    def close(self) -> None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteBatchJobStore:
    """`BatchJobStore` on SQLite, in its own tables of the given database file."""

    def __init__(self, database_file: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(database_file), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.executescript(SCHEMA)

    def open_job(
        self, job_key: str, *, kind: str, vendor: str, connection: str, item_count: int
    ) -> JobInfo:
        now = _now()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO batch_jobs (job_key, kind, vendor, connection, item_count, "
                "created_at, updated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (job_key) DO UPDATE SET updated_at = excluded.updated_at, "
                "state = excluded.state",
                (job_key, kind, vendor, connection, item_count, now, now, JOB_RUNNING),
            )
            row = self._db.execute(
                "SELECT job_key, kind, vendor, connection, item_count, state FROM batch_jobs "
                "WHERE job_key = ?",
                (job_key,),
            ).fetchone()
        return JobInfo(*row)

    def finished_items(self, job_key: str) -> dict[int, dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT position, record FROM batch_items WHERE job_key = ? ORDER BY position",
                (job_key,),
            ).fetchall()
        return {int(position): json.loads(record) for position, record in rows}

    def finish_item(
        self, job_key: str, position: int, input_name: str, record: Mapping[str, Any]
    ) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO batch_items (job_key, position, input, record, finished_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_key, position) DO NOTHING",
                (job_key, position, input_name, json.dumps(dict(record)), _now()),
            )

    def finish_items(
        self, job_key: str, items: Sequence[tuple[int, str, Mapping[str, Any]]]
    ) -> None:
        """Several items in one transaction (tests and imports)."""
        for position, input_name, record in items:
            self.finish_item(job_key, position, input_name, record)

    def set_state(self, job_key: str, state: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE batch_jobs SET state = ?, updated_at = ? WHERE job_key = ?",
                (state, _now(), job_key),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_batch_store(store: Store) -> BatchJobStore:
    """Batch jobs beside `store`'s other tables: its SQLite file, or the team store's tables.

    Blocking: call it via asyncio.to_thread.
    """
    from app.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        return SqliteBatchJobStore(store.path)
    from app.store.postgres import PostgresBatchJobStore, PostgresStore

    if isinstance(store, PostgresStore):
        return PostgresBatchJobStore(store)
    raise TypeError(f"no batch job store for {type(store).__name__}")
