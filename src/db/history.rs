//! What the history page and a run's live progress read: a page of runs filtered by status
//! and kind, the log lines written after those already shown, what a running run stored so
//! far, and the previous successful backup of the same sources (what a backup expects).
//! Every query reads an index from the newest end; none goes through the whole history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::runs::{
    RUN_COLUMNS, Run, RunId, RunKind, RunPage, RunRow, RunStatus, RunsError, Verification, failed,
};
use crate::backup::{Expected, ProgressSnapshot};
use crate::lang::Message;

/// Which runs the history shows: all of them, or those of one status, one kind, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    pub kind: Option<RunKind>,
}

impl RunFilter {
    /// `WHERE …` for the filter, its values bound first (kind, then status).
    fn condition(&self) -> &'static str {
        match (self.kind, self.status) {
            (None, None) => "",
            (Some(_), None) => "WHERE kind = ?",
            (None, Some(_)) => "WHERE status = ?",
            (Some(_), Some(_)) => "WHERE kind = ? AND status = ?",
        }
    }

    fn page_sql(&self) -> String {
        format!(
            "SELECT {RUN_COLUMNS} FROM runs {} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
            self.condition()
        )
    }

    /// The count from the totals the triggers keep per kind and status, not from the runs.
    fn count_sql(&self) -> String {
        format!(
            "SELECT COALESCE(SUM(runs), 0) FROM run_totals {}",
            self.condition()
        )
    }

    fn values(&self) -> impl Iterator<Item = &'static str> {
        let kind = self.kind.map(RunKind::as_str);
        let status = self.status.map(RunStatus::as_str);
        kind.into_iter().chain(status)
    }
}

/// A page of the runs `filter` lets through (1-based), newest first, with their count.
pub async fn page(
    pool: &SqlitePool,
    filter: &RunFilter,
    page: u32,
    per_page: u32,
) -> Result<RunPage, RunsError> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let offset = i64::from(page - 1) * i64::from(per_page);
    let sql = filter.page_sql();
    let mut query = sqlx::query_as::<_, RunRow>(&sql);
    for value in filter.values() {
        query = query.bind(value);
    }
    let rows = query
        .bind(i64::from(per_page))
        .bind(offset)
        .fetch_all(pool)
        .await
        .map_err(failed("listing runs"))?;
    let sql = filter.count_sql();
    let mut count = sqlx::query_scalar::<_, i64>(&sql);
    for value in filter.values() {
        count = count.bind(value);
    }
    let total = count
        .fetch_one(pool)
        .await
        .map_err(failed("counting runs"))?;
    Ok(RunPage {
        runs: rows.into_iter().map(Run::from).collect(),
        total,
        page,
        per_page,
    })
}

/// A line of a run's log with its number, so that a reader can ask for those after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub level: String,
    pub message: Message,
}

#[derive(FromRow)]
struct LogLineRow {
    id: i64,
    at: DateTime<Utc>,
    level: String,
    message: String,
}

/// The first `limit` lines of run `run`'s log after line `after` (0: from the start).
pub async fn log_after(
    pool: &SqlitePool,
    run: RunId,
    after: i64,
    limit: u32,
) -> Result<Vec<LogLine>, RunsError> {
    let rows: Vec<LogLineRow> = sqlx::query_as(
        "SELECT id, at, level, message FROM run_logs WHERE run_id = ?1 AND id > ?2 \
         ORDER BY id LIMIT ?3",
    )
    .bind(run)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(failed("reading a run's log"))?;
    Ok(rows
        .into_iter()
        .map(|row| LogLine {
            id: row.id,
            at: row.at,
            level: row.level,
            message: Message::from_stored(&row.message),
        })
        .collect())
}

/// The objects a run has stored so far, and their bytes in all.
pub async fn stored_so_far(pool: &SqlitePool, run: RunId) -> Result<(i64, i64), RunsError> {
    sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM run_objects WHERE run_id = ?1")
        .bind(run)
        .fetch_one(pool)
        .await
        .map_err(failed("counting a run's objects"))
}

/// How many of the newest successful backups are looked at for one of the same sources.
const EARLIER_RUNS: i64 = 20;

#[derive(FromRow)]
struct EarlierRun {
    id: i64,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    progress: Option<String>,
}

