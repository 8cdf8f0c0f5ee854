//! Keeps the newest `limit` complete backups (folders with a manifest) and deletes older
//! complete ones. Incomplete folders are neither counted nor deleted; the folder just made is
//! never deleted, nor one whose objects are still under Object Lock (it goes on a later run,
//! once its date has passed). Retention only runs after a successful run, and never fails
//! it: when the credentials may not delete, it says so and points to lifecycle rules.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};

use super::catalogue;
use super::error::S3Failure;
use super::job::S3Target;
use super::manifest::MANIFEST_NAME;
use super::object_lock::{self, BackupLock, BucketLock};
use super::progress::{LogLevel, Reporter};
use crate::lang::Message;

/// What retention did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Folders (keys, prefix included) deleted.
    pub deleted: Vec<String>,
    /// Folders beyond the limit kept because their objects are still locked, with the date
    /// their lock ends.
    pub locked: Vec<(String, DateTime<Utc>)>,
    pub warning: Option<RetentionWarning>,
}

/// Why old backups were not (all) deleted; the run is still a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionWarning {
    /// The credentials may not delete objects (the minimal IAM policy).
    DeleteDenied { kept: usize },
    /// Listing or deleting failed for another reason.
    Failed { detail: String },
}

impl RetentionWarning {
    /// Translation key in `locales/backup.yml`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::DeleteDenied { .. } => "backup.retention.delete_denied",
            Self::Failed { .. } => "backup.retention.failed",
        }
    }

    /// What to tell the admin, in their language.
    pub fn to_message(&self) -> Message {
        match self {
            Self::DeleteDenied { kept } => Message::new(self.key()).with("count", kept),
            Self::Failed { detail } => Message::new(self.key()).detail(detail.clone()),
        }
    }

    pub fn message(&self, locale: &str) -> String {
        self.to_message()
            .render(crate::lang::Lang::from_code_or_default(locale))
    }
}

#[derive(Debug, Default)]
struct Folder {
    keys: Vec<String>,
    /// Has a manifest.
    finished: bool,
    /// Some of its run's sources failed (it has the marker).
    partial: bool,
}

impl Folder {
    /// A complete backup: finished, with every source.
    fn complete(&self) -> bool {
        self.finished && !self.partial
    }
}

/// Applies the limit after the run that wrote `new_folder` (its name, without prefix), at
/// `now` (a lock whose date is past `now` has ended).
pub async fn apply(
    client: &Client,
    target: &S3Target,
    new_folder: &str,
    limit: u32,
    now: DateTime<Utc>,
    reporter: &Reporter,
) -> RetentionReport {
    let mut report = RetentionReport::default();
    let folders = match list_folders(client, target).await {
        Ok(folders) => folders,
        Err(failure) => {
            report.warning = Some(RetentionWarning::Failed {
                detail: format!("listing old backups: {failure}"),
            });
            warn(reporter, &report);
            return report;
        }
    };
    // Newest first; the new folder always counts as one of the kept ones.
    let older: Vec<(&String, &Folder)> = folders
        .iter()
        .rev()
        .filter(|(name, folder)| folder.complete() && name.as_str() != new_folder)
        .collect();
    let keep_older = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    // Partial backups older than the oldest complete one kept are superseded once the
    // limit is reached: they go too.
    let oldest_kept = match keep_older {
        0 => Some(new_folder.to_owned()),
        n => older.get(n - 1).map(|(name, _)| (*name).clone()),
    };
    let mut doomed = older.into_iter().skip(keep_older).collect::<Vec<_>>();
    if let Some(oldest_kept) = oldest_kept {
        doomed.extend(folders.iter().filter(|(name, folder)| {
            folder.finished && folder.partial && name.as_str() < oldest_kept.as_str()
        }));
    }
    let total = doomed.len();
    let locks = Locks::new(client, target, now, !doomed.is_empty()).await;
    let mut kept_locked = 0;
    for (index, (name, folder)) in doomed.into_iter().enumerate() {
        let folder_key = target.key(name);
        if locks.keeps(&folder_key, reporter, &mut report).await {
            kept_locked += 1;
            continue;
        }
        match delete_folder(client, target, folder).await {
            Ok(()) => {
                reporter.log(
                    LogLevel::Info,
                    Message::new("run.log.retention_deleted")
                        .with("folder", format!("{folder_key}/")),
                );
                report.deleted.push(folder_key);
            }
            Err(failure) if failure.is_access_denied() => {
                report.warning = Some(RetentionWarning::DeleteDenied {
                    kept: total - index - kept_locked,
                });
                break;
            }
            Err(failure) => {
                report.warning = Some(RetentionWarning::Failed {
                    detail: format!("deleting {folder_key}/: {failure}"),
                });
                break;
            }
        }
    }
    warn(reporter, &report);
    report
}

