//! The scheduler task: sleeps until the next firing of the saved schedule (or the moment
//! backups become overdue), starts the run through the runner, catches up once on a firing
//! missed while the app was down, and reschedules at once when the settings are saved.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::clock::Clock;
use super::overdue::Overdue;
use super::plan::{Decision, Plan, due, expected_by};
use super::{ScheduleError, history};
use crate::backup::{Job, Runner, StartError};
use crate::db::runs::{self, RunId, Trigger};
use crate::notify::Notifier;

/// Builds the job of a scheduled run from the stored settings and sources.
pub trait JobSource: Send + Sync + 'static {
    fn job(&self) -> Pin<Box<dyn Future<Output = Result<Job, String>> + Send + '_>>;
}

impl<F, Fut> JobSource for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Job, String>> + Send + 'static,
{
    fn job(&self) -> Pin<Box<dyn Future<Output = Result<Job, String>> + Send + '_>> {
        Box::pin(self())
    }
}

/// What the scheduler did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerEvent {
    /// A run started for this firing.
    Started { slot: DateTime<Utc>, run_id: RunId },
    /// Another run was in progress; the firing is recorded as skipped.
    Skipped { slot: DateTime<Utc>, run_id: RunId },
    /// The job could not be built; the firing is recorded as a failed run.
    NotStarted { slot: DateTime<Utc>, run_id: RunId },
    /// The overdue alert was handed to the mailer (sent or recorded as failed).
    OverdueAlerted { expected_by: DateTime<Utc> },
    /// Nothing more to do before this time (`None`: before a reload).
    Waiting { until: Option<DateTime<Utc>> },
}

/// What the scheduler needs.
pub struct SchedulerParts {
    pub pool: SqlitePool,
    pub runner: Runner,
    pub jobs: Arc<dyn JobSource>,
    pub clock: Arc<dyn Clock>,
    /// Mails the overdue alert and the failures of runs that could not start.
    pub notifier: Option<Notifier>,
}

/// Handle on the scheduler task. Cheap to clone; the task ends when every handle is gone.
#[derive(Clone)]
pub struct Scheduler {
    reloads: mpsc::Sender<oneshot::Sender<()>>,
    next_run: watch::Receiver<Option<DateTime<Utc>>>,
    events: broadcast::Sender<SchedulerEvent>,
    pending: Arc<Mutex<Option<Pending>>>,
}

struct Pending {
    parts: SchedulerParts,
    reloads: mpsc::Receiver<oneshot::Sender<()>>,
    next_run: watch::Sender<Option<DateTime<Utc>>>,
}

impl Scheduler {
    /// Prepares the scheduler; `start` sets it going (subscribe to `events` before).
    pub fn new(parts: SchedulerParts) -> Self {
        let (reload_tx, reload_rx) = mpsc::channel(8);
        let (next_tx, next_rx) = watch::channel(None);
        let (events, _) = broadcast::channel(64);
        Self {
            reloads: reload_tx,
            next_run: next_rx,
            events,
            pending: Arc::new(Mutex::new(Some(Pending {
                parts,
                reloads: reload_rx,
                next_run: next_tx,
            }))),
        }
    }

    /// Starts the task: a catch-up run if a firing was missed, then the schedule. Does
    /// nothing if already started.
    pub fn start(&self) {
        let pending = self
            .pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.take());
        let Some(pending) = pending else { return };
        let task = Task {
            parts: pending.parts,
            next_run: pending.next_run,
            events: self.events.clone(),
            last_fired: None,
            alerted_for: None,
        };
        tokio::spawn(task.run(pending.reloads));
    }

    /// Re-reads the settings (call it after saving them); returns once rescheduled.
    pub async fn reload(&self) {
        let (done, rescheduled) = oneshot::channel();
        if self.reloads.send(done).await.is_ok() {
            let _ = rescheduled.await;
        }
    }

    /// Whether the scheduler task is running (not yet started or ended: false).
    pub fn is_alive(&self) -> bool {
        let started = self.pending.lock().map(|p| p.is_none()).unwrap_or(false);
        started && self.next_run.has_changed().is_ok()
    }

    /// The next automatic run, for display.
    pub fn next_run(&self) -> Option<DateTime<Utc>> {
        *self.next_run.borrow()
    }

    pub fn events(&self) -> broadcast::Receiver<SchedulerEvent> {
        self.events.subscribe()
    }
}

struct Task {
    parts: SchedulerParts,
    next_run: watch::Sender<Option<DateTime<Utc>>>,
    events: broadcast::Sender<SchedulerEvent>,
    /// The newest firing this task handled, in case recording it failed.
    last_fired: Option<DateTime<Utc>>,
    /// The overdue stretch (its `since`) already alerted by this task.
    alerted_for: Option<DateTime<Utc>>,
}

