-- Tokens for the JSON API: only the SHA-256 of each secret is kept, with the short
-- identifier the list shows (the first characters after the prefix), never the secret.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'operate')),
    identifier TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_identifier ON api_tokens (identifier);
-- Two live tokens never share a name, so the list and the change log tell them apart.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Runs may be started through the API: trigger 'api'. As in 0005, the CHECK can only
-- change by rebuilding `runs`, and inside the migration's transaction foreign keys stay on,
-- so the tables that refer to runs are rebuilt with it (filled, the old ones dropped
-- children first, then renamed, which carries the references over).
CREATE TABLE runs_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'restore', 'verify')),
    trigger       TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'cli', 'api')),
    status        TEXT NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed', 'interrupted', 'skipped')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    scheduled_for TEXT,
    folder        TEXT,
    total_bytes   INTEGER NOT NULL DEFAULT 0,
    object_count  INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    warning       TEXT,
    progress      TEXT,
    request       TEXT
);
INSERT INTO runs_new (id, kind, trigger, status, started_at, finished_at, scheduled_for,
                      folder, total_bytes, object_count, error, warning, progress, request)
    SELECT id, kind, trigger, status, started_at, finished_at, scheduled_for,
           folder, total_bytes, object_count, error, warning, progress, request FROM runs;

CREATE TABLE run_objects_new (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
    source  TEXT NOT NULL,
    key     TEXT NOT NULL,
    size    INTEGER NOT NULL,
    sha256  TEXT NOT NULL
);
INSERT INTO run_objects_new (id, run_id, source, key, size, sha256)
    SELECT id, run_id, source, key, size, sha256 FROM run_objects;

CREATE TABLE run_logs_new (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
INSERT INTO run_logs_new (id, run_id, at, level, message)
    SELECT id, run_id, at, level, message FROM run_logs;

CREATE TABLE notifications_new (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES runs_new (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    sent_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  TEXT NOT NULL,
    recipients  TEXT NOT NULL DEFAULT '',
    finished_at TEXT
);
INSERT INTO notifications_new (id, run_id, kind, sent_at, attempts, error, created_at,
                               recipients, finished_at)
    SELECT id, run_id, kind, sent_at, attempts, error, created_at, recipients, finished_at
    FROM notifications;

CREATE TABLE run_sources_new (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('stored', 'failed')),
    object_key TEXT,
    error      TEXT
);
INSERT INTO run_sources_new (id, run_id, source, kind, outcome, object_key, error)
    SELECT id, run_id, source, kind, outcome, object_key, error FROM run_sources;

DROP TABLE run_objects;
DROP TABLE run_logs;
DROP TABLE notifications;
DROP TABLE run_sources;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE run_objects_new RENAME TO run_objects;
ALTER TABLE run_logs_new RENAME TO run_logs;
ALTER TABLE notifications_new RENAME TO notifications;
ALTER TABLE run_sources_new RENAME TO run_sources;
CREATE INDEX runs_started ON runs (started_at DESC);
CREATE INDEX runs_kind_status ON runs (kind, status);
-- The API lists runs by status, newest first, without reading the whole history.
CREATE INDEX runs_status_started ON runs (status, started_at DESC);
CREATE INDEX run_objects_run ON run_objects (run_id);
CREATE INDEX run_logs_run ON run_logs (run_id);
CREATE UNIQUE INDEX notifications_run_kind ON notifications (run_id, kind)
    WHERE run_id IS NOT NULL;
CREATE INDEX notifications_kind ON notifications (kind, created_at);
CREATE INDEX run_sources_run ON run_sources (run_id);
