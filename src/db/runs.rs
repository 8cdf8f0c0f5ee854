//! The run history: `runs`, `run_objects` and `run_logs`. A run starts `running` and ends
//! `success`, `failed`, `interrupted` or (a firing that never started) `skipped`; every
//! change of status goes through `transition`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor, SqlitePool};

use crate::backup::manifest::FailedSource;
use crate::backup::{ProgressSnapshot, StoredObject};
use crate::lang::Message;

pub type RunId = i64;

#[derive(Debug, thiserror::Error)]
#[error("run history: {step}: {source}")]
pub struct RunsError {
    step: &'static str,
    #[source]
    source: sqlx::Error,
}

pub(super) fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> RunsError {
    move |source| RunsError { step, source }
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    Backup,
    Restore,
    Verify,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Verify => "verify",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "restore" => Self::Restore,
            "verify" => Self::Verify,
            _ => Self::Backup,
        }
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// "Backup now" in the browser.
    Manual,
    Scheduled,
    /// `s3-backup backup`.
    Cli,
    /// `POST /api/v1/…` with a token.
    Api,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Scheduled => "scheduled",
            Self::Cli => "cli",
            Self::Api => "api",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "scheduled" => Self::Scheduled,
            "cli" => Self::Cli,
            "api" => Self::Api,
            _ => Self::Manual,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Running,
    Success,
    /// Some sources failed; the others were stored. Reported like a failure, never counted
    /// as a complete backup.
    Partial,
    Failed,
    /// The process stopped while the run was in progress.
    Interrupted,
    Skipped,
}

impl RunStatus {
    /// Ended without doing what it was for: failed, or cut short.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Interrupted)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }

    pub const ALL: [RunStatus; 6] = [
        Self::Running,
        Self::Success,
        Self::Partial,
        Self::Failed,
        Self::Interrupted,
        Self::Skipped,
    ];

    fn parse(value: &str) -> Self {
        match value {
            "running" => Self::Running,
            "success" => Self::Success,
            "partial" => Self::Partial,
            "interrupted" => Self::Interrupted,
            "skipped" => Self::Skipped,
            _ => Self::Failed,
        }
    }

    /// Only a running run changes status, and only to an end state. `Skipped` is only
    /// reached by `record_skipped`, in the transaction that created the run.
    pub fn can_become(self, next: RunStatus) -> bool {
        self == Self::Running
            && matches!(
                next,
                Self::Success | Self::Partial | Self::Failed | Self::Interrupted | Self::Skipped
            )
    }
}

/// One row of `runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub kind: RunKind,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub folder: Option<String>,
    pub total_bytes: i64,
    pub object_count: i64,
    pub error: Option<Message>,
    pub warning: Option<Message>,
    pub progress: Option<ProgressSnapshot>,
    /// What a restore was asked to do (JSON), for its page.
    pub request: Option<String>,
}

#[derive(FromRow)]
pub(super) struct RunRow {
    id: i64,
    kind: String,
    trigger: String,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    scheduled_for: Option<DateTime<Utc>>,
    folder: Option<String>,
    total_bytes: i64,
    object_count: i64,
    error: Option<String>,
    warning: Option<String>,
    progress: Option<String>,
    request: Option<String>,
}

impl From<RunRow> for Run {
    fn from(row: RunRow) -> Self {
        Self {
            id: row.id,
            kind: RunKind::parse(&row.kind),
            trigger: Trigger::parse(&row.trigger),
            status: RunStatus::parse(&row.status),
            started_at: row.started_at,
            finished_at: row.finished_at,
            scheduled_for: row.scheduled_for,
            folder: row.folder,
            total_bytes: row.total_bytes,
            object_count: row.object_count,
            error: row.error.as_deref().map(Message::from_stored),
            warning: row.warning.as_deref().map(Message::from_stored),
            progress: row
                .progress
                .and_then(|json| serde_json::from_str(&json).ok()),
            request: row.request,
        }
    }
}

pub(super) const RUN_COLUMNS: &str = "id, kind, trigger, status, started_at, finished_at, scheduled_for, folder, \
     total_bytes, object_count, error, warning, progress, request";

/// An object a run stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RunObject {
    pub source: String,
    pub key: String,
    pub size: i64,
    pub sha256: String,
}

/// A line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLog {
    pub at: DateTime<Utc>,
    pub level: String,
    pub message: Message,
}

#[derive(FromRow)]
struct LogRow {
    at: DateTime<Utc>,
    level: String,
    message: String,
}

/// A source a run could not back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub source: String,
    pub kind: String,
    pub error: Message,
}

