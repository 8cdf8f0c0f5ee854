//! The scheduler with time under control: pure decisions for each frequency and across
//! daylight saving changes, then the scheduler task itself with a manual clock, a real
//! database, the real runner and a real SMTP server.

#[path = "common/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use s3_backup::backup::{Job, Runner, S3Target, SourceSpec};
use s3_backup::crypto::MasterKey;
use s3_backup::db::runs::{self, Outcome, RunStatus, Trigger};
use s3_backup::notify::{self, Kind, Notifier};
use s3_backup::schedule::{
    self, Decision, ManualClock, Plan, Scheduler, SchedulerEvent, SchedulerParts, due,
};
use s3_backup::settings::{
    CronExpr, EmailList, Frequency, MonthDay, Schedule, SourceKind, TimeOfDay, TimeZone, Weekday,
};
use smtp::TestSmtp;
use sqlx::SqlitePool;
use tokio::sync::broadcast;

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .expect("a date and time")
        .and_utc()
}

fn tz(name: &str) -> TimeZone {
    TimeZone::parse(name).expect("time zone")
}

fn time(text: &str) -> Option<TimeOfDay> {
    Some(TimeOfDay::parse(text).expect("time"))
}

fn daily(hh_mm: &str) -> Schedule {
    Schedule::from_parts(Frequency::Daily, time(hh_mm), None, None, None).expect("daily")
}

// ---- Pure decisions ----

#[test]
fn daily_waits_for_its_time_then_runs_once() {
    let (schedule, utc) = (daily("02:00"), tz("UTC"));
    let saved = Some(at("2027-01-10 00:00"));

    assert_eq!(
        due(&schedule, &utc, saved, at("2027-01-10 01:00")),
        Decision::Wait {
            until: at("2027-01-10 02:00")
        }
    );
    assert_eq!(
        due(&schedule, &utc, saved, at("2027-01-10 02:00")),
        Decision::Run {
            slot: at("2027-01-10 02:00")
        }
    );
    assert_eq!(
        due(
            &schedule,
            &utc,
            Some(at("2027-01-10 02:00")),
            at("2027-01-10 02:00")
        ),
        Decision::Wait {
            until: at("2027-01-11 02:00")
        }
    );
}

#[test]
fn each_frequency_fires_when_expected() {
    let utc = tz("UTC");
    let monday = Weekday::parse("monday").ok();
    let day31 = MonthDay::new(31);
    let cases = [
        (
            Schedule::from_parts(Frequency::Hourly, time("00:15"), None, None, None),
            "2027-01-13 10:20",
            "2027-01-13 11:15",
        ),
        (Ok(daily("23:45")), "2027-01-13 23:50", "2027-01-14 23:45"),
        (
            // 2027-01-13 is a Wednesday.
            Schedule::from_parts(Frequency::Weekly, time("03:00"), monday, None, None),
            "2027-01-13 10:00",
            "2027-01-18 03:00",
        ),
        (
            // Day 31 in February means its last day.
            Schedule::from_parts(Frequency::Monthly, time("03:00"), None, day31, None),
            "2027-02-01 00:00",
            "2027-02-28 03:00",
        ),
        (
            Schedule::from_parts(
                Frequency::Cron,
                None,
                None,
                None,
                CronExpr::parse("30 */6 * * *").ok(),
            ),
            "2027-01-13 07:00",
            "2027-01-13 12:30",
        ),
    ];
    for (schedule, now, expected) in cases {
        let schedule = schedule.expect("a schedule");
        let handled = Some(at(now));
        assert_eq!(
            due(&schedule, &utc, handled, at(now)),
            Decision::Wait {
                until: at(expected)
            },
            "{schedule:?}"
        );
        assert_eq!(
            due(&schedule, &utc, handled, at(expected)),
            Decision::Run { slot: at(expected) },
            "{schedule:?}"
        );
    }
    let manual = Schedule::from_parts(Frequency::None, None, None, None, None).expect("none");
    assert_eq!(
        due(&manual, &utc, None, at("2027-01-13 10:00")),
        Decision::Idle
    );
}

#[test]
fn spring_forward_in_paris_runs_once_when_the_clocks_jump() {
    // 2027-03-28: at 02:00 CET clocks jump to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    let (schedule, paris) = (daily("02:30"), tz("Europe/Paris"));
    let previous = Some(at("2027-03-27 01:30")); // 02:30 CET

    assert_eq!(
        due(&schedule, &paris, previous, at("2027-03-28 00:59")),
        Decision::Wait {
            until: at("2027-03-28 01:00")
        }
    );
    assert_eq!(
        due(&schedule, &paris, previous, at("2027-03-28 01:00")),
        Decision::Run {
            slot: at("2027-03-28 01:00")
        }
    );
    assert_eq!(
        due(
            &schedule,
            &paris,
            Some(at("2027-03-28 01:00")),
            at("2027-03-28 01:00")
        ),
        Decision::Wait {
            until: at("2027-03-29 00:30")
        }, // 02:30 CEST
    );
}

