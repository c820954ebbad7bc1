"""The PostgreSQL schema of the team store: the SQL that the Alembic revisions apply.

`facedesk db upgrade` runs Alembic (`app/store/alembic`), each revision in one transaction
with its version bump, so a failed upgrade leaves the old schema whole. The DDL is plain
PostgreSQL rather than SQLAlchemy Core: what matters here (roles, grants, PL/pgSQL chain
triggers, advisory locks, NOTIFY) has no portable Core form, and plain SQL reads whole.
`GRANTS` runs after every upgrade (idempotent) and gives `facedesk_reviewer` the least the
app needs:

| table          | reviewer may                     | why                                  |
|----------------|----------------------------------|--------------------------------------|
| audit          | SELECT, INSERT                   | append-only; no UPDATE/DELETE/TRUNCATE |
| case_items     | SELECT, INSERT                   | a case's timeline is append-only too |
| cases          | SELECT, INSERT, UPDATE           | state, tags, assignment; never DELETE |
| case_photos    | SELECT, INSERT, UPDATE, DELETE   | erasing a case's photos deletes them |
| sessions       | SELECT, INSERT, UPDATE, DELETE   | the registry: label, rename, forget  |
| rate_events    | SELECT, INSERT, DELETE           | a slot is given back if the call never went |
| team_settings  | SELECT, INSERT, UPDATE           | team-wide case defaults (retention)  |
| batch_jobs     | SELECT, INSERT, UPDATE           | a job's state: running, stopped, done |
| batch_items    | SELECT, INSERT                   | a finished item is never rewritten   |
| alembic_version| SELECT                           | only the owner migrates              |

The database, not the client, decides who and when: `facedesk_audit_chain()` runs before each
audit insert, takes a transaction-level advisory lock (so concurrent workstations queue and
never fork the chain), sets `os_user` to `session_user`, the time to the server's clock, the id
to the next number and `prev_hash`/`hash` to the SHA-256 (built-in `sha256()`) of the same
canonical JSON that `app.store.canonical_audit_encoding` produces. Commits send a NOTIFY on
`facedesk_changes` so other workstations refresh without polling. Revision 0002 adds a pg_trgm
index over the audit filter's text, so filtering a million entries reads only the candidates.
"""

from __future__ import annotations

# Alembic revisions in order (app/store/alembic/versions); the last is what this FaceDesk needs.
REVISIONS = ("0001_team_store", "0002_audit_search")
HEAD_REVISION = REVISIONS[-1]
NOTIFY_CHANNEL = "facedesk_changes"
REVIEWER_ROLE = "facedesk_reviewer"
# pg_advisory_xact_lock key that serialises audit appends ("FDaudit" as an int8).
AUDIT_LOCK_KEY = 0x4644617564697400

