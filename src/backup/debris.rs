//! What dead or failed runs left in the bucket: multipart uploads still open under the
//! prefix, and the folders of unfinished runs that never got a manifest. Best effort.

use crate::lang::Message;
use std::collections::BTreeSet;

use aws_sdk_s3::Client;
use chrono::NaiveDateTime;

use super::error::S3Failure;
use super::folder::FOLDER_FORMAT;
use super::job::S3Target;
use super::manifest::MANIFEST_NAME;
use super::progress::{LogLevel, Reporter};

/// What cleaning did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebrisReport {
    pub uploads_aborted: usize,
    /// Folders (keys, prefix included) whose objects were deleted.
    pub folders_removed: Vec<String>,
    pub warnings: Vec<DebrisWarning>,
}

/// Why something was left in the bucket; never a failure of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebrisWarning {
    /// The credentials may not list or abort multipart uploads (the minimal IAM policy).
    UploadsDenied,
    /// The credentials may not list the bucket, so unfinished folders were not checked.
    ListDenied,
    /// The credentials may not delete objects: `folders` incomplete folders stay.
    DeleteDenied { folders: usize },
    /// Another failure (server unreachable, ...); cleaning stopped there.
    Failed { detail: String },
}

impl DebrisWarning {
    /// What to tell the admin, in their language.
    pub fn message(&self) -> Message {
        match self {
            Self::UploadsDenied => Message::new("run.debris.uploads_denied"),
            Self::ListDenied => Message::new("run.debris.list_denied"),
            Self::DeleteDenied { folders } => {
                Message::new("run.debris.delete_denied").with("count", folders)
            }
            Self::Failed { detail } => Message::new("run.debris.failed").detail(detail.clone()),
        }
    }
}

/// Aborts the open multipart uploads of this app's objects under the prefix, then deletes
/// the objects of `unfinished` folders (of runs that ended failed or interrupted) that have
/// no manifest. No run may be in progress on this target: its uploads would be aborted.
pub async fn clean(
    client: &Client,
    target: &S3Target,
    unfinished: &[String],
    reporter: &Reporter,
) -> DebrisReport {
    let mut report = DebrisReport::default();
    if abort_uploads(client, target, reporter, &mut report).await {
        remove_folders(client, target, unfinished, reporter, &mut report).await;
    }
    for warning in &report.warnings {
        reporter.log(LogLevel::Warn, warning.message());
    }
    report
}

/// Whether `key` looks like an object of this app: `<prefix>/<folder name>/<name>`.
fn is_ours(target: &S3Target, key: &str) -> bool {
    key.strip_prefix(&target.folder_prefix())
        .and_then(|relative| relative.split_once('/'))
        .is_some_and(|(folder, name)| {
            is_folder_name(folder) && !name.is_empty() && !name.contains('/')
        })
}

fn is_folder_name(name: &str) -> bool {
    NaiveDateTime::parse_from_str(name, FOLDER_FORMAT).is_ok()
}

/// Returns false when cleaning should stop (the server failed for another reason than
/// permissions: the folders would fail the same way, each after its retries).
async fn abort_uploads(
    client: &Client,
    target: &S3Target,
    reporter: &Reporter,
    report: &mut DebrisReport,
) -> bool {
    let uploads = match list_uploads(client, target).await {
        Ok(uploads) => uploads,
        Err(failure) if failure.is_access_denied() => {
            report.warnings.push(DebrisWarning::UploadsDenied);
            return true;
        }
        Err(failure) => {
            report.warnings.push(DebrisWarning::Failed {
                detail: format!("listing multipart uploads: {failure}"),
            });
            return false;
        }
    };
    for (key, upload_id) in uploads {
        let aborted = client
            .abort_multipart_upload()
            .bucket(&target.bucket)
            .key(&key)
            .upload_id(&upload_id)
            .send()
            .await;
        match aborted.map_err(|err| S3Failure::from_sdk(&err)) {
            Ok(_) => {
                report.uploads_aborted += 1;
                reporter.log(
                    LogLevel::Info,
                    Message::new("run.debris.upload_aborted")
                        .with("object", format!("s3://{}/{key}", target.bucket)),
                );
            }
            // Gone meanwhile (an abort started at shutdown reached the server).
            Err(failure) if failure.code.as_deref() == Some("NoSuchUpload") => {}
            Err(failure) if failure.is_access_denied() => {
                report.warnings.push(DebrisWarning::UploadsDenied);
                return true;
            }
            Err(failure) => {
                report.warnings.push(DebrisWarning::Failed {
                    detail: format!("aborting the multipart upload of {key}: {failure}"),
                });
                return false;
            }
        }
    }
    true
}

