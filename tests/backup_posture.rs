//! The bucket's posture that "Test connection" reports: each setting read from a real S3
//! server (moto, configured by the test's own client), told apart when it is not
//! configured, not visible with the credentials, or not implemented by the server; and
//! never a reason for the test to fail.

mod common;

use std::sync::atomic::Ordering;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketCannedAcl, BucketLifecycleConfiguration,
    BucketVersioningStatus, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ObjectLockRetentionMode, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Transition, TransitionStorageClass, VersioningConfiguration,
};

use common::moto::Moto;
use common::s3::TestS3;
use s3_backup::backup::posture::{
    self, BlockPublicAccess, DefaultEncryption, Finding, LifecycleAction, LockConfig, Period,
    Versioning,
};
use s3_backup::backup::{S3Target, test_connection};
use s3_backup::lang::Lang;
use s3_backup::settings::LockMode;

const PREFIX: &str = "erp";

fn rule(id: &str, prefix: &str) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .status(ExpirationStatus::Enabled)
}

/// A bucket as the seed advises: public access blocked, versioning, default encryption,
/// Object Lock with a default retention, and lifecycle rules (one for the backups, one for
/// another prefix).
async fn advised_bucket(moto: &Moto) -> String {
    let bucket = moto
        .new_bucket_with_default_retention(ObjectLockRetentionMode::Governance, 5)
        .await;
    let client = &moto.client;
    client
        .put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("block public access");
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .expect("encryption by default");
    client
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .expect("encryption configuration"),
        )
        .send()
        .await
        .expect("default encryption");
    let backups = rule("erp-tiering", "erp/")
        .expiration(LifecycleExpiration::builder().days(400).build())
        .transitions(
            Transition::builder()
                .days(30)
                .storage_class(TransitionStorageClass::Glacier)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(2)
                .build(),
        )
        .build()
        .expect("a rule");
    let other = rule("wiki-cleanup", "wiki/")
        .expiration(LifecycleExpiration::builder().days(3).build())
        .build()
        .expect("a rule");
    client
        .put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(backups)
                .rules(other)
                .build()
                .expect("lifecycle configuration"),
        )
        .send()
        .await
        .expect("lifecycle rules");
    bucket
}

async fn posture_of(target: &S3Target) -> posture::Posture {
    posture::gather(&s3_backup::backup::s3::client(target), target).await
}

