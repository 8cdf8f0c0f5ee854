//! The bucket's posture, as "Test connection" reports it beside its checks: public access,
//! default encryption, versioning, Object Lock and the lifecycle rules under the prefix.
//! Each is read with its own request and may be unreadable on its own (denied to these
//! credentials, not set, or not implemented by the server); none of them fails the test.

mod lifecycle;
mod lines;
mod read;

pub use lifecycle::{LifecycleAction, LifecycleRule, Period};
pub use lines::PostureLine;
pub use read::object_lock;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::error::S3Failure;
use super::job::S3Target;
use crate::settings::LockMode;

/// What the server said of one setting of the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding<T> {
    /// The setting as read.
    Seen(T),
    /// The bucket has none (NoSuchLifecycleConfiguration and the like).
    NotConfigured,
    /// The credentials may not read it (AccessDenied).
    NotVisible,
    /// The server does not implement the request (NotImplemented, 501).
    NotSupported,
    /// Any other answer, in the server's words.
    Failed(String),
}

impl<T> Finding<T> {
    pub fn seen(&self) -> Option<&T> {
        match self {
            Self::Seen(value) => Some(value),
            _ => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Finding<U> {
        self.then(|value| Finding::Seen(f(value)))
    }

    /// Goes on from a request's answer, whose content may still say "none".
    fn then<U>(self, f: impl FnOnce(T) -> Finding<U>) -> Finding<U> {
        match self {
            Self::Seen(value) => f(value),
            Self::NotConfigured => Finding::NotConfigured,
            Self::NotVisible => Finding::NotVisible,
            Self::NotSupported => Finding::NotSupported,
            Self::Failed(detail) => Finding::Failed(detail),
        }
    }
}

/// The answer of a request: `Seen` when it succeeded, otherwise what its failure means.
/// `not_configured` lists the error codes by which the server says the bucket has none.
pub(crate) fn finding<T, E>(
    answer: Result<T, SdkError<E, HttpResponse>>,
    not_configured: &[&str],
) -> Finding<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer {
        Ok(value) => Finding::Seen(value),
        Err(err) => classify(&S3Failure::from_sdk(&err), not_configured),
    }
}

fn classify<T>(failure: &S3Failure, not_configured: &[&str]) -> Finding<T> {
    let code = failure.code.as_deref().unwrap_or("");
    if not_configured.contains(&code) {
        Finding::NotConfigured
    } else if failure.is_access_denied() {
        Finding::NotVisible
    } else if code.contains("NotImplemented") || failure.status == Some(501) {
        Finding::NotSupported
    } else if failure.code.is_none() && failure.status.is_some_and(|s| (200..300).contains(&s)) {
        Finding::Failed("the server's answer is not in S3's format".to_owned())
    } else {
        Finding::Failed(failure.to_string())
    }
}

/// The four switches of S3 Block Public Access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPublicAccess {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl BlockPublicAccess {
    /// The names of the switches that are off, as S3 names them.
    pub fn off(&self) -> Vec<&'static str> {
        [
            (self.block_public_acls, "BlockPublicAcls"),
            (self.ignore_public_acls, "IgnorePublicAcls"),
            (self.block_public_policy, "BlockPublicPolicy"),
            (self.restrict_public_buckets, "RestrictPublicBuckets"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, name)| name)
        .collect()
    }
}

/// Who may read the bucket, from three requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAccess {
    pub block: Finding<BlockPublicAccess>,
    /// GetBucketPolicyStatus's IsPublic; not configured when the bucket has no policy.
    pub policy_is_public: Finding<bool>,
    /// Whether the bucket's ACL grants anything to everyone (AllUsers) or to any AWS
    /// account (AuthenticatedUsers).
    pub acl_grants_everyone: Finding<bool>,
}

impl PublicAccess {
    /// Anyone can read the bucket: its policy is public, or its ACL grants everyone, and
    /// Block Public Access does not neutralise that.
    pub fn readable_by_anyone(&self) -> bool {
        let block = self.block.seen();
        let policy_counts = !block.is_some_and(|b| b.restrict_public_buckets);
        let acl_counts = !block.is_some_and(|b| b.ignore_public_acls);
        (policy_counts && self.policy_is_public == Finding::Seen(true))
            || (acl_counts && self.acl_grants_everyone == Finding::Seen(true))
    }
}

