-- The process that runs a backup, so another process (the server, or `s3-backup backup`)
-- can tell a live run from one a crash left behind.
ALTER TABLE runs ADD COLUMN pid INTEGER;