#[test]
fn fall_back_in_paris_runs_once_although_the_time_happens_twice() {
    // 2027-10-31: at 03:00 CEST clocks go back to 02:00 CET; 02:30 happens at 00:30 and
    // 01:30 UTC.
    let (schedule, paris) = (daily("02:30"), tz("Europe/Paris"));
    let previous = Some(at("2027-10-30 00:30"));

    assert_eq!(
        due(&schedule, &paris, previous, at("2027-10-31 00:30")),
        Decision::Run {
            slot: at("2027-10-31 00:30")
        }
    );
    let handled = Some(at("2027-10-31 00:30"));
    assert_eq!(
        due(&schedule, &paris, handled, at("2027-10-31 01:30")),
        Decision::Wait {
            until: at("2027-11-01 01:30")
        }, // 02:30 CET
    );
}

#[test]
fn downtime_over_many_firings_gives_one_catch_up_run() {
    let (schedule, utc) = (daily("02:00"), tz("UTC"));

    let decision = due(
        &schedule,
        &utc,
        Some(at("2027-01-01 03:00")),
        at("2027-01-13 09:00"),
    );

    assert_eq!(
        decision,
        Decision::Run {
            slot: at("2027-01-13 02:00")
        }
    );
    let after = due(
        &schedule,
        &utc,
        Some(at("2027-01-13 02:00")),
        at("2027-01-13 09:00"),
    );
    assert_eq!(
        after,
        Decision::Wait {
            until: at("2027-01-14 02:00")
        }
    );
}

#[test]
fn overdue_after_the_next_firing_plus_grace() {
    let plan = Plan {
        schedule: daily("02:00"),
        tz: tz("UTC"),
        saved_at: at("2027-01-10 00:00"),
    };
    // Daily: expected interval 26 h, grace 2 h 36 min.
    assert_eq!(schedule::grace(Duration::hours(26)), Duration::minutes(156));
    assert_eq!(schedule::grace(Duration::hours(1)), Duration::hours(1));

    assert_eq!(
        schedule::check_overdue(&plan, None, at("2027-01-10 04:36")),
        None
    );
    let overdue = schedule::check_overdue(&plan, None, at("2027-01-10 04:37")).expect("overdue");
    assert_eq!(overdue.expected_by, at("2027-01-10 04:36"));
    assert_eq!(overdue.last_success, None);
    let success = Some(at("2027-01-10 02:10"));
    assert_eq!(
        schedule::check_overdue(&plan, success, at("2027-01-10 06:00")),
        None
    );
}

// ---- The scheduler task ----

const FAILS_TO_BUILD: &str = "no source to back up";

struct World {
    pool: SqlitePool,
    runner: Runner,
    clock: Arc<ManualClock>,
    smtp: TestSmtp,
    notifier: Notifier,
    dir: tempfile::TempDir,
}

impl World {
    async fn new(now: &str) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = s3_backup::db::open(&dir.path().join("db.sqlite3"))
            .await
            .expect("database");
        let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        let smtp = TestSmtp::start().await;
        s3_backup::db::email_account::save(&pool, &smtp.stored_account(&key), "admin")
            .await
            .expect("account");
        let notifier = Notifier::new(pool.clone(), key, None, smtp.options());
        World {
            runner: Runner::new(pool.clone()),
            clock: Arc::new(ManualClock::new(at(now))),
            pool,
            smtp,
            notifier,
            dir,
        }
    }

    /// Saves automatic backups as the form would, at the clock's time.
    async fn save(&self, frequency: &str, backup_time: &str, timezone: &str) {
        let mut settings = s3_backup::db::settings::load(&self.pool)
            .await
            .expect("load");
        settings.enabled = frequency != "none";
        settings.frequency = Frequency::parse(frequency).expect("a frequency");
        settings.time = TimeOfDay::parse(backup_time).expect("a time");
        settings.timezone = TimeZone::parse(timezone).expect("a time zone");
        settings.notify_email = EmailList::parse("ops@example.com").expect("an address");
        s3_backup::db::settings::store(&self.pool, &settings, "admin")
            .await
            .expect("save");
        sqlx::query("UPDATE settings SET schedule_saved_at = ?1 WHERE id = 1")
            .bind(self.clock_now())
            .execute(&self.pool)
            .await
            .expect("saved at");
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use s3_backup::schedule::Clock;
        self.clock.now()
    }

    /// A scheduler whose jobs cannot be built: each firing is recorded as a failed run.
    fn scheduler(&self) -> (Scheduler, broadcast::Receiver<SchedulerEvent>) {
        let scheduler = Scheduler::new(SchedulerParts {
            pool: self.pool.clone(),
            runner: self.runner.clone(),
            jobs: Arc::new(|| async { Err::<Job, String>(FAILS_TO_BUILD.to_owned()) }),
            clock: self.clock.clone(),
            notifier: Some(self.notifier.clone()),
        });
        let events = scheduler.events();
        scheduler.start();
        (scheduler, events)
    }

    async fn scheduled_runs(&self) -> Vec<runs::Run> {
        let mut all = runs::list(&self.pool, 1, 500).await.expect("runs").runs;
        all.retain(|run| run.trigger == Trigger::Scheduled);
        all.sort_by_key(|run| run.scheduled_for);
        all
    }
}

