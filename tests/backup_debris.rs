//! What a killed backup leaves in the bucket (an open multipart upload, a folder without
//! manifest) is cleaned at the next start, and only that: other keys and prefixes are left
//! alone, and credentials that may not clean only cause a warning.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;

use common::TestApp;
use common::s3::TestS3;
use s3_backup::app;
use s3_backup::backup::debris;
use s3_backup::backup::{DebrisWarning, Job, Reporter, Runner, SourceSpec};
use s3_backup::config::Config;
use s3_backup::db::runs::{self, RunStatus, Trigger};
use s3_backup::settings::SourceKind;

const PREFIX: &str = "backups";

/// A backup command killed (SIGKILL) while its second source was being uploaded.
struct Killed {
    app: TestApp,
    s3: TestS3,
    bucket: String,
    /// The killed run's folder (prefix included).
    folder: String,
    _files: tempfile::TempDir,
}

impl Killed {
    fn config(&self) -> Config {
        Config::new(([127, 0, 0, 1], 0).into(), self.app.data_dir())
    }

    fn backup_command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_s3-backup"));
        command
            .arg("backup")
            .arg("--data-dir")
            .arg(self.app.data_dir())
            .stdin(Stdio::null());
        command
    }
}

async fn killed_backup() -> Killed {
    let mut app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("temp dir");
    // Sources run by name: "docs" is stored whole before "media" starts its multipart
    // upload, whose random (incompressible) data takes several 8 MiB parts.
    let docs = files.path().join("docs");
    let media = files.path().join("media");
    std::fs::create_dir(&docs).expect("dir");
    std::fs::create_dir(&media).expect("dir");
    std::fs::write(docs.join("notes.txt"), "minutes of the meeting\n").expect("file");
    let mut video = vec![0u8; 28 * 1024 * 1024];
    rand::thread_rng().fill(&mut video[..]);
    std::fs::write(media.join("video.bin"), video).expect("file");
    app.save_s3_settings(&s3, &bucket, PREFIX).await;
    app.add_directory_source("docs", &docs).await;
    app.add_directory_source("media", &media).await;
    app.shutdown().await;

    let mut killed = Killed {
        app,
        s3,
        bucket,
        folder: String::new(),
        _files: files,
    };
    let log = std::fs::File::create(killed._files.path().join("killed.log")).expect("log file");
    let mut child = killed
        .backup_command()
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the binary runs");
    tokio::time::timeout(Duration::from_secs(120), killed.s3.hooks.parts_received(1))
        .await
        .expect("a part of the media upload reaches the server");
    // Nothing more gets through until the process is dead: the upload stays open.
    killed.s3.hooks.hold();
    child.kill().expect("SIGKILL");
    child.wait().expect("the killed process is reaped");
    killed.s3.hooks.open();

    let keys = killed.s3.keys(&killed.bucket, "").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let folder = keys[0]
        .strip_suffix("/docs.tar.zst")
        .expect("the first source was stored");
    killed.folder = folder.to_owned();
    assert_eq!(
        killed.s3.open_multipart_uploads().len(),
        1,
        "the media upload is left open"
    );
    killed
}

