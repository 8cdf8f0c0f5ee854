//! What a run reports while it works: counters anyone may sample (the runner writes them
//! to the run row a few times a second) and events (log lines, verified objects).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::manifest::{FailedSource, StoredObject};
use crate::lang::Message;

/// Live counters of a run.
#[derive(Debug, Default)]
pub struct Progress {
    current_source: Mutex<Option<String>>,
    bytes_read: AtomicU64,
    bytes_uploaded: AtomicU64,
    bytes_total: AtomicU64,
}

/// A copy of the counters at one moment, as stored in the run row (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProgressSnapshot {
    pub current_source: Option<String>,
    pub bytes_read: u64,
    pub bytes_uploaded: u64,
    /// What `bytes_read` will reach when the run is done, when known (a restore reads
    /// objects of known sizes); 0 when not.
    #[serde(default)]
    pub bytes_total: u64,
}

impl ProgressSnapshot {
    /// How far the run is, in whole percent, when its total is known.
    pub fn percent(&self) -> Option<u64> {
        (self.bytes_total > 0)
            .then(|| (self.bytes_read.min(self.bytes_total) * 100) / self.bytes_total)
    }
}

impl Progress {
    pub fn set_source(&self, name: Option<&str>) {
        if let Ok(mut current) = self.current_source.lock() {
            *current = name.map(str::to_owned);
        }
    }

    pub fn add_read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_uploaded(&self, bytes: u64) {
        self.bytes_uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    /// More bytes the run will read before it is done.
    pub fn add_total(&self, bytes: u64) {
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            current_source: self
                .current_source
                .lock()
                .map(|current| current.clone())
                .unwrap_or(None),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_uploaded: self.bytes_uploaded.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Something the run wants recorded.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Log {
        level: LogLevel,
        message: Message,
    },
    /// An object uploaded and verified on the server.
    Object(StoredObject),
    /// A source that could not be backed up (the others go on).
    Failed(FailedSource),
    /// An object the run stored and then removed again (its run failed as a whole).
    Removed(String),
}

/// The engine's side of the reporting: counters plus an optional event channel.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    progress: Arc<Progress>,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
    /// Where work the run leaves behind (aborts started from `Drop`) is tracked, so its
    /// owner can wait for it at shutdown.
    aborts: TaskTracker,
}

impl Reporter {
    /// A reporter whose events go nowhere (tests, one-off calls).
    pub fn detached() -> Self {
        Self::default()
    }

    pub fn new(progress: Arc<Progress>, events: mpsc::UnboundedSender<RunEvent>) -> Self {
        Self {
            progress,
            events: Some(events),
            aborts: TaskTracker::new(),
        }
    }

    /// Aborts started from `Drop` are tracked by `aborts` (the runner's).
    pub fn tracking_aborts(mut self, aborts: &TaskTracker) -> Self {
        self.aborts = aborts.clone();
        self
    }

    pub(crate) fn aborts(&self) -> &TaskTracker {
        &self.aborts
    }

    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// A line of the run's log; `tracing` gets it in English.
    pub fn log(&self, level: LogLevel, message: Message) {
        match level {
            LogLevel::Info => tracing::info!("{message}"),
            LogLevel::Warn => tracing::warn!("{message}"),
            LogLevel::Error => tracing::error!("{message}"),
        }
        self.send(RunEvent::Log { level, message });
    }

    pub fn object(&self, object: StoredObject) {
        self.send(RunEvent::Object(object));
    }

    pub fn failed(&self, source: FailedSource) {
        self.send(RunEvent::Failed(source));
    }

    pub fn removed(&self, key: &str) {
        self.send(RunEvent::Removed(key.to_owned()));
    }

    fn send(&self, event: RunEvent) {
        if let Some(events) = &self.events {
            // The receiver only goes away when the run's record is finished; nothing to keep.
            let _ = events.send(event);
        }
    }
}
