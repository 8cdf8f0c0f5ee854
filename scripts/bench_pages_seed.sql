-- 10,000 runs for scripts/bench_pages.sh: one an hour going back from now, newest last.
-- Mostly successful backups of two sources, with failures, partial runs, skipped firings,
-- verifications and restores mixed in, each backup with its sources and objects.
INSERT INTO sources (name, kind, location, created_at)
VALUES ('erp', 'postgres', 'postgres://erp@127.0.0.1:5432/erp', '2025-01-01T00:00:00+00:00'),
       ('files', 'directory', '/srv/erp/files', '2025-01-01T00:00:00+00:00');

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO runs (id, kind, trigger, status, started_at, finished_at, scheduled_for, folder,
                  total_bytes, object_count, error)
SELECT i,
       CASE WHEN i % 25 = 0 THEN 'verify' WHEN i % 97 = 0 THEN 'restore' ELSE 'backup' END,
       CASE WHEN i % 7 = 0 THEN 'manual' ELSE 'scheduled' END,
       CASE WHEN i % 25 = 0 THEN (CASE WHEN i % 200 = 100 THEN 'failed' ELSE 'success' END)
            WHEN i % 97 = 0 THEN 'success'
            WHEN i % 31 = 0 THEN 'failed'
            WHEN i % 53 = 0 THEN 'partial'
            WHEN i % 89 = 0 THEN 'skipped'
            ELSE 'success' END,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', printf('-%d hours', 10001 - i)),
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', printf('-%d hours', 10001 - i),
                printf('+%d seconds', 60 + (i * 37) % 900)),
       CASE WHEN i % 7 = 0 THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', printf('-%d hours', 10001 - i)) END,
       'backups/' || strftime('%Y-%m-%dT%H%M%SZ', 'now', printf('-%d hours', 10001 - i)),
       50000000 + i * 1000 + (i * 7919) % 5000000,
       2,
       CASE WHEN i % 31 = 0 AND i % 25 <> 0 AND i % 97 <> 0
            THEN '{"key":"run.error.no_sources"}' END
FROM n;

-- A verification checks the backup made just before it.
UPDATE runs SET folder = (SELECT b.folder FROM runs b WHERE b.id = runs.id - 1)
WHERE kind = 'verify';

INSERT INTO run_sources (run_id, source, kind, outcome, object_key, error)
SELECT id, 'erp', 'postgres', CASE WHEN status = 'partial' THEN 'failed' ELSE 'stored' END,
       CASE WHEN status = 'partial' THEN NULL ELSE folder || '/erp.sql.zst' END,
       CASE WHEN status = 'partial' THEN '{"key":"run.error.unknown"}' END
FROM runs WHERE kind = 'backup' AND status IN ('success', 'partial');
INSERT INTO run_sources (run_id, source, kind, outcome, object_key)
SELECT id, 'files', 'directory', 'stored', folder || '/files.tar.zst'
FROM runs WHERE kind = 'backup' AND status IN ('success', 'partial');

INSERT INTO run_objects (run_id, source, key, size, sha256)
SELECT run_id, source, object_key, 25000000 + run_id * 100, printf('%064d', run_id)
FROM run_sources WHERE outcome = 'stored';
