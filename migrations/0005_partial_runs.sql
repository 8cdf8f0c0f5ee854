-- Runs may end `partial` (some sources failed, the others are stored), and each run has a
-- kind (backup now; restore and verify later).
--
-- SQLite cannot change a CHECK constraint in place, and this runs inside a transaction,
-- where foreign keys cannot be switched off: dropping `runs` would cascade to the rows that
-- refer to it. So the tables that refer to runs are rebuilt with it: each new table is
-- filled, the old ones dropped children first (nothing left to cascade to), and the renames
-- carry the references over to the new names.
CREATE TABLE runs_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'restore', 'verify')),
    trigger       TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'cli')),
    status        TEXT NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed', 'interrupted', 'skipped')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    scheduled_for TEXT,
    folder        TEXT,
    total_bytes   INTEGER NOT NULL DEFAULT 0,
    object_count  INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    warning       TEXT,
    progress      TEXT
);
INSERT INTO runs_new (id, trigger, status, started_at, finished_at, scheduled_for, folder,
                      total_bytes, object_count, error, warning, progress)
    SELECT id, trigger, status, started_at, finished_at, scheduled_for, folder,
           total_bytes, object_count, error, warning, progress FROM runs;

CREATE TABLE run_objects_new (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
    source  TEXT NOT NULL,
    key     TEXT NOT NULL,
    size    INTEGER NOT NULL,
    sha256  TEXT NOT NULL
);
INSERT INTO run_objects_new SELECT id, run_id, source, key, size, sha256 FROM run_objects;

CREATE TABLE run_logs_new (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs_new (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
INSERT INTO run_logs_new SELECT id, run_id, at, level, message FROM run_logs;

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

DROP TABLE run_objects;
DROP TABLE run_logs;
DROP TABLE notifications;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE run_objects_new RENAME TO run_objects;
ALTER TABLE run_logs_new RENAME TO run_logs;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX runs_started ON runs (started_at DESC);
CREATE INDEX run_objects_run ON run_objects (run_id);
CREATE INDEX run_logs_run ON run_logs (run_id);
CREATE UNIQUE INDEX notifications_run_kind ON notifications (run_id, kind)
    WHERE run_id IS NOT NULL;
CREATE INDEX notifications_kind ON notifications (kind, created_at);

-- What became of each source of a run: stored (its object's key) or failed (why, as a
-- message shown in the reader's language).
CREATE TABLE run_sources (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('stored', 'failed')),
    object_key TEXT,
    error      TEXT
);
CREATE INDEX run_sources_run ON run_sources (run_id);
