//! Retention against the in-process S3 server: only complete backups count, the new one is
//! never deleted, nothing runs after a failure, and denied deletes only warn.

mod common;

use std::sync::atomic::Ordering;

use common::s3::TestS3;
use s3_backup::backup::{BackupOutcome, Job, Reporter, RetentionWarning, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

/// A tiny SQLite database to back up.
fn sqlite_source(dir: &std::path::Path) -> SourceSpec {
    let path = dir.join("app.sqlite3");
    let status = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .status()
        .expect("sqlite3 is installed (apt-get install -y sqlite3)");
    assert!(status.success());
    SourceSpec::parse("app", SourceKind::Sqlite, &path.to_string_lossy()).expect("a valid source")
}

async fn seed_backup(s3: &TestS3, bucket: &str, folder: &str, complete: bool) {
    s3.put(bucket, &format!("{folder}/app.sqlite3.zst"), b"old data")
        .await;
    if complete {
        s3.put(bucket, &format!("{folder}/manifest.json"), b"{}")
            .await;
    }
}

/// Folders under `prefix` holding a manifest, oldest first.
async fn complete_folders(s3: &TestS3, bucket: &str, prefix: &str) -> Vec<String> {
    s3.keys(bucket, prefix)
        .await
        .into_iter()
        .filter_map(|key| key.strip_suffix("/manifest.json").map(str::to_owned))
        .collect()
}

async fn back_up(s3: &TestS3, bucket: &str, source: &SourceSpec, limit: u32) -> BackupOutcome {
    run_backup(
        &Job {
            target: s3.target(bucket, "p"),
            sources: vec![source.clone()],
            backup_limit: limit,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("backup succeeds")
}

#[tokio::test]
async fn keeps_exactly_the_newest_complete_backups_and_ignores_the_rest() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let source = sqlite_source(work.path());
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-02T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-03T000000Z", false).await;
    s3.put(&bucket, "p/notes.txt", b"not a backup").await;
    s3.put(&bucket, "p/manual-copy/manifest.json", b"{}").await;
    s3.put(&bucket, "other/2020-01-01T000000Z/manifest.json", b"{}")
        .await;

    let first = back_up(&s3, &bucket, &source, 2).await;
    assert_eq!(
        complete_folders(&s3, &bucket, "p/2").await,
        ["p/2020-01-02T000000Z".to_owned(), first.folder.clone()]
    );
    assert_eq!(first.retention.deleted, ["p/2020-01-01T000000Z"]);

    let second = back_up(&s3, &bucket, &source, 2).await;
    let third = back_up(&s3, &bucket, &source, 2).await;
    assert_eq!(
        complete_folders(&s3, &bucket, "p/2").await,
        [second.folder.clone(), third.folder.clone()]
    );
    assert_eq!(third.retention.warning, None);

    // The incomplete folder and everything that is not a backup are left alone.
    let keys = s3.keys(&bucket, "").await;
    for kept in [
        "p/2020-01-03T000000Z/app.sqlite3.zst",
        "p/notes.txt",
        "p/manual-copy/manifest.json",
        "other/2020-01-01T000000Z/manifest.json",
    ] {
        assert!(keys.contains(&kept.to_owned()), "{kept} was deleted");
    }
}

#[tokio::test]
async fn never_deletes_the_backup_just_made() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    // A folder from the future (a clock that went backwards) sorts after the new one.
    seed_backup(&s3, &bucket, "p/2999-01-01T000000Z", true).await;

    let outcome = back_up(&s3, &bucket, &sqlite_source(work.path()), 1).await;

    assert_eq!(
        complete_folders(&s3, &bucket, "p/").await,
        vec![outcome.folder]
    );
}

#[tokio::test]
async fn zero_keeps_every_backup() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-02T000000Z", true).await;

    let outcome = back_up(&s3, &bucket, &sqlite_source(work.path()), 0).await;

    assert_eq!(complete_folders(&s3, &bucket, "p/").await.len(), 3);
    assert!(outcome.retention.deleted.is_empty());
}

