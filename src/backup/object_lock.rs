//! Object Lock in the engine: the retention each object is written with, whether the
//! bucket can lock objects at all (checked when the setting is saved and when a run
//! starts), and until when a stored backup stays locked (for retention).

use aws_sdk_s3::Client;
use aws_sdk_s3::types::ObjectLockMode;
use chrono::{DateTime, Utc};

use super::error::S3Failure;
use super::manifest::LockRecord;
use super::posture::{self, Finding, LockConfig};
use crate::lang::Message;
use crate::settings::LockMode;

/// The lock one object is written with: S3's `x-amz-object-lock-mode` and
/// `x-amz-object-lock-retain-until-date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRetention {
    pub mode: LockMode,
    pub until: DateTime<Utc>,
}

impl ObjectRetention {
    pub fn s3_mode(&self) -> ObjectLockMode {
        ObjectLockMode::from(self.mode.s3_name())
    }

    pub fn s3_until(&self) -> aws_smithy_types::DateTime {
        aws_smithy_types::DateTime::from_secs(self.until.timestamp())
    }

    /// The later of two.
    pub fn latest(self, other: Option<ObjectRetention>) -> ObjectRetention {
        match other {
            Some(other) if other.until > self.until => other,
            _ => self,
        }
    }
}

/// A date of the S3 SDK as a chrono date.
pub fn to_utc(at: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

/// Whether a bucket can take the locks the settings ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketLock {
    /// Object Lock is enabled on the bucket.
    Enabled,
    /// The bucket has no Object Lock: it is turned on when a bucket is created.
    Off,
    /// The server does not implement Object Lock.
    Unsupported,
    /// The credentials may not read the bucket's Object Lock configuration.
    NotVisible,
    /// The configuration could not be read, in the server's or the network's words.
    Failed(String),
}

impl From<Finding<LockConfig>> for BucketLock {
    fn from(finding: Finding<LockConfig>) -> Self {
        match finding {
            Finding::Seen(config) if config.enabled => Self::Enabled,
            Finding::Seen(_) | Finding::NotConfigured => Self::Off,
            Finding::NotSupported => Self::Unsupported,
            Finding::NotVisible => Self::NotVisible,
            Finding::Failed(detail) => Self::Failed(detail),
        }
    }
}

impl BucketLock {
    /// Reads the bucket's Object Lock configuration.
    pub async fn of(client: &Client, bucket: &str) -> Self {
        posture::object_lock(client, bucket).await.into()
    }

    /// Why the Object Lock setting cannot be used with this bucket; `None` when it can.
    pub fn refusal(&self, bucket: &str) -> Option<Message> {
        let key = match self {
            Self::Enabled => return None,
            Self::Off => "backup.object_lock.off",
            Self::Unsupported => "backup.object_lock.unsupported",
            Self::NotVisible => "backup.object_lock.not_visible",
            Self::Failed(detail) => {
                return Some(
                    Message::new("backup.object_lock.failed")
                        .with("bucket", bucket)
                        .detail(detail.clone()),
                );
            }
        };
        Some(Message::new(key).with("bucket", bucket))
    }
}

/// Until when a stored backup is locked, as far as can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupLock {
    /// Locked until this date (it may have passed).
    Until(DateTime<Utc>),
    /// Neither the server nor the manifest tells of a lock.
    None,
    /// Neither could be read.
    Unknown(String),
}

/// Until when the backup whose manifest is `manifest_key` is locked. The manifest is the
/// last object a run writes, so its lock ends last: HeadObject tells it (for backups of
/// every version, and those locked by the bucket's default retention too), and where the
/// answer shows no lock (credentials without s3:GetObjectRetention), the date the run
/// recorded in the manifest does. Two requests at most, whatever the backup holds.
pub async fn backup_lock(client: &Client, bucket: &str, manifest_key: &str) -> BackupLock {
    let head = client
        .head_object()
        .bucket(bucket)
        .key(manifest_key)
        .send()
        .await;
    match head {
        Ok(head) => {
            if let Some(until) = head.object_lock_retain_until_date().and_then(to_utc) {
                return BackupLock::Until(until);
            }
        }
        Err(err) => {
            let failure = S3Failure::from_sdk(&err);
            if !failure.is_access_denied() {
                return BackupLock::Unknown(format!("checking {manifest_key}: {failure}"));
            }
        }
    }
    recorded_lock(client, bucket, manifest_key).await
}

/// The lock the manifest records (none in a manifest from before Object Lock, or one that
/// is not JSON at all).
async fn recorded_lock(client: &Client, bucket: &str, manifest_key: &str) -> BackupLock {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(manifest_key)
        .send()
        .await;
    let object = match object {
        Ok(object) => object,
        Err(err) => {
            return BackupLock::Unknown(format!(
                "reading {manifest_key}: {}",
                S3Failure::from_sdk(&err)
            ));
        }
    };
    let body = match object.body.collect().await {
        Ok(body) => body.into_bytes(),
        Err(err) => return BackupLock::Unknown(format!("reading {manifest_key}: {err}")),
    };
    match LockRecord::read(&body) {
        Some(record) => BackupLock::Until(record.retain_until),
        None => BackupLock::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;

    #[test]
    fn only_an_enabled_configuration_takes_locks() {
        let config = |enabled| {
            Finding::Seen(LockConfig {
                enabled,
                default: None,
            })
        };
        assert_eq!(BucketLock::from(config(true)), BucketLock::Enabled);
        assert_eq!(BucketLock::from(config(false)), BucketLock::Off);
        assert_eq!(BucketLock::from(Finding::NotConfigured), BucketLock::Off);
        assert_eq!(
            BucketLock::from(Finding::NotSupported),
            BucketLock::Unsupported
        );
        assert_eq!(
            BucketLock::from(Finding::NotVisible),
            BucketLock::NotVisible
        );
    }

    #[test]
    fn every_refusal_is_said_in_both_languages() {
        assert_eq!(BucketLock::Enabled.refusal("b"), None);
        for lock in [
            BucketLock::Off,
            BucketLock::Unsupported,
            BucketLock::NotVisible,
            BucketLock::Failed("connection refused".into()),
        ] {
            let message = lock.refusal("acme-backups").expect("a refusal");
            let (en, fr) = (message.render(Lang::EN), message.render(Lang::FR));
            assert_ne!(en, fr);
            for text in [en, fr] {
                assert!(text.contains("acme-backups"), "{text}");
                assert!(!text.contains("backup.object_lock"), "{text}");
            }
        }
    }

    #[test]
    fn the_later_retention_wins() {
        let at = |secs| ObjectRetention {
            mode: LockMode::Governance,
            until: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
        };
        assert_eq!(at(10).latest(Some(at(20))), at(20));
        assert_eq!(at(30).latest(Some(at(20))), at(30));
        assert_eq!(at(30).latest(None), at(30));
        assert_eq!(at(1_700_000_000).s3_until().secs(), 1_700_000_000);
    }
}
