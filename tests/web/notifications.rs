use crate::common::TestApp;
use crate::common::s3::{ACCESS_KEY, REGION, TestS3};
use crate::common::smtp::{self, TestSmtp};

async fn save_email_account(app: &TestApp, server: &TestSmtp) {
    let port = server.addr.port().to_string();
    let r = app
        .post_form(
            "/email-account",
            &[
                ("smtp_host", "127.0.0.1"),
                ("smtp_port", &port),
                ("smtp_security", "starttls"),
                ("smtp_username", smtp::USER),
                ("smtp_password", smtp::PASSWORD),
                ("sender", smtp::SENDER),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

fn settings<'a>(endpoint: &'a str, bucket: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("enabled", "on"),
        ("access_key_id", ACCESS_KEY),
        ("secret_access_key", secret),
        ("notify_email", "ops@example.com"),
        ("bucket", bucket),
        ("endpoint_url", endpoint),
        ("region", REGION),
        ("path_style", "on"),
        ("frequency", "hourly"),
        ("backup_time", "00:17"),
        ("backup_weekday", "monday"),
        ("backup_monthday", "1"),
        ("timezone", "Europe/Paris"),
        ("backup_files", "on"),
        ("backup_limit", "3"),
    ]
}

#[tokio::test]
async fn a_failed_backup_now_is_mailed_with_its_reason_and_link() {
    let server = TestSmtp::start().await;
    let app = TestApp::logged_in(TestApp::spawn_trusting(Some(server.ca_pem())).await).await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    save_email_account(&app, &server).await;
    let saved = app
        .post_form("/settings", &settings(&endpoint, &bucket, "a-wrong-secret"))
        .await;
    assert_eq!(saved.status(), 200);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.txt"), "x").expect("write");
    let location = dir.path().to_str().expect("utf-8");
    app.post_form(
        "/sources",
        &[
            ("name", "docs"),
            ("kind", "directory"),
            ("location", location),
        ],
    )
    .await;

    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    let mail = server.wait_for(1).await;
    let subject = mail[0].subject();
    assert!(subject.to_lowercase().contains("failed"), "{subject}");
    let text = mail[0].text();
    assert!(
        text.contains(&run_page),
        "the mail links to the run: {text}"
    );
    assert!(
        text.contains("Signature") || text.contains("signature"),
        "{text}"
    );
    assert!(!text.contains("a-wrong-secret"));
    let page = app.get_text(&run_page).await;
    assert!(page.contains("status-failed"));
}

#[tokio::test]
async fn the_next_run_is_shown_and_follows_a_save() {
    let app = TestApp::spawn_logged_in().await;
    let html = app.get_text("/settings").await;
    assert!(html.contains("No automatic backup is planned"));
    let saved = app
        .post_form(
            "/settings",
            &settings("http://127.0.0.1:9", "some-bucket", "secret-value"),
        )
        .await;
    let html = saved.text().await.expect("body");
    assert!(
        html.contains("Next automatic backup:"),
        "rescheduled at once on save"
    );
    assert!(
        html.contains(":17 CET") || html.contains(":17 CEST"),
        "shown in the chosen zone"
    );
    let history = app.get_text("/backups").await;
    assert!(history.contains("Next automatic backup:"));
}

#[tokio::test]
async fn overdue_backups_show_a_banner_on_every_page() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form(
        "/settings",
        &settings("http://127.0.0.1:9", "some-bucket", "secret-value"),
    )
    .await;
    assert!(!app.get_text("/settings").await.contains("overdue-banner"));
    // The settings were saved two days ago and no backup ever succeeded.
    let pool = s3_backup::db::open(&app.data_dir().join("s3-backup.sqlite3"))
        .await
        .expect("open db");
    sqlx::query("UPDATE settings SET schedule_saved_at = ?1")
        .bind(chrono::Utc::now() - chrono::Duration::days(2))
        .execute(&pool)
        .await
        .expect("update");
    for path in ["/settings", "/sources", "/backups", "/email-account"] {
        let html = app.get_text(path).await;
        assert!(html.contains("id=\"overdue-banner\""), "{path}");
    }
    // Fixing an unrelated field does not hide it: backups are still late.
    let mut fields = settings("http://127.0.0.1:9", "some-bucket", "");
    fields.retain(|(n, _)| *n != "notify_email");
    fields.push(("notify_email", "someone-else@example.com"));
    let saved = app.post_form("/settings", &fields).await;
    assert_eq!(saved.status(), 200);
    assert!(
        saved
            .text()
            .await
            .expect("body")
            .contains("id=\"overdue-banner\"")
    );
}
