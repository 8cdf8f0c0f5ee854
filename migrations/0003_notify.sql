-- The language notification e-mails are written in: that of the admin who last saved the
-- settings.
ALTER TABLE settings ADD COLUMN notify_language TEXT NOT NULL DEFAULT 'en';

-- Who a notification went to, and when its delivery stopped (sent, or given up after its
-- last attempt); while finished_at is empty it is still being tried.
ALTER TABLE notifications ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN finished_at TEXT;

-- A run is reported once per kind, even if its end is heard twice.
CREATE UNIQUE INDEX notifications_run_kind ON notifications (run_id, kind)
    WHERE run_id IS NOT NULL;
CREATE INDEX notifications_kind ON notifications (kind, created_at);