#[derive(FromRow)]
struct FailureRow {
    source: String,
    kind: String,
    error: Option<String>,
}

/// A run with everything recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    pub run: Run,
    /// The objects it stored that are still there.
    pub objects: Vec<RunObject>,
    /// The sources it could not back up.
    pub failed: Vec<RunFailure>,
    pub logs: Vec<RunLog>,
}

/// One page of the history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    pub runs: Vec<Run>,
    /// Runs in the whole history.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// What a run that stored something stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub folder: String,
    pub total_bytes: u64,
    pub object_count: u64,
    pub warning: Option<Message>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success(Stored),
    /// Some sources failed (`error` says which); the others are stored.
    Partial {
        stored: Stored,
        error: Message,
    },
    Failed {
        error: Message,
        /// The folder the run was writing to, if it got that far.
        folder: Option<String>,
    },
}

/// Records a new backup as running.
pub async fn create(
    pool: &SqlitePool,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<RunId, RunsError> {
    insert_running(
        pool,
        RunKind::Backup,
        trigger,
        Utc::now(),
        scheduled_for,
        None,
    )
    .await
}

/// Records a new run of `kind` as running, with what it was asked to do (and the firing of
/// its schedule it is for, if any).
pub async fn create_operation(
    pool: &SqlitePool,
    kind: RunKind,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
    request: Option<&str>,
) -> Result<RunId, RunsError> {
    insert_running(pool, kind, trigger, Utc::now(), scheduled_for, request).await
}

async fn insert_running(
    executor: impl SqliteExecutor<'_>,
    kind: RunKind,
    trigger: Trigger,
    started_at: DateTime<Utc>,
    scheduled_for: Option<DateTime<Utc>>,
    request: Option<&str>,
) -> Result<RunId, RunsError> {
    sqlx::query_scalar(
        "INSERT INTO runs (kind, trigger, status, started_at, scheduled_for, request) \
         VALUES (?1, ?2, 'running', ?3, ?4, ?5) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(trigger.as_str())
    .bind(started_at)
    .bind(scheduled_for)
    .bind(request)
    .fetch_one(executor)
    .await
    .map_err(failed("creating a run"))
}

/// Records a scheduled firing that did not start (another run was in progress) at `now`,
/// with `warning` saying why: created running and ended skipped in one transaction, so
/// no one sees it running.
pub async fn record_skipped(
    pool: &SqlitePool,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
    warning: &Message,
) -> Result<RunId, RunsError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed("recording a skipped run"))?;
    let id = insert_running(
        &mut *tx,
        RunKind::Backup,
        Trigger::Scheduled,
        now,
        Some(slot),
        None,
    )
    .await?;
    let ending = Ending {
        warning: Some(warning.clone()),
        ..Ending::default()
    };
    transition(&mut *tx, Some(id), RunStatus::Skipped, now, ending).await?;
    tx.commit()
        .await
        .map_err(failed("recording a skipped run"))?;
    Ok(id)
}

/// Records the folder a running run writes to, as soon as it is chosen: if the process
/// dies, the next start knows which folder to clean.
pub async fn set_folder(pool: &SqlitePool, run: RunId, folder: &str) -> Result<(), RunsError> {
    sqlx::query("UPDATE runs SET folder = ?1 WHERE id = ?2 AND status = 'running'")
        .bind(folder)
        .bind(run)
        .execute(pool)
        .await
        .map_err(failed("recording a run's folder"))?;
    Ok(())
}

/// The folders of the newest `limit` runs that ended `failed` or `interrupted` after
/// choosing one, newest first: where a dead or failed run may have left objects.
pub async fn unfinished_folders(pool: &SqlitePool, limit: u32) -> Result<Vec<String>, RunsError> {
    sqlx::query_scalar(
        "SELECT folder FROM runs WHERE kind = 'backup' AND status IN ('failed', 'interrupted') \
         AND folder IS NOT NULL ORDER BY id DESC LIMIT ?1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(failed("listing the folders of unfinished runs"))
}

pub async fn append_log(
    pool: &SqlitePool,
    run: RunId,
    level: &str,
    message: &Message,
) -> Result<(), RunsError> {
    sqlx::query("INSERT INTO run_logs (run_id, at, level, message) VALUES (?1, ?2, ?3, ?4)")
        .bind(run)
        .bind(Utc::now())
        .bind(level)
        .bind(message.to_stored())
        .execute(pool)
        .await
        .map_err(failed("adding a log line"))?;
    Ok(())
}

/// The message of a run's last log line.
pub async fn last_log(pool: &SqlitePool, run: RunId) -> Result<Option<Message>, RunsError> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT message FROM run_logs WHERE run_id = ?1 ORDER BY id DESC LIMIT 1",
    )
    .bind(run)
    .fetch_optional(pool)
    .await
    .map_err(failed("reading a run's last log line"))?;
    Ok(last.as_deref().map(Message::from_stored))
}

