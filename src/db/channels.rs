//! The `channels` table (each notification channel, its secrets sealed for its row) and
//! the deliveries made through them, one per (run, channel, event), with each attempt.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::crypto::{CryptoError, MasterKey, Slot, purpose};
use crate::db::runs::RunId;
use crate::lang::Message;

#[derive(Debug, thiserror::Error)]
pub enum ChannelsError {
    #[error("channels: {step}: {source}")]
    Db {
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("channels: {0}")]
    Crypto(#[from] CryptoError),
    #[error("channels: reading the run: {0}")]
    Run(String),
}

fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> ChannelsError {
    move |source| ChannelsError::Db { step, source }
}

/// A channel as stored: its secrets still sealed.
#[derive(Debug, Clone, FromRow)]
pub struct StoredChannel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub url_shown: String,
    pub url_sealed: Option<Vec<u8>>,
    pub token_sealed: Option<Vec<u8>>,
    pub secret_sealed: Option<Vec<u8>>,
    pub events: String,
    pub created_at: DateTime<Utc>,
}

/// What a new channel holds, its secrets in clear until sealed here.
pub struct NewChannel<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    pub url_shown: &'a str,
    pub token: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub events: &'a str,
}

/// The secrets of a channel, opened.
pub struct Opened {
    pub url: String,
    pub token: Option<String>,
    pub secret: Option<String>,
}

const COLUMNS: &str =
    "id, name, kind, url_shown, url_sealed, token_sealed, secret_sealed, events, created_at";

/// The page whose change log records channels added and removed.
pub const CHANGES_PAGE: &str = "notifications";

/// Stores a channel, sealing its URL, token and secret for its row, and records who added
/// it; returns its id.
pub async fn create(
    pool: &SqlitePool,
    key: &MasterKey,
    channel: &NewChannel<'_>,
    username: &str,
) -> Result<i64, ChannelsError> {
    let mut tx = pool.begin().await.map_err(failed("adding a channel"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO channels (name, kind, url_shown, events, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )
    .bind(channel.name)
    .bind(channel.kind)
    .bind(channel.url_shown)
    .bind(channel.events)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await
    .map_err(failed("adding a channel"))?;
    let seal = |purpose: &'static str, value: Option<&str>| {
        value
            .map(|value| key.seal(&Slot::new(purpose, id), value))
            .transpose()
    };
    sqlx::query(
        "UPDATE channels SET url_sealed = ?1, token_sealed = ?2, secret_sealed = ?3 WHERE id = ?4",
    )
    .bind(seal(purpose::CHANNEL_URL, Some(channel.url))?)
    .bind(seal(purpose::CHANNEL_TOKEN, channel.token)?)
    .bind(seal(purpose::CHANNEL_SECRET, channel.secret)?)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(failed("sealing a channel's secrets"))?;
    let what = crate::lang::Message::new("changes.channel_added")
        .with("name", channel.name)
        .with("kind", channel.kind);
    crate::db::changes::record(&mut *tx, username, CHANGES_PAGE, &[what])
        .await
        .map_err(failed("recording a channel's addition"))?;
    tx.commit().await.map_err(failed("adding a channel"))?;
    Ok(id)
}

impl StoredChannel {
    /// The channel's URL, token and secret in clear.
    pub fn open(&self, key: &MasterKey) -> Result<Opened, CryptoError> {
        let open = |purpose: &'static str, sealed: &Option<Vec<u8>>| {
            sealed
                .as_deref()
                .map(|sealed| key.open(&Slot::new(purpose, self.id), sealed))
                .transpose()
        };
        Ok(Opened {
            url: open(purpose::CHANNEL_URL, &self.url_sealed)?.unwrap_or_default(),
            token: open(purpose::CHANNEL_TOKEN, &self.token_sealed)?,
            secret: open(purpose::CHANNEL_SECRET, &self.secret_sealed)?,
        })
    }
}

/// Every channel, oldest first.
pub async fn list(pool: &SqlitePool) -> Result<Vec<StoredChannel>, ChannelsError> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM channels ORDER BY id"))
        .fetch_all(pool)
        .await
        .map_err(failed("listing channels"))
}

pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<StoredChannel>, ChannelsError> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM channels WHERE id = ?1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(failed("reading a channel"))
}

