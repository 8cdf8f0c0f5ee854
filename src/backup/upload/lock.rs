//! An object's Object Lock, confirmed on the server once it is stored: the lock the server
//! reports for it, or, where it did not keep the one the upload asked for (moto drops it
//! from multipart uploads; a provider may ignore it), the same lock applied again with
//! PutObjectRetention. A backup is never said immutable on the strength of a header alone.

use aws_sdk_s3::types::{ObjectLockRetention, ObjectLockRetentionMode};
use chrono::Duration;

use super::Destination;
use super::verify::Reported;
use crate::backup::error::{BackupError, S3Failure};
use crate::backup::object_lock::ObjectRetention;
use crate::settings::LockMode;

/// What the server confirmed of an object's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Locked at least as asked: the server reports it, or took it with PutObjectRetention.
    Confirmed(ObjectRetention),
    /// The server's answer shows no lock and the credentials may not set one again
    /// (s3:GetObjectRetention and s3:PutObjectRetention): the lock asked with the upload
    /// is likely there, but unconfirmed.
    Unconfirmed {
        asked: ObjectRetention,
        detail: String,
    },
}

impl LockState {
    /// The lock the object has, or was asked to have.
    pub fn retention(&self) -> ObjectRetention {
        match self {
            Self::Confirmed(retention)
            | Self::Unconfirmed {
                asked: retention, ..
            } => *retention,
        }
    }
}

/// The lock the server reports, when it holds at least `asked`: as long (to the second,
/// servers may drop the fraction), and as strict.
fn holds(reported: &Reported, asked: &ObjectRetention) -> Option<ObjectRetention> {
    let until = reported.lock_until?;
    let mode = LockMode::from_s3(reported.lock_mode.as_deref()?)?;
    let strict_enough = mode == asked.mode || mode == LockMode::Compliance;
    (strict_enough && until + Duration::seconds(1) >= asked.until)
        .then_some(ObjectRetention { mode, until })
}

/// Confirms the lock of the object `reported` describes; `None` when none was asked.
pub(super) async fn confirm(
    dest: &Destination,
    reported: &Reported,
) -> Result<Option<LockState>, BackupError> {
    let Some(asked) = dest.retention else {
        return Ok(None);
    };
    if let Some(held) = holds(reported, &asked) {
        return Ok(Some(LockState::Confirmed(held)));
    }
    let retention = ObjectLockRetention::builder()
        .mode(ObjectLockRetentionMode::from(asked.mode.s3_name()))
        .retain_until_date(asked.s3_until())
        .build();
    let applied = dest
        .client
        .put_object_retention()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .set_version_id(reported.version_id.clone())
        .retention(retention)
        .send()
        .await;
    match applied {
        Ok(_) => Ok(Some(LockState::Confirmed(asked))),
        Err(err) => {
            let failure = S3Failure::from_sdk(&err);
            if failure.is_access_denied() {
                Ok(Some(LockState::Unconfirmed {
                    asked,
                    detail: failure.to_string(),
                }))
            } else {
                Err(dest.s3_error("locking", failure))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn asked(mode: LockMode) -> ObjectRetention {
        ObjectRetention {
            mode,
            until: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        }
    }

    fn reported(mode: &str, until: i64, nanos: u32) -> Reported {
        Reported {
            lock_mode: Some(mode.to_owned()),
            lock_until: DateTime::<Utc>::from_timestamp(until, nanos),
            ..Reported::default()
        }
    }

    #[test]
    fn a_lock_as_long_and_as_strict_is_held() {
        let governance = asked(LockMode::Governance);
        assert!(holds(&reported("GOVERNANCE", 1_800_000_000, 0), &governance).is_some());
        assert!(
            holds(&reported("GOVERNANCE", 1_799_999_999, 500), &governance).is_some(),
            "a server that keeps whole seconds"
        );
        assert!(holds(&reported("COMPLIANCE", 1_900_000_000, 0), &governance).is_some());
        assert!(holds(&reported("GOVERNANCE", 1_700_000_000, 0), &governance).is_none());
        assert!(
            holds(
                &reported("GOVERNANCE", 1_900_000_000, 0),
                &asked(LockMode::Compliance)
            )
            .is_none(),
            "governance is weaker than the compliance asked"
        );
        assert!(holds(&Reported::default(), &governance).is_none());
    }
}