/// Records an object the run stored, and its source as stored.
pub async fn record_object(
    pool: &SqlitePool,
    run: RunId,
    object: &StoredObject,
) -> Result<(), RunsError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed("recording an object"))?;
    sqlx::query(
        "INSERT INTO run_objects (run_id, source, key, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(run)
    .bind(&object.source)
    .bind(&object.key)
    .bind(i64::try_from(object.size).unwrap_or(i64::MAX))
    .bind(&object.sha256)
    .execute(&mut *tx)
    .await
    .map_err(failed("recording an object"))?;
    sqlx::query(
        "INSERT INTO run_sources (run_id, source, kind, outcome, object_key) \
         VALUES (?1, ?2, ?3, 'stored', ?4)",
    )
    .bind(run)
    .bind(&object.source)
    .bind(&object.kind)
    .bind(&object.key)
    .execute(&mut *tx)
    .await
    .map_err(failed("recording a source's outcome"))?;
    tx.commit().await.map_err(failed("recording an object"))?;
    Ok(())
}

/// Records a source the run could not back up.
pub async fn record_failed_source(
    pool: &SqlitePool,
    run: RunId,
    source: &FailedSource,
) -> Result<(), RunsError> {
    sqlx::query(
        "INSERT INTO run_sources (run_id, source, kind, outcome, error) \
         VALUES (?1, ?2, ?3, 'failed', ?4)",
    )
    .bind(run)
    .bind(&source.source)
    .bind(&source.kind)
    .bind(source.message.to_stored())
    .execute(pool)
    .await
    .map_err(failed("recording a failed source"))?;
    Ok(())
}

/// The run removed an object it had stored (it failed as a whole): the object is gone.
pub async fn forget_object(pool: &SqlitePool, run: RunId, key: &str) -> Result<(), RunsError> {
    sqlx::query("DELETE FROM run_objects WHERE run_id = ?1 AND key = ?2")
        .bind(run)
        .bind(key)
        .execute(pool)
        .await
        .map_err(failed("forgetting a removed object"))?;
    Ok(())
}

pub async fn update_progress(
    pool: &SqlitePool,
    run: RunId,
    progress: &ProgressSnapshot,
) -> Result<(), RunsError> {
    let json = serde_json::to_string(progress).unwrap_or_default();
    sqlx::query("UPDATE runs SET progress = ?1 WHERE id = ?2 AND status = 'running'")
        .bind(json)
        .bind(run)
        .execute(pool)
        .await
        .map_err(failed("updating progress"))?;
    Ok(())
}

/// Ends a running run. Returns false if the run was not running (already ended).
pub async fn finish(pool: &SqlitePool, run: RunId, outcome: &Outcome) -> Result<bool, RunsError> {
    let stored_ending = |stored: &Stored| Ending {
        folder: Some(stored.folder.clone()),
        total_bytes: stored.total_bytes,
        object_count: stored.object_count,
        error: None,
        warning: stored.warning.clone(),
    };
    let (status, ending) = match outcome {
        Outcome::Success(stored) => (RunStatus::Success, stored_ending(stored)),
        Outcome::Partial { stored, error } => (
            RunStatus::Partial,
            Ending {
                error: Some(error.clone()),
                ..stored_ending(stored)
            },
        ),
        Outcome::Failed { error, folder } => (
            RunStatus::Failed,
            Ending {
                folder: folder.clone(),
                error: Some(error.clone()),
                ..Ending::default()
            },
        ),
    };
    transition(pool, Some(run), status, Utc::now(), ending)
        .await
        .map(|changed| changed > 0)
}

/// At start-up: runs still `running` belong to a process that died; they are over.
/// Returns how many were marked.
pub async fn mark_interrupted_at_startup(pool: &SqlitePool) -> Result<u64, RunsError> {
    transition(
        pool,
        None,
        RunStatus::Interrupted,
        Utc::now(),
        Ending {
            error: Some(Message::new("run.error.interrupted")),
            ..Ending::default()
        },
    )
    .await
}

