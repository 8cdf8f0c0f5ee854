//! Runs backups one at a time and records them in the history: a run row that starts
//! `running`, its log lines, objects and progress (written at most twice a second), and its
//! end. When a run ends, `RunFinished` is published for whoever mails the admin.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::debris::{self, DebrisReport};
use super::engine::{choose_folder, run_backup_in};
use super::job::{Job, S3Target};
use super::manifest::StoredObject;
use super::progress::{Progress, ProgressSnapshot, Reporter, RunEvent};
use super::restore::{self, Report, RestoreError, RestoreJob};
use super::verify::{self, VerifyJob, VerifyReport};
use crate::db::runs::{self, Outcome, RunId, RunKind, RunStatus, RunsError, Trigger};
use crate::lang::Message;

/// How often the run row's progress is refreshed, at most.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// Longest a cleaning of what dead runs left may take (S3 may be unreachable).
const DEBRIS_LIMIT: Duration = Duration::from_secs(120);
/// How many of the newest unfinished runs have their folder checked by a cleaning.
const DEBRIS_FOLDERS: u32 = 20;

/// Published when a run has ended and its row is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFinished {
    pub run_id: RunId,
    pub status: RunStatus,
}

/// How a run ended, for the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: RunId,
    pub status: RunStatus,
    pub folder: Option<String>,
    pub objects: Vec<StoredObject>,
    pub total_bytes: u64,
    pub error: Option<Message>,
    pub warning: Option<Message>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another run holds the slot; the id is known once its row exists.
    #[error("{}", already_running_message())]
    AlreadyRunning(Option<RunId>),
    #[error(transparent)]
    History(#[from] RunsError),
    #[error("cannot use the lock file {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
}

fn already_running_message() -> String {
    rust_i18n::t!("backup.runner.already_running", locale = "en").into_owned()
}

impl StartError {
    /// Translation key of the message shown to the user.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::AlreadyRunning(_) => Some("backup.runner.already_running"),
            Self::History(_) | Self::Lock { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Idle,
    /// Cleaning what dead runs left (at start-up); a run starting now waits for it.
    Cleaning,
    Starting,
    Running(RunId),
}

/// How a verification ended, for the command line.
#[derive(Debug)]
pub struct VerifySummary {
    pub run_id: RunId,
    pub status: RunStatus,
    /// Each object's verdict, or why none was checked.
    pub result: Result<VerifyReport, RestoreError>,
}

/// How a restore ended, for the command line.
#[derive(Debug)]
pub struct RestoreSummary {
    pub run_id: RunId,
    pub status: RunStatus,
    /// What became of each object, or why none was restored.
    pub result: Result<Report, RestoreError>,
}

/// The run in progress: its task, the token a restore watches, its counters.
struct Current {
    run_id: RunId,
    kind: RunKind,
    task: tokio::task::AbortHandle,
    cancel: CancellationToken,
    progress: Arc<Progress>,
}

impl Current {
    /// A backup stops where it is (its uploads are aborted as they are dropped); a restore
    /// is told, so that it removes what it created before it ends.
    fn stop(&self) {
        match self.kind {
            RunKind::Backup => self.task.abort(),
            RunKind::Restore | RunKind::Verify => self.cancel.cancel(),
        }
    }
}

struct Inner {
    pool: SqlitePool,
    slot: Mutex<Slot>,
    finished: broadcast::Sender<RunFinished>,
    /// Runs that begin (their row is written), for the pings told of a backup's start.
    started: broadcast::Sender<(RunId, RunKind)>,
    /// How to stop the run in progress (at shutdown, or when asked), and its counters.
    engine: Mutex<Option<Current>>,
    /// Signalled whenever the slot becomes free.
    idle: tokio::sync::Notify,
    /// A file locked for the whole run, so that two processes on the same data (the server
    /// and the `backup` command) never run at once; the system frees it if a process dies.
    lock_file: Option<PathBuf>,
    /// Aborts of multipart uploads started from `Drop` (a run cancelled at shutdown), so
    /// the process can wait for them before it exits.
    aborts: TaskTracker,
}

/// The one place runs start. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

/// Holds the run slot (and the lock file); frees it when dropped, even if the run's task
/// panics.
struct SlotGuard {
    inner: Arc<Inner>,
    _lock: Option<File>,
}

impl SlotGuard {
    fn set(&self, slot: Slot) {
        if let Ok(mut current) = self.inner.slot.lock() {
            *current = slot;
        }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.set(Slot::Idle);
        self.inner.idle.notify_waiters();
    }
}

impl Runner {
    /// A runner that keeps one run at a time within this process.
    pub fn new(pool: SqlitePool) -> Self {
        Self::build(pool, None)
    }

