//! What the overview reads about the history: each source's last stored backup, the newest
//! backups for the charts, what the complete backups weigh, and counts kept by triggers
//! (`run_totals`). Every statement searches an index; none reads the whole history.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::runs::RunId;

#[derive(Debug, thiserror::Error)]
#[error("overview: {step}: {source}")]
pub struct OverviewError {
    step: &'static str,
    #[source]
    source: sqlx::Error,
}

fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> OverviewError {
    move |source| OverviewError { step, source }
}

/// The newest backup that stored a source (a success, or a partial run in which this source
/// was stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStored {
    pub run: RunId,
    pub finished_at: DateTime<Utc>,
    /// The bytes of the source's objects in that backup.
    pub bytes: i64,
}

pub const LAST_STORED: &str = "SELECT rs.run_id, COALESCE(r.finished_at, r.started_at), \
     (SELECT COALESCE(SUM(o.size), 0) FROM run_objects o \
      WHERE o.run_id = rs.run_id AND o.source = rs.source) \
     FROM run_sources rs JOIN runs r ON r.id = rs.run_id \
     WHERE rs.source = ?1 AND rs.outcome = 'stored' AND r.kind = 'backup' \
     AND r.status IN ('success', 'partial') ORDER BY rs.run_id DESC LIMIT 1";

pub async fn last_stored(
    db: impl sqlx::SqliteExecutor<'_>,
    source: &str,
) -> Result<Option<SourceStored>, OverviewError> {
    let row: Option<(RunId, DateTime<Utc>, i64)> = sqlx::query_as(LAST_STORED)
        .bind(source)
        .fetch_optional(db)
        .await
        .map_err(failed("reading a source's last backup"))?;
    Ok(row.map(|(run, finished_at, bytes)| SourceStored {
        run,
        finished_at,
        bytes,
    }))
}

pub const SOURCE_OUTCOMES: &str =
    "SELECT source, outcome FROM run_sources WHERE run_id = ?1 ORDER BY id";

/// What became of each source in run `run`: (source, `stored` | `failed`).
pub async fn source_outcomes(
    db: impl sqlx::SqliteExecutor<'_>,
    run: RunId,
) -> Result<Vec<(String, String)>, OverviewError> {
    sqlx::query_as(SOURCE_OUTCOMES)
        .bind(run)
        .fetch_all(db)
        .await
        .map_err(failed("reading a run's sources"))
}

/// A backup as a chart shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChartRun {
    pub id: RunId,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub total_bytes: i64,
}

pub const RECENT_BACKUPS: &str = "SELECT id, status, started_at, finished_at, total_bytes \
     FROM runs WHERE kind = 'backup' \
     AND status IN ('success', 'partial', 'failed', 'interrupted') AND finished_at IS NOT NULL \
     ORDER BY started_at DESC, id DESC LIMIT ?1";

/// The newest `limit` backups that ended (skipped firings aside), oldest first.
pub async fn recent_backups(
    db: impl sqlx::SqliteExecutor<'_>,
    limit: u32,
) -> Result<Vec<ChartRun>, OverviewError> {
    let mut runs: Vec<ChartRun> = sqlx::query_as(RECENT_BACKUPS)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(db)
        .await
        .map_err(failed("reading the recent backups"))?;
    runs.reverse();
    Ok(runs)
}

/// What the complete backups weigh, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub backups: i64,
    pub bytes: i64,
}

pub const NEWEST_COMPLETE: &str = "SELECT COUNT(*), COALESCE(SUM(total_bytes), 0) FROM \
     (SELECT total_bytes FROM runs WHERE kind = 'backup' AND status = 'success' \
      ORDER BY started_at DESC, id DESC LIMIT ?1)";

pub const TOTALS_OF: &str = "SELECT COALESCE(SUM(runs), 0), COALESCE(SUM(bytes), 0) FROM run_totals \
     WHERE kind = ?1 AND status = ?2";

/// The complete (successful) backups that retention keeps: the newest `keep`, or all of
/// them when `keep` is `None`.
pub async fn complete_backups(
    db: impl sqlx::SqliteExecutor<'_>,
    keep: Option<u32>,
) -> Result<Usage, OverviewError> {
    let (backups, bytes): (i64, i64) = match keep {
        Some(keep) => sqlx::query_as(NEWEST_COMPLETE).bind(i64::from(keep)),
        None => sqlx::query_as(TOTALS_OF).bind("backup").bind("success"),
    }
    .fetch_one(db)
    .await
    .map_err(failed("summing the complete backups"))?;
    Ok(Usage { backups, bytes })
}