/// The run marked `running`, if any (the newest).
pub async fn running(db: impl sqlx::SqliteExecutor<'_>) -> Result<Option<RunId>, RunsError> {
    sqlx::query_scalar("SELECT id FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
        .fetch_optional(db)
        .await
        .map_err(failed("looking for a running run"))
}

#[derive(Default)]
struct Ending {
    folder: Option<String>,
    total_bytes: u64,
    object_count: u64,
    error: Option<Message>,
    warning: Option<Message>,
}

/// The one place a run's status changes: from `running` to an end state at `at`, for one
/// run or (with `None`) all running runs.
async fn transition(
    executor: impl SqliteExecutor<'_>,
    run: Option<RunId>,
    to: RunStatus,
    at: DateTime<Utc>,
    ending: Ending,
) -> Result<u64, RunsError> {
    if !RunStatus::Running.can_become(to) {
        return Ok(0);
    }
    let result = sqlx::query(
        "UPDATE runs SET status = ?1, finished_at = ?2, folder = COALESCE(?3, folder), \
         total_bytes = ?4, object_count = ?5, error = ?6, warning = ?7 \
         WHERE status = 'running' AND (?8 IS NULL OR id = ?8)",
    )
    .bind(to.as_str())
    .bind(at)
    .bind(ending.folder)
    .bind(i64::try_from(ending.total_bytes).unwrap_or(i64::MAX))
    .bind(i64::try_from(ending.object_count).unwrap_or(i64::MAX))
    .bind(ending.error.as_ref().map(Message::to_stored))
    .bind(ending.warning.as_ref().map(Message::to_stored))
    .bind(run)
    .execute(executor)
    .await
    .map_err(failed("ending a run"))?;
    Ok(result.rows_affected())
}

/// A page of the history (1-based), newest first, with the total count.
pub async fn list(pool: &SqlitePool, page: u32, per_page: u32) -> Result<RunPage, RunsError> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let offset = i64::from(page - 1) * i64::from(per_page);
    let rows: Vec<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1 OFFSET ?2"
    ))
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(pool)
    .await
    .map_err(failed("listing runs"))?;
    // The totals the triggers keep, rather than counting every run.
    let total: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(runs), 0) FROM run_totals")
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

/// The newest `limit` runs (at most 500), only those of `status` if given.
pub async fn latest(
    pool: &SqlitePool,
    limit: u32,
    status: Option<RunStatus>,
) -> Result<Vec<Run>, RunsError> {
    // Two statements, so that each reads its index (`runs_status_started`, `runs_started`)
    // from the newest end and stops at `limit`.
    let limit = i64::from(limit.clamp(1, 500));
    let by_status = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE status = ?2 \
         ORDER BY started_at DESC, id DESC LIMIT ?1"
    );
    let all = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1");
    let rows: Vec<RunRow> = match status {
        Some(status) => sqlx::query_as(&by_status).bind(limit).bind(status.as_str()),
        None => sqlx::query_as(&all).bind(limit),
    }
    .fetch_all(pool)
    .await
    .map_err(failed("listing the latest runs"))?;
    Ok(rows.into_iter().map(Run::from).collect())
}

/// The newest backup that ended (success, partial, failed or interrupted; not skipped).
/// Read through `runs_started` from the newest end, which stops at the first match, rather
/// than by sorting every backup found through `runs_kind_status`.
pub async fn latest_ended_backup(
    db: impl sqlx::SqliteExecutor<'_>,
) -> Result<Option<Run>, RunsError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs INDEXED BY runs_started WHERE kind = 'backup' \
         AND status IN ('success', 'partial', 'failed', 'interrupted') \
         ORDER BY started_at DESC, id DESC LIMIT 1"
    ))
    .fetch_optional(db)
    .await
    .map_err(failed("reading the latest backup"))?;
    Ok(row.map(Run::from))
}

/// The newest verification that ended, whatever its outcome.
pub async fn latest_ended_verification(
    db: impl sqlx::SqliteExecutor<'_>,
) -> Result<Option<Run>, RunsError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE kind = 'verify' AND finished_at IS NOT NULL \
         ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(db)
    .await
    .map_err(failed("reading the latest verification"))?;
    Ok(row.map(Run::from))
}