    /// A runner that also keeps one run at a time across processes sharing `lock_file`.
    pub fn with_lock_file(pool: SqlitePool, lock_file: PathBuf) -> Self {
        Self::build(pool, Some(lock_file))
    }

    fn build(pool: SqlitePool, lock_file: Option<PathBuf>) -> Self {
        let (finished, _) = broadcast::channel(16);
        let (started, _) = broadcast::channel(16);
        Self {
            inner: Arc::new(Inner {
                pool,
                slot: Mutex::new(Slot::Idle),
                finished,
                started,
                engine: Mutex::new(None),
                idle: tokio::sync::Notify::new(),
                lock_file,
                aborts: TaskTracker::new(),
            }),
        }
    }

    /// Takes the cross-process lock if there is one: `Ok(None)` when another process
    /// holds it (it is running a backup).
    fn lock(&self) -> Result<Option<Option<File>>, StartError> {
        let Some(path) = &self.inner.lock_file else {
            return Ok(Some(None));
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| StartError::Lock {
                path: path.display().to_string(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Some(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(StartError::Lock {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// At start-up: runs left `running` by a process that stopped are marked interrupted,
    /// unless another live process holds the lock (its run is real). Returns how many.
    pub async fn settle_interrupted(&self) -> Result<u64, StartError> {
        match self.lock()? {
            Some(_held) => Ok(runs::mark_interrupted_at_startup(&self.inner.pool).await?),
            None => Ok(0),
        }
    }

    /// At shutdown: cancels the run in progress, waits (at most `limit`) for it to be
    /// recorded as failed and for its multipart uploads to be aborted on the server.
    pub async fn shutdown(&self, limit: Duration) {
        let stopped = self.inner.engine.lock().ok().and_then(|engine| {
            engine.as_ref().map(|current| {
                current.stop();
                current.kind
            })
        });
        let Some(kind) = stopped else { return };
        tracing::warn!(
            kind = kind.as_str(),
            "stopping: cancelling the run in progress"
        );
        let ended = async {
            loop {
                let idle = self.inner.idle.notified();
                if matches!(self.inner.slot.lock().map(|s| *s), Ok(Slot::Idle) | Err(_)) {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(limit, ended).await;
        let aborts = &self.inner.aborts;
        aborts.close();
        let _ = tokio::time::timeout(limit, aborts.wait()).await;
        aborts.reopen();
    }

    /// At start-up: aborts the multipart uploads and removes the manifest-less folders that
    /// dead or failed runs left on `target` (see `debris`). Skipped (`None`) while a run is
    /// in progress here or in another process: a run cleans before it chooses its folder.
    pub async fn clean_debris(&self, target: &S3Target) -> Option<DebrisReport> {
        let guard = self.hold_idle().await?;
        let report = clean(&self.inner.pool, target, &Reporter::detached()).await;
        drop(guard);
        Some(report)
    }

    /// At start-up: drops the scratch databases a killed verification left on the servers
    /// of `configured`. Skipped (`None`) while a run is in progress here or elsewhere.
    pub async fn drop_scratch_databases(&self, job: &VerifyJob) -> Option<Vec<String>> {
        let guard = self.hold_idle().await?;
        let dropped = verify::drop_leftovers(&job.servers(), &job.scratch_prefix()).await;
        drop(guard);
        Some(dropped)
    }

    /// Holds the slot (and the lock file) for start-up work, if no run is in progress here
    /// or in another process; runs left `running` are then marked interrupted.
    async fn hold_idle(&self) -> Option<SlotGuard> {
        {
            let mut slot = self.inner.slot.lock().ok()?;
            if *slot != Slot::Idle {
                return None;
            }
            *slot = Slot::Cleaning;
        }
        let mut guard = SlotGuard {
            inner: self.inner.clone(),
            _lock: None,
        };
        match self.lock() {
            Ok(Some(lock)) => guard._lock = lock,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!("not cleaning what stopped runs left: {err}");
                return None;
            }
        }
        if self.inner.lock_file.is_some()
            && let Err(err) = runs::mark_interrupted_at_startup(&self.inner.pool).await
        {
            tracing::error!("{err}");
        }
        Some(guard)
    }

    /// Runs that end from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RunFinished> {
        self.inner.finished.subscribe()
    }

    /// Runs that begin from now on.
    pub fn subscribe_started(&self) -> broadcast::Receiver<(RunId, RunKind)> {
        self.inner.started.subscribe()
    }

    /// The run in progress, if any.
    pub fn current(&self) -> Option<RunId> {
        match self.inner.slot.lock().map(|slot| *slot) {
            Ok(Slot::Running(id)) => Some(id),
            _ => None,
        }
    }

    /// The kind of the run in progress, if any.
    pub fn current_kind(&self) -> Option<RunKind> {
        self.inner
            .engine
            .lock()
            .ok()
            .and_then(|engine| engine.as_ref().map(|current| current.kind))
    }

    /// The live counters of the run in progress (the command line shows them).
    pub fn progress(&self) -> Option<Arc<Progress>> {
        self.inner
            .engine
            .lock()
            .ok()
            .and_then(|engine| engine.as_ref().map(|current| current.progress.clone()))
    }

    /// Cancels run `run_id` if it is the one in progress; false if it is not running here.
    /// The run ends (recorded as cancelled) once it has cleaned up.
    pub fn cancel(&self, run_id: RunId) -> bool {
        let Ok(engine) = self.inner.engine.lock() else {
            return false;
        };
        match engine.as_ref() {
            Some(current) if current.run_id == run_id => {
                tracing::warn!(run_id, kind = current.kind.as_str(), "cancelling the run");
                current.stop();
                true
            }
            _ => false,
        }
    }

    /// Starts a backup in the background and returns its id at once.
    pub async fn start(&self, trigger: Trigger, job: Job) -> Result<RunId, StartError> {
        self.start_for(trigger, None, job).await
    }

    /// Starts a restore in the background and returns its id at once.
    pub async fn start_restore(
        &self,
        trigger: Trigger,
        job: RestoreJob,
    ) -> Result<RunId, StartError> {
        let (guard, run_id) = self.claim_restore(trigger, &job).await?;
        let runner = self.clone();
        tokio::spawn(async move { runner.execute_restore(guard, run_id, job).await });
        Ok(run_id)
    }

    /// Runs a restore in the foreground until it ends (the `restore` command).
    pub async fn restore_to_end(
        &self,
        trigger: Trigger,
        job: RestoreJob,
    ) -> Result<RestoreSummary, StartError> {
        let (guard, run_id) = self.claim_restore(trigger, &job).await?;
        Ok(self.execute_restore(guard, run_id, job).await)
    }

    /// Starts a verification in the background and returns its id at once.
    pub async fn start_verify(
        &self,
        trigger: Trigger,
        job: VerifyJob,
    ) -> Result<RunId, StartError> {
        self.start_verify_for(trigger, None, job).await
    }

    /// Like `start_verify`, recording the firing of the verification schedule it is for.
    pub async fn start_verify_for(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        job: VerifyJob,
    ) -> Result<RunId, StartError> {
        let (guard, run_id) = self.claim_verify(trigger, scheduled_for, &job).await?;
        let runner = self.clone();
        tokio::spawn(async move { runner.execute_verify(guard, run_id, job).await });
        Ok(run_id)
    }

    /// Runs a verification in the foreground until it ends (the `verify` command).
    pub async fn verify_to_end(
        &self,
        trigger: Trigger,
        job: VerifyJob,
    ) -> Result<VerifySummary, StartError> {
        let (guard, run_id) = self.claim_verify(trigger, None, &job).await?;
        Ok(self.execute_verify(guard, run_id, job).await)
    }

    async fn claim_verify(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        job: &VerifyJob,
    ) -> Result<(SlotGuard, RunId), StartError> {
        // Recorded like a restore of every object, which is what it reads.
        let request = restore::Request {
            backup: job.backup.clone(),
            source: restore::SourceChoice::All,
            to: None,
            replace: false,
        }
        .to_stored();
        self.claim(RunKind::Verify, trigger, scheduled_for, Some(&request))
            .await
    }

    async fn claim_restore(
        &self,
        trigger: Trigger,
        job: &RestoreJob,
    ) -> Result<(SlotGuard, RunId), StartError> {
        let request = job.request.to_stored();
        self.claim(RunKind::Restore, trigger, None, Some(&request))
            .await
    }

    /// Like `start`, recording the time the run was scheduled for (catch-up runs).
    pub async fn start_for(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        job: Job,
    ) -> Result<RunId, StartError> {
        let (guard, run_id) = self
            .claim(RunKind::Backup, trigger, scheduled_for, None)
            .await?;
        let runner = self.clone();
        tokio::spawn(async move { runner.execute(guard, run_id, job).await });
        Ok(run_id)
    }

    /// Runs in the foreground until the run ends (the `backup` command).
    pub async fn run_to_end(&self, trigger: Trigger, job: Job) -> Result<RunSummary, StartError> {
        let (guard, run_id) = self.claim(RunKind::Backup, trigger, None, None).await?;
        Ok(self.execute(guard, run_id, job).await)
    }

    async fn claim(
        &self,
        kind: RunKind,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
        request: Option<&str>,
    ) -> Result<(SlotGuard, RunId), StartError> {
        loop {
            let idle = self.inner.idle.notified();
            {
                let mut slot = self
                    .inner
                    .slot
                    .lock()
                    .map_err(|_| StartError::AlreadyRunning(None))?;
                match *slot {
                    Slot::Idle => {
                        *slot = Slot::Starting;
                        break;
                    }
                    Slot::Cleaning => {}
                    Slot::Starting => return Err(StartError::AlreadyRunning(None)),
                    Slot::Running(id) => return Err(StartError::AlreadyRunning(Some(id))),
                }
            }
            // The cleaning is bounded (DEBRIS_LIMIT); the run starts right after it.
            idle.await;
        }
        let mut guard = SlotGuard {
            inner: self.inner.clone(),
            _lock: None,
        };
        // Another process (the server, or the `backup` command) may be running one.
        match self.lock()? {
            Some(lock) => guard._lock = lock,
            None => {
                let other = runs::running(&self.inner.pool).await?;
                return Err(StartError::AlreadyRunning(other));
            }
        }
        if self.inner.lock_file.is_some() {
            // Nobody else runs: rows still `running` were left by a process that died.
            runs::mark_interrupted_at_startup(&self.inner.pool).await?;
        }
        let run_id = match kind {
            RunKind::Backup => runs::create(&self.inner.pool, trigger, scheduled_for).await?,
            other => {
                runs::create_operation(&self.inner.pool, other, trigger, scheduled_for, request)
                    .await?
            }
        };
        guard.set(Slot::Running(run_id));
        let _ = self.inner.started.send((run_id, kind));
        Ok((guard, run_id))
    }

    /// Runs `work` in its own task (a panic then ends the run as failed instead of leaving
    /// it running) with a reporter whose events and progress are recorded, and returns once
    /// every event is written.
    async fn supervise<T, F>(
        &self,
        run_id: RunId,
        kind: RunKind,
        work: impl FnOnce(Reporter, CancellationToken) -> F,
    ) -> Result<T, tokio::task::JoinError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = &self.inner.pool;
        let progress = Arc::new(Progress::default());
        let (events, received) = mpsc::unbounded_channel();
        let reporter = Reporter::new(progress.clone(), events).tracking_aborts(&self.inner.aborts);
        let recorder = tokio::spawn(record(pool.clone(), run_id, received, progress.clone()));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(work(reporter, cancel.clone()));
        if let Ok(mut current) = self.inner.engine.lock() {
            *current = Some(Current {
                run_id,
                kind,
                task: task.abort_handle(),
                cancel,
                progress,
            });
        }
        let result = task.await;
        if let Ok(mut current) = self.inner.engine.lock() {
            *current = None;
        }
        // Every event is recorded before the run's end is.
        if let Err(err) = recorder.await {
            tracing::error!(run_id, "run recorder stopped: {err}");
        }
        result
    }

    async fn execute(&self, guard: SlotGuard, run_id: RunId, job: Job) -> RunSummary {
        let engine_pool = self.inner.pool.clone();
        let result = self
            .supervise(run_id, RunKind::Backup, move |reporter, _| async move {
                expect_as_before(&engine_pool, &job, &reporter).await;
                // Nothing of this run exists yet, so nothing of it can be cleaned.
                clean(&engine_pool, &job.target, &reporter).await;
                let folder = choose_folder(&job, &reporter).await?;
                if let Err(err) = runs::set_folder(&engine_pool, run_id, &folder.key).await {
                    tracing::error!(run_id, "{err}");
                }
                run_backup_in(&job, folder, &reporter).await
            })
            .await;

        let mut summary = RunSummary {
            run_id,
            status: RunStatus::Failed,
            folder: None,
            objects: Vec::new(),
            total_bytes: 0,
            error: None,
            warning: None,
        };
        let outcome = match result {
            Ok(Ok(outcome)) => {
                summary.total_bytes = outcome.total_bytes();
                summary.folder = Some(outcome.folder.clone());
                summary.warning = outcome.retention.warning.as_ref().map(|w| w.to_message());
                summary.objects = outcome.objects;
                let stored = runs::Stored {
                    folder: outcome.folder,
                    total_bytes: summary.total_bytes,
                    object_count: summary.objects.len() as u64,
                    warning: summary.warning.clone(),
                };
                if outcome.failed.is_empty() {
                    Outcome::Success(stored)
                } else {
                    let error = Message::new("run.error.partial")
                        .with("failed", outcome.failed.len())
                        .with("total", outcome.failed.len() + summary.objects.len())
                        .with(
                            "sources",
                            outcome
                                .failed
                                .iter()
                                .map(|f| f.source.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    Outcome::Partial { stored, error }
                }
            }
            Ok(Err(err)) => Outcome::Failed {
                error: err.message(),
                folder: None,
            },
            Err(join_error) => ended_abruptly(&join_error),
        };
        summary.status = self.conclude(guard, run_id, "backup", &outcome).await;
        summary.error = outcome_error(&outcome);
        summary
    }

    async fn execute_restore(
        &self,
        guard: SlotGuard,
        run_id: RunId,
        job: RestoreJob,
    ) -> RestoreSummary {
        let result = self
            .supervise(run_id, RunKind::Restore, move |reporter, cancel| async move {
                restore::restore(&job, &reporter, &cancel).await
            })
            .await;
        let (outcome, result) = operation_end("restore", result, restore_outcome);
        let status = self.conclude(guard, run_id, "restore", &outcome).await;
        RestoreSummary {
            run_id,
            status,
            result,
        }
    }

    async fn execute_verify(
        &self,
        guard: SlotGuard,
        run_id: RunId,
        job: VerifyJob,
    ) -> VerifySummary {
        let result = self
            .supervise(
                run_id,
                RunKind::Verify,
                move |reporter, cancel| async move {
                    verify::verify(&job, run_id, &reporter, &cancel).await
                },
            )
            .await;
        let (outcome, result) = operation_end("verify", result, verify_outcome);
        let status = self.conclude(guard, run_id, "verification", &outcome).await;
        VerifySummary {
            run_id,
            status,
            result,
        }
    }

    /// Logs a failure (unless it is already the log's last line), writes the run's end,
    /// frees the slot and tells whoever listens. Returns the status written.
    async fn conclude(
        &self,
        guard: SlotGuard,
        run_id: RunId,
        what: &str,
        outcome: &Outcome,
    ) -> RunStatus {
        let pool = &self.inner.pool;
        let status = match outcome {
            Outcome::Success(_) => RunStatus::Success,
            Outcome::Partial { .. } => RunStatus::Partial,
            Outcome::Failed { .. } => RunStatus::Failed,
        };
        if let Outcome::Failed { error, .. } = outcome {
            tracing::error!(run_id, "{what} failed: {error}");
            // A source's own failure is already the log's last line.
            let logged = runs::last_log(pool, run_id)
                .await
                .ok()
                .flatten()
                .is_some_and(|last| last == *error);
            if !logged && let Err(err) = runs::append_log(pool, run_id, "error", error).await {
                tracing::error!(run_id, "{err}");
            }
        }
        // The end must be written, or the run would look stuck: retry a busy or failing
        // database a few times before giving up (start-up then marks it interrupted).
        for (attempt, pause) in [1u64, 2, 4, 8, 0].into_iter().enumerate() {
            match runs::finish(pool, run_id, outcome).await {
                Ok(_) => break,
                Err(err) if pause > 0 => {
                    tracing::warn!(
                        run_id,
                        attempt,
                        "cannot record the end of the run, retrying: {err}"
                    );
                    tokio::time::sleep(Duration::from_secs(pause)).await;
                }
                Err(err) => tracing::error!(run_id, "cannot record the end of the run: {err}"),
            }
        }
        drop(guard);
        // Nobody listening is fine: the history has it.
        let _ = self.inner.finished.send(RunFinished { run_id, status });
        status
    }
}

/// How a restore or verification (`what`: the catalog's `run.<what>.…` keys) ended, as the
/// history records it and as its caller gets it: a report (`outcome_of` tells the history),
/// an error before any object (cancelled, or it could not start), or a task that panicked.
fn operation_end<R>(
    what: &str,
    result: Result<Result<R, RestoreError>, tokio::task::JoinError>,
    outcome_of: impl FnOnce(&R) -> Outcome,
) -> (Outcome, Result<R, RestoreError>) {
    match result {
        Ok(Ok(report)) => (outcome_of(&report), Ok(report)),
        Ok(Err(error)) => {
            let message = match &error {
                RestoreError::Cancelled => Message::new_owned(format!("run.{what}.run_cancelled")),
                other => {
                    Message::new_owned(format!("run.{what}.not_started")).detail(other.to_string())
                }
            };
            let outcome = Outcome::Failed {
                error: message,
                folder: None,
            };
            (outcome, Err(error))
        }
        Err(join_error) => (
            ended_abruptly(&join_error),
            Err(RestoreError::Crashed(join_error.to_string())),
        ),
    }
}

/// A run whose task was cancelled (shutdown) or panicked.
fn ended_abruptly(join_error: &tokio::task::JoinError) -> Outcome {
    let error = if join_error.is_cancelled() {
        Message::new("run.error.cancelled")
    } else {
        Message::new("run.error.crashed").detail(join_error.to_string())
    };
    Outcome::Failed {
        error,
        folder: None,
    }
}

fn outcome_error(outcome: &Outcome) -> Option<Message> {
    match outcome {
        Outcome::Success(_) => None,
        Outcome::Partial { error, .. } | Outcome::Failed { error, .. } => Some(error.clone()),
    }
}

/// A verification as the history records it: the backup's folder and the bytes checked;
/// failed, naming the objects, as soon as one does not hold.
fn verify_outcome(report: &VerifyReport) -> Outcome {
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|check| check.result.is_err())
        .map(|check| check.object.source.as_str())
        .collect();
    if failed.is_empty() {
        return Outcome::Success(runs::Stored {
            folder: report.folder_key.clone(),
            total_bytes: report.checks.iter().map(|check| check.object.size).sum(),
            object_count: report.checks.len() as u64,
            warning: None,
        });
    }
    let cancelled = report
        .checks
        .iter()
        .any(|check| matches!(check.result, Err(RestoreError::Cancelled)));
    Outcome::Failed {
        error: if cancelled {
            Message::new("run.verify.run_cancelled")
        } else {
            Message::new("run.verify.some_failed")
                .with("failed", failed.len())
                .with("total", report.checks.len())
                .with("sources", failed.join(", "))
        },
        folder: Some(report.folder_key.clone()),
    }
}

/// A restore's report as the history records it: the backup's folder, the bytes and
/// objects restored; partial when some objects failed, failed when none was restored.
fn restore_outcome(report: &Report) -> Outcome {
    let restored: Vec<_> = report
        .outcomes
        .iter()
        .filter(|outcome| outcome.result.is_ok())
        .collect();
    let failed: Vec<_> = report
        .outcomes
        .iter()
        .filter(|outcome| outcome.result.is_err())
        .collect();
    let cancelled = failed
        .iter()
        .any(|outcome| matches!(outcome.result, Err(RestoreError::Cancelled)));
    let stored = runs::Stored {
        folder: report.folder_key.clone(),
        total_bytes: restored.iter().map(|outcome| outcome.size).sum(),
        object_count: restored.len() as u64,
        warning: None,
    };
    let error = if cancelled {
        Message::new("run.restore.run_cancelled")
    } else {
        Message::new("run.restore.some_failed")
            .with("failed", failed.len())
            .with("total", report.outcomes.len())
            .with(
                "sources",
                failed
                    .iter()
                    .map(|outcome| outcome.source.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
    };
    match (restored.is_empty(), failed.is_empty()) {
        (_, true) => Outcome::Success(stored),
        (false, false) => Outcome::Partial { stored, error },
        (true, false) => Outcome::Failed {
            error,
            folder: Some(report.folder_key.clone()),
        },
    }
}

/// A backup is expected to read and take what the previous successful run of the same
/// sources did: its progress then has a percentage and a time left.
async fn expect_as_before(pool: &SqlitePool, job: &Job, reporter: &Reporter) {
    let sources: Vec<String> = job.sources.iter().map(|spec| spec.name.clone()).collect();
    match crate::db::history::previous_success_of(pool, &sources).await {
        Ok(Some(expected)) => reporter.progress().set_expected(expected),
        Ok(None) => {}
        Err(err) => tracing::warn!("no estimate for this backup: {err}"),
    }
}

/// Cleans what dead or failed runs left on `target`, within DEBRIS_LIMIT. The caller holds
/// the run slot (and the lock file), so no run's uploads are in progress.
async fn clean(pool: &SqlitePool, target: &S3Target, reporter: &Reporter) -> DebrisReport {
    let unfinished = runs::unfinished_folders(pool, DEBRIS_FOLDERS)
        .await
        .unwrap_or_else(|err| {
            tracing::error!("{err}");
            Vec::new()
        });
    let client = super::s3::client(target);
    let cleaning = debris::clean(&client, target, &unfinished, reporter);
    match tokio::time::timeout(DEBRIS_LIMIT, cleaning).await {
        Ok(report) => report,
        Err(_) => {
            let warning = debris::DebrisWarning::Failed {
                detail: format!("S3 did not answer within {} s", DEBRIS_LIMIT.as_secs()),
            };
            reporter.log(super::progress::LogLevel::Warn, warning.message());
            DebrisReport {
                warnings: vec![warning],
                ..DebrisReport::default()
            }
        }
    }
}

/// Writes a run's events and, at most every PROGRESS_INTERVAL, its progress, until the
/// engine drops its reporter.
async fn record(
    pool: SqlitePool,
    run_id: RunId,
    mut events: mpsc::UnboundedReceiver<RunEvent>,
    progress: Arc<Progress>,
) {
    let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut written = ProgressSnapshot::default();
    loop {
        tokio::select! {
            event = events.recv() => {
                let result = match event {
                    Some(RunEvent::Log { level, message }) => {
                        runs::append_log(&pool, run_id, level.as_str(), &message).await
                    }
                    Some(RunEvent::Object(object)) => {
                        runs::record_object(&pool, run_id, &object).await
                    }
                    Some(RunEvent::Failed(failed)) => {
                        runs::record_failed_source(&pool, run_id, &failed).await
                    }
                    Some(RunEvent::Removed(key)) => {
                        runs::forget_object(&pool, run_id, &key).await
                    }
                    None => break,
                };
                if let Err(err) = result {
                    tracing::error!(run_id, "{err}");
                }
            }
            _ = ticker.tick() => {
                let now = progress.snapshot();
                if now != written {
                    if let Err(err) = runs::update_progress(&pool, run_id, &now).await {
                        tracing::error!(run_id, "{err}");
                    }
                    written = now;
                }
            }
        }
    }
    let last = progress.snapshot();
    if last != written
        && let Err(err) = runs::update_progress(&pool, run_id, &last).await
    {
        tracing::error!(run_id, "{err}");
    }
}
