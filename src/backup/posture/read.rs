//! One request per setting of the bucket, its answer reduced to what the posture shows.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::types::{BucketVersioningStatus, ObjectLockEnabled};

use super::lifecycle::Period;
use super::{BlockPublicAccess, DefaultEncryption, Finding, LockConfig, Versioning, finding};
use crate::settings::LockMode;

/// The grantees that make an ACL public: everyone, and every AWS account.
const EVERYONE: [&str; 2] = [
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

fn or_not_configured<T>(value: Option<T>) -> Finding<T> {
    value.map_or(Finding::NotConfigured, Finding::Seen)
}

pub(super) async fn block_public_access(
    client: &Client,
    bucket: &str,
) -> Finding<BlockPublicAccess> {
    let answer = client.get_public_access_block().bucket(bucket).send().await;
    finding(answer, &["NoSuchPublicAccessBlockConfiguration"]).then(|output| {
        or_not_configured(output.public_access_block_configuration().map(|config| {
            BlockPublicAccess {
                block_public_acls: config.block_public_acls().unwrap_or(false),
                ignore_public_acls: config.ignore_public_acls().unwrap_or(false),
                block_public_policy: config.block_public_policy().unwrap_or(false),
                restrict_public_buckets: config.restrict_public_buckets().unwrap_or(false),
            }
        }))
    })
}

pub(super) async fn policy_is_public(client: &Client, bucket: &str) -> Finding<bool> {
    let answer = client
        .get_bucket_policy_status()
        .bucket(bucket)
        .send()
        .await;
    finding(answer, &["NoSuchBucketPolicy"]).then(|output| {
        Finding::Seen(
            output
                .policy_status()
                .and_then(|status| status.is_public())
                .unwrap_or(false),
        )
    })
}

pub(super) async fn acl_grants_everyone(client: &Client, bucket: &str) -> Finding<bool> {
    let answer = client.get_bucket_acl().bucket(bucket).send().await;
    finding(answer, &[]).then(|output| {
        Finding::Seen(output.grants().iter().any(|grant| {
            grant
                .grantee()
                .and_then(|grantee| grantee.uri())
                .is_some_and(|uri| EVERYONE.contains(&uri))
        }))
    })
}

pub(super) async fn default_encryption(
    client: &Client,
    bucket: &str,
) -> Finding<DefaultEncryption> {
    let answer = client.get_bucket_encryption().bucket(bucket).send().await;
    finding(answer, &["ServerSideEncryptionConfigurationNotFoundError"]).then(|output| {
        let default = output
            .server_side_encryption_configuration()
            .and_then(|config| {
                config
                    .rules()
                    .iter()
                    .find_map(|rule| rule.apply_server_side_encryption_by_default())
            });
        or_not_configured(default.map(|default| DefaultEncryption {
            algorithm: default.sse_algorithm().as_str().to_owned(),
            kms_key: default.kms_master_key_id().map(str::to_owned),
        }))
    })
}

pub(super) async fn versioning(client: &Client, bucket: &str) -> Finding<Versioning> {
    let answer = client.get_bucket_versioning().bucket(bucket).send().await;
    if let Err(err) = &answer
        && let Some(versioning) = versioning_in_body(err)
    {
        return Finding::Seen(versioning);
    }
    finding(answer, &[]).then(|output| {
        Finding::Seen(match output.status() {
            Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
            Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
            _ => Versioning::Off,
        })
    })
}

/// The status of a successful answer the SDK could not read: some servers (moto) wrap it
/// in another root element than S3's `VersioningConfiguration`.
fn versioning_in_body<E>(err: &SdkError<E, HttpResponse>) -> Option<Versioning> {
    let raw = err.raw_response()?;
    if raw.status().as_u16() != 200 {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    let status = body
        .split_once("<Status>")
        .and_then(|(_, rest)| rest.split_once("</Status>"))
        .map(|(status, _)| status.trim());
    Some(match status {
        Some("Enabled") => Versioning::Enabled,
        Some("Suspended") => Versioning::Suspended,
        _ => Versioning::Off,
    })
}

/// GetObjectLockConfiguration: whether the bucket can lock objects, and its default
/// retention. Also what saving the Object Lock setting and starting a run check.
pub async fn object_lock(client: &Client, bucket: &str) -> Finding<LockConfig> {
    let answer = client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await;
    finding(answer, &["ObjectLockConfigurationNotFoundError"]).then(|output| {
        or_not_configured(output.object_lock_configuration().map(|config| {
            let default = config
                .rule()
                .and_then(|rule| rule.default_retention())
                .and_then(|retention| {
                    let mode = LockMode::from_s3(retention.mode()?.as_str())?;
                    let period = match (retention.days(), retention.years()) {
                        (Some(days), _) if days > 0 => Period::Days(days),
                        (_, Some(years)) if years > 0 => Period::Years(years),
                        _ => return None,
                    };
                    Some((mode, period))
                });
            LockConfig {
                enabled: config.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled),
                default,
            }
        }))
    })
}

/// Every rule of the bucket's lifecycle configuration, as the SDK gives them.
pub(super) async fn lifecycle_rules(
    client: &Client,
    bucket: &str,
) -> Finding<Vec<aws_sdk_s3::types::LifecycleRule>> {
    let answer = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await;
    finding(answer, &["NoSuchLifecycleConfiguration"])
        .then(|output| Finding::Seen(output.rules.unwrap_or_default()))
}
