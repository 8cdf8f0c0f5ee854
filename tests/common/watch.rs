//! A backup large enough to watch: settings for the in-process S3 server, two directory
//! sources (a small one, then 64 MiB of random data), a first backup run to its end so the
//! next one has an earlier run to be measured against, and that next run held by the S3
//! server once its first part has arrived.

use std::path::Path;

use rand::RngCore;

use super::TestApp;
use super::s3::TestS3;
use super::tree::MIB;

/// `count` files of 4 MiB that zstd cannot shrink: one random block, each copy marked
/// with its number (copies lie farther apart than zstd's window at its default level).
fn noise(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut block = vec![0u8; 4 * MIB];
    rand::thread_rng().fill_bytes(&mut block);
    for index in 0..count {
        block[..8].copy_from_slice(&(index as u64).to_le_bytes());
        std::fs::write(dir.join(format!("scan-{index}.raw")), &block).expect("write");
    }
}

/// Settings and the two sources; the directory holding them.
pub async fn two_sources(app: &TestApp, s3: &TestS3, bucket: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("source directory");
    let notes = dir.path().join("notes");
    std::fs::create_dir_all(&notes).expect("mkdir");
    std::fs::write(notes.join("read-me.txt"), "Sauvegardes du lundi").expect("write");
    let photos = dir.path().join("photos");
    noise(&photos, 16);
    app.save_s3_settings(s3, bucket, "erp").await;
    app.add_directory_source("a-notes", &notes).await;
    app.add_directory_source("b-photos", &photos).await;
    dir
}

/// Starts a backup with "Backup now" and returns its page.
pub async fn backup_now(app: &TestApp) -> String {
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert!(run_page.starts_with("/backups/"), "not a run: {run_page}");
    run_page
}

/// A first backup to its end, then a second one, held by the S3 server once its first
/// part has arrived; its page. `s3.hooks.open()` lets it go on.
pub async fn second_backup_held(app: &TestApp, s3: &TestS3) -> String {
    let first = backup_now(app).await;
    assert_eq!(app.wait_until_done(&first).await, "success");
    let parts = s3.hooks.parts_count();
    let second = backup_now(app).await;
    s3.hooks.parts_received(parts + 1).await;
    s3.hooks.hold();
    second
}