/// One run's row alone, without its objects and log.
pub async fn run(pool: &SqlitePool, id: RunId) -> Result<Option<Run>, RunsError> {
    let row: Option<RunRow> =
        sqlx::query_as(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"))
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(failed("reading a run"))?;
    Ok(row.map(Run::from))
}

/// A run with its objects and log.
pub async fn get(pool: &SqlitePool, run: RunId) -> Result<Option<RunDetail>, RunsError> {
    let Some(found) = self::run(pool, run).await? else {
        return Ok(None);
    };
    let objects = sqlx::query_as(
        "SELECT source, key, size, sha256 FROM run_objects WHERE run_id = ?1 ORDER BY id",
    )
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(failed("reading a run's objects"))?;
    let logs: Vec<LogRow> =
        sqlx::query_as("SELECT at, level, message FROM run_logs WHERE run_id = ?1 ORDER BY id")
            .bind(run)
            .fetch_all(pool)
            .await
            .map_err(failed("reading a run's log"))?;
    let failures: Vec<FailureRow> = sqlx::query_as(
        "SELECT source, kind, error FROM run_sources \
         WHERE run_id = ?1 AND outcome = 'failed' ORDER BY id",
    )
    .bind(run)
    .fetch_all(pool)
    .await
    .map_err(failed("reading a run's failed sources"))?;
    Ok(Some(RunDetail {
        run: found,
        objects,
        failed: failures
            .into_iter()
            .map(|row| RunFailure {
                source: row.source,
                kind: row.kind,
                error: row
                    .error
                    .as_deref()
                    .map_or_else(|| Message::new("run.error.unknown"), Message::from_stored),
            })
            .collect(),
        logs: logs
            .into_iter()
            .map(|row| RunLog {
                at: row.at,
                level: row.level,
                message: Message::from_stored(&row.message),
            })
            .collect(),
    }))
}

/// The folder (key) each run that stored something wrote to, with the run's id.
pub async fn by_folder(pool: &SqlitePool) -> Result<Vec<(String, RunId)>, RunsError> {
    sqlx::query_as(
        "SELECT folder, id FROM runs WHERE kind = 'backup' AND folder IS NOT NULL \
         AND status IN ('success', 'partial') ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .map_err(failed("reading the runs' folders"))
}

/// The newest successful backup.
pub async fn latest_success(db: impl sqlx::SqliteExecutor<'_>) -> Result<Option<Run>, RunsError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE kind = 'backup' AND status = 'success' \
         ORDER BY started_at DESC, id DESC LIMIT 1"
    ))
    .fetch_optional(db)
    .await
    .map_err(failed("reading the latest successful run"))?;
    Ok(row.map(Run::from))
}

/// The newest firing recorded in the history, whatever became of it.
pub async fn latest_scheduled_for(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, RunsError> {
    sqlx::query_scalar(
        "SELECT MAX(scheduled_for) FROM runs WHERE kind = 'backup' AND scheduled_for IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(failed("reading the last scheduled run"))
}

/// The newest scheduled run, whatever its status (the scheduler's catch-up looks at it).
pub async fn last_scheduled(pool: &SqlitePool) -> Result<Option<Run>, RunsError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE kind = 'backup' AND trigger = 'scheduled' \
         ORDER BY COALESCE(scheduled_for, started_at) DESC, id DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
    .map_err(failed("reading the last scheduled run"))?;
    Ok(row.map(Run::from))
}

/// The latest finished verification of a backup folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub run_id: RunId,
    pub passed: bool,
    pub at: DateTime<Utc>,
}

/// The latest finished verification of each folder (key), for the catalogue and history.
pub async fn verifications(
    pool: &SqlitePool,
) -> Result<std::collections::HashMap<String, Verification>, RunsError> {
    let rows: Vec<(String, RunId, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT folder, id, status, finished_at FROM runs \
         WHERE kind = 'verify' AND folder IS NOT NULL AND finished_at IS NOT NULL \
         AND status IN ('success', 'failed') ORDER BY id",
    )
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

/// The newest firing of a schedule a run of `kind` was started for.
pub async fn latest_slot(
    pool: &SqlitePool,
    kind: RunKind,
) -> Result<Option<DateTime<Utc>>, RunsError> {
    sqlx::query_scalar("SELECT MAX(scheduled_for) FROM runs WHERE kind = ?1")
        .bind(kind.as_str())
        .fetch_one(pool)
        .await
        .map_err(failed("reading the latest run of a kind"))
}

/// Records that a download found an object of the backup in `folder` not as its manifest
/// says: a failed verification of that backup, for its catalogue entry and the banner.
pub async fn record_failed_check(
    pool: &SqlitePool,
    folder: &str,
    error: &Message,
) -> Result<RunId, RunsError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed("recording a failed check"))?;
    let now = Utc::now();
    let id = insert_running(&mut *tx, RunKind::Verify, Trigger::Manual, now, None, None).await?;
    let ending = Ending {
        folder: Some(folder.to_owned()),
        error: Some(error.clone()),
        ..Ending::default()
    };
    transition(&mut *tx, Some(id), RunStatus::Failed, now, ending).await?;
    tx.commit()
        .await
        .map_err(failed("recording a failed check"))?;
    Ok(id)
}
