//! Object Lock against moto, which enforces it: every object a run writes is locked for the
//! days asked (single PUTs and multipart uploads, data, markers and manifest), a bucket
//! without Object Lock is refused before anything is written, and retention keeps a locked
//! backup until its date and deletes it on a run after.

mod common;

use std::ffi::OsStr;
use std::process::Command;
use std::time::Instant;

use aws_sdk_s3::types::ObjectLockRetentionMode;
use chrono::{DateTime, Duration, Utc};

use common::TestApp;
use common::moto::Moto;
use common::run_log::{log_lines, recording_reporter};
use common::tree::{MIB, random_tree, snapshot};
use s3_backup::backup::connection::ProblemKind;
use s3_backup::backup::manifest::LockRecord;
use s3_backup::backup::{
    BackupError, BackupOutcome, BucketLock, Job, Reporter, S3Target, SourceSpec, retention,
    run_backup, test_connection,
};
use s3_backup::lang::Lang;
use s3_backup::settings::{LockDays, LockMode, ObjectLock, SourceKind};

const PREFIX: &str = "erp";

fn lock(mode: LockMode, days: u32) -> Option<ObjectLock> {
    Some(ObjectLock {
        mode,
        days: LockDays::new(days).expect("a valid number of days"),
    })
}

/// `target` with Object Lock on.
fn locked(mut target: S3Target, mode: LockMode, days: u32) -> S3Target {
    target.storage.object_lock = lock(mode, days);
    target
}

fn directory(name: &str, dir: &std::path::Path) -> SourceSpec {
    SourceSpec::parse(name, SourceKind::Directory, dir.to_str().expect("utf-8"))
        .expect("a valid source")
}

/// A directory of `size` random bytes.
fn random_dir(root: &std::path::Path, name: &str, size: usize) -> std::path::PathBuf {
    let dir = root.join(name);
    random_tree(&dir, size);
    dir
}

fn job(target: S3Target, sources: Vec<SourceSpec>, backup_limit: u32) -> Job {
    Job {
        target,
        sources,
        backup_limit,
        leave_out: Vec::new(),
        encryption: None,
    }
}

/// What the server reports of an object's lock: its mode, its date, its version.
struct Held {
    key: String,
    mode: Option<String>,
    until: Option<DateTime<Utc>>,
    version: Option<String>,
}

async fn held(moto: &Moto, bucket: &str, prefix: &str) -> Vec<Held> {
    let mut seen = Vec::new();
    for key in moto.keys(bucket, prefix).await {
        let head = moto
            .client
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("head object");
        seen.push(Held {
            mode: head.object_lock_mode().map(|mode| mode.as_str().to_owned()),
            until: head
                .object_lock_retain_until_date()
                .and_then(s3_backup::backup::object_lock::to_utc),
            version: head.version_id().map(str::to_owned),
            key,
        });
    }
    seen
}

