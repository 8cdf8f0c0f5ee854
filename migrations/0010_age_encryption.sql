-- Client-side encryption with age: whether it is on, the public keys objects are encrypted
-- for (one a line), and the key pairs the app generated, sealed with the master key (the one
-- confirmed, and one shown but not yet confirmed as saved by the admin).
ALTER TABLE settings ADD COLUMN encrypt_backups INTEGER NOT NULL DEFAULT 0;
ALTER TABLE settings ADD COLUMN age_recipients TEXT NOT NULL DEFAULT '';
ALTER TABLE settings ADD COLUMN age_identity BLOB;
ALTER TABLE settings ADD COLUMN pending_age_identity BLOB;