/// What the newest successful backup of exactly `sources` (among the last few) read and
/// how long it took; `None` when there is none, or it did not record what it read.
pub async fn previous_success_of(
    pool: &SqlitePool,
    sources: &[String],
) -> Result<Option<Expected>, RunsError> {
    let mut wanted: Vec<&str> = sources.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let earlier: Vec<EarlierRun> = sqlx::query_as(
        "SELECT id, started_at, finished_at, progress FROM runs \
         WHERE kind = 'backup' AND status = 'success' ORDER BY id DESC LIMIT ?1",
    )
    .bind(EARLIER_RUNS)
    .fetch_all(pool)
    .await
    .map_err(failed("reading the earlier backups"))?;
    for run in earlier {
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT source FROM run_sources WHERE run_id = ?1 AND outcome = 'stored' \
             ORDER BY source",
        )
        .bind(run.id)
        .fetch_all(pool)
        .await
        .map_err(failed("reading an earlier backup's sources"))?;
        if stored != wanted {
            continue;
        }
        let read = run
            .progress
            .and_then(|json| serde_json::from_str::<ProgressSnapshot>(&json).ok())
            .map_or(0, |progress| progress.bytes_read);
        let Some(finished_at) = run.finished_at.filter(|_| read > 0) else {
            return Ok(None);
        };
        let seconds = (finished_at - run.started_at).num_seconds().max(1);
        return Ok(Some(Expected {
            bytes: read,
            seconds: u64::try_from(seconds).unwrap_or(1),
        }));
    }
    Ok(None)
}

/// The latest finished verification of each of `folders` (keys), for a page of the history.
pub async fn verifications_of(
    pool: &SqlitePool,
    folders: &[String],
) -> Result<HashMap<String, Verification>, RunsError> {
    if folders.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = verifications_sql(folders.len());
    let mut query = sqlx::query_as::<_, (String, RunId, String, DateTime<Utc>)>(&sql);
    for folder in folders {
        query = query.bind(folder);
    }
    let rows = query
        .fetch_all(pool)
        .await
        .map_err(failed("reading the verifications"))?;
    Ok(rows
        .into_iter()
        .map(|(folder, run_id, status, at)| {
            let passed = status == "success";
            (folder, Verification { run_id, passed, at })
        })
        .collect())
}

fn verifications_sql(folders: usize) -> String {
    let places = vec!["?"; folders].join(", ");
    format!(
        "SELECT folder, id, status, finished_at FROM runs INDEXED BY runs_kind_folder \
         WHERE kind = 'verify' AND folder IN ({places}) AND finished_at IS NOT NULL \
         AND status IN ('success', 'failed') ORDER BY id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of `sql`, one line per step.
    async fn plan(pool: &SqlitePool, sql: &str, values: usize) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..values {
            query = query.bind("x");
        }
        query
            .fetch_all(pool)
            .await
            .expect("explain")
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect()
    }

    #[tokio::test]
    async fn every_filter_of_the_history_reads_an_index_and_sorts_nothing_whole() {
        let (_dir, pool) = crate::db::temporary().await;
        let filters = [None, Some(RunStatus::Failed)]
            .into_iter()
            .flat_map(|status| {
                [None, Some(RunKind::Verify)]
                    .into_iter()
                    .map(move |kind| RunFilter { status, kind })
            });
        for filter in filters {
            let values = filter.values().count();
            let sql = filter.page_sql();
            let steps = plan(&pool, &sql, values + 2).await;
            for step in &steps {
                assert!(
                    !step.starts_with("SCAN runs") || step.contains("INDEX"),
                    "{filter:?}: {sql}: {steps:?}"
                );
                assert!(
                    !step.contains("B-TREE FOR ORDER BY"),
                    "{filter:?} sorts the whole history: {steps:?}"
                );
            }
            if values > 0 {
                assert!(
                    steps.iter().any(|step| step.starts_with("SEARCH runs")),
                    "{filter:?}: {sql}: {steps:?}"
                );
            }
            // The pager's count reads the kept totals, never the runs.
            let sql = filter.count_sql();
            let steps = plan(&pool, &sql, values).await;
            assert!(
                steps.iter().all(|step| step.contains("run_totals")),
                "{filter:?}: {sql}: {steps:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_verifications_of_a_page_are_found_by_folder() {
        let (_dir, pool) = crate::db::temporary().await;
        let steps = plan(&pool, &verifications_sql(2), 2).await;
        assert!(
            steps.iter().any(|step| step.contains("runs_kind_folder")),
            "{steps:?}"
        );
    }
}
