-- The overview, the history (filtered by kind, or by kind and status, newest first; the
-- verifications of the backups a page lists, by folder) and the sources page (each source's
-- latest outcome) read the newest runs of a kind, of a status, of a source, and counts of
-- the whole history: indexes for each (read from their newest end), and totals kept by
-- triggers so that no page counts or sums every run.
CREATE INDEX IF NOT EXISTS runs_kind_started_at ON runs (kind, started_at);
CREATE INDEX IF NOT EXISTS runs_kind_status_started_at ON runs (kind, status, started_at);
CREATE INDEX IF NOT EXISTS runs_kind_id ON runs (kind, id);
CREATE INDEX IF NOT EXISTS runs_kind_folder ON runs (kind, folder);
CREATE INDEX IF NOT EXISTS run_sources_source_run_id ON run_sources (source, run_id);

-- How many runs of each kind are in each status, and the bytes they stored. Kept by the
-- triggers below; a migration that rebuilds `runs` must create them again.
CREATE TABLE run_totals (
    kind   TEXT NOT NULL,
    status TEXT NOT NULL,
    runs   INTEGER NOT NULL DEFAULT 0,
    bytes  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, status)
) WITHOUT ROWID;
INSERT INTO run_totals (kind, status, runs, bytes)
    SELECT kind, status, COUNT(*), COALESCE(SUM(total_bytes), 0) FROM runs GROUP BY kind, status;

CREATE TRIGGER run_totals_insert AFTER INSERT ON runs BEGIN
    INSERT OR IGNORE INTO run_totals (kind, status) VALUES (NEW.kind, NEW.status);
    UPDATE run_totals SET runs = runs + 1, bytes = bytes + NEW.total_bytes
        WHERE kind = NEW.kind AND status = NEW.status;
END;
CREATE TRIGGER run_totals_delete AFTER DELETE ON runs BEGIN
    UPDATE run_totals SET runs = runs - 1, bytes = bytes - OLD.total_bytes
        WHERE kind = OLD.kind AND status = OLD.status;
END;
CREATE TRIGGER run_totals_update AFTER UPDATE OF kind, status, total_bytes ON runs BEGIN
    UPDATE run_totals SET runs = runs - 1, bytes = bytes - OLD.total_bytes
        WHERE kind = OLD.kind AND status = OLD.status;
    INSERT OR IGNORE INTO run_totals (kind, status) VALUES (NEW.kind, NEW.status);
    UPDATE run_totals SET runs = runs + 1, bytes = bytes + NEW.total_bytes
        WHERE kind = NEW.kind AND status = NEW.status;
END;

-- Checks of the first-run checklist that passed ("Test connection", "Send test e-mail"),
-- each for the settings it was run with (a SHA-256 of them: a later change unticks it).
CREATE TABLE setup_checks (
    name        TEXT PRIMARY KEY CHECK (name IN ('bucket', 'email_account')),
    fingerprint TEXT NOT NULL,
    passed_at   TEXT NOT NULL
);
