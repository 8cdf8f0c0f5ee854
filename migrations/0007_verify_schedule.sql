-- When the latest complete backup is verified on its own: never (the default), after every
-- backup, weekly or monthly.
ALTER TABLE settings ADD COLUMN verify_schedule TEXT NOT NULL DEFAULT 'never';
