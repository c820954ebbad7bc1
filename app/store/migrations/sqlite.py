"""The SQLite schema: created with IF NOT EXISTS on open, then stepped forward in place.

`SCHEMA` and `CASES_SCHEMA` are the tables as first released; `CHAIN` (the audit hash columns)
and `ASSIGNMENT` (who has a case) are added to an existing file by `SqliteStore` on open, each
guarded by a look at the columns, so opening an older file migrates it and opening a current
one changes nothing.
"""

from __future__ import annotations

SCHEMA_VERSION = "1"

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

CASES_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    reference TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    keep_photos INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    photos_erased_at TEXT
);
CREATE TABLE IF NOT EXISTS case_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL REFERENCES cases (reference),
    kind TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    operator TEXT NOT NULL,
    parent_id INTEGER REFERENCES case_items (id),
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_items_by_case ON case_items (reference, id);
CREATE TABLE IF NOT EXISTS case_photos (
    reference TEXT NOT NULL REFERENCES cases (reference),
    fingerprint TEXT NOT NULL,
    role TEXT NOT NULL,
    media_type TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (reference, fingerprint)
);
"""

AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")
AUDIT_NO_UPDATE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
)

# Added to the cases table for the team store's shared work (both dialects keep the column).
ASSIGNMENT_COLUMNS = (
    "ALTER TABLE cases ADD COLUMN assignee TEXT",
    "ALTER TABLE cases ADD COLUMN assigned_at TEXT",
)
