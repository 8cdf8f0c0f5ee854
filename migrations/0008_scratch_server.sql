-- The server verifications test-restore dumps on when their source is not configured here:
-- the URL sealed whole (it may hold a password), and as shown (password masked).
ALTER TABLE settings ADD COLUMN scratch_server BLOB;
ALTER TABLE settings ADD COLUMN scratch_server_shown TEXT;
