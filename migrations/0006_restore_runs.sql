-- What a restore or verification was asked to do (JSON: the source chosen, the target, whether
-- it replaces an existing one), so its page can say it and warn before cancelling it.
ALTER TABLE runs ADD COLUMN request TEXT;
CREATE INDEX runs_kind_status ON runs (kind, status);
