//! What a run reports while it works: counters anyone may sample (the runner writes them
//! to the run row a few times a second) and events (log lines, verified objects).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::manifest::{FailedSource, StoredObject};
use crate::lang::Message;

/// Live counters of a run.
#[derive(Debug, Default)]
pub struct Progress {
    current_source: Mutex<Option<String>>,
    /// Where the current source stands among the run's: (1-based position, count).
    position: Mutex<(u32, u32)>,
    expected: Mutex<Option<Expected>>,
    bytes_read: AtomicU64,
    bytes_uploaded: AtomicU64,
    bytes_total: AtomicU64,
}

/// What the previous successful run of the same sources read, and how long it took: a
/// backup does not know its total in advance, so it is expected to read as much again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Expected {
    pub bytes: u64,
    pub seconds: u64,
}

/// How far a run is and how long it still needs, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Whole percent; below 100 while the run goes on.
    pub percent: Option<u64>,
    /// Time still needed; `None` when nothing tells.
    pub left: Option<Duration>,
    /// Bytes read per second since the start.
    pub bytes_per_second: Option<u64>,
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
    /// The current source's position among the run's sources (1-based), 0 when none.
    #[serde(default)]
    pub source_index: u32,
    #[serde(default)]
    pub source_count: u32,
    /// A backup's estimate from the previous successful run of the same sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
}

/// The shortest time from which the run's own pace is trusted over the previous run's.
const OWN_PACE_AFTER: Duration = Duration::from_secs(2);

impl ProgressSnapshot {
    /// How far the run is, in whole percent, when its total is known.
    pub fn percent(&self) -> Option<u64> {
        (self.bytes_total > 0)
            .then(|| (self.bytes_read.min(self.bytes_total) * 100) / self.bytes_total)
    }

    /// What the run will read in all: known (a restore, a verification) or expected (a
    /// backup, from the previous run of its sources).
    fn goal(&self) -> Option<u64> {
        match (self.bytes_total, self.expected) {
            (0, Some(expected)) if expected.bytes > 0 => Some(expected.bytes),
            (0, _) => None,
            (total, _) => Some(total),
        }
    }

    /// How far the run is after `elapsed`, and how long it still needs at its own pace
    /// (at the previous run's pace in its first seconds). A run that reads more than
    /// expected stays at 99 % until it ends.
    pub fn estimate(&self, elapsed: Duration) -> Estimate {
        let seconds = elapsed.as_secs_f64();
        let bytes_per_second = (seconds >= 1.0 && self.bytes_read > 0)
            .then(|| (self.bytes_read as f64 / seconds) as u64);
        let Some(goal) = self.goal() else {
            return Estimate {
                percent: None,
                left: None,
                bytes_per_second,
            };
        };
        let percent = (self.bytes_read.min(goal) * 100 / goal).min(99);
        let remaining = goal.saturating_sub(self.bytes_read) as f64;
        let previous_pace = self
            .expected
            .filter(|expected| self.bytes_total == 0 && expected.seconds > 0)
            .map(|expected| expected.bytes as f64 / expected.seconds as f64);
        let pace = match bytes_per_second {
            Some(own) if elapsed >= OWN_PACE_AFTER || previous_pace.is_none() => Some(own as f64),
            _ => previous_pace,
        };
        let left = pace
            .filter(|pace| *pace > 0.0)
            .map(|pace| Duration::from_secs_f64(remaining / pace));
        Estimate {
            percent: Some(percent),
            left,
            bytes_per_second,
        }
    }
}

impl Progress {
    pub fn set_source(&self, name: Option<&str>) {
        if let Ok(mut current) = self.current_source.lock() {
            *current = name.map(str::to_owned);
        }
        if name.is_none()
            && let Ok(mut position) = self.position.lock()
        {
            *position = (0, 0);
        }
    }

    /// The run is at source `name`, the `index`-th (0-based) of `count`.
    pub fn at_source(&self, name: &str, index: usize, count: usize) {
        self.set_source(Some(name));
        if let Ok(mut position) = self.position.lock() {
            let index = u32::try_from(index + 1).unwrap_or(u32::MAX);
            *position = (index, u32::try_from(count).unwrap_or(u32::MAX));
        }
    }

    /// What the run is expected to read and take, from an earlier run.
    pub fn set_expected(&self, expected: Expected) {
        if let Ok(mut current) = self.expected.lock() {
            *current = Some(expected);
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
            source_index: self.position.lock().map(|p| p.0).unwrap_or(0),
            source_count: self.position.lock().map(|p| p.1).unwrap_or(0),
            expected: self.expected.lock().map(|e| *e).unwrap_or(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn backup_at(read: u64, expected: Option<Expected>) -> ProgressSnapshot {
        ProgressSnapshot {
            bytes_read: read,
            expected,
            ..ProgressSnapshot::default()
        }
    }

    #[test]
    fn a_backup_without_an_earlier_run_of_its_sources_has_no_percent_nor_time_left() {
        let estimate = backup_at(10 * MIB, None).estimate(Duration::from_secs(10));
        assert_eq!(estimate.percent, None);
        assert_eq!(estimate.left, None);
        assert_eq!(estimate.bytes_per_second, Some(MIB));
    }

    #[test]
    fn a_backup_is_measured_against_what_the_previous_run_read() {
        let expected = Some(Expected {
            bytes: 100 * MIB,
            seconds: 100,
        });
        let estimate = backup_at(25 * MIB, expected).estimate(Duration::from_secs(10));
        assert_eq!(estimate.percent, Some(25));
        // Its own pace (2.5 MiB/s) for the 75 MiB left: 30 s.
        assert_eq!(estimate.left.map(|d| d.as_secs()), Some(30));
    }

    #[test]
    fn in_its_first_second_a_backup_goes_at_the_previous_runs_pace() {
        let expected = Some(Expected {
            bytes: 100 * MIB,
            seconds: 50,
        });
        let estimate = backup_at(0, expected).estimate(Duration::from_millis(300));
        assert_eq!(estimate.percent, Some(0));
        assert_eq!(estimate.left.map(|d| d.as_secs()), Some(50));
        assert_eq!(estimate.bytes_per_second, None);
    }

    #[test]
    fn a_backup_that_reads_more_than_expected_stays_below_one_hundred_percent() {
        let expected = Some(Expected {
            bytes: 10 * MIB,
            seconds: 10,
        });
        let estimate = backup_at(12 * MIB, expected).estimate(Duration::from_secs(12));
        assert_eq!(estimate.percent, Some(99));
        assert_eq!(estimate.left, Some(Duration::ZERO));
    }

    #[test]
    fn a_restore_knows_its_total_and_goes_at_its_own_pace() {
        let snapshot = ProgressSnapshot {
            bytes_read: 40 * MIB,
            bytes_total: 80 * MIB,
            ..ProgressSnapshot::default()
        };
        let estimate = snapshot.estimate(Duration::from_secs(4));
        assert_eq!(estimate.percent, Some(50));
        assert_eq!(estimate.left.map(|d| d.as_secs()), Some(4));
    }

    #[test]
    fn the_position_among_the_sources_is_part_of_the_snapshot_until_the_last_one_is_done() {
        let progress = Progress::default();
        progress.at_source("files", 1, 4);
        let snapshot = progress.snapshot();
        assert_eq!(snapshot.current_source.as_deref(), Some("files"));
        assert_eq!((snapshot.source_index, snapshot.source_count), (2, 4));
        progress.set_source(None);
        assert_eq!(progress.snapshot().source_count, 0);
    }
}
