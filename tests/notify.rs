//! E-mail notifications against a real SMTP server in the test process that requires
//! STARTTLS and authentication.

#[path = "common/smtp.rs"]
mod smtp;
#[path = "common/webhooks.rs"]
mod webhooks;

use s3_backup::crypto::MasterKey;
use s3_backup::db::runs::{self, Outcome, RunId, RunStatus, Trigger};
use s3_backup::lang::Lang as Tr;
use s3_backup::notify::{self, DeliveryState, MailOptions, MailProblem, Notifier};
use s3_backup::settings::EmailList;
use s3_backup::settings::SmtpSecurity;
use smtp::TestSmtp;
use sqlx::SqlitePool;

const ADMINS: &str = "ops@example.com, boss@example.com";

struct World {
    pool: SqlitePool,
    key: MasterKey,
    smtp: TestSmtp,
    _dir: tempfile::TempDir,
}

impl World {
    /// A fresh database with the e-mail account pointing at a fresh SMTP server and
    /// notifications going to two admins.
    async fn new(on_success: bool) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = s3_backup::db::open(&dir.path().join("db.sqlite3"))
            .await
            .expect("database");
        let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        let smtp = TestSmtp::start().await;
        s3_backup::db::email_account::save(&pool, &smtp.stored_account(&key), "admin")
            .await
            .expect("save account");
        let world = World {
            pool,
            key,
            smtp,
            _dir: dir,
        };
        world.settings(ADMINS, on_success).await;
        world
    }

    async fn settings(&self, notify_email: &str, on_success: bool) {
        let mut settings = s3_backup::db::settings::load(&self.pool)
            .await
            .expect("load");
        settings.notify_email = EmailList::parse(notify_email).unwrap_or_default();
        settings.send_email_for_successful_backup = on_success;
        settings.timezone = s3_backup::settings::TimeZone::parse("Europe/Paris").expect("a zone");
        s3_backup::db::settings::store(&self.pool, &settings, "admin")
            .await
            .expect("save settings");
    }

    fn notifier(&self, options: MailOptions) -> Notifier {
        let public = url::Url::parse("https://backup.example.com/").ok();
        Notifier::new(self.pool.clone(), self.key.clone(), public, options)
    }

    async fn run(&self, outcome: Outcome) -> RunId {
        let id = runs::create(&self.pool, Trigger::Scheduled, None)
            .await
            .expect("create run");
        runs::append_log(
            &self.pool,
            id,
            "info",
            &s3_backup::lang::Message::new("run.log.start")
                .with("count", 1)
                .with("folder", "erp-db"),
        )
        .await
        .expect("log");
        runs::finish(&self.pool, id, &outcome)
            .await
            .expect("finish");
        id
    }

    async fn failed_run(&self) -> RunId {
        self.run(Outcome::Failed {
            error: s3_backup::lang::Message::new("run.error.crashed")
                .detail("uploading part 3 of erp-db.sql.zst: connection reset by peer"),
            folder: None,
        })
        .await
    }

    async fn successful_run(&self) -> RunId {
        self.run(Outcome::Success(runs::Stored {
            folder: "backups/2026-11-24T010000Z".into(),
            total_bytes: 1_500_000,
            object_count: 2,
            warning: None,
        }))
        .await
    }

    async fn status(&self, id: RunId) -> RunStatus {
        runs::get(&self.pool, id)
            .await
            .expect("read run")
            .expect("run exists")
            .run
            .status
    }
}

fn admins() -> EmailList {
    EmailList::parse(ADMINS).expect("addresses")
}

