-- Object Lock: the days each backup's objects stay immutable (0: off) and the mode,
-- 'governance' or 'compliance' (kept while off).
ALTER TABLE settings ADD COLUMN object_lock_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE settings ADD COLUMN object_lock_mode TEXT NOT NULL DEFAULT 'governance';
