//! What the pages show of the state of the backups: whether an account exists, the
//! settings, the sources, the newest backup, success and verification, each source's last
//! stored backup, the recent backups for the charts, what the complete ones weigh and the
//! first-run checklist. Read in one transaction, and kept until the database changes:
//! triggers raise a number on every change to the tables it comes from
//! (`data_generation`), whichever process made it, so a page reads that one row instead
//! of every statement. What depends on the time (overdue, the next run) is worked out from
//! it on each page.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use crate::app::AppState;
use crate::db::overview::{self, ChartRun, SourceStored, Usage};
use crate::db::runs::{self, Run, RunId};
use crate::db::sources::Source;
use crate::schedule::{Overdue, Plan, check_overdue_idle};
use crate::settings::Settings;
use crate::web::checklist;
use crate::web::error::WebError;

/// The most recent backups the overview's charts may show.
pub const RECENT: u32 = 90;

/// The state of the backups as of one value of the generation.
pub struct Snapshot {
    generation: i64,
    pub has_account: bool,
    pub settings: Settings,
    pub sources: Vec<Source>,
    /// A run in progress, as the history records it.
    pub running: Option<RunId>,
    /// The newest backup that ended, whatever its outcome.
    pub last_ended: Option<Run>,
    pub last_success: Option<Run>,
    /// The newest verification that ended.
    pub last_verification: Option<Run>,
    /// What became of each source in `last_ended`: (source, `stored` | `failed`).
    pub last_outcomes: Vec<(String, String)>,
    /// Each source's newest stored backup, in the order of `sources`.
    pub stored: Vec<Option<SourceStored>>,
    /// The newest `RECENT` backups that ended, oldest first.
    pub recent: Vec<ChartRun>,
    /// The complete backups retention keeps.
    pub usage: Usage,
    pub checklist: checklist::Facts,
}

impl Snapshot {
    /// The value of the database's change counter this snapshot is of.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// The latest verification, while it failed.
    pub fn failed_verification(&self) -> Option<&Run> {
        self.last_verification
            .as_ref()
            .filter(|run| run.status.is_failure())
    }

    /// Whether backups are overdue at `now`. Not while a run is in progress: it may be the
    /// one that is late.
    pub fn overdue(&self, now: DateTime<Utc>) -> Option<Overdue> {
        self.overdue_under(&Plan::from_settings(&self.settings)?, now)
    }

    /// The overdue banner in `locale` at `now`, times in the schedule's zone.
    pub fn overdue_banner(&self, now: DateTime<Utc>, locale: &str) -> Option<String> {
        let plan = Plan::from_settings(&self.settings)?;
        let overdue = self.overdue_under(&plan, now)?;
        Some(overdue.banner(locale, plan.tz.tz()))
    }

    fn overdue_under(&self, plan: &Plan, now: DateTime<Utc>) -> Option<Overdue> {
        let last_success = self
            .last_success
            .as_ref()
            .map(|run| run.finished_at.unwrap_or(run.started_at));
        check_overdue_idle(plan, self.running.is_some(), last_success, now)
    }

    /// The newest `count` of the recent backups, oldest first.
    pub fn recent(&self, count: u32) -> &[ChartRun] {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        &self.recent[self.recent.len().saturating_sub(count)..]
    }
}

/// The snapshot kept between requests.
#[derive(Clone, Default)]
pub struct Snapshots {
    kept: Arc<Mutex<Option<Arc<Snapshot>>>>,
    /// Held while one request reads a new snapshot, so that the others wait for it
    /// instead of each reading its own.
    loading: Arc<tokio::sync::Mutex<()>>,
}

impl Snapshots {
    /// The state of the backups now: the kept snapshot while the database has not changed
    /// since it was read, otherwise a new one.
    pub async fn current(&self, pool: &SqlitePool) -> Result<Arc<Snapshot>, WebError> {
        let generation = generation(pool).await?;
        if let Some(kept) = self.kept_at(generation) {
            return Ok(kept);
        }
        let _loading = self.loading.lock().await;
        // Another request may have read it while this one waited.
        if let Some(kept) = self.kept_at(generation) {
            return Ok(kept);
        }
        let snapshot = Arc::new(read(pool).await?);
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// The kept snapshot, if it was read at `generation`. Any other value, lower too (a
    /// database put back from a copy), means it may be out of date.
    fn kept_at(&self, generation: i64) -> Option<Arc<Snapshot>> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|kept| kept.generation == generation)
            .cloned()
    }
}

/// Values worked out from the database (a page of the history, say), each kept for the
/// generation it was read at and all dropped once the database changes; at most
/// `capacity` at a time.
pub struct Kept<K, V> {
    capacity: usize,
    entries: Mutex<(i64, HashMap<K, Arc<V>>)>,
}

