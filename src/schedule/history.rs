//! What the scheduler reads and writes in the run history: the newest firing handled, and
//! the firings it could not run (skipped, or no job to run). The runs it starts are
//! recorded by the runner.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::ScheduleError;
use crate::db::runs::{self, Outcome, RunId, Trigger};

/// The newest firing recorded in the history, whatever became of it.
pub async fn latest_slot(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    sqlx::query_scalar("SELECT MAX(scheduled_for) FROM runs WHERE scheduled_for IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(ScheduleError::db("reading the last scheduled run"))
}

/// Whether a run is in progress.
pub async fn running(pool: &SqlitePool) -> Result<bool, ScheduleError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE status = 'running'")
        .fetch_one(pool)
        .await
        .map_err(ScheduleError::db("looking for a running backup"))?;
    Ok(count > 0)
}

/// Records a firing skipped because another run was in progress.
pub async fn record_skipped(
    pool: &SqlitePool,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<RunId, ScheduleError> {
    sqlx::query_scalar(
        "INSERT INTO runs (trigger, status, started_at, finished_at, scheduled_for, warning) \
         VALUES ('scheduled', 'skipped', ?1, ?1, ?2, ?3) RETURNING id",
    )
    .bind(now)
    .bind(slot)
    .bind(crate::lang::Message::new("run.warning.skipped").to_stored())
    .fetch_one(pool)
    .await
    .map_err(ScheduleError::db("recording a skipped run"))
}

/// Records a firing whose job could not be built (e.g. no source, a secret that does not
/// decrypt) as a failed run, so it shows in the history and is mailed.
pub async fn record_not_started(
    pool: &SqlitePool,
    slot: DateTime<Utc>,
    error: &str,
) -> Result<RunId, ScheduleError> {
    let id = runs::create(pool, Trigger::Scheduled, Some(slot)).await?;
    let outcome = Outcome::Failed {
        error: crate::lang::Message::new("run.error.not_started").detail(error),
        folder: None,
    };
    runs::finish(pool, id, &outcome).await?;
    Ok(id)
}
