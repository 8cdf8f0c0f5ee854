//! The backup engine: what a run does, from sources to verified objects in S3, callable
//! directly (no HTTP, no scheduler); the runner adds the history and one-run-at-a-time.

pub mod catalogue;
pub mod connect;
pub mod connection;
pub mod debris;
pub mod download;
pub mod encryption;
pub mod engine;
pub mod error;
pub mod folder;
pub mod job;
pub mod manifest;
pub mod object_lock;
pub mod part_size;
pub mod posture;
pub mod progress;
pub mod restore;
pub mod retention;
pub mod runner;
pub mod s3;
mod sources;
pub mod upload;
pub mod verify;

pub use connection::{ConnectionNote, ConnectionProblem, ConnectionReport, test_connection};
pub use debris::{DebrisReport, DebrisWarning};
pub use engine::{BackupOutcome, RunFolder, run_backup};
pub use error::{BackupError, S3Failure};
pub use job::{Job, S3Target, SourceSpec, StorageOptions};
pub use manifest::{Encryption, Manifest, StoredObject};
pub use object_lock::{BackupLock, BucketLock, ObjectRetention};
pub use posture::{Posture, PostureLine};
pub use progress::{Estimate, Expected, Progress, ProgressSnapshot, Reporter};
pub use retention::{RetentionReport, RetentionWarning};
pub use runner::{RestoreSummary, RunFinished, RunSummary, Runner, StartError, VerifySummary};
pub use sources::{SourceCheck, check as check_source};