async fn manifest_lock(moto: &Moto, bucket: &str, outcome: &BackupOutcome) -> LockRecord {
    let body = moto
        .client
        .get_object()
        .bucket(bucket)
        .key(format!("{}/manifest.json", outcome.folder))
        .send()
        .await
        .expect("the manifest")
        .body
        .collect()
        .await
        .expect("its bytes")
        .into_bytes();
    LockRecord::read(&body).expect("the manifest records the lock")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_a_run_writes_is_locked_until_n_days_after_it_is_written() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    // A multipart upload, a single PUT, a failed source (so a partial marker) and the
    // manifest.
    let scans = random_dir(work.path(), "scans", 9 * MIB);
    let notes = random_dir(work.path(), "notes", 1000);
    let missing = SourceSpec::parse("gone", SourceKind::Sqlite, "/nonexistent/app.sqlite3")
        .expect("a source");
    let target = locked(moto.target(&bucket, PREFIX), LockMode::Governance, 7);
    let (reporter, mut events) = recording_reporter();
    let before = Utc::now();

    let outcome = run_backup(
        &job(
            target,
            vec![
                directory("scans", &scans),
                directory("notes", &notes),
                missing,
            ],
            0,
        ),
        &reporter,
    )
    .await
    .expect("the good sources are stored");
    let after = Utc::now();

    assert!(outcome.is_partial());
    let objects = held(&moto, &bucket, PREFIX).await;
    let names: Vec<&str> = objects
        .iter()
        .filter_map(|object| object.key.rsplit('/').next())
        .collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "notes.tar.zst",
            "partial.json",
            "scans.tar.zst"
        ]
    );
    let record = manifest_lock(&moto, &bucket, &outcome).await;
    for object in &objects {
        assert_eq!(object.mode.as_deref(), Some("GOVERNANCE"), "{}", object.key);
        let until = object
            .until
            .unwrap_or_else(|| panic!("{} has no lock", object.key));
        assert!(
            until >= before + Duration::days(7) - Duration::seconds(2)
                && until <= after + Duration::days(7) + Duration::seconds(2),
            "{}: locked until {until}, written between {before} and {after}",
            object.key
        );
        assert!(record.retain_until >= until, "{}", object.key);
        // The lock holds: the version cannot be deleted before its date.
        let deleted = moto
            .client
            .delete_object()
            .bucket(&bucket)
            .key(&object.key)
            .set_version_id(object.version.clone())
            .send()
            .await;
        let error = deleted.expect_err("a locked version is not deleted");
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::code(&error),
            Some("AccessDenied"),
            "{}",
            object.key
        );
    }
    assert_eq!(record.mode, "GOVERNANCE");
    let lines = log_lines(&mut events);
    for name in [
        "scans.tar.zst",
        "notes.tar.zst",
        "partial.json",
        "manifest.json",
    ] {
        assert!(
            lines
                .iter()
                .any(|line| line.contains(name) && line.contains("is immutable (GOVERNANCE) until")),
            "the log tells {name}'s lock: {lines:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_object_lock_to_a_bucket_without_it_fails_before_writing() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    let notes = random_dir(work.path(), "notes", 1000);
    let target = locked(moto.target(&bucket, PREFIX), LockMode::Compliance, 30);

    let error = run_backup(
        &job(target, vec![directory("notes", &notes)], 0),
        &Reporter::detached(),
    )
    .await
    .expect_err("refused");

    assert!(matches!(error, BackupError::ObjectLock { .. }), "{error:?}");
    let message = error.message().render(Lang::EN);
    assert!(
        message.contains(&bucket) && message.contains("does not have Object Lock enabled"),
        "{message}"
    );
    assert!(
        moto.keys(&bucket, "").await.is_empty(),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_a_locked_backup_and_deletes_it_once_its_date_has_passed() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    let notes = random_dir(work.path(), "notes", 1000);
    let target = locked(moto.target(&bucket, PREFIX), LockMode::Governance, 1);
    let job = job(target.clone(), vec![directory("notes", &notes)], 1);
    let first = run_backup(&job, &Reporter::detached())
        .await
        .expect("first backup");
    let first_lock = manifest_lock(&moto, &bucket, &first).await.retain_until;

    // The limit of 1 dooms the first backup; it is still locked for a day.
    let (reporter, mut events) = recording_reporter();
    let second = run_backup(&job, &reporter).await.expect("second backup");

    assert!(
        second.retention.deleted.is_empty(),
        "{:?}",
        second.retention
    );
    assert_eq!(
        second.retention.locked,
        [(first.folder.clone(), first_lock)]
    );
    assert_eq!(second.retention.warning, None);
    let until = first_lock.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let lines = log_lines(&mut events);
    assert!(
        lines
            .iter()
            .any(|line| line.contains(&format!("{}/", first.folder))
                && line.contains(&format!("locked until {until}"))),
        "the log says until when: {lines:?}"
    );
    assert!(
        moto.keys(&bucket, &first.folder).await.len() == 2,
        "the locked backup is all there"
    );

    // A later run, once the date has passed, deletes it.
    let second_name = second.folder.rsplit('/').next().expect("a folder name");
    let later = first_lock + Duration::hours(1);
    let report = retention::apply(
        &moto.client,
        &target,
        second_name,
        1,
        later,
        &Reporter::detached(),
    )
    .await;

    assert_eq!(report.deleted, std::slice::from_ref(&first.folder));
    assert!(report.locked.is_empty(), "{report:?}");
    assert!(moto.keys(&bucket, &first.folder).await.is_empty());
    assert_eq!(moto.keys(&bucket, &second.folder).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_from_before_object_lock_locked_by_the_buckets_default_is_kept() {
    let moto = Moto::start().await;
    let bucket = moto
        .new_bucket_with_default_retention(ObjectLockRetentionMode::Governance, 3)
        .await;
    // As an earlier version wrote it: no lock of its own, a manifest without a record;
    // the bucket's default retention locked both.
    let old = "erp/2020-01-01T000000Z";
    for (name, body) in [("notes.tar.zst", "old data"), ("manifest.json", "{}")] {
        moto.client
            .put_object()
            .bucket(&bucket)
            .key(format!("{old}/{name}"))
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("seed an old backup");
    }
    let work = tempfile::tempdir().expect("work dir");
    let notes = random_dir(work.path(), "notes", 1000);

    // Object Lock is off in the settings: the bucket's default still locks.
    let outcome = run_backup(
        &job(
            moto.target(&bucket, PREFIX),
            vec![directory("notes", &notes)],
            1,
        ),
        &Reporter::detached(),
    )
    .await
    .expect("backup");

    assert!(
        outcome.retention.deleted.is_empty(),
        "{:?}",
        outcome.retention
    );
    let kept: Vec<&str> = outcome
        .retention
        .locked
        .iter()
        .map(|(folder, _)| folder.as_str())
        .collect();
    assert_eq!(kept, [old]);
    assert_eq!(moto.keys(&bucket, old).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_the_manifest_records_keeps_a_backup_the_server_shows_no_lock_for() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    let until = Utc::now() + Duration::days(10);
    let manifest = serde_json::json!({
        "format": 2,
        "object_lock": { "mode": "COMPLIANCE", "retain_until": until },
    });
    let old = "erp/2020-01-01T000000Z";
    for (name, body) in [
        ("notes.tar.zst", b"old data".to_vec()),
        ("manifest.json", manifest.to_string().into_bytes()),
    ] {
        // Stored without a lock: HeadObject shows none, as to credentials without
        // s3:GetObjectRetention.
        moto.client
            .put_object()
            .bucket(&bucket)
            .key(format!("{old}/{name}"))
            .body(body.into())
            .send()
            .await
            .expect("seed a backup");
    }
    let work = tempfile::tempdir().expect("work dir");
    let notes = random_dir(work.path(), "notes", 1000);

    let outcome = run_backup(
        &job(
            moto.target(&bucket, PREFIX),
            vec![directory("notes", &notes)],
            1,
        ),
        &Reporter::detached(),
    )
    .await
    .expect("backup");

    assert_eq!(outcome.retention.locked.len(), 1, "{:?}", outcome.retention);
    assert_eq!(outcome.retention.locked[0].0, old);
    assert_eq!(outcome.retention.locked[0].1.timestamp(), until.timestamp());
    assert_eq!(moto.keys(&bucket, old).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_tells_a_locked_bucket_from_an_unlocked_one() {
    let moto = Moto::start().await;
    let with_lock = moto.new_locked_bucket().await;
    let without = moto.new_bucket().await;

    let passed = test_connection(&locked(
        moto.target(&with_lock, PREFIX),
        LockMode::Compliance,
        30,
    ))
    .await;
    let refused = test_connection(&locked(
        moto.target(&without, PREFIX),
        LockMode::Compliance,
        30,
    ))
    .await
    .expect_err("a bucket without Object Lock");
    // Without the setting, the same bucket is fine.
    let plain = test_connection(&moto.target(&without, PREFIX)).await;

    assert!(passed.is_ok(), "{passed:?}");
    assert_eq!(
        refused.kind,
        ProblemKind::ObjectLock {
            bucket: without.clone(),
            lock: BucketLock::Off
        }
    );
    assert!(
        refused
            .message("en")
            .contains("does not have Object Lock enabled"),
        "{}",
        refused.message("en")
    );
    assert!(
        refused.message("fr").contains("n'a pas Object Lock activé"),
        "{}",
        refused.message("fr")
    );
    assert!(plain.is_ok(), "{plain:?}");
    assert!(
        moto.keys(&with_lock, "").await.is_empty(),
        "the probe is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_backup_to_a_locked_bucket_succeeds_and_restores() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_settings_at(
        &moto.endpoint,
        &bucket,
        PREFIX,
        &[
            ("object_lock_days", "1"),
            ("object_lock_mode", "compliance"),
        ],
    )
    .await;
    let work = tempfile::tempdir().expect("work dir");
    let files = work.path().join("files");
    random_tree(&files, 100 * MIB);
    app.add_directory_source("files", &files).await;

    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .arg("backup")
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .expect("the binary runs");
    let took = started.elapsed();

    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("100 MiB backed up to a locked moto bucket in {took:?}");
    let objects = held(&moto, &bucket, PREFIX).await;
    assert_eq!(objects.len(), 2, "the archive and the manifest");
    for object in &objects {
        assert_eq!(object.mode.as_deref(), Some("COMPLIANCE"), "{}", object.key);
        let until = object.until.expect("a lock");
        assert!(
            (until - Utc::now() - Duration::days(1)).num_minutes().abs() < 10,
            "{}: {until}",
            object.key
        );
    }
    let folder = objects[0]
        .key
        .split('/')
        .nth(1)
        .expect("the folder's name")
        .to_owned();
    let restored = work.path().join("restored");
    let output = Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .arg("restore")
        .args([OsStr::new(&folder), OsStr::new("files"), OsStr::new("--to")])
        .arg(&restored)
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(snapshot(&restored), snapshot(&files));
}
