//! The firings the scheduler could not run, as it records them in the run history:
//! skipped, or no job to run. The runs it starts are recorded by the runner.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::ScheduleError;
use crate::db::runs::{self, Outcome, RunId, Trigger};

/// Records a firing skipped because another run was in progress.
pub async fn record_skipped(
    pool: &SqlitePool,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<RunId, ScheduleError> {
    Ok(runs::record_skipped(
        pool,
        slot,
        now,
        &crate::lang::Message::new("run.warning.skipped"),
    )
    .await?)
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