/// The next event `wanted` accepts, skipping others (10 s at most).
async fn next_event(
    events: &mut broadcast::Receiver<SchedulerEvent>,
    wanted: impl Fn(&SchedulerEvent) -> bool,
) -> SchedulerEvent {
    let waiting = async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) => {}
                Err(error) => panic!("scheduler events: {error}"),
            }
        }
    };
    tokio::time::timeout(StdDuration::from_secs(10), waiting)
        .await
        .expect("the scheduler to act")
}

fn waiting(event: &SchedulerEvent) -> bool {
    matches!(event, SchedulerEvent::Waiting { .. })
}

#[tokio::test]
async fn a_scheduled_run_starts_at_its_time_and_is_mailed_when_it_fails() {
    let world = World::new("2027-01-10 00:00").await;
    world.save("daily", "02:00", "UTC").await;
    world.clock.set(at("2027-01-10 01:00"));
    let (scheduler, mut events) = world.scheduler();
    next_event(&mut events, waiting).await;
    assert_eq!(scheduler.next_run(), Some(at("2027-01-10 02:00")));

    world.clock.set(at("2027-01-10 02:00"));

    let event = next_event(&mut events, |e| !waiting(e)).await;
    let SchedulerEvent::NotStarted { slot, run_id } = event else {
        panic!("a run for the firing, got {event:?}")
    };
    assert_eq!(slot, at("2027-01-10 02:00"));
    let run = runs::get(&world.pool, run_id)
        .await
        .expect("read")
        .expect("run")
        .run;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.scheduled_for, Some(slot));
    assert!(
        run.error
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains(FAILS_TO_BUILD)
    );
    let mail = &world.smtp.wait_for(1).await[0];
    assert!(
        mail.subject().contains("Backup failed"),
        "{}",
        mail.subject()
    );
    next_event(&mut events, waiting).await;
    assert_eq!(scheduler.next_run(), Some(at("2027-01-11 02:00")));
}

#[tokio::test]
async fn the_scheduler_follows_paris_time_across_the_spring_change() {
    let world = World::new("2027-03-27 12:00").await;
    world.save("daily", "02:30", "Europe/Paris").await;
    world.clock.set(at("2027-03-27 23:00"));
    let (scheduler, mut events) = world.scheduler();
    next_event(&mut events, waiting).await;
    assert_eq!(scheduler.next_run(), Some(at("2027-03-28 01:00")));

    world.clock.set(at("2027-03-28 01:00"));

    let event = next_event(&mut events, |e| !waiting(e)).await;
    assert!(
        matches!(event, SchedulerEvent::NotStarted { slot, .. } if slot == at("2027-03-28 01:00")),
        "{event:?}"
    );
    next_event(&mut events, waiting).await;
    assert_eq!(scheduler.next_run(), Some(at("2027-03-29 00:30")));
}

#[tokio::test]
async fn saving_the_settings_reschedules_at_once() {
    let world = World::new("2027-01-10 00:00").await;
    world.save("daily", "02:00", "UTC").await;
    let (scheduler, mut events) = world.scheduler();
    next_event(&mut events, waiting).await;
    assert_eq!(scheduler.next_run(), Some(at("2027-01-10 02:00")));

    world.save("weekly", "05:30", "Europe/Paris").await;
    scheduler.reload().await;

    // 2027-01-10 is a Sunday; the stored weekday is Monday.
    assert_eq!(scheduler.next_run(), Some(at("2027-01-11 04:30")));
    world.save("none", "05:30", "UTC").await;
    scheduler.reload().await;
    assert_eq!(scheduler.next_run(), None);
    assert!(world.scheduled_runs().await.is_empty());
}