#[tokio::test]
async fn failed_run_is_always_mailed_with_its_error() {
    let world = World::new(false).await;
    let source = s3_backup::db::sources::SourceRow {
        name: "erp-db",
        kind: "sqlite",
        location: "/srv/erp/erp.sqlite3",
        site_files: false,
    };
    s3_backup::db::sources::insert(&world.pool, &source, |_| Ok(None), "admin")
        .await
        .expect("source");
    let run = world.failed_run().await;

    let delivery = world
        .notifier(world.smtp.options())
        .report_run(run)
        .await
        .expect("report")
        .expect("a failure is always reported");

    assert_eq!(delivery.state(), DeliveryState::Sent);
    let messages = world.smtp.wait_for(1).await;
    let mail = &messages[0];
    assert_eq!(mail.to, vec!["ops@example.com", "boss@example.com"]);
    let subject = mail.subject();
    assert!(
        subject.starts_with("[s3-backup] Backup failed: erp-db — 20"),
        "{subject}"
    );
    assert!(
        subject.ends_with(" CET") || subject.ends_with(" CEST"),
        "in the settings' time zone: {subject}"
    );
    let text = mail.text();
    assert!(
        text.contains("uploading part 3 of erp-db.sql.zst: connection reset by peer"),
        "{text}"
    );
    assert!(
        text.contains("Backing up 1 source(s) to erp-db"),
        "the log is quoted for context: {text}"
    );
    assert!(
        text.contains(&format!("https://backup.example.com/backups/{run}")),
        "{text}"
    );
    assert!(mail.html().contains("connection reset by peer"));
}

