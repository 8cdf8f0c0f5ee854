//! Why a restore stopped, in one line that names the backup, the object or the path.

use std::io;
use std::path::PathBuf;

use crate::backup::S3Failure;
use crate::backup::download::DownloadError;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot list s3://{bucket}/{prefix}: {failure}")]
    List {
        bucket: String,
        prefix: String,
        failure: Box<S3Failure>,
    },
    #[error("no backup folder \"{0}\" in the bucket (`s3-backup list` shows them)")]
    UnknownFolder(String),
    #[error("no complete backup in the bucket (`s3-backup list` shows them)")]
    NoCompleteBackup,
    #[error("backup {0} has no manifest: it is incomplete and cannot be restored")]
    NoManifest(String),
    #[error(transparent)]
    Download(Box<DownloadError>),
    #[error("backup {folder} has no source \"{source_name}\"; it holds: {held}")]
    UnknownSource {
        folder: String,
        source_name: String,
        held: String,
    },
    #[error(
        "{source_name} is a {kind} backup: restore it with the commands shown on the backup's page"
    )]
    OtherKind { source_name: String, kind: String },
    #[error(
        "{key} is the site's configuration, with its secrets: it is not written by a restore; decrypt it with age when it is needed"
    )]
    SiteConfigKept { key: String },
    #[error("the database of site {site} has no server to go to: {problem}")]
    SiteServer {
        site: String,
        problem: crate::settings::Invalid,
    },
    #[error("source \"{0}\" is not configured on this machine: name where to restore it with --to")]
    NeedsTo(String),
    #[error("{}: {reason}", .path.display())]
    Target { path: PathBuf, reason: String },
    #[error("{} already exists: add --replace to replace it (the current one is kept as {})", .path.display(), .kept.display())]
    Exists { path: PathBuf, kept: PathBuf },
    #[error("{} is not empty: add --replace to replace it (the current one is kept as {})", .path.display(), .kept.display())]
    NotEmpty { path: PathBuf, kept: PathBuf },
    #[error("reading s3://{bucket}/{key}: {cause}")]
    Read {
        bucket: String,
        key: String,
        cause: io::Error,
    },
    #[error("{step} {}: {cause}", .path.display())]
    Write {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("s3://{bucket}/{key} holds \"{entry}\", {reason}: the restore is refused")]
    Refused {
        bucket: String,
        key: String,
        entry: String,
        reason: String,
    },
    #[error("the restored database fails PRAGMA integrity_check: {0}")]
    Integrity(String),
    #[error("{step}: {tool} failed ({status}): {stderr}")]
    Tool {
        step: String,
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error("{step}: cannot run {tool}: {cause}")]
    ToolStart {
        step: String,
        tool: &'static str,
        cause: io::Error,
    },
    #[error("{0} exists already: add --replace to restore into it (its tables are overwritten)")]
    DatabaseExists(String),
    #[error("--to \"{to}\" is refused: {reason} (a database URL looks like {example})")]
    DatabaseTo {
        to: String,
        reason: crate::settings::Invalid,
        example: &'static str,
    },
    #[error("the new database's name {0} is too long: name one with --to")]
    NameTooLong(String),
    #[error("{failure}; and the new database is left behind: {left}")]
    LeftBehind {
        failure: Box<RestoreError>,
        left: Box<RestoreError>,
    },
    #[error("{key}: the manifest records {recorded} {what}, the backup holds {found}")]
    Mismatch {
        key: String,
        what: String,
        recorded: u64,
        found: u64,
    },
    #[error("the restore stopped unexpectedly: {0}")]
    Crashed(String),
    #[error("the restore was cancelled; what it had begun to create was removed")]
    Cancelled,
    #[error("checking the restored database: {0}")]
    Sqlite(#[from] sqlx::Error),
}

impl From<DownloadError> for RestoreError {
    fn from(error: DownloadError) -> Self {
        Self::Download(Box::new(error))
    }
}

impl RestoreError {
    pub fn target(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Target {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn write(step: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |cause| Self::Write { step, path, cause }
    }
}
