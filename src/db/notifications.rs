//! The `notifications` table: each notification mail, who it went to, how many attempts
//! it took and why it failed, for the run's page.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::db::runs::RunId;
use crate::lang::Message;

#[derive(Debug, thiserror::Error)]
#[error("notifications: {step}: {source}")]
pub struct NotificationsError {
    step: &'static str,
    #[source]
    source: sqlx::Error,
}

fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> NotificationsError {
    move |source| NotificationsError { step, source }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RunFailed,
    RunSucceeded,
    Overdue,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunFailed => "run_failed",
            Self::RunSucceeded => "run_succeeded",
            Self::Overdue => "overdue",
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Sent,
    /// Not sent yet; another attempt is due.
    Trying,
    /// Given up: `error` says why.
    Failed,
}

/// One notification mail and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Delivery {
    pub id: i64,
    pub run_id: Option<RunId>,
    pub kind: String,
    /// The addresses, separated by ", ".
    pub recipients: String,
    pub attempts: i64,
    /// The last attempt's problem, a stored `Message` (read it with `problem`).
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// Why the last attempt failed, to show in the reader's language.
    pub fn problem(&self) -> Option<Message> {
        self.error.as_deref().map(Message::from_stored)
    }

    pub fn state(&self) -> DeliveryState {
        match (self.sent_at, self.finished_at) {
            (Some(_), _) => DeliveryState::Sent,
            (None, None) => DeliveryState::Trying,
            (None, Some(_)) => DeliveryState::Failed,
        }
    }
}

const COLUMNS: &str =
    "id, run_id, kind, recipients, attempts, error, sent_at, created_at, finished_at";

/// The notifications about a run, oldest first.
pub async fn deliveries_for_run(
    pool: &SqlitePool,
    run_id: RunId,
) -> Result<Vec<Delivery>, NotificationsError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE run_id = ?1 ORDER BY id"
    ))
    .bind(run_id)
    .fetch_all(pool)
    .await
    .map_err(failed("reading a run's notifications"))
}

/// Notifications of one kind, newest first (the overdue alerts, in tests and pages).
pub async fn latest_of_kind(
    pool: &SqlitePool,
    kind: Kind,
    limit: i64,
) -> Result<Vec<Delivery>, NotificationsError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE kind = ?1 ORDER BY created_at DESC, id DESC \
         LIMIT ?2"
    ))
    .bind(kind.as_str())
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(failed("reading notifications"))
}

/// One notification.
pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<Delivery>, NotificationsError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = ?1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(failed("reading a notification"))
}

/// Records a notification about to be sent. `None` when this run already has one of
/// this kind: a run is reported once.
pub async fn begin(
    pool: &SqlitePool,
    run_id: Option<RunId>,
    kind: Kind,
    recipients: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, NotificationsError> {
    sqlx::query_scalar(
        "INSERT INTO notifications (run_id, kind, recipients, attempts, created_at) \
         VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(run_id)
    .bind(kind.as_str())
    .bind(recipients)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(failed("recording a notification"))
}

/// How an attempt went.
pub enum Attempt<'a> {
    Sent,
    Failed { error: &'a str, last: bool },
}

pub async fn record_attempt(
    pool: &SqlitePool,
    id: i64,
    attempts: i64,
    attempt: Attempt<'_>,
) -> Result<(), NotificationsError> {
    let now = Utc::now();
    let (error, sent_at, finished_at) = match attempt {
        Attempt::Sent => (None, Some(now), Some(now)),
        Attempt::Failed { error, last } => (Some(error), None, last.then_some(now)),
    };
    sqlx::query(
        "UPDATE notifications SET attempts = ?1, error = ?2, sent_at = ?3, finished_at = ?4 \
         WHERE id = ?5",
    )
    .bind(attempts)
    .bind(error)
    .bind(sent_at)
    .bind(finished_at)
    .bind(id)
    .execute(pool)
    .await
    .map_err(failed("recording a delivery attempt"))?;
    Ok(())
}

/// Deletes the notifications a stopped process left unfinished and returns the runs they
/// were about (`None` for an overdue alert).
pub async fn take_back_unfinished(
    pool: &SqlitePool,
) -> Result<Vec<Option<RunId>>, NotificationsError> {
    sqlx::query_scalar("DELETE FROM notifications WHERE finished_at IS NULL RETURNING run_id")
        .fetch_all(pool)
        .await
        .map_err(failed("taking back unsent notifications"))
}

/// The runs interrupted since `since` that no notification is about, oldest first.
pub async fn unreported_interrupted_runs(
    pool: &SqlitePool,
    since: DateTime<Utc>,
) -> Result<Vec<RunId>, NotificationsError> {
    sqlx::query_scalar(
        "SELECT id FROM runs WHERE status = 'interrupted' AND finished_at >= ?1 \
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.run_id = runs.id) \
         ORDER BY id",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .map_err(failed("listing interrupted runs"))
}

/// Whether an overdue alert was recorded after `since` (or ever, with `None`): it is
/// sent once per stretch without a successful backup.
pub async fn overdue_alert_recorded_after(
    pool: &SqlitePool,
    since: Option<DateTime<Utc>>,
) -> Result<bool, NotificationsError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE kind = 'overdue' \
         AND (?1 IS NULL OR created_at > ?1)",
    )
    .bind(since)
    .fetch_one(pool)
    .await
    .map_err(failed("looking for an overdue alert"))?;
    Ok(count > 0)
}
