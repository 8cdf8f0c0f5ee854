//! "Test connection": checks, in the order a backup needs them, that the bucket is
//! reachable, that listing works, that the bucket can lock objects when Object Lock is on,
//! and that an object can be written under the prefix; each failure is named precisely
//! (credentials, bucket, region, missing permission, network).

use std::fmt;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;

use crate::lang::{Lang, Message};

use super::error::S3Failure;
use super::job::S3Target;
use super::object_lock::BucketLock;
use super::s3;

/// Why the target cannot take backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionProblem {
    pub kind: ProblemKind,
    /// The server's or the network's own words, when useful; shown quoted.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Unknown access key or wrong secret.
    BadCredentials,
    NoSuchBucket,
    /// The bucket lives in another region; `expected` when the server said which.
    WrongRegion {
        expected: Option<String>,
    },
    /// The credentials may not list the bucket (s3:ListBucket).
    ListDenied,
    /// The credentials may not write objects (s3:PutObject).
    PutDenied,
    /// No answer: connection refused, DNS, TLS or timeout.
    EndpointUnreachable,
    /// Object Lock is on in the settings and the bucket cannot lock objects (or the
    /// credentials may not tell).
    ObjectLock {
        bucket: String,
        lock: BucketLock,
    },
    /// Anything else the server answered.
    Other,
}

impl ConnectionProblem {
    fn new(kind: ProblemKind, failure: &S3Failure) -> Self {
        let detail = if failure.unreachable {
            failure.message.clone()
        } else {
            failure.to_string()
        };
        Self {
            kind,
            detail: Some(detail).filter(|detail| !detail.trim().is_empty()),
        }
    }

    /// Translation key in `locales/backup.yml`.
    pub fn key(&self) -> &'static str {
        match &self.kind {
            ProblemKind::BadCredentials => "backup.connection.bad_credentials",
            ProblemKind::NoSuchBucket => "backup.connection.no_such_bucket",
            ProblemKind::WrongRegion { expected: Some(_) } => "backup.connection.wrong_region",
            ProblemKind::WrongRegion { expected: None } => "backup.connection.wrong_region_unknown",
            ProblemKind::ListDenied => "backup.connection.list_denied",
            ProblemKind::PutDenied => "backup.connection.put_denied",
            ProblemKind::EndpointUnreachable => "backup.connection.unreachable",
            ProblemKind::ObjectLock { lock, .. } => match lock {
                BucketLock::Off | BucketLock::Enabled => "backup.object_lock.off",
                BucketLock::Unsupported => "backup.object_lock.unsupported",
                BucketLock::NotVisible => "backup.object_lock.not_visible",
                BucketLock::Failed(_) => "backup.object_lock.failed",
            },
            ProblemKind::Other => "backup.connection.other",
        }
    }

    /// Whether the bucket answered: its posture is worth reading.
    pub fn reached_bucket(&self) -> bool {
        matches!(
            self.kind,
            ProblemKind::ListDenied
                | ProblemKind::PutDenied
                | ProblemKind::ObjectLock { .. }
                | ProblemKind::Other
        )
    }

    /// The sentence to show, with the detail quoted under it.
    pub fn to_message(&self) -> Message {
        if let ProblemKind::ObjectLock { bucket, lock } = &self.kind
            && let Some(refusal) = lock.refusal(bucket)
        {
            return refusal;
        }
        let message = Message::new(self.key());
        let message = match &self.kind {
            ProblemKind::WrongRegion {
                expected: Some(region),
            } => message.with("region", region),
            _ => message,
        };
        match &self.detail {
            Some(detail) => message.detail(detail.clone()),
            None => message,
        }
    }

    /// The message in `locale` ("en" or "fr").
    pub fn message(&self, locale: &str) -> String {
        self.to_message().render(Lang::from_code_or_default(locale))
    }
}

impl fmt::Display for ConnectionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("en"))
    }
}