#[tokio::test]
async fn a_failed_run_deletes_nothing() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-02T000000Z", true).await;
    let missing = SourceSpec::parse("app", SourceKind::Sqlite, "/nonexistent/app.sqlite3")
        .expect("a valid source");

    let result = run_backup(
        &Job {
            target: s3.target(&bucket, "p"),
            sources: vec![missing],
            backup_limit: 1,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await;

    let error = result.expect_err("the run fails").to_string();
    assert!(error.contains("/nonexistent/app.sqlite3"), "{error}");
    assert_eq!(complete_folders(&s3, &bucket, "p/").await.len(), 2);
}

#[tokio::test]
async fn denied_deletes_leave_a_successful_run_with_a_lifecycle_hint() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-02T000000Z", true).await;
    s3.hooks.deny_delete.store(true, Ordering::SeqCst);

    let outcome = back_up(&s3, &bucket, &sqlite_source(work.path()), 1).await;

    let warning = outcome.retention.warning.expect("a warning");
    assert_eq!(warning, RetentionWarning::DeleteDenied { kept: 2 });
    assert!(
        warning.message("en").contains("lifecycle rule"),
        "{}",
        warning.message("en")
    );
    assert!(
        warning.message("fr").contains("cycle de vie"),
        "{}",
        warning.message("fr")
    );
    assert_eq!(complete_folders(&s3, &bucket, "p/").await.len(), 3);
}

#[tokio::test]
async fn a_partial_backup_is_not_counted_and_goes_once_superseded() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let source = sqlite_source(dir.path());
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-03T000000Z", true).await;
    s3.put(&bucket, "p/2020-01-03T000000Z/partial.json", b"[]")
        .await;
    seed_backup(&s3, &bucket, "p/2020-01-04T000000Z", true).await;

    // Limit 2: the new backup and the newest complete one. The partial folder of the 3rd
    // does not count, so the complete backup of the 1st is the one deleted…
    let first = back_up(&s3, &bucket, &source, 3).await;
    let kept = complete_folders(&s3, &bucket, "p/").await;
    assert!(
        kept.contains(&"p/2020-01-01T000000Z".to_owned()),
        "{kept:?}"
    );
    assert!(
        first.retention.deleted.is_empty(),
        "three complete backups fit the limit of 3"
    );

    let second = back_up(&s3, &bucket, &source, 2).await;
    let kept = complete_folders(&s3, &bucket, "p/").await;
    assert!(
        !kept.contains(&"p/2020-01-01T000000Z".to_owned()),
        "the oldest complete backup goes: {kept:?}"
    );
    // …and the partial folder, older than the oldest complete backup kept, goes with it.
    assert!(
        !kept.contains(&"p/2020-01-03T000000Z".to_owned()),
        "a superseded partial backup goes too: {kept:?}"
    );
    assert!(kept.contains(&first.folder), "{kept:?}");
    assert!(kept.contains(&second.folder), "{kept:?}");
    assert_eq!(kept.len(), 2, "{kept:?}");
}

#[tokio::test]
async fn retention_never_runs_after_a_partial_run() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let dir = tempfile::tempdir().expect("temp dir");
    seed_backup(&s3, &bucket, "p/2020-01-01T000000Z", true).await;
    seed_backup(&s3, &bucket, "p/2020-01-02T000000Z", true).await;
    let missing = SourceSpec::parse("gone", SourceKind::Sqlite, "/nonexistent/app.sqlite3")
        .expect("a source");

    let outcome = run_backup(
        &Job {
            target: s3.target(&bucket, "p"),
            sources: vec![sqlite_source(dir.path()), missing],
            backup_limit: 1,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("the good source is kept");

    assert!(outcome.is_partial());
    assert!(outcome.retention.deleted.is_empty());
    let kept = complete_folders(&s3, &bucket, "p/").await;
    assert_eq!(
        kept.len(),
        3,
        "nothing deleted after a partial run: {kept:?}"
    );
}
