//! The verification schedule with time under control: after every backup when chosen,
//! weekly at its time, once per firing, and never while a backup runs (it waits for it).

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::s3::{ACCESS_KEY, REGION, SECRET_KEY, TestS3};
use s3_backup::backup::{RunFinished, Runner};
use s3_backup::crypto::{MasterKey, purpose};
use s3_backup::db::runs::{self, Run, RunId, RunKind, RunStatus, Trigger};
use s3_backup::schedule::{ManualClock, Verifier, VerifierParts};
use s3_backup::settings::{
    AccessKeyId, BucketName, Endpoint, Frequency, KeyPrefix, Region, Schedule, TimeOfDay,
    VerifySchedule, Weekday,
};
use sqlx::SqlitePool;
use tokio::sync::broadcast;

/// Longest any step may take before the test gives up (it never sleeps).
const LIMIT: Duration = Duration::from_secs(60);

struct World {
    pool: SqlitePool,
    key: MasterKey,
    runner: Runner,
    clock: Arc<ManualClock>,
    s3: TestS3,
    dir: tempfile::TempDir,
}

impl World {
    async fn new(schedule: VerifySchedule) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = s3_backup::db::open(&dir.path().join("db.sqlite3"))
            .await
            .expect("database");
        let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        let mut settings = s3_backup::db::settings::load(&pool).await.expect("load");
        settings.access_key_id = AccessKeyId::parse(ACCESS_KEY).ok();
        settings.sealed_secret = Some(
            key.seal(
                &s3_backup::crypto::Slot::single(purpose::S3_SECRET_KEY),
                SECRET_KEY,
            )
            .expect("seal"),
        );
        settings.bucket = BucketName::parse(&bucket).ok();
        settings.endpoint =
            Endpoint::parse(s3.endpoint.as_str().trim_end_matches('/')).expect("endpoint");
        settings.region = Region::parse(REGION).expect("region");
        settings.path_style = true;
        settings.prefix = KeyPrefix::parse("erp").expect("prefix");
        settings.time = TimeOfDay::parse("03:00").expect("time");
        settings.weekday = Weekday::parse("monday").expect("weekday");
        settings.verify_schedule = schedule;
        s3_backup::db::settings::store(&pool, &settings, "admin")
            .await
            .expect("save");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).expect("mkdir");
        std::fs::write(files.join("a.txt"), "a").expect("write");
        let location = files.display().to_string();
        let source = s3_backup::db::sources::SourceRow {
            name: "files",
            kind: "directory",
            location: &location,
            site_files: false,
        };
        s3_backup::db::sources::insert(&pool, &source, |_| Ok(None), "admin")
            .await
            .expect("source");
        World {
            runner: Runner::new(pool.clone()),
            clock: Arc::new(ManualClock::new(Utc::now())),
            pool,
            key,
            s3,
            dir,
        }
    }

    fn verifier(&self) -> Verifier {
        Verifier::spawn(VerifierParts {
            pool: self.pool.clone(),
            key: self.key.clone(),
            runner: self.runner.clone(),
            clock: self.clock.clone(),
        })
    }

    async fn back_up(&self) -> Run {
        let job = s3_backup::jobs::load(&self.pool, &self.key, self.dir.path())
            .await
            .expect("a job");
        let summary = self
            .runner
            .run_to_end(Trigger::Manual, job)
            .await
            .expect("runs");
        assert_eq!(summary.status, RunStatus::Success);
        self.run(summary.run_id).await
    }

    async fn run(&self, id: RunId) -> Run {
        runs::get(&self.pool, id)
            .await
            .expect("read")
            .expect("the run")
            .run
    }
}

async fn next_start(started: &mut broadcast::Receiver<RunId>) -> RunId {
    tokio::time::timeout(LIMIT, started.recv())
        .await
        .expect("a verification starts")
        .expect("the verifier runs")
}

async fn end_of(finished: &mut broadcast::Receiver<RunFinished>, id: RunId) -> RunStatus {
    tokio::time::timeout(LIMIT, async {
        loop {
            let event = finished.recv().await.expect("the runner runs");
            if event.run_id == id {
                return event.status;
            }
        }
    })
    .await
    .expect("the run ends")
}

#[tokio::test]
async fn after_every_backup_the_backup_just_made_is_verified() {
    let world = World::new(VerifySchedule::AfterBackup).await;
    let verifier = world.verifier();
    let mut started = verifier.subscribe();
    let mut finished = world.runner.subscribe();

    let backup = world.back_up().await;
    let id = next_start(&mut started).await;

    assert_eq!(end_of(&mut finished, id).await, RunStatus::Success);
    let verification = world.run(id).await;
    assert_eq!(verification.kind, RunKind::Verify);
    assert_eq!(verification.trigger, Trigger::Scheduled);
    assert_eq!(verification.folder, backup.folder, "the latest backup");
    assert!(verification.started_at >= backup.finished_at.expect("ended"));
    // The history's row of the backup says it was verified.
    let verified = runs::verifications(&world.pool).await.expect("read");
    let folder = backup.folder.clone().expect("a folder");
    assert!(
        verified
            .get(&folder)
            .is_some_and(|v| v.passed && v.run_id == id)
    );

    // A second backup, a second verification: one each.
    let second = world.back_up().await;
    let id = next_start(&mut started).await;
    assert_eq!(end_of(&mut finished, id).await, RunStatus::Success);
    assert_eq!(world.run(id).await.folder, second.folder);
}

#[tokio::test]
async fn weekly_verification_fires_at_its_time_once_and_waits_for_a_backup_in_progress() {
    let world = World::new(VerifySchedule::Weekly).await;
    world.back_up().await;
    let settings = s3_backup::db::settings::load(&world.pool)
        .await
        .expect("load");
    let weekly = Schedule::from_parts(
        Frequency::Weekly,
        Some(settings.time),
        Some(settings.weekday),
        None,
        None,
    )
    .expect("weekly");
    let due = weekly
        .next_after(&settings.timezone, settings.updated_at.expect("saved"))
        .expect("a firing");
    let verifier = world.verifier();
    let mut started = verifier.subscribe();
    let mut finished = world.runner.subscribe();

    // A backup is under way (the S3 server holds it) when the verification falls due.
    world.s3.hooks.hold();
    let job = s3_backup::jobs::load(&world.pool, &world.key, world.dir.path())
        .await
        .expect("a job");
    let backup = world
        .runner
        .start(Trigger::Manual, job)
        .await
        .expect("starts");
    world.clock.set(due);
    verifier.reload();
    world.s3.hooks.open();
    assert_eq!(end_of(&mut finished, backup).await, RunStatus::Success);

    let id = next_start(&mut started).await;
    assert_eq!(end_of(&mut finished, id).await, RunStatus::Success);
    let verification = world.run(id).await;
    let backup = world.run(backup).await;
    assert_eq!(verification.scheduled_for, Some(due));
    assert!(
        verification.started_at >= backup.finished_at.expect("ended"),
        "never during the backup"
    );
    assert_eq!(verification.folder, backup.folder);

    // The next week's firing starts the next one, for its own slot.
    let next = weekly
        .next_after(&settings.timezone, due)
        .expect("a firing");
    world.clock.set(next);
    let id = next_start(&mut started).await;
    assert_eq!(end_of(&mut finished, id).await, RunStatus::Success);
    assert_eq!(world.run(id).await.scheduled_for, Some(next));
    let verifications = runs::list(&world.pool, 1, 50)
        .await
        .expect("history")
        .runs
        .into_iter()
        .filter(|run| run.kind == RunKind::Verify)
        .count();
    assert_eq!(verifications, 2, "one per firing");
}