/// The (key, upload id) of every open upload of this app's objects under the prefix.
async fn list_uploads(
    client: &Client,
    target: &S3Target,
) -> Result<Vec<(String, String)>, S3Failure> {
    let mut uploads = Vec::new();
    let (mut key_marker, mut upload_id_marker) = (None, None);
    loop {
        let page = client
            .list_multipart_uploads()
            .bucket(&target.bucket)
            .prefix(target.folder_prefix())
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(upload_id_marker.take())
            .send()
            .await
            .map_err(|err| S3Failure::from_sdk(&err))?;
        for upload in page.uploads() {
            if let (Some(key), Some(id)) = (upload.key(), upload.upload_id())
                && is_ours(target, key)
            {
                uploads.push((key.to_owned(), id.to_owned()));
            }
        }
        if page.is_truncated() != Some(true) || page.next_key_marker().is_none() {
            return Ok(uploads);
        }
        key_marker = page.next_key_marker;
        upload_id_marker = page.next_upload_id_marker;
    }
}

async fn remove_folders(
    client: &Client,
    target: &S3Target,
    unfinished: &[String],
    reporter: &Reporter,
    report: &mut DebrisReport,
) {
    let prefix = target.folder_prefix();
    // Only folders of this app under the current prefix (it may have changed since).
    let folders: BTreeSet<&String> = unfinished
        .iter()
        .filter(|folder| folder.strip_prefix(&prefix).is_some_and(is_folder_name))
        .collect();
    let mut kept = 0;
    for folder in folders {
        let keys = match folder_keys(client, target, folder).await {
            Ok(keys) => keys,
            Err(failure) if failure.is_access_denied() => {
                report.warnings.push(DebrisWarning::ListDenied);
                return;
            }
            Err(failure) => {
                report.warnings.push(DebrisWarning::Failed {
                    detail: format!("listing {folder}/: {failure}"),
                });
                return;
            }
        };
        let manifest = format!("{folder}/{MANIFEST_NAME}");
        if keys.is_empty() || keys.contains(&manifest) {
            continue;
        }
        match delete_keys(client, target, &keys).await {
            Ok(()) => {
                reporter.log(
                    LogLevel::Info,
                    Message::new("run.debris.folder_removed")
                        .with("folder", format!("{folder}/"))
                        .with("count", keys.len()),
                );
                report.folders_removed.push(folder.clone());
            }
            Err(failure) if failure.is_access_denied() => kept += 1,
            Err(failure) => {
                report.warnings.push(DebrisWarning::Failed {
                    detail: format!("deleting {folder}/: {failure}"),
                });
                return;
            }
        }
    }
    if kept > 0 {
        report
            .warnings
            .push(DebrisWarning::DeleteDenied { folders: kept });
    }
}

async fn folder_keys(
    client: &Client,
    target: &S3Target,
    folder: &str,
) -> Result<Vec<String>, S3Failure> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(&target.bucket)
        .prefix(format!("{folder}/"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| S3Failure::from_sdk(&err))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}

async fn delete_keys(client: &Client, target: &S3Target, keys: &[String]) -> Result<(), S3Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(prefix: &str) -> S3Target {
        S3Target {
            endpoint: None,
            region: "r".into(),
            bucket: "b".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: false,
            prefix: prefix.into(),
            max_parts: S3Target::DEFAULT_MAX_PARTS,
            storage: Default::default(),
        }
    }

    #[test]
    fn only_keys_shaped_like_a_run_object_are_ours() {
        let under = target("backups");
        assert!(is_ours(&under, "backups/2026-01-02T030405Z/db.sql.zst"));
        assert!(!is_ours(&under, "backups/notes/db.sql.zst"));
        assert!(!is_ours(&under, "backups/2026-01-02T030405Z/"));
        assert!(!is_ours(&under, "backups/2026-01-02T030405Z/a/b"));
        assert!(!is_ours(&under, "other/2026-01-02T030405Z/db.sql.zst"));
        assert!(!is_ours(&under, "backups/x/2026-01-02T030405Z/db.sql.zst"));
        let root = target("");
        assert!(is_ours(&root, "2026-01-02T030405Z/files.tar.zst"));
        assert!(!is_ours(&root, "backups/2026-01-02T030405Z/files.tar.zst"));
    }
}