impl Task {
    async fn run(mut self, mut reloads: mpsc::Receiver<oneshot::Sender<()>>) {
        let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
        loop {
            let wake = match self.step().await {
                Ok(wake) => wake,
                Err(error) => {
                    tracing::error!("scheduler: {error}");
                    // Try again in a minute rather than never.
                    Some(self.parts.clock.now() + chrono::Duration::minutes(1))
                }
            };
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            self.emit(SchedulerEvent::Waiting { until: wake });
            let clock = self.parts.clock.clone();
            let sleep = async {
                match wake {
                    Some(at) => clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {}
                reload = reloads.recv() => match reload {
                    Some(ack) => acks.push(ack),
                    None => return,
                },
            }
        }
    }

    /// Does what is due now; returns when to look again.
    async fn step(&mut self) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let plan = match crate::db::settings::load(&self.parts.pool).await {
            Ok(settings) => Plan::from_settings(&settings),
            Err(error @ crate::db::settings::SettingsError::Corrupt { .. }) => {
                tracing::error!("scheduler: the saved schedule is not valid: {error}");
                None
            }
            Err(error) => return Err(error.into()),
        };
        let Some(plan) = plan else {
            self.next_run.send_replace(None);
            return Ok(None);
        };
        let mut next = None;
        // At most one run per step: after firing, the firing is handled.
        for _ in 0..2 {
            let now = self.parts.clock.now();
            match due(&plan.schedule, &plan.tz, self.handled(&plan).await?, now) {
                Decision::Run { slot } => self.fire(slot).await?,
                Decision::Wait { until } => {
                    next = Some(until);
                    break;
                }
                Decision::Idle => break,
            }
        }
        self.next_run.send_replace(next);
        let alert_at = self.check_overdue(&plan).await?;
        Ok([next, alert_at].into_iter().flatten().min())
    }

    async fn handled(&self, plan: &Plan) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let pool = &self.parts.pool;
        let last_slot = runs::latest_scheduled_for(pool).await?;
        let last_success = runs::latest_success(pool).await?.map(|run| run.started_at);
        Ok([
            Some(plan.saved_at),
            last_slot,
            last_success,
            self.last_fired,
        ]
        .into_iter()
        .flatten()
        .max())
    }

    async fn fire(&mut self, slot: DateTime<Utc>) -> Result<(), ScheduleError> {
        self.last_fired = Some(slot);
        let pool = &self.parts.pool;
        if self.parts.runner.current().is_some() {
            return self.skip(slot).await;
        }
        let job = match self.parts.jobs.job().await {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(%slot, "scheduled backup cannot start: {error}");
                let run_id = history::record_not_started(pool, slot, &error).await?;
                self.report(run_id);
                self.emit(SchedulerEvent::NotStarted { slot, run_id });
                return Ok(());
            }
        };
        match self
            .parts
            .runner
            .start_for(Trigger::Scheduled, Some(slot), job)
            .await
        {
            Ok(run_id) => {
                tracing::info!(%slot, run_id, "scheduled backup started");
                self.emit(SchedulerEvent::Started { slot, run_id });
                Ok(())
            }
            Err(StartError::AlreadyRunning(_)) => self.skip(slot).await,
            Err(StartError::History(error)) => Err(error.into()),
            Err(error @ StartError::Lock { .. }) => Err(ScheduleError::Start(error.to_string())),
        }
    }

    async fn skip(&self, slot: DateTime<Utc>) -> Result<(), ScheduleError> {
        let now = self.parts.clock.now();
        let run_id = history::record_skipped(&self.parts.pool, slot, now).await?;
        tracing::warn!(%slot, "scheduled backup skipped: another backup is running");
        self.emit(SchedulerEvent::Skipped { slot, run_id });
        Ok(())
    }

    /// Mails the failure of a run that could not start (the runner never saw it).
    fn report(&self, run_id: RunId) {
        if let Some(notifier) = self.parts.notifier.clone() {
            tokio::spawn(async move {
                if let Err(error) = notifier.report_run(run_id).await {
                    tracing::error!(run_id, "notification: {error}");
                }
            });
        }
    }

    /// Sends the overdue alert once per stretch without success. Returns when to look
    /// again: when backups become overdue, or soon if a run in progress may end the wait.
    async fn check_overdue(&mut self, plan: &Plan) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let pool = &self.parts.pool;
        let now = self.parts.clock.now();
        let last_success = runs::latest_success(pool)
            .await?
            .map(|run| run.finished_at.unwrap_or(run.started_at));
        let since = last_success.map_or(plan.saved_at, |at| at.max(plan.saved_at));
        let Some(expected_by) = expected_by(&plan.schedule, &plan.tz, since) else {
            return Ok(None);
        };
        if now <= expected_by {
            return Ok(Some(expected_by + chrono::Duration::seconds(1)));
        }
        if runs::running(pool).await?.is_some() {
            return Ok(Some(now + chrono::Duration::minutes(1)));
        }
        let already = self.alerted_for == Some(since)
            || crate::db::notifications::overdue_alert_recorded_after(pool, Some(since)).await?;
        if !already {
            self.alerted_for = Some(since);
            self.alert(
                Overdue {
                    last_success,
                    expected_by,
                    since,
                },
                now,
            );
        }
        Ok(None)
    }

    fn alert(&self, overdue: Overdue, now: DateTime<Utc>) {
        tracing::warn!(expected_by = %overdue.expected_by, "backups are overdue");
        let Some(notifier) = self.parts.notifier.clone() else {
            return;
        };
        let events = self.events.clone();
        tokio::spawn(async move {
            let sent = notifier
                .alert_overdue(overdue.last_success, overdue.expected_by, now)
                .await;
            if let Err(error) = sent {
                tracing::error!("overdue alert: {error}");
            }
            let _ = events.send(SchedulerEvent::OverdueAlerted {
                expected_by: overdue.expected_by,
            });
        });
    }

    fn emit(&self, event: SchedulerEvent) {
        // Nobody listening is the normal case.
        let _ = self.events.send(event);
    }
}