/// Folders under the prefix that hold objects but no manifest.
async fn incomplete_folders(s3: &TestS3, bucket: &str) -> Vec<String> {
    let keys = s3.keys(bucket, &format!("{PREFIX}/")).await;
    let mut folders: Vec<String> = keys
        .iter()
        .filter_map(|key| key.rsplit_once('/').map(|(folder, _)| folder.to_owned()))
        .filter(|folder| !keys.contains(&format!("{folder}/manifest.json")))
        .collect();
    folders.dedup();
    folders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backup_leaves_no_upload_and_no_folder_after_the_next_start() {
    let killed = killed_backup().await;
    assert_eq!(
        incomplete_folders(&killed.s3, &killed.bucket).await,
        vec![killed.folder.clone()]
    );

    let state = app::open_state(killed.config()).await.expect("app state");
    // What the server runs in the background at start-up, awaited here.
    let report = app::clean_debris(&state).await.expect("nothing else runs");

    assert_eq!(report.uploads_aborted, 1);
    assert_eq!(report.folders_removed, vec![killed.folder.clone()]);
    assert_eq!(report.warnings, vec![]);
    assert_eq!(killed.s3.open_multipart_uploads(), Vec::<String>::new());
    assert_eq!(
        killed.s3.keys(&killed.bucket, "").await,
        Vec::<String>::new()
    );
    let history = runs::list(&state.pool, 1, 10).await.expect("history");
    assert_eq!(history.total, 1);
    let run = &history.runs[0];
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_eq!(run.folder.as_deref(), Some(killed.folder.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_backup_command_cleans_what_a_killed_one_left() {
    let killed = killed_backup().await;

    let output = killed.backup_command().output().expect("the binary runs");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(killed.s3.open_multipart_uploads(), Vec::<String>::new());
    assert_eq!(
        incomplete_folders(&killed.s3, &killed.bucket).await,
        Vec::<String>::new()
    );
    let pool = s3_backup::db::open(&killed.config().database_path())
        .await
        .expect("database");
    let history = runs::list(&pool, 1, 10).await.expect("history");
    let statuses: Vec<RunStatus> = history.runs.iter().map(|run| run.status).collect();
    assert_eq!(statuses, vec![RunStatus::Success, RunStatus::Interrupted]);
    let new_run = runs::get(&pool, history.runs[0].id)
        .await
        .expect("read")
        .expect("row");
    assert!(
        new_run.logs.iter().any(|log| log
            .message
            .to_string()
            .to_lowercase()
            .contains("aborted the multipart upload")
            && log
                .message
                .to_string()
                .to_lowercase()
                .contains("media.tar.zst")),
        "{:?}",
        new_run.logs
    );
}

#[tokio::test]
async fn uploads_and_folders_that_are_not_this_apps_are_left_alone() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let target = s3.target(&bucket, PREFIX);
    let open = |key: &'static str| {
        let client = s3.client.clone();
        let bucket = bucket.clone();
        async move {
            client
                .create_multipart_upload()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("create multipart upload")
                .upload_id
                .expect("upload id")
        }
    };
    let ours = open("backups/2026-01-02T030405Z/db.sql.zst").await;
    let other_prefix = open("archive/2026-01-02T030405Z/db.sql.zst").await;
    let unrelated = open("backups/notes/todo.txt").await;
    let nested = open("backups/2026-01-02T030405Z/x/y.bin").await;
    for key in [
        "backups/readme.txt",
        // Not in the history: not a folder this app started.
        "backups/2026-01-01T000000Z/db.sql.zst",
        // Complete: it has a manifest.
        "backups/2026-01-03T000000Z/db.sql.zst",
        "backups/2026-01-03T000000Z/manifest.json",
        // Under another prefix.
        "archive/2026-01-04T000000Z/db.sql.zst",
        // Incomplete, and a failed run of this app started it.
        "backups/2026-01-05T000000Z/db.sql.zst",
    ] {
        s3.put(&bucket, key, b"data").await;
    }
    let unfinished = [
        "backups/2026-01-03T000000Z",
        "archive/2026-01-04T000000Z",
        "backups/2026-01-05T000000Z",
    ]
    .map(str::to_owned);

    let report = debris::clean(&s3.client, &target, &unfinished, &Reporter::detached()).await;

    assert_eq!(report.uploads_aborted, 1);
    assert_eq!(report.folders_removed, vec!["backups/2026-01-05T000000Z"]);
    assert_eq!(report.warnings, vec![]);
    let mut left = s3.open_multipart_uploads();
    left.sort();
    let mut expected = vec![other_prefix, unrelated, nested];
    expected.sort();
    assert_eq!(left, expected);
    assert!(!left.contains(&ours));
    assert_eq!(
        s3.keys(&bucket, "").await,
        vec![
            "archive/2026-01-04T000000Z/db.sql.zst",
            "backups/2026-01-01T000000Z/db.sql.zst",
            "backups/2026-01-03T000000Z/db.sql.zst",
            "backups/2026-01-03T000000Z/manifest.json",
            "backups/readme.txt",
        ]
    );
}

#[tokio::test]
async fn cleaning_without_permission_warns_and_the_backup_still_succeeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = s3_backup::db::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("database");
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let target = s3.target(&bucket, PREFIX);
    // What a crash left: a run that chose its folder and stored one object in it, and an
    // open upload.
    let crashed = runs::create(&pool, Trigger::Scheduled, None)
        .await
        .expect("run");
    let folder = "backups/2026-01-05T000000Z";
    runs::set_folder(&pool, crashed, folder)
        .await
        .expect("folder");
    runs::mark_interrupted_at_startup(&pool)
        .await
        .expect("interrupted");
    s3.put(&bucket, &format!("{folder}/db.sql.zst"), b"data")
        .await;
    s3.client
        .create_multipart_upload()
        .bucket(&bucket)
        .key(format!("{folder}/files.tar.zst"))
        .send()
        .await
        .expect("create multipart upload");
    // The minimal policy: ListBucket and PutObject only.
    s3.hooks.deny_delete.store(true, Ordering::SeqCst);
    s3.hooks
        .deny_multipart_cleanup
        .store(true, Ordering::SeqCst);

    let report = debris::clean(
        &s3.client,
        &target,
        &[folder.to_owned()],
        &Reporter::detached(),
    )
    .await;
    assert_eq!(
        report.warnings,
        vec![
            DebrisWarning::UploadsDenied,
            DebrisWarning::DeleteDenied { folders: 1 }
        ]
    );
    assert!(
        report.warnings[0]
            .message()
            .to_string()
            .contains("AbortIncompleteMultipartUpload")
    );

    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("dir");
    std::fs::write(files.join("invoice.pdf"), "facture\n").expect("file");
    let job = Job {
        target,
        sources: vec![
            SourceSpec::parse("files", SourceKind::Directory, &files.to_string_lossy())
                .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };
    let summary = Runner::new(pool.clone())
        .run_to_end(Trigger::Cli, job)
        .await
        .expect("run");

    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    let logs = runs::get(&pool, summary.run_id)
        .await
        .expect("read")
        .expect("row")
        .logs;
    assert!(
        logs.iter().any(|log| log.level == "warn"
            && log
                .message
                .to_string()
                .contains("AbortIncompleteMultipartUpload")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|log| log.level == "warn"
            && log
                .message
                .to_string()
                .to_lowercase()
                .contains("may not delete")),
        "{logs:?}"
    );
    assert_eq!(s3.open_multipart_uploads().len(), 1);
    assert!(
        s3.get(&bucket, &format!("{folder}/db.sql.zst"))
            .await
            .is_some()
    );
}
