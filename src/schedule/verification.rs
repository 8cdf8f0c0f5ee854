//! Verifications on their own: after every successful backup, or weekly or monthly at the
//! backup time (on the backup's weekday or day of the month, in the settings' time zone),
//! always of the latest complete backup. A verification never runs during another run:
//! when one is due while the runner is busy, it starts once the runner is free.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::{Notify, broadcast};

use super::clock::Clock;
use crate::backup::restore::BackupChoice;
use crate::backup::{RunFinished, Runner, StartError};
use crate::crypto::MasterKey;
use crate::db::runs::{self, RunId, RunKind, RunStatus, Trigger};
use crate::settings::{Frequency, Schedule, Settings, VerifySchedule};

/// What the verification scheduler needs.
pub struct VerifierParts {
    pub pool: SqlitePool,
    pub key: MasterKey,
    pub runner: Runner,
    pub clock: Arc<dyn Clock>,
}

/// Handle on the task; `reload` after the settings are saved.
#[derive(Clone)]
pub struct Verifier {
    reload: Arc<Notify>,
    started: broadcast::Sender<RunId>,
}

impl Verifier {
    /// Starts the task.
    pub fn spawn(parts: VerifierParts) -> Self {
        let reload = Arc::new(Notify::new());
        let (started, _) = broadcast::channel(16);
        let verifier = Self {
            reload: reload.clone(),
            started: started.clone(),
        };
        // Subscribed before the task runs: no run's end is missed.
        let finished = parts.runner.subscribe();
        tokio::spawn(run(parts, reload, started, finished));
        verifier
    }

    /// Re-reads the settings (they were saved).
    pub fn reload(&self) {
        self.reload.notify_one();
    }

    /// The verifications it starts from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RunId> {
        self.started.subscribe()
    }
}

/// Why the task woke up.
enum Wake {
    Due,
    Finished(RunFinished),
    Reload,
    Closed,
}

async fn run(
    parts: VerifierParts,
    reload: Arc<Notify>,
    started: broadcast::Sender<RunId>,
    mut finished: broadcast::Receiver<RunFinished>,
) {
    // A verification is owed (after a backup, or its time came: the firing) but the runner
    // was busy.
    let mut owed: Option<Option<DateTime<Utc>>> = None;
    // The latest firing handled, even if its verification could not start (no backup yet):
    // it is not tried again.
    let mut handled: Option<DateTime<Utc>> = None;
    loop {
        let settings = match crate::db::settings::load(&parts.pool).await {
            Ok(settings) => settings,
            Err(error) => {
                tracing::error!(%error, "verification schedule: cannot read the settings");
                Settings::default()
            }
        };
        let due = match next_due(&parts.pool, &settings, parts.clock.now()).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "verification schedule: cannot read the history");
                None
            }
        };
        let now = parts.clock.now();
        let due = due.filter(|due| handled.is_none_or(|handled| *due > handled));
        let pending = match (due.filter(|due| *due <= now), owed) {
            (Some(slot), _) => Some(Some(slot)),
            (None, owed) => owed,
        };
        if let Some(slot) = pending {
            if let Some(slot) = slot {
                handled = Some(slot);
            }
            owed = (!start(&parts, &started, slot).await).then_some(slot);
        }
        let wake = {
            let sleep = async {
                match due.filter(|due| *due > parts.clock.now()) {
                    Some(due) => parts.clock.sleep_until(due).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => Wake::Due,
                () = reload.notified() => Wake::Reload,
                event = finished.recv() => match event {
                    Ok(event) => Wake::Finished(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => Wake::Reload,
                    Err(broadcast::error::RecvError::Closed) => Wake::Closed,
                },
            }
        };
        match wake {
            Wake::Closed => return,
            Wake::Due | Wake::Reload => {}
            Wake::Finished(event) => {
                let after_backup = settings.verify_schedule == VerifySchedule::AfterBackup
                    && event.status == RunStatus::Success
                    && is_backup(&parts.pool, event.run_id).await;
                if after_backup && owed.is_none() {
                    owed = Some(None);
                }
            }
        }
    }
}

async fn is_backup(pool: &SqlitePool, run_id: RunId) -> bool {
    matches!(runs::get(pool, run_id).await, Ok(Some(detail)) if detail.run.kind == RunKind::Backup)
}

/// Starts a verification of the latest complete backup; false if the runner is busy (it
/// is tried again when the run in progress ends).
async fn start(
    parts: &VerifierParts,
    started: &broadcast::Sender<RunId>,
    slot: Option<DateTime<Utc>>,
) -> bool {
    let job = match crate::jobs::verify_job(&parts.pool, &parts.key, BackupChoice::Latest).await {
        Ok(job) => job,
        Err(error) => {
            tracing::warn!(%error, "scheduled verification not started");
            return true;
        }
    };
    match parts
        .runner
        .start_verify_for(Trigger::Scheduled, slot, job)
        .await
    {
        Ok(run_id) => {
            tracing::info!(run_id, "scheduled verification started");
            let _ = started.send(run_id);
            true
        }
        Err(StartError::AlreadyRunning(_)) => false,
        Err(error) => {
            tracing::error!(%error, "scheduled verification not started");
            true
        }
    }
}

/// When the next weekly or monthly verification is due: the first firing of its schedule
/// after the latest one a verification ran for, and after the settings were saved.
async fn next_due(
    pool: &SqlitePool,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, runs::RunsError> {
    let frequency = match settings.verify_schedule {
        VerifySchedule::Weekly => Frequency::Weekly,
        VerifySchedule::Monthly => Frequency::Monthly,
        VerifySchedule::Never | VerifySchedule::AfterBackup => return Ok(None),
    };
    let Ok(schedule) = Schedule::from_parts(
        frequency,
        Some(settings.time),
        Some(settings.weekday),
        Some(settings.monthday),
        None,
    ) else {
        return Ok(None);
    };
    let since = runs::latest_slot(pool, RunKind::Verify)
        .await?
        .max(settings.updated_at)
        .unwrap_or(now);
    Ok(schedule.next_after(&settings.timezone, since))
}