impl<K: Eq + Hash, V> Kept<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new((i64::MIN, HashMap::new())),
        }
    }

    /// The value kept for `key` at `generation`.
    pub fn get(&self, generation: i64, key: &K) -> Option<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        (entries.0 == generation)
            .then(|| entries.1.get(key).cloned())
            .flatten()
    }

    /// Keeps `value` for `key`, read at `generation`: those of another generation go.
    pub fn put(&self, generation: i64, key: K, value: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if generation != entries.0 || entries.1.len() >= self.capacity {
            entries.1.clear();
            entries.0 = generation;
        }
        entries.1.insert(key, value);
    }
}

const GENERATION: &str = "SELECT n FROM data_generation WHERE id = 1";

async fn generation(db: impl sqlx::SqliteExecutor<'_>) -> Result<i64, WebError> {
    sqlx::query_scalar(GENERATION)
        .fetch_one(db)
        .await
        .map_err(internal("reading whether the backups changed"))
}

/// Reads a snapshot in one read transaction, so that all of it is of one generation.
async fn read(pool: &SqlitePool) -> Result<Snapshot, WebError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(internal("starting to read the state of the backups"))?;
    let snapshot = read_in(&mut tx).await?;
    tx.commit()
        .await
        .map_err(internal("ending the read of the state of the backups"))?;
    Ok(snapshot)
}

async fn read_in(db: &mut SqliteConnection) -> Result<Snapshot, WebError> {
    let generation = generation(&mut *db).await?;
    let has_account = crate::db::users::any_exists(&mut *db)
        .await
        .map_err(internal("checking for accounts"))?;
    let settings = crate::db::settings::load(&mut *db).await?;
    let sources = crate::db::sources::list(&mut *db).await?;
    let running = runs::running(&mut *db)
        .await
        .map_err(internal("looking for a running run"))?;
    let last_ended = runs::latest_ended_backup(&mut *db)
        .await
        .map_err(internal("reading the last backup"))?;
    let last_success = runs::latest_success(&mut *db)
        .await
        .map_err(internal("reading the last success"))?;
    let last_verification = runs::latest_ended_verification(&mut *db)
        .await
        .map_err(internal("reading the last verification"))?;
    let last_outcomes = match &last_ended {
        Some(run) => overview::source_outcomes(&mut *db, run.id)
            .await
            .map_err(internal("reading the last backup's sources"))?,
        None => Vec::new(),
    };
    let mut stored = Vec::with_capacity(sources.len());
    for source in &sources {
        stored.push(
            overview::last_stored(&mut *db, source.name.as_str())
                .await
                .map_err(internal("reading a source's last backup"))?,
        );
    }
    let recent = overview::recent_backups(&mut *db, RECENT)
        .await
        .map_err(internal("reading the recent backups"))?;
    let limit = settings.backup_limit;
    let keep = (!limit.keeps_all()).then(|| limit.get());
    let usage = overview::complete_backups(&mut *db, keep)
        .await
        .map_err(internal("summing the complete backups"))?;
    let checklist = checklist::Facts::load(
        &mut *db,
        &settings,
        !sources.is_empty(),
        last_success.is_some(),
    )
    .await
    .map_err(internal("reading the checklist"))?;
    Ok(Snapshot {
        generation,
        has_account,
        settings,
        sources,
        running,
        last_ended,
        last_success,
        last_verification,
        last_outcomes,
        stored,
        recent,
        usage,
        checklist,
    })
}

fn internal<E: std::fmt::Display>(action: &'static str) -> impl FnOnce(E) -> WebError {
    move |e| WebError::internal(action, e)
}

/// The state of the backups of one request, read once: by the gate, or by the first
/// handler that asks.
#[derive(Clone)]
pub struct Current(pub Arc<Snapshot>);

impl FromRequestParts<AppState> for Current {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(current) = parts.extensions.get::<Current>() {
            return Ok(current.clone());
        }
        let current = Current(state.snapshots.current(&state.pool).await?);
        parts.extensions.insert(current.clone());
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn generation_of(pool: &SqlitePool) -> i64 {
        generation(pool).await.expect("generation")
    }

    /// Each table the snapshot is read from, with a change of each kind to it.
    const CHANGES: [(&str, &str); 14] = [
        (
            "users",
            "INSERT INTO users (username, password_hash, created_at) VALUES ('u', 'x', 'now')",
        ),
        ("users", "DELETE FROM users"),
        ("settings", "UPDATE settings SET bucket = 'b'"),
        (
            "email_account",
            "UPDATE email_account SET smtp_host = 'mail.example.com'",
        ),
        (
            "sources",
            "INSERT INTO sources (name, kind, location, created_at) \
             VALUES ('s', 'directory', '/tmp', 'now')",
        ),
        ("sources", "DELETE FROM sources"),
        (
            "setup_checks",
            "INSERT INTO setup_checks (name, fingerprint, passed_at) \
             VALUES ('bucket', 'f', '2026-01-01T00:00:00Z')",
        ),
        ("setup_checks", "DELETE FROM setup_checks"),
        (
            "runs",
            "INSERT INTO runs (id, kind, trigger, status, started_at) \
             VALUES (1, 'backup', 'manual', 'running', '2026-01-01T00:00:00Z')",
        ),
        (
            "run_sources",
            "INSERT INTO run_sources (run_id, source, kind, outcome) \
             VALUES (1, 's', 'directory', 'stored')",
        ),
        (
            "run_objects",
            "INSERT INTO run_objects (run_id, source, key, size, sha256) \
             VALUES (1, 's', 'k', 1, 'h')",
        ),
        ("run_objects", "DELETE FROM run_objects"),
        ("runs", "UPDATE runs SET status = 'success' WHERE id = 1"),
        ("runs", "DELETE FROM runs"),
    ];

