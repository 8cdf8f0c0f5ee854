-- The storage class every object is written with ('' for the bucket's default), and the
-- server-side encryption asked for: 'none', 'AES256' or 'aws:kms' with an optional key.
ALTER TABLE settings ADD COLUMN storage_class TEXT NOT NULL DEFAULT '';
ALTER TABLE settings ADD COLUMN server_side_encryption TEXT NOT NULL DEFAULT 'none';
ALTER TABLE settings ADD COLUMN sse_kms_key_id TEXT NOT NULL DEFAULT '';