#[tokio::test]
async fn success_is_not_mailed_when_the_box_is_unchecked() {
    let world = World::new(false).await;
    let notifier = world.notifier(world.smtp.options());

    let success = world.successful_run().await;
    let reported = notifier.report_run(success).await.expect("report");
    // A failure afterwards is the only mail that arrives.
    let failure = world.failed_run().await;
    notifier.report_run(failure).await.expect("report");

    assert!(reported.is_none());
    let messages = world.smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    assert!(messages[0].subject().contains("Backup failed"));
    assert!(
        notify::deliveries_for_run(&world.pool, success)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn success_is_mailed_when_the_box_is_checked_in_the_admins_language() {
    let world = World::new(true).await;
    let mut settings = s3_backup::db::settings::load(&world.pool)
        .await
        .expect("load");
    settings.language = Tr::FR;
    s3_backup::db::settings::store(&world.pool, &settings, "admin")
        .await
        .expect("language");
    let run = world.successful_run().await;

    world
        .notifier(world.smtp.options())
        .report_run(run)
        .await
        .expect("report");

    let mail = &world.smtp.wait_for(1).await[0];
    assert!(
        mail.subject()
            .starts_with("[s3-backup] Sauvegarde réussie : "),
        "{}",
        mail.subject()
    );
    let text = mail.text();
    assert!(text.contains("1,4 Mio"), "sizes in French units: {text}");
    assert!(
        text.contains("Objets: 2") || text.contains("Objets : 2") || text.contains("Objets"),
        "{text}"
    );
    assert!(text.contains("backups/2026-11-24T010000Z"), "{text}");
}

#[tokio::test]
async fn a_run_is_reported_once() {
    let world = World::new(false).await;
    let notifier = world.notifier(world.smtp.options());
    let run = world.failed_run().await;

    let first = notifier.report_run(run).await.expect("first");
    let second = notifier.report_run(run).await.expect("second");

    assert!(first.is_some());
    assert!(second.is_none());
    assert_eq!(
        notify::deliveries_for_run(&world.pool, run)
            .await
            .expect("read")
            .len(),
        1
    );
}

#[tokio::test]
async fn mail_that_cannot_be_sent_is_retried_recorded_and_leaves_the_run_a_success() {
    let mut world = World::new(true).await;
    let run = world.successful_run().await;
    world.smtp.stop().await;

    let delivery = world
        .notifier(world.smtp.options())
        .report_run(run)
        .await
        .expect("report")
        .expect("recorded");

    assert_eq!(delivery.state(), DeliveryState::Failed);
    assert_eq!(delivery.attempts, 3, "one attempt and two retries");
    let problem = delivery.problem().expect("problem recorded");
    assert_eq!(problem.key, "notify.problem.connection_refused");
    let english = problem.render(Tr::EN);
    assert!(english.contains("refused the connection"), "{english}");
    let french = delivery.summary(Tr::FR);
    assert!(french.contains("a refusé la connexion"), "{french}");
    assert_eq!(world.status(run).await, RunStatus::Success);
    let recorded = notify::deliveries_for_run(&world.pool, run)
        .await
        .expect("read");
    assert_eq!(recorded, vec![delivery]);
}

#[tokio::test]
async fn the_notifier_reports_runs_the_runner_finishes() {
    let world = World::new(false).await;
    let runner = s3_backup::backup::Runner::new(world.pool.clone());
    let _task = world.notifier(world.smtp.options()).spawn(&runner);
    let job = s3_backup::backup::Job {
        target: s3_backup::backup::S3Target {
            endpoint: url::Url::parse("http://127.0.0.1:9").ok(),
            region: "us-east-1".into(),
            bucket: "backups".into(),
            access_key_id: "key".into(),
            secret_access_key: "secret".into(),
            path_style: true,
            prefix: String::new(),
            max_parts: 10_000,
            storage: Default::default(),
        },
        sources: vec![
            s3_backup::backup::SourceSpec::parse(
                "erp-db",
                s3_backup::settings::SourceKind::Sqlite,
                "/nonexistent/erp.sqlite3",
            )
            .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };

    let run = runner.start(Trigger::Manual, job).await.expect("start");

    let mail = &world.smtp.wait_for(1).await[0];
    assert!(
        mail.subject().contains("Backup failed"),
        "{}",
        mail.subject()
    );
    assert!(mail.text().contains(&format!("/backups/{run}")));
    assert_eq!(world.status(run).await, RunStatus::Failed);
}

#[tokio::test]
async fn test_email_arrives() {
    let world = World::new(false).await;

    let sent = notify::send_test(
        &world.smtp.account(),
        &admins(),
        Tr::EN,
        &world.smtp.options(),
    )
    .await;

    assert_eq!(sent, Ok(()));
    let mail = &world.smtp.wait_for(1).await[0];
    assert_eq!(mail.subject(), "[s3-backup] Test e-mail");
    assert_eq!(mail.from, smtp::SENDER);
}

#[tokio::test]
async fn test_email_uses_the_form_values_not_only_the_stored_ones() {
    let world = World::new(false).await;
    let mut typed = world.smtp.stored_account(&world.key);
    typed.sender = "backups@example.org".into();

    let sent =
        notify::send_test_with_form(&typed, &world.key, &admins(), "fr", &world.smtp.options())
            .await;

    assert_eq!(sent, Ok(()));
    let mail = &world.smtp.wait_for(1).await[0];
    assert_eq!(mail.subject(), "[s3-backup] E-mail de test");
    assert_eq!(mail.from, "backups@example.org");
}

#[tokio::test]
async fn wrong_password_is_an_authentication_failure() {
    let world = World::new(false).await;
    let mut account = world.smtp.account();
    account.password = Some("not-the-password".into());

    let problem = notify::send_test(&account, &admins(), Tr::EN, &world.smtp.options())
        .await
        .expect_err("refused");

    assert!(
        matches!(problem, MailProblem::AuthFailed { .. }),
        "{problem:?}"
    );
    assert_eq!(problem.key(), "notify.problem.auth_failed");
    assert!(problem.detail().contains("535"), "{}", problem.detail());
    assert!(problem.message("fr").contains("authentification"));
    assert!(world.smtp.messages().is_empty());
}

#[tokio::test]
async fn server_down_is_a_refused_connection() {
    let mut world = World::new(false).await;
    let account = world.smtp.account();
    world.smtp.stop().await;

    let problem = notify::send_test(&account, &admins(), Tr::EN, &world.smtp.options())
        .await
        .expect_err("nobody listens");

    assert_eq!(
        problem,
        MailProblem::ConnectionRefused {
            server: account.server()
        }
    );
    assert!(problem.to_string().contains(&account.server()));
}

#[tokio::test]
async fn refused_recipient_is_named() {
    let world = World::new(false).await;
    world.smtp.refuse_recipient("boss@example.com");

    let problem = notify::send_test(
        &world.smtp.account(),
        &admins(),
        Tr::EN,
        &world.smtp.options(),
    )
    .await
    .expect_err("refused");

    assert!(
        matches!(&problem, MailProblem::RecipientRefused { recipient, .. } if recipient == "boss@example.com"),
        "{problem:?}"
    );
}

#[tokio::test]
async fn implicit_tls_against_a_starttls_port_is_a_tls_failure() {
    let world = World::new(false).await;
    let mut account = world.smtp.account();
    account.security = SmtpSecurity::Tls;

    let problem = notify::send_test(&account, &admins(), Tr::EN, &world.smtp.options())
        .await
        .expect_err("no TLS on connect");

    assert!(matches!(problem, MailProblem::Tls { .. }), "{problem:?}");
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_failure() {
    let world = World::new(false).await;
    let mut options = world.smtp.options();
    options.extra_root_certificates.clear();

    let problem = notify::send_test(&world.smtp.account(), &admins(), Tr::EN, &options)
        .await
        .expect_err("certificate not trusted");

    assert!(matches!(problem, MailProblem::Tls { .. }), "{problem:?}");
    assert!(
        problem.detail().to_lowercase().contains("certificate"),
        "{}",
        problem.detail()
    );
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure() {
    let world = World::new(false).await;
    let mut account = world.smtp.account();
    account.host = "smtp.does-not-exist.invalid".into();

    let problem = notify::send_test(&account, &admins(), Tr::EN, &world.smtp.options())
        .await
        .expect_err("no such host");

    assert!(matches!(problem, MailProblem::Dns { .. }), "{problem:?}");
}

#[tokio::test]
async fn no_address_to_send_to_is_recorded_for_a_failed_run() {
    let world = World::new(false).await;
    world.settings("", false).await;
    let run = world.failed_run().await;

    let delivery = world
        .notifier(world.smtp.options())
        .report_run(run)
        .await
        .expect("report")
        .expect("recorded");

    assert_eq!(delivery.state(), DeliveryState::Failed);
    assert_eq!(delivery.attempts, 0);
    assert!(
        delivery.summary(Tr::EN).contains("No address"),
        "{}",
        delivery.summary(Tr::EN)
    );
}

#[tokio::test]
async fn silent_server_is_a_timeout() {
    let world = World::new(false).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut account = world.smtp.account();
    account.port = silent.local_addr().expect("address").port();
    let mut options = world.smtp.options();
    options.timeout = std::time::Duration::from_millis(300);

    let problem = notify::send_test(&account, &admins(), Tr::EN, &options)
        .await
        .expect_err("no greeting");

    assert!(
        matches!(
            problem,
            MailProblem::Timeout {
                step: notify::Step::Connect,
                ..
            }
        ),
        "{problem:?}"
    );
    drop(silent);
}

#[tokio::test]
async fn a_run_interrupted_by_a_crash_is_mailed_at_start_up() {
    let world = World::new(false).await;
    let before = chrono::Utc::now() - chrono::Duration::minutes(1);
    let run = runs::create(&world.pool, Trigger::Scheduled, None)
        .await
        .expect("run");
    // The process died; at start-up the run is marked interrupted.
    runs::mark_interrupted_at_startup(&world.pool)
        .await
        .expect("mark");

    let notifier = world.notifier(world.smtp.options());
    let reported = notifier.resume(before).await.expect("report");
    let again = notifier.resume(before).await.expect("report");

    assert_eq!((reported, again), (1, 0));
    let mail = &world.smtp.wait_for(1).await[0];
    assert!(
        mail.subject().contains("Backup interrupted"),
        "{}",
        mail.subject()
    );
    assert_eq!(world.status(run).await, RunStatus::Interrupted);
}

#[tokio::test]
async fn a_report_left_unsent_by_a_stop_is_sent_at_start_up() {
    let mut world = World::new(false).await;
    let run = world.failed_run().await;
    world.smtp.stop().await;
    let mut options = world.smtp.options();
    // The first process gives up retrying only much later; it is stopped before.
    options.retry_delays = vec![std::time::Duration::from_secs(3600)];
    let first = world.notifier(options);
    let trying = tokio::spawn(async move { first.report_run(run).await });
    let pending = loop {
        let recorded = notify::deliveries_for_run(&world.pool, run)
            .await
            .expect("read");
        if recorded.first().is_some_and(|d| d.attempts == 1) {
            break recorded;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(pending[0].state(), DeliveryState::Trying);
    trying.abort();
    world.smtp = TestSmtp::start().await;
    s3_backup::db::email_account::save(
        &world.pool,
        &world.smtp.stored_account(&world.key),
        "admin",
    )
    .await
    .expect("account");

    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let resumed = world
        .notifier(world.smtp.options())
        .resume(since)
        .await
        .expect("resume");

    assert_eq!(resumed, 1);
    assert_eq!(world.smtp.wait_for(1).await.len(), 1);
    let recorded = notify::deliveries_for_run(&world.pool, run)
        .await
        .expect("read");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].state(), DeliveryState::Sent);
}

#[tokio::test]
async fn a_restore_is_mailed_as_a_restore_failed_always_and_succeeded_when_asked() {
    let world = World::new(true).await;
    let request = s3_backup::backup::restore::Request {
        backup: s3_backup::backup::restore::BackupChoice::Folder("2026-11-24T010000Z".into()),
        source: s3_backup::backup::restore::SourceChoice::Named("erp-db".into()),
        to: Some("postgresql://erp:hunter2@db.example.com/erp_copy".into()),
        replace: false,
    };
    let restore = |outcome: Outcome| {
        let pool = world.pool.clone();
        let stored = request.to_stored();
        async move {
            let id = runs::create_operation(
                &pool,
                runs::RunKind::Restore,
                Trigger::Manual,
                None,
                Some(&stored),
            )
            .await
            .expect("create run");
            runs::finish(&pool, id, &outcome).await.expect("finish");
            id
        }
    };
    let failed = restore(Outcome::Failed {
        error: s3_backup::lang::Message::new("run.restore.some_failed")
            .with("failed", 1)
            .with("total", 1)
            .with("sources", "erp-db"),
        folder: Some("backups/2026-11-24T010000Z".into()),
    })
    .await;
    let succeeded = restore(Outcome::Success(runs::Stored {
        folder: "backups/2026-11-24T010000Z".into(),
        total_bytes: 2048,
        object_count: 1,
        warning: None,
    }))
    .await;
    let notifier = world.notifier(world.smtp.options());
    for run in [failed, succeeded] {
        notifier
            .report_run(run)
            .await
            .expect("report")
            .expect("both are due");
    }
    let messages = world.smtp.wait_for(2).await;
    let subjects: Vec<String> = messages.iter().map(|mail| mail.subject()).collect();
    assert!(
        subjects[0].starts_with("[s3-backup] Restore failed: erp-db ← 2026-11-24T010000Z"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[s3-backup] Restore succeeded: erp-db ← 2026-11-24T010000Z"),
        "{subjects:?}"
    );
    let text = messages[0].text();
    assert!(
        text.contains("1 of 1 objects were not restored (erp-db)"),
        "{text}"
    );
    assert!(text.contains("the Restore page"), "{text}");
    for mail in &messages {
        assert!(!mail.text().contains("hunter2"), "no password in a mail");
    }
    let detail = runs::get(&world.pool, failed)
        .await
        .expect("read")
        .expect("run");
    assert!(!detail.run.request.unwrap_or_default().contains("hunter2"));
}

#[tokio::test]
async fn a_run_interrupted_by_a_crash_is_told_to_channels_and_mailed_at_start_up() {
    let world = World::new(false).await;
    let hooks = webhooks::Webhooks::start().await;
    let url = hooks.url("/hook");
    s3_backup::db::channels::create(
        &world.pool,
        &world.key,
        &s3_backup::db::channels::NewChannel {
            name: "ops",
            kind: "webhook",
            url: &url,
            url_shown: "http://127.0.0.1/…",
            token: None,
            secret: Some("s3cret"),
            events: "backup_failed",
        },
        "admin",
    )
    .await
    .expect("channel");
    let before = chrono::Utc::now() - chrono::Duration::minutes(1);
    let run = runs::create(&world.pool, Trigger::Scheduled, None)
        .await
        .expect("run");
    runs::mark_interrupted_at_startup(&world.pool)
        .await
        .expect("mark");

    let notifier = world.notifier(world.smtp.options());
    notifier.resume(before).await.expect("report");
    notifier.resume(before).await.expect("report again");

    let hook = &hooks.wait_path("/hook", 1).await[0];
    assert_eq!(hook.json()["event"], "backup_failed");
    assert_eq!(hook.json()["status"], "interrupted");
    assert_eq!(hook.json()["run_id"], run);
    let mail = &world.smtp.wait_for(1).await[0];
    assert!(mail.subject().contains("Backup interrupted"));
    let deliveries = s3_backup::db::channels::deliveries_for_run(&world.pool, run)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), 1, "told once: {deliveries:?}");
}