    #[tokio::test]
    async fn every_change_to_what_pages_show_raises_the_generation() {
        let (_dir, pool) = crate::db::temporary().await;
        for (table, change) in CHANGES {
            let before = generation_of(&pool).await;
            sqlx::query(change)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{table}: {change}: {e}"));
            assert!(
                generation_of(&pool).await > before,
                "{table}: {change} left the generation as it was"
            );
        }
    }

    #[tokio::test]
    async fn progress_of_a_running_run_leaves_the_generation() {
        let (_dir, pool) = crate::db::temporary().await;
        let run = runs::create(&pool, runs::Trigger::Manual, None)
            .await
            .expect("run");
        let before = generation_of(&pool).await;
        runs::update_progress(&pool, run, &Default::default())
            .await
            .expect("progress");
        assert_eq!(generation_of(&pool).await, before);
    }

    #[tokio::test]
    async fn the_kept_snapshot_serves_until_the_history_changes() {
        let (_dir, pool) = crate::db::temporary().await;
        let snapshots = Snapshots::default();
        let first = snapshots.current(&pool).await.expect("snapshot");
        let again = snapshots.current(&pool).await.expect("snapshot");
        assert!(Arc::ptr_eq(&first, &again), "nothing changed: the same one");
        assert!(first.running.is_none());

        let run = runs::create(&pool, runs::Trigger::Manual, None)
            .await
            .expect("run");
        let after = snapshots.current(&pool).await.expect("snapshot");
        assert!(!Arc::ptr_eq(&first, &after));
        assert_eq!(after.running, Some(run), "the new run is seen at once");
    }

    #[tokio::test]
    async fn a_change_made_by_another_process_is_seen_at_once() {
        let (dir, pool) = crate::db::temporary().await;
        let snapshots = Snapshots::default();
        assert!(
            snapshots
                .current(&pool)
                .await
                .expect("snapshot")
                .sources
                .is_empty()
        );
        // The command line opens the same file with a pool of its own.
        let other = crate::db::open(&dir.path().join("db.sqlite3"))
            .await
            .expect("second pool");
        sqlx::query(
            "INSERT INTO sources (name, kind, location, created_at) \
             VALUES ('erp', 'directory', '/srv', 'now')",
        )
        .execute(&other)
        .await
        .expect("insert");
        let names: Vec<String> = snapshots
            .current(&pool)
            .await
            .expect("snapshot")
            .sources
            .iter()
            .map(|s| s.name.as_str().to_owned())
            .collect();
        assert_eq!(names, ["erp"]);
    }

    #[test]
    fn kept_values_go_when_the_generation_moves_on() {
        let kept = Kept::new(2);
        kept.put(5, "a", Arc::new(1));
        assert_eq!(kept.get(5, &"a").as_deref(), Some(&1));
        assert_eq!(kept.get(6, &"a"), None, "read before a change");
        kept.put(5, "b", Arc::new(2));
        kept.put(5, "c", Arc::new(3));
        assert_eq!(kept.get(5, &"a"), None, "at most two kept");
        assert_eq!(kept.get(5, &"c").as_deref(), Some(&3));
        kept.put(6, "a", Arc::new(4));
        assert_eq!(kept.get(6, &"a").as_deref(), Some(&4));
        assert_eq!(kept.get(6, &"c"), None);
    }

    #[tokio::test]
    async fn the_charts_take_the_newest_of_the_recent_backups() {
        let (_dir, pool) = crate::db::temporary().await;
        for _ in 0..3 {
            let run = runs::create(&pool, runs::Trigger::Manual, None)
                .await
                .expect("run");
            let stored = runs::Stored {
                folder: format!("b/{run}"),
                total_bytes: 1,
                object_count: 1,
                warning: None,
            };
            runs::finish(&pool, run, &runs::Outcome::Success(stored))
                .await
                .expect("finish");
        }
        let snapshot = Snapshots::default().current(&pool).await.expect("snapshot");
        let all: Vec<RunId> = snapshot.recent(30).iter().map(|r| r.id).collect();
        let newest: Vec<RunId> = snapshot.recent(2).iter().map(|r| r.id).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(newest, all[1..].to_vec());
    }
}