/// Removes channel `id`, recording who did; false when there is none. Its past deliveries
/// stay.
pub async fn remove(pool: &SqlitePool, id: i64, username: &str) -> Result<bool, ChannelsError> {
    let mut tx = pool.begin().await.map_err(failed("removing a channel"))?;
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM channels WHERE id = ?1 RETURNING name")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed("removing a channel"))?;
    let Some(name) = name else {
        return Ok(false);
    };
    let what = crate::lang::Message::new("changes.channel_removed").with("name", &name);
    crate::db::changes::record(&mut *tx, username, CHANGES_PAGE, &[what])
        .await
        .map_err(failed("recording a channel's removal"))?;
    tx.commit().await.map_err(failed("removing a channel"))?;
    Ok(true)
}

/// Records a delivery about to be made. `None` when this channel already has one for
/// this run and event: each is delivered once.
pub async fn begin_delivery(
    pool: &SqlitePool,
    run_id: Option<RunId>,
    channel: &StoredChannel,
    event: &str,
) -> Result<Option<i64>, ChannelsError> {
    sqlx::query_scalar(
        "INSERT INTO channel_deliveries (run_id, channel_id, channel_name, channel_kind, event, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(run_id)
    .bind(channel.id)
    .bind(&channel.name)
    .bind(&channel.kind)
    .bind(event)
    .bind(Utc::now())
    .fetch_optional(pool)
    .await
    .map_err(failed("recording a channel delivery"))
}

/// Records attempt number `attempt` of delivery `id`: `ok` when delivered, `last` when no
/// other attempt follows.
pub async fn record_attempt(
    pool: &SqlitePool,
    id: i64,
    attempt: i64,
    outcome: &Message,
    ok: bool,
    last: bool,
) -> Result<(), ChannelsError> {
    let now = Utc::now();
    let mut tx = pool.begin().await.map_err(failed("recording an attempt"))?;
    sqlx::query(
        "INSERT INTO channel_attempts (delivery_id, attempt, at, outcome, ok) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(id)
    .bind(attempt)
    .bind(now)
    .bind(outcome.to_stored())
    .bind(ok)
    .execute(&mut *tx)
    .await
    .map_err(failed("recording an attempt"))?;
    sqlx::query(
        "UPDATE channel_deliveries SET attempts = ?1, error = ?2, sent_at = ?3, finished_at = ?4 \
         WHERE id = ?5",
    )
    .bind(attempt)
    .bind((!ok).then(|| outcome.to_stored()))
    .bind(ok.then_some(now))
    .bind((ok || last).then_some(now))
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(failed("recording an attempt"))?;
    tx.commit().await.map_err(failed("recording an attempt"))?;
    Ok(())
}

/// One delivery through a channel, with its attempts.
#[derive(Debug, Clone, FromRow)]
pub struct ChannelDelivery {
    pub id: i64,
    pub run_id: Option<RunId>,
    pub channel_name: String,
    pub channel_kind: String,
    pub event: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    pub tries: Vec<AttemptRecord>,
}

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub ok: bool,
}

impl AttemptRecord {
    pub fn outcome(&self) -> Message {
        Message::from_stored(&self.outcome)
    }
}

/// The channel deliveries about a run, oldest first, each with its attempts.
pub async fn deliveries_for_run(
    pool: &SqlitePool,
    run_id: RunId,
) -> Result<Vec<ChannelDelivery>, ChannelsError> {
    let mut deliveries: Vec<ChannelDelivery> = sqlx::query_as(
        "SELECT id, run_id, channel_name, channel_kind, event, attempts, error, sent_at, \
         finished_at FROM channel_deliveries WHERE run_id = ?1 ORDER BY id",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .map_err(failed("reading a run's channel deliveries"))?;
    for delivery in &mut deliveries {
        delivery.tries = sqlx::query_as(
            "SELECT attempt, at, outcome, ok FROM channel_attempts WHERE delivery_id = ?1 \
             ORDER BY attempt",
        )
        .bind(delivery.id)
        .fetch_all(pool)
        .await
        .map_err(failed("reading a delivery's attempts"))?;
    }
    Ok(deliveries)
}

/// Deletes the channel deliveries a stopped process left unfinished and returns the run
/// and event each was about, to be delivered again.
pub async fn take_back_unfinished(
    pool: &SqlitePool,
) -> Result<Vec<(Option<RunId>, String)>, ChannelsError> {
    sqlx::query_as(
        "DELETE FROM channel_deliveries WHERE finished_at IS NULL RETURNING run_id, event",
    )
    .fetch_all(pool)
    .await
    .map_err(failed("taking back unfinished channel deliveries"))
}