#[tokio::test]
async fn a_firing_missed_while_down_runs_once_at_start_up_and_never_again() {
    let world = World::new("2027-01-10 00:00").await;
    world.save("daily", "02:00", "UTC").await;
    // Down for three days and a half.
    world.clock.set(at("2027-01-13 09:00"));

    let (first, mut events) = world.scheduler();
    let event = next_event(&mut events, |_| true).await;
    assert!(
        matches!(event, SchedulerEvent::NotStarted { slot, .. } if slot == at("2027-01-13 02:00")),
        "{event:?}"
    );
    next_event(&mut events, waiting).await;
    drop(first);
    // Restarted later the same morning.
    world.clock.set(at("2027-01-13 10:00"));
    let (_second, mut events) = world.scheduler();
    let event = next_event(&mut events, |_| true).await;

    assert_eq!(
        event,
        SchedulerEvent::Waiting {
            until: Some(at("2027-01-14 02:00"))
        }
    );
    let scheduled = world.scheduled_runs().await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].scheduled_for, Some(at("2027-01-13 02:00")));
}

#[tokio::test]
async fn no_catch_up_for_a_firing_before_the_settings_were_saved() {
    let world = World::new("2027-01-13 08:00").await;
    world.save("daily", "02:00", "UTC").await;
    world.clock.set(at("2027-01-13 09:00"));

    let (_scheduler, mut events) = world.scheduler();

    let event = next_event(&mut events, |_| true).await;
    assert_eq!(
        event,
        SchedulerEvent::Waiting {
            until: Some(at("2027-01-14 02:00"))
        }
    );
    assert!(world.scheduled_runs().await.is_empty());
}

/// A job whose upload never gets an answer, so its run stays in progress.
async fn stuck_job(world: &World) -> Job {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let files = world.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    std::fs::write(files.join("a.txt"), b"some data").expect("file");
    Job {
        target: S3Target {
            endpoint: url::Url::parse(&endpoint).ok(),
            region: "us-east-1".into(),
            bucket: "backups".into(),
            access_key_id: "key".into(),
            secret_access_key: "secret".into(),
            path_style: true,
            prefix: String::new(),
            max_parts: S3Target::DEFAULT_MAX_PARTS,
            storage: Default::default(),
        },
        sources: vec![
            SourceSpec::parse("files", SourceKind::Directory, &files.display().to_string())
                .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    }
}

#[tokio::test]
async fn a_firing_while_a_backup_runs_is_skipped_and_recorded() {
    let world = World::new("2027-01-10 00:00").await;
    world.save("daily", "02:00", "UTC").await;
    let (_scheduler, mut events) = world.scheduler();
    next_event(&mut events, waiting).await;
    let manual = world
        .runner
        .start(Trigger::Manual, stuck_job(&world).await)
        .await
        .expect("manual run");

    world.clock.set(at("2027-01-10 02:00"));

    let event = next_event(&mut events, |e| !waiting(e)).await;
    let SchedulerEvent::Skipped { slot, run_id } = event else {
        panic!("a skipped firing, got {event:?}")
    };
    assert_eq!(slot, at("2027-01-10 02:00"));
    let skipped = runs::get(&world.pool, run_id)
        .await
        .expect("read")
        .expect("run")
        .run;
    assert_eq!(skipped.status, RunStatus::Skipped);
    assert_eq!(skipped.scheduled_for, Some(slot));
    assert_eq!(skipped.started_at, at("2027-01-10 02:00"));
    assert_eq!(skipped.finished_at, Some(skipped.started_at));
    assert_eq!(
        skipped.warning.map(|w| w.to_string()).as_deref(),
        Some("Skipped: another backup was running.")
    );
    assert_eq!(world.runner.current(), Some(manual));
}

fn is_overdue_mail(mail: &smtp::Captured) -> bool {
    let subject = mail.subject();
    subject.contains("No successful backup") || subject.contains("No backup has succeeded")
}

#[tokio::test]
async fn overdue_alert_is_sent_exactly_once_until_a_backup_succeeds() {
    let world = World::new("2027-01-10 00:00").await;
    // Hourly: expected by 02:00 (first firing 01:00, plus an hour of grace).
    world.save("hourly", "00:00", "UTC").await;
    let (_scheduler, mut events) = world.scheduler();
    next_event(&mut events, waiting).await;

    world.clock.set(at("2027-01-10 03:00"));
    let alert = next_event(&mut events, |e| {
        matches!(e, SchedulerEvent::OverdueAlerted { .. })
    })
    .await;
    assert_eq!(
        alert,
        SchedulerEvent::OverdueAlerted {
            expected_by: at("2027-01-10 02:00")
        }
    );
    for hour in ["04:00", "05:00"] {
        world.clock.set(at(&format!("2027-01-10 {hour}")));
        next_event(&mut events, |e| {
            matches!(e, SchedulerEvent::NotStarted { .. })
        })
        .await;
        next_event(&mut events, waiting).await;
    }

    let alerts = notify::latest_of_kind(&world.pool, Kind::Overdue, 10)
        .await
        .expect("read");
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].sent_at.is_some());
    let overdue_mails = world
        .smtp
        .messages()
        .into_iter()
        .filter(is_overdue_mail)
        .count();
    assert_eq!(overdue_mails, 1);
    let banner = schedule::overdue(&world.pool, at("2027-01-10 05:00"))
        .await
        .expect("check")
        .expect("overdue");
    assert!(
        banner
            .banner("fr", chrono_tz::UTC)
            .contains("Aucune sauvegarde")
    );

    // A backup succeeds at 05:10: no banner; a new stretch may alert again.
    let success = runs::create(&world.pool, Trigger::Manual, None)
        .await
        .expect("run");
    let outcome = Outcome::Success(runs::Stored {
        folder: "b".into(),
        total_bytes: 1,
        object_count: 1,
        warning: None,
    });
    runs::finish(&world.pool, success, &outcome)
        .await
        .expect("finish");
    sqlx::query("UPDATE runs SET started_at = ?1, finished_at = ?1 WHERE id = ?2")
        .bind(at("2027-01-10 05:10"))
        .bind(success)
        .execute(&world.pool)
        .await
        .expect("move the run in time");
    assert_eq!(
        schedule::overdue(&world.pool, at("2027-01-10 05:20"))
            .await
            .expect("check"),
        None
    );
    world.clock.set(at("2027-01-10 08:00"));
    let alert = next_event(&mut events, |e| {
        matches!(e, SchedulerEvent::OverdueAlerted { .. })
    })
    .await;
    assert_eq!(
        alert,
        SchedulerEvent::OverdueAlerted {
            expected_by: at("2027-01-10 07:00")
        }
    );
    let alerts = notify::latest_of_kind(&world.pool, Kind::Overdue, 10)
        .await
        .expect("read");
    assert_eq!(alerts.len(), 2);
}

