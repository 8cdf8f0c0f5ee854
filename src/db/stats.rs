//! Figures about the backup history, for the health check and the metrics endpoint.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .map(|_| ())
}

/// How many runs of each kind ended (or are) in each status: (kind, status, count).
pub async fn runs_by_kind_and_status(
    pool: &SqlitePool,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, status, COUNT(*) FROM runs GROUP BY kind, status ORDER BY kind, status",
    )
    .fetch_all(pool)
    .await
}

/// The latest finished backup: status, start, end, bytes.
pub async fn last_finished(
    pool: &SqlitePool,
) -> Result<Option<(i64, String, DateTime<Utc>, DateTime<Utc>, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, status, started_at, finished_at, total_bytes FROM runs
         WHERE kind = 'backup' AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

pub async fn last_success_at(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT finished_at FROM runs WHERE kind = 'backup' AND status = 'success' \
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

/// When the latest verification that passed ended.
pub async fn last_verified_at(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT finished_at FROM runs WHERE kind = 'verify' AND status = 'success' \
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

/// Bytes stored per source by one run.
pub async fn bytes_per_source(
    pool: &SqlitePool,
    run: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT source, SUM(size) FROM run_objects WHERE run_id = ?1 GROUP BY source ORDER BY source")
        .bind(run)
        .fetch_all(pool)
        .await
}