_STEP_1 = f"""
CREATE TABLE IF NOT EXISTS team_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    status TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{{}}',
    row_order BIGSERIAL,
    PRIMARY KEY (provider, profile, session_id)
);
CREATE INDEX IF NOT EXISTS sessions_by_time ON sessions (provider, profile, created_at);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at);
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT PRIMARY KEY,
    time_utc TEXT NOT NULL,
    os_user TEXT NOT NULL DEFAULT session_user,
    provider TEXT NOT NULL,
    profile TEXT NOT NULL,
    operation TEXT NOT NULL,
    targets TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT,
    prev_hash TEXT,
    hash TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_provider ON audit (provider, id);
CREATE TABLE IF NOT EXISTS rate_events (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    at_utc DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_by_scope ON rate_events (scope, at_utc);
CREATE TABLE IF NOT EXISTS cases (
    reference TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    keep_photos INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    photos_erased_at TEXT,
    assignee TEXT,
    assigned_at TEXT
);
CREATE TABLE IF NOT EXISTS case_items (
    id BIGSERIAL PRIMARY KEY,
    reference TEXT NOT NULL REFERENCES cases (reference),
    kind TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    operator TEXT NOT NULL DEFAULT session_user,
    parent_id BIGINT REFERENCES case_items (id),
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_items_by_case ON case_items (reference, id);
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
    job_key TEXT NOT NULL REFERENCES batch_jobs (job_key),
    position INTEGER NOT NULL,
    input TEXT NOT NULL,
    record TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (job_key, position)
);
CREATE TABLE IF NOT EXISTS case_photos (
    reference TEXT NOT NULL REFERENCES cases (reference),
    fingerprint TEXT NOT NULL,
    role TEXT NOT NULL,
    media_type TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    row_order BIGSERIAL,
    PRIMARY KEY (reference, fingerprint)
);

-- The canonical encoding of app.store.canonical_audit_encoding: sorted keys, no spaces,
-- strings escaped as Python's json.dumps(ensure_ascii=False) does (to_json escapes the same
-- characters: quote, backslash, control characters).
CREATE OR REPLACE FUNCTION facedesk_audit_canonical(
    entry_id BIGINT, time_utc TEXT, os_user TEXT, provider TEXT, profile TEXT,
    operation TEXT, targets TEXT, outcome TEXT, request_id TEXT, prev_hash TEXT
) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT '{{"id":' || entry_id::text
        || ',"operation":' || to_json(operation)::text
        || ',"os_user":' || to_json(os_user)::text
        || ',"outcome":' || to_json(outcome)::text
        || ',"prev_hash":' || to_json(prev_hash)::text
        || ',"profile":' || to_json(profile)::text
        || ',"provider":' || to_json(provider)::text
        || ',"request_id":' || coalesce(to_json(request_id)::text, 'null')
        || ',"targets":[' || coalesce((
            SELECT string_agg(to_json(t.value)::text, ',' ORDER BY t.n)
            FROM jsonb_array_elements_text(targets::jsonb) WITH ORDINALITY AS t(value, n)
        ), '') || ']'
        || ',"time_utc":' || to_json(time_utc)::text
        || '}}'
$$;

-- Python's datetime.isoformat(): microseconds only when there are some.
CREATE OR REPLACE FUNCTION facedesk_utc_text(moment TIMESTAMPTZ) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM moment)::bigint % 1000000 = 0 THEN ''
                ELSE to_char(moment AT TIME ZONE 'UTC', '.US') END
        || '+00:00'
$$;

CREATE OR REPLACE FUNCTION facedesk_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_id BIGINT;
    last_hash TEXT;
BEGIN
    -- Held to commit: the next workstation's insert reads this row as its predecessor.
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK_KEY});
    SELECT id, hash INTO last_id, last_hash FROM audit ORDER BY id DESC LIMIT 1;
    NEW.id := coalesce(last_id, 0) + 1;
    NEW.os_user := session_user;
    NEW.time_utc := facedesk_utc_text(clock_timestamp());
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(facedesk_audit_canonical(
        NEW.id, NEW.time_utc, NEW.os_user, NEW.provider, NEW.profile, NEW.operation,
        NEW.targets, NEW.outcome, NEW.request_id, NEW.prev_hash), 'UTF8')), 'hex');
    PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object(
        'table', 'audit', 'case', (
            SELECT substr(t, 6) FROM jsonb_array_elements_text(NEW.targets::jsonb) AS t
            WHERE t LIKE 'case:%' LIMIT 1))::text);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION facedesk_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION facedesk_case_item_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    holder TEXT;
BEGIN
    SELECT assignee INTO holder FROM cases WHERE reference = NEW.reference;
    IF holder IS NOT NULL AND holder <> session_user THEN
        RAISE EXCEPTION 'case % is assigned to %; it is read-only for %',
            NEW.reference, holder, session_user USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.operator := session_user;
    PERFORM pg_notify('{NOTIFY_CHANNEL}',
        json_build_object('table', 'cases', 'case', NEW.reference)::text);
    RETURN NEW;
END $$;

-- Shared work: a case someone holds is read-only for everyone else, and nobody assigns a case
-- to someone else; the claimant is set by the database. Only the holder releases it.
CREATE OR REPLACE FUNCTION facedesk_case_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.assignee IS NOT NULL AND OLD.assignee <> session_user THEN
            RAISE EXCEPTION 'case % is assigned to %; it is read-only for %',
                OLD.reference, OLD.assignee, session_user
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.assignee IS DISTINCT FROM OLD.assignee
           AND NEW.assignee IS NOT NULL AND NEW.assignee <> session_user THEN
            RAISE EXCEPTION 'a case can only be assigned to oneself'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF NEW.assignee IS NOT NULL AND NEW.assignee <> session_user THEN
        RAISE EXCEPTION 'a case can only be assigned to oneself'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_notify('{NOTIFY_CHANNEL}',
        json_build_object('table', 'cases', 'case', NEW.reference)::text);
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS audit_chain ON audit;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION facedesk_audit_chain();
DROP TRIGGER IF EXISTS audit_no_update ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION facedesk_refuse_change();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION facedesk_refuse_change();
DROP TRIGGER IF EXISTS case_items_stamp ON case_items;
CREATE TRIGGER case_items_stamp BEFORE INSERT ON case_items
    FOR EACH ROW EXECUTE FUNCTION facedesk_case_item_stamp();
DROP TRIGGER IF EXISTS cases_change ON cases;
CREATE TRIGGER cases_change BEFORE INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION facedesk_case_change();
"""

