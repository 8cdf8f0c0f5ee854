-- When the schedule itself (enabled, frequency, times, time zone) last changed: the point
-- the overdue alert and catch-up count from. Saving an unrelated field must not move it.
ALTER TABLE settings ADD COLUMN schedule_saved_at TEXT;
UPDATE settings SET schedule_saved_at = updated_at;
