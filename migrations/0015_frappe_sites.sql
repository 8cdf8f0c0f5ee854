-- Sources may be Frappe / Dokos site folders (kind `frappe`), whose public and private
-- files are backed up with their database unless `site_files` is off. SQLite cannot widen
-- a CHECK in place: the table is rebuilt, ids (which seal the passwords) kept.
CREATE TABLE sources_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL
               CHECK (kind IN ('sqlite', 'postgres', 'mysql', 'directory', 'frappe')),
    location   TEXT NOT NULL,
    password   BLOB,
    created_at TEXT NOT NULL,
    site_files INTEGER NOT NULL DEFAULT 1 CHECK (site_files IN (0, 1))
);
INSERT INTO sources_new (id, name, kind, location, password, created_at)
    SELECT id, name, kind, location, password, created_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_new RENAME TO sources;
