//! The SQLite database: opening, migrating, and the queries of each table in its own module.

pub mod runs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// Opens (creating if needed) and migrates the database file.
pub async fn open(path: &Path) -> Result<SqlitePool, DbError> {
    let shown = path.display().to_string();
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|source| DbError::Open {
            path: shown.clone(),
            source,
        })?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Open {
            path: shown.clone(),
            source,
        })?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|source| DbError::Migrate {
            path: shown,
            source,
        })?;
    Ok(pool)
}

pub mod changes;
pub mod channels;
pub mod checks;
pub mod email_account;
pub mod history;
pub mod login_failures;
pub mod notifications;
pub mod overview;
pub mod secrets;
pub mod settings;
pub mod source_outcomes;
pub mod sources;
pub mod stats;
pub mod tokens;
pub mod users;

/// A migrated database in a temporary folder, for unit tests; the folder goes with it.
#[cfg(test)]
pub(crate) async fn temporary() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = open(&dir.path().join("db.sqlite3"))
        .await
        .expect("database");
    (dir, pool)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database as an earlier version left it: migrated up to (not including) `version`.
    async fn database_before(path: &Path, version: i64) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePool::connect_with(options).await.expect("database");
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.migrations = Cow::Owned(
            migrator
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        );
        migrator.run(&pool).await.expect("earlier migrations");
        pool
    }

    #[tokio::test]
    async fn api_tokens_migration_keeps_the_history_and_lets_runs_come_from_the_api() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s3-backup.sqlite3");
        let old = database_before(&path, 12).await;
        for statement in [
            "INSERT INTO runs (id, kind, trigger, status, started_at, request) \
             VALUES (3, 'verify', 'manual', 'success', '2026-11-01T02:00:00Z', '{}')",
            "INSERT INTO run_objects (run_id, source, key, size, sha256) \
             VALUES (3, 'files', 'b/files.tar.zst', 10, 'ab')",
            "INSERT INTO run_logs (run_id, at, level, message) \
             VALUES (3, '2026-11-01T02:00:01Z', 'info', 'checked')",
            "INSERT INTO notifications (run_id, kind, created_at) \
             VALUES (3, 'run_succeeded', '2026-11-01T02:00:02Z')",
            "INSERT INTO run_sources (run_id, source, kind, outcome) \
             VALUES (3, 'files', 'directory', 'stored')",
        ] {
            sqlx::query(statement).execute(&old).await.expect(statement);
        }
        old.close().await;

        let pool = open(&path).await.expect("migrates");
        for table in [
            "runs",
            "run_objects",
            "run_logs",
            "notifications",
            "run_sources",
        ] {
            let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .expect(table);
            assert_eq!(count, 1, "{table} kept its rows");
        }
        let kept = runs::get(&pool, 3).await.expect("read").expect("the run");
        assert_eq!(kept.run.kind, runs::RunKind::Verify);
        assert_eq!(kept.run.request.as_deref(), Some("{}"));
        let id = runs::create(&pool, runs::Trigger::Api, None)
            .await
            .expect("a run from the API");
        let run = runs::get(&pool, id).await.expect("read").expect("the run");
        assert_eq!(run.run.trigger, runs::Trigger::Api);
        sqlx::query("DELETE FROM runs WHERE id = 3")
            .execute(&pool)
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_sources")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(left, 0, "the references survived the rebuild");
        let violations: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&pool)
            .await
            .expect("check");
        assert!(violations.is_empty());
    }

    #[tokio::test]
    async fn partial_runs_migration_keeps_the_history_and_what_refers_to_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s3-backup.sqlite3");
        let old = database_before(&path, 5).await;
        for statement in [
            "INSERT INTO runs (id, trigger, status, started_at, error) \
             VALUES (7, 'manual', 'failed', '2026-11-01T02:00:00Z', 'listing: AccessDenied')",
            "INSERT INTO run_objects (run_id, source, key, size, sha256) \
             VALUES (7, 'files', 'b/files.tar.zst', 10, 'ab')",
            "INSERT INTO run_logs (run_id, at, level, message) \
             VALUES (7, '2026-11-01T02:00:01Z', 'info', 'backing up 1 source(s)')",
            "INSERT INTO notifications (run_id, kind, created_at, recipients) \
             VALUES (7, 'run_failed', '2026-11-01T02:00:02Z', 'ops@example.com')",
        ] {
            sqlx::query(statement).execute(&old).await.expect(statement);
        }
        old.close().await;

        let pool = open(&path).await.expect("migrates");
        for (table, expected) in [
            ("runs", 1),
            ("run_objects", 1),
            ("run_logs", 1),
            ("notifications", 1),
        ] {
            let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .expect(table);
            assert_eq!(count, expected, "{table} kept its rows");
        }
        let run = runs::get(&pool, 7).await.expect("read").expect("the run");
        assert_eq!(run.run.status, runs::RunStatus::Failed);
        assert_eq!(run.objects.len(), 1);
        assert_eq!(
            run.run.error.and_then(|e| e.detail).as_deref(),
            Some("listing: AccessDenied"),
            "old plain-text errors read back as a quoted detail"
        );
        // The references survived the rebuild: deleting the run still cascades.
        sqlx::query("DELETE FROM runs WHERE id = 7")
            .execute(&pool)
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_logs")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(left, 0);
        let violations: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&pool)
            .await
            .expect("check");
        assert!(violations.is_empty());
    }
}
