//! The runner and the run history: runs start in the background, one at a time, and every
//! run ends recorded (success, failure, or interrupted by a crash) and published.

mod common;

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::broadcast;

use common::s3::TestS3;
use s3_backup::backup::{Job, RunFinished, Runner, SourceSpec, StartError};
use s3_backup::db::runs::{self, Outcome, RunId, RunStatus, Trigger};
use s3_backup::settings::SourceKind;

struct Setup {
    s3: TestS3,
    bucket: String,
    pool: SqlitePool,
    runner: Runner,
    job: Job,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = s3_backup::db::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("database");
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("dir");
    std::fs::write(files.join("invoice.pdf"), "facture n°1\n".repeat(10_000)).expect("file");
    let job = Job {
        target: s3.target(&bucket, "backups"),
        sources: vec![
            SourceSpec::parse("files", SourceKind::Directory, &files.to_string_lossy())
                .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };
    Setup {
        runner: Runner::new(pool.clone()),
        s3,
        bucket,
        pool,
        job,
        _dir: dir,
    }
}

/// Waits for the end of `run_id` (bounded, so a hung run fails the test instead of hanging).
async fn finished(events: &mut broadcast::Receiver<RunFinished>, run_id: RunId) -> RunFinished {
    tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let event = events.recv().await.expect("runner publishes");
            if event.run_id == run_id {
                return event;
            }
        }
    })
    .await
    .expect("the run ends")
}