#[tokio::test]
async fn overdue_even_if_no_run_ever_started() {
    let world = World::new("2027-01-10 00:00").await;
    world.save("daily", "02:00", "UTC").await;

    let early = schedule::overdue(&world.pool, at("2027-01-10 04:00"))
        .await
        .expect("check");
    let late = schedule::overdue(&world.pool, at("2027-01-12 00:00"))
        .await
        .expect("check");

    assert_eq!(early, None);
    let late = late.expect("overdue");
    assert_eq!(late.last_success, None);
    assert!(
        late.banner("en", chrono_tz::UTC)
            .contains("No backup has succeeded yet")
    );
    assert!(world.scheduled_runs().await.is_empty());
}

#[tokio::test]
async fn the_plan_comes_from_the_saved_settings() {
    let world = World::new("2027-01-10 00:00").await;
    let mut settings = s3_backup::db::settings::load(&world.pool)
        .await
        .expect("load");
    assert_eq!(Plan::from_settings(&settings), None, "off by default");

    settings.enabled = true;
    assert_eq!(Plan::from_settings(&settings), None, "manual mode");
    settings.frequency = Frequency::Monthly;
    settings.monthday = MonthDay::new(31).expect("a day");
    settings.time = TimeOfDay::new(3, 0).expect("a time");
    settings.timezone = TimeZone::parse("Europe/Paris").expect("a zone");
    settings.schedule_saved_at = Some(at("2027-01-10 00:00"));
    let plan = Plan::from_settings(&settings).expect("scheduled");
    // February 2027 has 28 days; 03:00 in Paris is 02:00 UTC in winter.
    assert_eq!(
        plan.next_after(at("2027-02-01 00:00")),
        Some(at("2027-02-28 02:00"))
    );

    settings.frequency = Frequency::Cron;
    settings.cron = None;
    assert_eq!(
        Plan::from_settings(&settings),
        None,
        "no expression, nothing fires"
    );
    settings.cron = Some(CronExpr::parse("30 4 * * *").expect("an expression"));
    assert!(Plan::from_settings(&settings).is_some());
    settings.enabled = false;
    assert_eq!(Plan::from_settings(&settings), None);
}
