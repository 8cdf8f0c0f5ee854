-- The history filtered by kind, or by kind and status, newest first, read through an index
-- from the newest end (status alone has runs_status_started); the verifications of the
-- backups a page lists, found by folder.
CREATE INDEX IF NOT EXISTS runs_kind_started ON runs (kind, started_at DESC);
CREATE INDEX IF NOT EXISTS runs_kind_status_started ON runs (kind, status, started_at DESC);
CREATE INDEX IF NOT EXISTS runs_kind_folder ON runs (kind, folder);