#[tokio::test]
async fn backup_now_returns_at_once_and_the_run_ends_recorded() {
    let setup = setup().await;
    let mut events = setup.runner.subscribe();
    setup.s3.hooks.hold();

    // The server answers nothing yet, and start still returns: the run is in the background.
    let run_id = setup
        .runner
        .start(Trigger::Manual, setup.job.clone())
        .await
        .expect("started");
    let running = runs::get(&setup.pool, run_id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(running.run.status, RunStatus::Running);
    setup.s3.hooks.open();
    let event = finished(&mut events, run_id).await;

    assert_eq!(event.status, RunStatus::Success);
    let detail = runs::get(&setup.pool, run_id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(detail.run.status, RunStatus::Success);
    assert_eq!(detail.run.trigger, Trigger::Manual);
    assert!(detail.run.finished_at.is_some());
    let folder = detail.run.folder.clone().expect("folder");
    assert_eq!(detail.objects.len(), 1);
    assert_eq!(detail.objects[0].key, format!("{folder}/files.tar.zst"));
    assert_eq!(detail.run.total_bytes, detail.objects[0].size);
    assert_eq!(detail.run.object_count, 1);
    let progress = detail.run.progress.expect("progress recorded");
    assert!(progress.bytes_read > 120_000, "{progress:?}");
    assert!(detail.logs.iter().any(|log| {
        log.message
            .to_string()
            .to_lowercase()
            .contains("backup complete")
    }));
    // The history shows what is really in the bucket.
    assert!(
        setup
            .s3
            .get(&setup.bucket, &format!("{folder}/manifest.json"))
            .await
            .is_some()
    );
    let latest = runs::latest_success(&setup.pool)
        .await
        .expect("read")
        .expect("a success");
    assert_eq!(latest.id, run_id);
}

#[tokio::test]
async fn a_second_backup_while_one_runs_is_refused() {
    let setup = setup().await;
    let mut events = setup.runner.subscribe();
    setup.s3.hooks.hold();
    let first = setup
        .runner
        .start(Trigger::Manual, setup.job.clone())
        .await
        .expect("started");

    let second = setup
        .runner
        .start(Trigger::Scheduled, setup.job.clone())
        .await;
    let from_cli = setup
        .runner
        .run_to_end(Trigger::Cli, setup.job.clone())
        .await;

    match second {
        Err(err @ StartError::AlreadyRunning(Some(id))) => {
            assert_eq!(id, first);
            assert_eq!(
                err.to_string(),
                "A backup is already running; wait for it to finish."
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(from_cli, Err(StartError::AlreadyRunning(_))));
    assert_eq!(setup.runner.current(), Some(first));
    assert_eq!(runs::list(&setup.pool, 1, 10).await.expect("list").total, 1);

    setup.s3.hooks.open();
    assert_eq!(
        finished(&mut events, first).await.status,
        RunStatus::Success
    );
    assert_eq!(setup.runner.current(), None);
    let next = setup.runner.start(Trigger::Manual, setup.job.clone()).await;
    assert!(next.is_ok(), "a new run may start once the first ended");
    finished(&mut events, next.expect("started")).await;
}

#[tokio::test]
async fn a_failed_run_is_recorded_and_published_as_failed() {
    let setup = setup().await;
    let mut events = setup.runner.subscribe();
    let mut job = setup.job.clone();
    job.target.secret_access_key = "wrong".into();

    let run_id = setup
        .runner
        .start(Trigger::Scheduled, job)
        .await
        .expect("started");
    let event = finished(&mut events, run_id).await;

    assert_eq!(event.status, RunStatus::Failed);
    let detail = runs::get(&setup.pool, run_id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(detail.run.status, RunStatus::Failed);
    let error = detail.run.error.expect("error recorded").to_string();
    assert!(error.contains("SignatureDoesNotMatch"), "{error}");
    assert!(!error.contains("wrong"), "the secret leaked: {error}");
    assert!(
        detail
            .logs
            .iter()
            .filter(|log| log.level == "error" && log.message.to_string() == error)
            .count()
            == 1
    );
    assert!(
        runs::latest_success(&setup.pool)
            .await
            .expect("read")
            .is_none()
    );
    let scheduled = runs::last_scheduled(&setup.pool)
        .await
        .expect("read")
        .expect("a run");
    assert_eq!(scheduled.id, run_id);
}

#[tokio::test]
async fn the_command_line_run_returns_its_summary() {
    let setup = setup().await;

    let summary = setup
        .runner
        .run_to_end(Trigger::Cli, setup.job.clone())
        .await
        .expect("ran");

    assert_eq!(summary.status, RunStatus::Success);
    assert_eq!(summary.objects.len(), 1);
    assert!(summary.total_bytes > 0);
    let detail = runs::get(&setup.pool, summary.run_id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(detail.run.trigger, Trigger::Cli);
    assert_eq!(detail.run.folder, summary.folder);
}

#[tokio::test]
async fn runs_left_running_by_a_crash_are_marked_interrupted_at_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = s3_backup::db::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("database");
    let crashed = runs::create(&pool, Trigger::Scheduled, None)
        .await
        .expect("run");

    let marked = runs::mark_interrupted_at_startup(&pool)
        .await
        .expect("marked");

    assert_eq!(marked, 1);
    let run = runs::get(&pool, crashed)
        .await
        .expect("read")
        .expect("row")
        .run;
    assert_eq!(run.status, RunStatus::Interrupted);
    assert!(run.finished_at.is_some());
    assert!(run.error.is_some());
    // An ended run never changes again.
    let outcome = Outcome::Success(runs::Stored {
        folder: "x".into(),
        total_bytes: 1,
        object_count: 1,
        warning: None,
    });
    assert!(
        !runs::finish(&pool, crashed, &outcome)
            .await
            .expect("finish")
    );
    let run = runs::get(&pool, crashed)
        .await
        .expect("read")
        .expect("row")
        .run;
    assert_eq!(run.status, RunStatus::Interrupted);
}

#[tokio::test]
async fn the_history_lists_newest_first_in_pages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = s3_backup::db::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("database");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = runs::create(&pool, Trigger::Manual, None)
            .await
            .expect("run");
        let failed = Outcome::Failed {
            error: s3_backup::lang::Message::new("run.error.crashed").detail("boom"),
            folder: None,
        };
        assert!(runs::finish(&pool, id, &failed).await.expect("finish"));
        ids.push(id);
    }

    let first = runs::list(&pool, 1, 2).await.expect("page 1");
    let third = runs::list(&pool, 3, 2).await.expect("page 3");

    assert_eq!(first.total, 5);
    assert_eq!(
        first.runs.iter().map(|run| run.id).collect::<Vec<_>>(),
        [ids[4], ids[3]]
    );
    assert_eq!(
        third.runs.iter().map(|run| run.id).collect::<Vec<_>>(),
        [ids[0]]
    );
    assert!(first.runs.iter().all(|run| run.status == RunStatus::Failed));
}
