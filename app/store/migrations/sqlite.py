"""The SQLite schema: created with IF NOT EXISTS on open, then stepped forward in place.

`SCHEMA` and `CASES_SCHEMA` are the tables as first released; `CHAIN` (the audit hash columns)
and `ASSIGNMENT` (who has a case) are added to an existing file by `SqliteStore` on open, each
guarded by a look at the columns, and the audit search index (`AUDIT_SEARCH_SCHEMA`) is created
and filled with the entries it lacks, so opening an older file migrates it and opening a current
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

# The audit text filter's index (FTS5, trigram tokenizer, case-folded): every substring of three
# or more characters of an entry's searchable text finds its rows without reading the trail.
# Contentless, because the audit table holds the text; the trail is append-only, so rows are
# only ever added, by the trigger, in the transaction that appends the entry. Targets are
# indexed decoded (one per line), as the filter matches them. The index only narrows: the
# filter's own condition still decides each row (app.store.audit_text_condition).
AUDIT_SEARCH_TABLE = "audit_search"
AUDIT_SEARCH_COLUMNS = "targets, operation, outcome, request_id, os_user, profile"
AUDIT_SEARCH_VALUES = (
    "(SELECT group_concat(value, char(10)) FROM json_each({row}.targets)), "
    "{row}.operation, {row}.outcome, {row}.request_id, {row}.os_user, {row}.profile"
)
AUDIT_SEARCH_SCHEMA = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {AUDIT_SEARCH_TABLE} USING fts5("
    f"{AUDIT_SEARCH_COLUMNS}, content='', tokenize='trigram case_sensitive 0')",
    "CREATE TRIGGER IF NOT EXISTS audit_search_add AFTER INSERT ON audit BEGIN "
    f"INSERT INTO {AUDIT_SEARCH_TABLE} (rowid, {AUDIT_SEARCH_COLUMNS}) "
    f"VALUES (new.id, {AUDIT_SEARCH_VALUES.format(row='new')}); END",
)
# Entries the index lacks (a file from before it, or written while its trigger was missing):
# the trail only grows, so they are exactly those newer than the newest indexed entry.
AUDIT_SEARCH_FILL = f"""
INSERT INTO {AUDIT_SEARCH_TABLE} (rowid, {AUDIT_SEARCH_COLUMNS})
SELECT audit.id, {AUDIT_SEARCH_VALUES.format(row="audit")} FROM audit
WHERE audit.id > coalesce((SELECT max(rowid) FROM {AUDIT_SEARCH_TABLE}), 0)
"""