/// The encryption the bucket applies to objects stored without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultEncryption {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    pub algorithm: String,
    pub kms_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    Enabled,
    Suspended,
    /// Never turned on.
    Off,
}

/// The bucket's Object Lock configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockConfig {
    pub enabled: bool,
    /// The retention given to objects written without one.
    pub default: Option<(LockMode, Period)>,
}

/// Everything "Test connection" reports of the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posture {
    /// The folder prefix the lifecycle rules were matched against: "" or "erp/".
    pub prefix: String,
    pub public_access: PublicAccess,
    pub encryption: Finding<DefaultEncryption>,
    pub versioning: Finding<Versioning>,
    pub object_lock: Finding<LockConfig>,
    /// The enabled rules that apply to objects under the prefix.
    pub lifecycle: Finding<Vec<LifecycleRule>>,
}

/// Reads the bucket's posture: seven requests, each answered on its own.
pub async fn gather(client: &Client, target: &S3Target) -> Posture {
    let bucket = target.bucket.as_str();
    let prefix = target.folder_prefix();
    let (block, policy_is_public, acl_grants_everyone, encryption, versioning, lock, rules) = tokio::join!(
        read::block_public_access(client, bucket),
        read::policy_is_public(client, bucket),
        read::acl_grants_everyone(client, bucket),
        read::default_encryption(client, bucket),
        read::versioning(client, bucket),
        read::object_lock(client, bucket),
        read::lifecycle_rules(client, bucket),
    );
    Posture {
        public_access: PublicAccess {
            block,
            policy_is_public,
            acl_grants_everyone,
        },
        encryption,
        versioning,
        object_lock: lock,
        lifecycle: rules.map(|rules| lifecycle::under_prefix(rules, &prefix)),
        prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: Option<&str>, status: u16) -> S3Failure {
        S3Failure {
            code: code.map(str::to_owned),
            status: Some(status),
            message: "m".into(),
            unreachable: false,
            bucket_region: None,
        }
    }

    #[test]
    fn each_answer_is_told_apart() {
        let none = ["NoSuchLifecycleConfiguration"];
        let of = |code, status| classify::<()>(&failure(code, status), &none);
        assert_eq!(
            of(Some("NoSuchLifecycleConfiguration"), 404),
            Finding::NotConfigured
        );
        assert_eq!(of(Some("AccessDenied"), 403), Finding::NotVisible);
        assert_eq!(of(None, 403), Finding::NotVisible);
        assert_eq!(of(Some("NotImplemented"), 501), Finding::NotSupported);
        assert_eq!(of(None, 501), Finding::NotSupported);
        assert_eq!(
            of(Some("InternalError"), 500),
            Finding::Failed("InternalError: m".into())
        );
    }

    #[test]
    fn a_public_policy_or_acl_counts_unless_blocked() {
        let all_on = BlockPublicAccess {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        };
        let mut access = PublicAccess {
            block: Finding::NotConfigured,
            policy_is_public: Finding::Seen(true),
            acl_grants_everyone: Finding::Seen(false),
        };
        assert!(access.readable_by_anyone());
        access.block = Finding::Seen(all_on);
        assert!(!access.readable_by_anyone(), "RestrictPublicBuckets wins");
        access.policy_is_public = Finding::NotConfigured;
        access.acl_grants_everyone = Finding::Seen(true);
        assert!(!access.readable_by_anyone(), "IgnorePublicAcls wins");
        access.block = Finding::Seen(BlockPublicAccess {
            ignore_public_acls: false,
            ..all_on
        });
        assert!(access.readable_by_anyone());
        assert_eq!(
            BlockPublicAccess {
                ignore_public_acls: false,
                ..all_on
            }
            .off(),
            ["IgnorePublicAcls"]
        );
    }
}