impl std::error::Error for ConnectionProblem {}

/// Something worth knowing although the test passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionNote {
    /// The test object could not be removed: retention will not be able to delete old
    /// backups; lifecycle rules should.
    DeleteDenied,
}

impl ConnectionNote {
    pub fn key(&self) -> &'static str {
        match self {
            Self::DeleteDenied => "backup.connection.note_delete_denied",
        }
    }

    pub fn message(&self, locale: &str) -> String {
        rust_i18n::t!(self.key(), locale = locale).into_owned()
    }
}

/// A passed test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionReport {
    pub notes: Vec<ConnectionNote>,
}

/// The name of the object written (and removed) by the test, under the prefix.
pub const PROBE_NAME: &str = ".s3-backup-connection-test";

pub async fn test_connection(target: &S3Target) -> Result<ConnectionReport, ConnectionProblem> {
    let client = s3::client(target);
    check_bucket(&client, target).await?;
    client
        .list_objects_v2()
        .bucket(&target.bucket)
        .prefix(target.folder_prefix())
        .max_keys(1)
        .send()
        .await
        .map_err(|err| classify(&S3Failure::from_sdk(&err), ProblemKind::ListDenied))?;

    if target.storage.object_lock.is_some() {
        let lock = BucketLock::of(&client, &target.bucket).await;
        if lock != BucketLock::Enabled {
            return Err(ConnectionProblem {
                kind: ProblemKind::ObjectLock {
                    bucket: target.bucket.clone(),
                    lock,
                },
                detail: None,
            });
        }
    }

    // Written as backups are, so that a class or a key the provider refuses shows here;
    // without a lock of its own, which would keep it from being removed.
    let key = target.key(PROBE_NAME);
    client
        .put_object()
        .bucket(&target.bucket)
        .key(&key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .set_storage_class(target.storage.s3_storage_class())
        .set_server_side_encryption(target.storage.s3_encryption())
        .set_ssekms_key_id(target.storage.kms_key_id())
        .body(ByteStream::from_static(b"s3-backup connection test\n"))
        .send()
        .await
        .map_err(|err| classify(&S3Failure::from_sdk(&err), ProblemKind::PutDenied))?;

    let mut report = ConnectionReport::default();
    if client
        .delete_object()
        .bucket(&target.bucket)
        .key(&key)
        .send()
        .await
        .is_err()
    {
        report.notes.push(ConnectionNote::DeleteDenied);
    }
    Ok(report)
}

/// HeadBucket answers without a body, so a bare 403 is asked again with a listing, whose
/// error code tells bad credentials from a missing permission.
async fn check_bucket(client: &Client, target: &S3Target) -> Result<(), ConnectionProblem> {
    let Err(err) = client.head_bucket().bucket(&target.bucket).send().await else {
        return Ok(());
    };
    let failure = S3Failure::from_sdk(&err);
    if failure.code.is_none() && failure.status == Some(403) && failure.bucket_region.is_none() {
        let listed = client
            .list_objects_v2()
            .bucket(&target.bucket)
            .max_keys(1)
            .send()
            .await;
        return match listed {
            Ok(_) => Ok(()),
            Err(err) => Err(classify(
                &S3Failure::from_sdk(&err),
                ProblemKind::ListDenied,
            )),
        };
    }
    Err(classify(&failure, ProblemKind::ListDenied))
}

/// Names the problem behind a failed request; `denied` is what AccessDenied means here.
fn classify(failure: &S3Failure, denied: ProblemKind) -> ConnectionProblem {
    if failure.unreachable {
        return ConnectionProblem::new(ProblemKind::EndpointUnreachable, failure);
    }
    let code = failure.code.as_deref().unwrap_or("");
    let kind = match (code, failure.status) {
        (
            "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "NotSignedUp"
            | "InvalidToken"
            | "ExpiredToken",
            _,
        ) => ProblemKind::BadCredentials,
        ("NoSuchBucket" | "NotFound", _) | ("", Some(404)) => ProblemKind::NoSuchBucket,
        (
            "PermanentRedirect"
            | "AuthorizationHeaderMalformed"
            | "IllegalLocationConstraintException",
            _,
        )
        | ("", Some(301)) => ProblemKind::WrongRegion {
            expected: failure
                .bucket_region
                .clone()
                .or_else(|| region_in(&failure.message)),
        },
        _ if failure.bucket_region.is_some() && failure.status != Some(403) => {
            ProblemKind::WrongRegion {
                expected: failure.bucket_region.clone(),
            }
        }
        ("AccessDenied", _) | ("", Some(403)) => denied,
        _ => ProblemKind::Other,
    };
    ConnectionProblem::new(kind, failure)
}

/// AWS names the expected region in the message of AuthorizationHeaderMalformed:
/// "the region 'us-east-1' is wrong; expecting 'eu-west-3'".
fn region_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("expecting '")?;
    let (region, _) = rest.split_once('\'')?;
    Some(region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: Option<&str>, status: Option<u16>, region: Option<&str>) -> S3Failure {
        S3Failure {
            code: code.map(str::to_owned),
            status,
            message: "m".into(),
            unreachable: false,
            bucket_region: region.map(str::to_owned),
        }
    }

    #[test]
    fn names_the_region_the_server_gave() {
        let problem = classify(
            &failure(None, Some(301), Some("eu-west-3")),
            ProblemKind::ListDenied,
        );
        assert_eq!(
            problem.kind,
            ProblemKind::WrongRegion {
                expected: Some("eu-west-3".into())
            }
        );
        assert!(problem.message("en").contains("eu-west-3"));
        assert!(problem.message("fr").contains("eu-west-3"));
    }

    #[test]
    fn reads_the_region_from_an_authorization_error() {
        let mut malformed = failure(Some("AuthorizationHeaderMalformed"), Some(400), None);
        malformed.message = "the region 'us-east-1' is wrong; expecting 'eu-west-3'".into();
        assert_eq!(
            classify(&malformed, ProblemKind::ListDenied).kind,
            ProblemKind::WrongRegion {
                expected: Some("eu-west-3".into())
            }
        );
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        let denied = failure(Some("AccessDenied"), Some(403), None);
        assert_eq!(
            classify(&denied, ProblemKind::PutDenied).kind,
            ProblemKind::PutDenied
        );
        assert_eq!(
            classify(&denied, ProblemKind::ListDenied).kind,
            ProblemKind::ListDenied
        );
    }

    #[test]
    fn every_problem_has_both_translations() {
        let kinds = [
            ProblemKind::BadCredentials,
            ProblemKind::NoSuchBucket,
            ProblemKind::WrongRegion {
                expected: Some("x".into()),
            },
            ProblemKind::WrongRegion { expected: None },
            ProblemKind::ListDenied,
            ProblemKind::PutDenied,
            ProblemKind::EndpointUnreachable,
            ProblemKind::Other,
        ]
        .into_iter()
        .chain(
            [
                BucketLock::Off,
                BucketLock::Unsupported,
                BucketLock::NotVisible,
                BucketLock::Failed("refused".into()),
            ]
            .map(|lock| ProblemKind::ObjectLock {
                bucket: "b".into(),
                lock,
            }),
        );
        for kind in kinds {
            let problem = ConnectionProblem { kind, detail: None };
            for locale in ["en", "fr"] {
                let message = problem.message(locale);
                assert!(
                    !message.starts_with(locale),
                    "{} untranslated in {locale}",
                    problem.key()
                );
                assert_ne!(message, problem.key());
            }
        }
        for locale in ["en", "fr"] {
            assert_ne!(
                ConnectionNote::DeleteDenied.message(locale),
                ConnectionNote::DeleteDenied.key()
            );
        }
    }
}