pub const ALL_RUNS: &str = "SELECT COALESCE(SUM(runs), 0) FROM run_totals";

/// How many runs the history holds, read from the totals the triggers keep.
pub async fn run_count(pool: &SqlitePool) -> Result<i64, OverviewError> {
    sqlx::query_scalar(ALL_RUNS)
        .fetch_one(pool)
        .await
        .map_err(failed("counting the runs"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::{self, Outcome, Stored, Trigger};

    async fn backup(pool: &SqlitePool, bytes: u64, ok: bool) -> RunId {
        let id = runs::create(pool, Trigger::Manual, None)
            .await
            .expect("run");
        let outcome = if ok {
            Outcome::Success(Stored {
                folder: format!("b/{id}"),
                total_bytes: bytes,
                object_count: 1,
                warning: None,
            })
        } else {
            Outcome::Failed {
                error: crate::lang::Message::new("run.error.unknown"),
                folder: None,
            }
        };
        runs::finish(pool, id, &outcome).await.expect("finish");
        id
    }

    #[tokio::test]
    async fn totals_follow_runs_as_they_start_end_and_go() {
        let (_dir, pool) = crate::db::temporary().await;
        backup(&pool, 100, true).await;
        let second = backup(&pool, 250, true).await;
        backup(&pool, 0, false).await;
        runs::create(&pool, Trigger::Manual, None)
            .await
            .expect("running");
        assert_eq!(run_count(&pool).await.expect("count"), 4);
        let all = complete_backups(&pool, None).await.expect("usage");
        assert_eq!(
            all,
            Usage {
                backups: 2,
                bytes: 350
            }
        );
        let newest = complete_backups(&pool, Some(1)).await.expect("usage");
        assert_eq!(
            newest,
            Usage {
                backups: 1,
                bytes: 250
            }
        );
        sqlx::query("DELETE FROM runs WHERE id = ?1")
            .bind(second)
            .execute(&pool)
            .await
            .expect("delete");
        assert_eq!(run_count(&pool).await.expect("count"), 3);
        let left = complete_backups(&pool, None).await.expect("usage");
        assert_eq!(
            left,
            Usage {
                backups: 1,
                bytes: 100
            }
        );
    }

    #[tokio::test]
    async fn recent_backups_are_the_newest_ended_ones_oldest_first() {
        let (_dir, pool) = crate::db::temporary().await;
        let ids = [
            backup(&pool, 1, true).await,
            backup(&pool, 2, false).await,
            backup(&pool, 3, true).await,
        ];
        runs::create(&pool, Trigger::Manual, None)
            .await
            .expect("running");
        let recent = recent_backups(&pool, 2).await.expect("recent");
        let got: Vec<RunId> = recent.iter().map(|r| r.id).collect();
        assert_eq!(got, vec![ids[1], ids[2]]);
        assert_eq!(recent[1].total_bytes, 3);
    }

    /// Each statement the overview and the history run, with example parameters.
    const STATEMENTS: [(&str, &str); 6] = [
        ("last stored", LAST_STORED),
        ("source outcomes", SOURCE_OUTCOMES),
        ("recent backups", RECENT_BACKUPS),
        ("newest complete", NEWEST_COMPLETE),
        ("totals of", TOTALS_OF),
        ("all runs", ALL_RUNS),
    ];

    #[tokio::test]
    async fn no_statement_of_the_overview_scans_the_runs() {
        let (_dir, pool) = crate::db::temporary().await;
        for (name, sql) in STATEMENTS {
            // Parameters left unbound read as NULL: the plan does not depend on them.
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(&pool)
                    .await
                    .expect(name);
            let details: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            assert!(!details.is_empty(), "{name}: a plan is read");
            for detail in &details {
                let mut words = detail.split_whitespace();
                let scans_a_history_table = words.next() == Some("SCAN")
                    && words.next().is_some_and(|table| {
                        ["runs", "run_sources", "run_objects", "r", "rs", "o"].contains(&table)
                    });
                assert!(
                    !scans_a_history_table,
                    "{name} scans the history: {details:?}"
                );
            }
        }
    }
}