fn texts(posture: &posture::Posture, lang: Lang) -> Vec<String> {
    posture
        .lines(lang)
        .into_iter()
        .map(|line| line.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_advised_bucket_reports_each_of_its_settings() {
    let moto = Moto::start().await;
    let bucket = advised_bucket(&moto).await;
    let target = moto.target(&bucket, PREFIX);

    let posture = posture_of(&target).await;

    assert_eq!(
        posture.public_access.block,
        Finding::Seen(BlockPublicAccess {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        })
    );
    assert_eq!(
        posture.public_access.policy_is_public,
        Finding::NotConfigured
    );
    assert_eq!(
        posture.public_access.acl_grants_everyone,
        Finding::Seen(false)
    );
    assert_eq!(
        posture.encryption,
        Finding::Seen(DefaultEncryption {
            algorithm: "AES256".into(),
            kms_key: None
        })
    );
    assert_eq!(posture.versioning, Finding::Seen(Versioning::Enabled));
    assert_eq!(
        posture.object_lock,
        Finding::Seen(LockConfig {
            enabled: true,
            default: Some((LockMode::Governance, Period::Days(5))),
        })
    );
    let rules = posture.lifecycle.seen().expect("lifecycle rules");
    assert_eq!(
        rules.len(),
        1,
        "only the rule under erp/ applies: {rules:?}"
    );
    assert_eq!(rules[0].id.as_deref(), Some("erp-tiering"));
    assert_eq!(
        rules[0].actions,
        [
            LifecycleAction::ExpireAfterDays(400),
            LifecycleAction::TransitionAfterDays {
                storage_class: "GLACIER".into(),
                days: 30
            },
            LifecycleAction::AbortIncompleteUploadsAfterDays(2),
        ]
    );
    assert_eq!(
        texts(&posture, Lang::EN),
        [
            "Public access: blocked (all four Block Public Access settings are on); its policy and ACL do not make it public",
            "Default encryption: SSE-S3 (AES256)",
            "Versioning: enabled",
            "Object Lock: enabled, default retention GOVERNANCE for 5 day(s)",
            "Lifecycle rules under erp/: “erp-tiering”: objects expire 400 days after they are written, move to GLACIER after 30 days, incomplete multipart uploads are aborted after 2 days",
        ]
    );
    assert!(posture.lines(Lang::EN).iter().all(|line| !line.alarm));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_bucket_reports_each_setting_as_not_configured() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;

    let posture = posture_of(&moto.target(&bucket, "")).await;

    assert_eq!(posture.public_access.block, Finding::NotConfigured);
    assert_eq!(
        posture.public_access.policy_is_public,
        Finding::NotConfigured
    );
    assert_eq!(posture.encryption, Finding::NotConfigured);
    assert_eq!(posture.versioning, Finding::Seen(Versioning::Off));
    assert_eq!(posture.object_lock, Finding::NotConfigured);
    assert_eq!(posture.lifecycle, Finding::NotConfigured);
    let lines = texts(&posture, Lang::EN);
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("Public access: not configured"),
        "{lines:?}"
    );
    assert_eq!(lines[1], "Default encryption: not configured");
    assert_eq!(lines[2], "Versioning: not enabled");
    assert_eq!(lines[3], "Object Lock: not configured");
    assert_eq!(
        lines[4],
        "Lifecycle rules under the whole bucket: not configured"
    );
    let french = texts(&posture, Lang::FR);
    assert_eq!(french[3], "Object Lock\u{a0}: non configuré");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_anyone_can_read_is_a_loud_warning() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    moto.client
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("a public-read ACL");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }],
    });
    moto.client
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .expect("a public policy");

    let posture = posture_of(&moto.target(&bucket, PREFIX)).await;

    assert_eq!(posture.public_access.policy_is_public, Finding::Seen(true));
    assert_eq!(
        posture.public_access.acl_grants_everyone,
        Finding::Seen(true)
    );
    let line = &posture.lines(Lang::EN)[0];
    assert!(line.alarm, "{line:?}");
    assert!(
        line.text.contains("ANYONE CAN READ THIS BUCKET")
            && line.text.contains("its bucket policy is public")
            && line.text.contains("its ACL grants access to everyone"),
        "{}",
        line.text
    );
    // The other lines stay information.
    assert!(posture.lines(Lang::EN)[1..].iter().all(|line| !line.alarm));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_of_the_minimal_policy_see_what_they_may_and_pass_the_test() {
    let moto = Moto::start().await;
    let bucket = advised_bucket(&moto).await;
    let (key, secret) = moto.minimal_user(&bucket).await;
    moto.enforce_iam().await;
    let mut target = moto.target(&bucket, PREFIX);
    target.access_key_id = key;
    target.secret_access_key = secret;

    let report = test_connection(&target).await;
    let posture = posture_of(&target).await;

    assert!(
        report.is_ok(),
        "the posture never fails the test: {report:?}"
    );
    // Under moto's IAM these four are checked under their own action, which the minimal
    // policy does not grant.
    assert_eq!(posture.versioning, Finding::NotVisible);
    assert_eq!(posture.lifecycle, Finding::NotVisible);
    assert_eq!(posture.public_access.policy_is_public, Finding::NotVisible);
    assert_eq!(
        posture.public_access.acl_grants_everyone,
        Finding::NotVisible
    );
    // moto allows these as s3:ListBucket: they are read, not guessed.
    assert!(posture.public_access.block.seen().is_some(), "{posture:?}");
    assert!(posture.encryption.seen().is_some(), "{posture:?}");
    let lines = texts(&posture, Lang::EN);
    assert_eq!(lines[2], "Versioning: not visible with these credentials");
    assert_eq!(
        lines[4],
        "Lifecycle rules under erp/: not visible with these credentials"
    );
    assert!(
        lines[0].contains(
            "whether its policy or ACL makes it public is not visible with these credentials"
        ),
        "{}",
        lines[0]
    );
    // A wrong secret is refused: moto does check signatures now.
    let mut wrong = target.clone();
    wrong.secret_access_key = "wrong".into();
    assert!(test_connection(&wrong).await.is_err());
}

#[tokio::test]
async fn a_server_without_these_calls_says_not_supported_and_passes_the_test() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let target = s3.target(&bucket, PREFIX);

    assert!(test_connection(&target).await.is_ok());
    let posture = posture_of(&target).await;

    assert_eq!(posture.public_access.block, Finding::NotSupported);
    assert_eq!(posture.encryption, Finding::NotSupported);
    assert_eq!(posture.versioning, Finding::NotSupported);
    assert_eq!(posture.object_lock, Finding::NotSupported);
    assert_eq!(posture.lifecycle, Finding::NotSupported);
    for line in texts(&posture, Lang::EN) {
        assert!(line.contains("not supported by this server"), "{line}");
    }
}

#[tokio::test]
async fn settings_the_credentials_may_not_read_are_each_not_visible() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    s3.hooks.deny_bucket_settings.store(true, Ordering::SeqCst);
    let target = s3.target(&bucket, PREFIX);

    assert!(test_connection(&target).await.is_ok());
    let posture = posture_of(&target).await;

    assert_eq!(posture.public_access.block, Finding::NotVisible);
    assert_eq!(posture.public_access.policy_is_public, Finding::NotVisible);
    assert_eq!(
        posture.public_access.acl_grants_everyone,
        Finding::NotVisible
    );
    assert_eq!(posture.encryption, Finding::NotVisible);
    assert_eq!(posture.versioning, Finding::NotVisible);
    assert_eq!(posture.object_lock, Finding::NotVisible);
    assert_eq!(posture.lifecycle, Finding::NotVisible);
    for lang in [Lang::EN, Lang::FR] {
        let expected = if lang == Lang::EN {
            "not visible with these credentials"
        } else {
            "non visible avec ces identifiants"
        };
        for line in texts(&posture, lang) {
            assert!(line.contains(expected), "{line}");
        }
    }
}
