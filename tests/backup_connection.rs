//! "Test connection" against the in-process S3 server: each problem is named precisely.

mod common;

use std::sync::atomic::Ordering;

use common::s3::TestS3;
use s3_backup::backup::connection::{ConnectionNote, ProblemKind};
use s3_backup::backup::test_connection;

#[tokio::test]
async fn a_working_target_passes_and_leaves_nothing_behind() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;

    let report = test_connection(&s3.target(&bucket, "backups/erp"))
        .await
        .expect("connection works");

    assert!(report.notes.is_empty());
    assert!(s3.keys(&bucket, "").await.is_empty());
}

#[tokio::test]
async fn credentials_that_may_not_delete_pass_with_a_note() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    s3.hooks.deny_delete.store(true, Ordering::SeqCst);

    let report = test_connection(&s3.target(&bucket, ""))
        .await
        .expect("connection works");

    assert_eq!(report.notes, [ConnectionNote::DeleteDenied]);
    assert!(report.notes[0].message("en").contains("lifecycle rule"));
}

#[tokio::test]
async fn a_wrong_secret_is_reported_as_bad_credentials() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let mut target = s3.target(&bucket, "");
    target.secret_access_key = "wrong".into();

    let problem = test_connection(&target).await.expect_err("refused");

    assert_eq!(problem.kind, ProblemKind::BadCredentials, "{problem:?}");
    assert!(problem.message("en").contains("secret access key"));
}

#[tokio::test]
async fn an_unknown_access_key_is_reported_as_bad_credentials() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let mut target = s3.target(&bucket, "");
    target.access_key_id = "AKIAUNKNOWN".into();

    let problem = test_connection(&target).await.expect_err("refused");

    assert_eq!(problem.kind, ProblemKind::BadCredentials, "{problem:?}");
}

#[tokio::test]
async fn a_missing_bucket_is_named() {
    let s3 = TestS3::start().await;

    let problem = test_connection(&s3.target("no-such-bucket", ""))
        .await
        .expect_err("refused");

    assert_eq!(problem.kind, ProblemKind::NoSuchBucket, "{problem:?}");
}

#[tokio::test]
async fn a_missing_list_permission_is_named() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    s3.hooks.deny_list.store(true, Ordering::SeqCst);

    let problem = test_connection(&s3.target(&bucket, ""))
        .await
        .expect_err("refused");

    assert_eq!(problem.kind, ProblemKind::ListDenied, "{problem:?}");
    assert!(problem.message("en").contains("s3:ListBucket"));
}

#[tokio::test]
async fn a_missing_put_permission_is_named() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    s3.hooks.deny_put.store(true, Ordering::SeqCst);

    let problem = test_connection(&s3.target(&bucket, ""))
        .await
        .expect_err("refused");

    assert_eq!(problem.kind, ProblemKind::PutDenied, "{problem:?}");
    assert!(problem.message("fr").contains("s3:PutObject"));
}

#[tokio::test]
async fn an_endpoint_nobody_listens_on_is_unreachable() {
    let mut s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let target = s3.target(&bucket, "");
    s3.stop().await;

    let problem = test_connection(&target).await.expect_err("refused");

    assert_eq!(
        problem.kind,
        ProblemKind::EndpointUnreachable,
        "{problem:?}"
    );
}
