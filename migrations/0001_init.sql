-- Accounts allowed to log in.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- The S3 Backup Settings form: a single row (id = 1). Secrets are AEAD ciphertexts.
CREATE TABLE settings (
    id                               INTEGER PRIMARY KEY CHECK (id = 1),
    enabled                          INTEGER NOT NULL DEFAULT 0,
    access_key_id                    TEXT NOT NULL DEFAULT '',
    secret_access_key                BLOB,
    notify_email                     TEXT NOT NULL DEFAULT '',
    send_email_for_successful_backup INTEGER NOT NULL DEFAULT 0,
    bucket                           TEXT NOT NULL DEFAULT '',
    endpoint_url                     TEXT NOT NULL DEFAULT '',
    region                           TEXT NOT NULL DEFAULT 'us-east-1',
    path_style                       INTEGER NOT NULL DEFAULT 0,
    backup_path                      TEXT NOT NULL DEFAULT '',
    frequency                        TEXT NOT NULL DEFAULT 'none',
    backup_time                      TEXT NOT NULL DEFAULT '02:00',
    backup_weekday                   TEXT NOT NULL DEFAULT 'monday',
    backup_monthday                  INTEGER NOT NULL DEFAULT 1,
    cron                             TEXT NOT NULL DEFAULT '',
    timezone                         TEXT NOT NULL DEFAULT 'UTC',
    backup_files                     INTEGER NOT NULL DEFAULT 1,
    backup_limit                     INTEGER NOT NULL DEFAULT 7,
    updated_at                       TEXT
);
INSERT INTO settings (id) VALUES (1);

-- The SMTP account used for notifications: a single row (id = 1).
CREATE TABLE email_account (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    smtp_host     TEXT NOT NULL DEFAULT '',
    smtp_port     INTEGER NOT NULL DEFAULT 587,
    smtp_security TEXT NOT NULL DEFAULT 'starttls',
    smtp_username TEXT NOT NULL DEFAULT '',
    smtp_password BLOB,
    sender        TEXT NOT NULL DEFAULT '',
    updated_at    TEXT
);
INSERT INTO email_account (id) VALUES (1);

-- What to back up. A connection URL's password lives apart, encrypted.
CREATE TABLE sources (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('sqlite', 'postgres', 'mysql', 'directory')),
    location   TEXT NOT NULL,
    password   BLOB,
    created_at TEXT NOT NULL
);

-- Audit trail of saved changes: who, when, which fields (never values of secrets).
CREATE TABLE setting_changes (
    id         INTEGER PRIMARY KEY,
    changed_at TEXT NOT NULL,
    username   TEXT NOT NULL,
    page       TEXT NOT NULL,
    fields     TEXT NOT NULL
);

-- Failed login attempts, per user name and per client address.
CREATE TABLE login_failures (
    subject      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL
);

-- One row per backup run; it starts 'running' and ends 'success', 'failed' or 'interrupted'.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    trigger       TEXT NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'cli')),
    status        TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'interrupted', 'skipped')),
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
CREATE INDEX runs_started ON runs (started_at DESC);

-- Objects a run uploaded and verified.
CREATE TABLE run_objects (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source  TEXT NOT NULL,
    key     TEXT NOT NULL,
    size    INTEGER NOT NULL,
    sha256  TEXT NOT NULL
);
CREATE INDEX run_objects_run ON run_objects (run_id);

-- A run's log lines, in order.
CREATE TABLE run_logs (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id);

-- Notification e-mails and their delivery outcome.
CREATE TABLE notifications (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    sent_at  TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error    TEXT,
    created_at TEXT NOT NULL
);