# The audit text filter's index: pg_trgm (a trusted extension, so the database's owner may
# create it) over a stored column of the text the filter searches, targets decoded one per
# line, fields one per line. Computed once, when the entry is written (after the chain trigger
# has set os_user), so neither a query nor an index recheck decodes JSON. A pattern without a
# line break can only match inside one field, so on this column it is the filter itself.
AUDIT_SEARCH_COLUMN = "search_text"
_STEP_2 = f"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE OR REPLACE FUNCTION facedesk_audit_search_text(
    targets TEXT, operation TEXT, outcome TEXT, request_id TEXT, os_user TEXT, profile TEXT
) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT coalesce(
        (SELECT string_agg(value, E'\\n') FROM json_array_elements_text(targets::json)), ''
    ) || E'\\n' || operation || E'\\n' || outcome || E'\\n' || coalesce(request_id, '')
      || E'\\n' || os_user || E'\\n' || profile
$$;
ALTER TABLE audit ADD COLUMN IF NOT EXISTS {AUDIT_SEARCH_COLUMN} TEXT GENERATED ALWAYS AS (
    facedesk_audit_search_text(targets, operation, outcome, request_id, os_user, profile)
) STORED;
CREATE INDEX IF NOT EXISTS audit_search ON audit USING gin ({AUDIT_SEARCH_COLUMN} gin_trgm_ops);
"""

# version -> SQL that brings version-1 to it.
STEPS: dict[int, str] = {1: _STEP_1, 2: _STEP_2}

AUDIT_TRIGGERS = ("audit_chain", "audit_no_update", "audit_no_truncate")

GRANTS = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REVIEWER_ROLE}') THEN
        CREATE ROLE {REVIEWER_ROLE} NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON alembic_version, team_settings, sessions, audit, rate_events, cases, case_items,
    case_photos, batch_jobs, batch_items FROM PUBLIC, {REVIEWER_ROLE};
GRANT USAGE ON SCHEMA public TO {REVIEWER_ROLE};
GRANT SELECT ON alembic_version TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, UPDATE ON team_settings TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO {REVIEWER_ROLE};
GRANT SELECT, INSERT ON audit TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, DELETE ON rate_events TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, UPDATE ON cases TO {REVIEWER_ROLE};
GRANT SELECT, INSERT ON case_items TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON case_photos TO {REVIEWER_ROLE};
GRANT SELECT, INSERT, UPDATE ON batch_jobs TO {REVIEWER_ROLE};
GRANT SELECT, INSERT ON batch_items TO {REVIEWER_ROLE};
GRANT USAGE ON SEQUENCE sessions_row_order_seq, rate_events_id_seq, case_items_id_seq,
    case_photos_row_order_seq TO {REVIEWER_ROLE};
"""
