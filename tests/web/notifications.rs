use crate::common::TestApp;
use crate::common::s3::{ACCESS_KEY, REGION, TestS3};
use crate::common::smtp::{self, TestSmtp};

pub async fn save_email_account(app: &TestApp, server: &TestSmtp) {
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

#[tokio::test]
async fn a_partial_backup_keeps_and_lists_the_good_objects_and_is_mailed_as_partial() {
    let server = TestSmtp::start().await;
    let app = TestApp::logged_in(TestApp::spawn_trusting(Some(server.ca_pem())).await).await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    save_email_account(&app, &server).await;
    let mut fields = settings(&endpoint, &bucket, crate::common::s3::SECRET_KEY);
    fields.retain(|(n, _)| *n != "frequency");
    fields.push(("frequency", "none"));
    assert_eq!(app.post_form("/settings", &fields).await.status(), 200);
    let dir = tempfile::tempdir().expect("dir");
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).expect("mkdir");
    std::fs::write(docs.join("facture-42.txt"), "Facture n°42 — 1 234,56 €").expect("write");
    let missing = format!(
        "postgresql://postgres@127.0.0.1:5432/s3b_missing_{}",
        std::process::id()
    );
    for (name, kind, location) in [
        ("docs", "directory", docs.to_str().expect("utf-8")),
        ("erp", "postgres", missing.as_str()),
    ] {
        let added = app
            .post_form(
                "/sources",
                &[("name", name), ("kind", kind), ("location", location)],
            )
            .await;
        assert_eq!(added.status(), 200, "adding {name}");
    }

    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    let mail = server.wait_for(1).await;
    let subject = mail[0].subject();
    assert!(subject.contains("partly failed"), "{subject}");
    assert!(
        mail[0].text().contains("does not exist"),
        "the reason is mailed"
    );

    let page = app.get_text(&run_page).await;
    assert!(page.contains("status-partial"), "{page}");
    assert!(page.contains("docs.tar.zst"), "the good object is listed");
    assert!(
        !page.contains("erp.sql.zst"),
        "no object is listed for the failed source"
    );
    assert!(page.contains("Sources not backed up"));
    assert!(page.contains("pg_dump"), "the failed source says why");
    let history = app.get_text("/backups").await;
    assert!(history.contains("status-partial"));

    // The good object stays in the bucket and restores with zstd and tar.
    let keys = s3.keys(&bucket, "").await;
    let object = keys
        .iter()
        .find(|k| k.ends_with("/docs.tar.zst"))
        .unwrap_or_else(|| panic!("the directory's object stays: {keys:?}"));
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with("/erp.sql.zst")),
        "{keys:?}"
    );
    let bytes = s3.get(&bucket, object).await.expect("download");
    let work = tempfile::tempdir().expect("dir");
    let archive = work.path().join("docs.tar.zst");
    std::fs::write(&archive, bytes).expect("write");
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let restored = std::process::Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$1\" | tar -x -C \"$2\"")
        .arg("sh")
        .arg(&archive)
        .arg(&out)
        .status()
        .expect("zstd and tar are installed");
    assert!(restored.success());
    let found: Vec<_> = walk(&out)
        .into_iter()
        .filter(|p| p.ends_with("facture-42.txt"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        std::fs::read_to_string(&found[0]).expect("read"),
        "Facture n°42 — 1 234,56 €"
    );

    // A partial backup is not a success: the overdue check still waits for one.
    let pool = s3_backup::db::open(&app.data_dir().join("s3-backup.sqlite3"))
        .await
        .expect("open db");
    assert!(
        s3_backup::db::runs::latest_success(&pool)
            .await
            .expect("read")
            .is_none()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