/// Which backups are still locked, learnt from each one's manifest (not from every
/// object), and only on a bucket that can lock objects at all.
struct Locks<'a> {
    client: &'a Client,
    target: &'a S3Target,
    now: DateTime<Utc>,
    bucket_may_lock: bool,
}

impl<'a> Locks<'a> {
    async fn new(
        client: &'a Client,
        target: &'a S3Target,
        now: DateTime<Utc>,
        needed: bool,
    ) -> Self {
        let bucket_may_lock = needed
            && !matches!(
                BucketLock::of(client, &target.bucket).await,
                BucketLock::Off | BucketLock::Unsupported
            );
        Self {
            client,
            target,
            now,
            bucket_may_lock,
        }
    }

    /// Whether the backup at `folder_key` must be kept for its lock; says so in the log.
    async fn keeps(
        &self,
        folder_key: &str,
        reporter: &Reporter,
        report: &mut RetentionReport,
    ) -> bool {
        if !self.bucket_may_lock {
            return false;
        }
        let manifest = format!("{folder_key}/{MANIFEST_NAME}");
        match object_lock::backup_lock(self.client, &self.target.bucket, &manifest).await {
            BackupLock::Until(until) if until > self.now => {
                reporter.log(
                    LogLevel::Info,
                    Message::new("run.log.retention_locked")
                        .with("folder", format!("{folder_key}/"))
                        .with("until", until.format("%Y-%m-%d %H:%M:%S UTC")),
                );
                report.locked.push((folder_key.to_owned(), until));
                true
            }
            // Whoever locks backups keeps those whose lock cannot be read.
            BackupLock::Unknown(detail) if self.target.storage.object_lock.is_some() => {
                reporter.log(
                    LogLevel::Warn,
                    Message::new("run.log.retention_lock_unknown")
                        .with("folder", format!("{folder_key}/"))
                        .detail(detail),
                );
                true
            }
            BackupLock::Until(_) | BackupLock::None | BackupLock::Unknown(_) => false,
        }
    }
}

fn warn(reporter: &Reporter, report: &RetentionReport) {
    if let Some(warning) = &report.warning {
        reporter.log(LogLevel::Warn, warning.to_message());
    }
}

/// The backup folders directly under the prefix, by name (oldest first), as the catalogue
/// lists them.
async fn list_folders(
    client: &Client,
    target: &S3Target,
) -> Result<BTreeMap<String, Folder>, S3Failure> {
    Ok(catalogue::list(client, target)
        .await?
        .into_iter()
        .map(|backup| {
            let folder = Folder {
                keys: backup
                    .objects
                    .into_iter()
                    .map(|object| object.key)
                    .collect(),
                finished: backup.has_manifest,
                partial: backup.partial,
            };
            (backup.name, folder)
        })
        .collect())
}

/// Deletes the manifest first, so an interrupted deletion leaves an incomplete folder rather
/// than a complete-looking one with missing objects.
async fn delete_folder(
    client: &Client,
    target: &S3Target,
    folder: &Folder,
) -> Result<(), S3Failure> {
    let mut keys: Vec<&String> = folder.keys.iter().collect();
    keys.sort_by_key(|key| !key.ends_with(&format!("/{MANIFEST_NAME}")));
    for key in keys {
        client
            .delete_object()
            .bucket(&target.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| S3Failure::from_sdk(&err))?;
    }
    Ok(())
}
