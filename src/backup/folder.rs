//! A run's folder in the bucket: a free name from the start time, and removing what a failed
//! run stored in it.

use crate::lang::Message;
use aws_sdk_s3::Client;
use chrono::{DateTime, Duration, Utc};

use super::error::{BackupError, S3Failure};
use super::job::S3Target;
use super::progress::{LogLevel, Reporter};

/// Folder names are UTC start times to the second.
pub const FOLDER_FORMAT: &str = "%Y-%m-%dT%H%M%SZ";

/// The run's folder: its start time, moved on by a second if a folder of that name exists
/// (two runs within one second must not mix their objects).
pub(super) async fn free_folder(
    client: &Client,
    target: &S3Target,
    started_at: DateTime<Utc>,
    reporter: &Reporter,
) -> Result<(String, String), BackupError> {
    for offset in 0..30 {
        let name = (started_at + Duration::seconds(offset))
            .format(FOLDER_FORMAT)
            .to_string();
        let folder = target.key(&name);
        let listed = client
            .list_objects_v2()
            .bucket(&target.bucket)
            .prefix(format!("{folder}/"))
            .max_keys(1)
            .send()
            .await;
        match listed {
            Ok(output) if output.key_count.unwrap_or(0) > 0 => continue,
            Ok(_) => return Ok((name, folder)),
            Err(err) => {
                let failure = S3Failure::from_sdk(&err);
                if failure.is_access_denied() {
                    reporter.log(LogLevel::Warn, Message::new("run.log.list_denied"));
                    return Ok((name, folder));
                }
                return Err(BackupError::S3 {
                    step: "listing".into(),
                    bucket: target.bucket.clone(),
                    key: format!("{folder}/"),
                    failure: Box::new(failure),
                });
            }
        }
    }
    Err(BackupError::FolderTaken {
        prefix: target.prefix.clone(),
    })
}

/// After a failure: removes the objects this run stored, best effort. What cannot be removed
/// (no delete permission, server gone) stays in a folder without manifest, which is never
/// counted as a backup.
pub(super) async fn remove_partial(
    client: &Client,
    target: &S3Target,
    folder: &str,
    attempted: &[String],
    reporter: &Reporter,
) {
    // The manifest first: without it the folder is incomplete whatever else remains.
    for key in attempted.iter().rev() {
        let deleted = client
            .delete_object()
            .bucket(&target.bucket)
            .key(key)
            .send()
            .await;
        match deleted {
            Ok(_) => reporter.removed(key),
            Err(err) => {
                reporter.log(
                    LogLevel::Warn,
                    Message::new("run.log.remove_failed")
                        .with("folder", format!("{folder}/"))
                        .detail(S3Failure::from_sdk(&err).to_string()),
                );
                return;
            }
        }
    }
    if !attempted.is_empty() {
        reporter.log(
            LogLevel::Info,
            Message::new("run.log.removed").with("folder", format!("{folder}/")),
        );
    }
}
