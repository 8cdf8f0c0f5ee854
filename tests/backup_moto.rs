//! Backups to moto, an S3 server out of the process that reports checksums its own way: a
//! multipart backup of incompressible data is checked, stored and brought back by the
//! app's restore byte for byte.

mod common;

use std::ffi::OsStr;
use std::process::Command;

use common::TestApp;
use common::moto::Moto;
use common::run_log::{log_lines, recording_reporter};
use common::tree::{MIB, random_tree, snapshot};
use s3_backup::backup::{Job, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

const PREFIX: &str = "erp";

/// Backs up a directory of `total` random bytes to moto, then restores it with the app's
/// restore and compares the trees.
async fn back_up_and_restore(total: usize) {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_settings_at(&moto.endpoint, &bucket, PREFIX, &[])
        .await;
    let work = tempfile::tempdir().expect("work dir");
    let files = work.path().join("files");
    random_tree(&files, total);

    let (reporter, mut received) = recording_reporter();
    let job = Job {
        target: moto.target(&bucket, PREFIX),
        sources: vec![
            SourceSpec::parse(
                "files",
                SourceKind::Directory,
                files.to_str().expect("utf-8"),
            )
            .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };
    let outcome = run_backup(&job, &reporter)
        .await
        .expect("the backup to moto succeeds");
    drop(reporter);

    assert!(!outcome.is_partial());
    let folder = outcome
        .folder
        .rsplit('/')
        .next()
        .expect("a folder")
        .to_owned();
    assert_eq!(
        moto.keys(&bucket, PREFIX).await,
        vec![
            format!("{}/files.tar.zst", outcome.folder),
            format!("{}/manifest.json", outcome.folder),
        ]
    );
    let lines = log_lines(&mut received);
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("files:") && line.contains("size and CRC32 checked")),
        "the log says which check was made: {lines:?}"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_multipart_backup_to_moto_is_checked_and_restores() {
    back_up_and_restore(20 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_backup_to_moto_is_checked_and_restores() {
    back_up_and_restore(100 * MIB).await;
}
