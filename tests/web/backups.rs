use crate::common::s3::{ACCESS_KEY, REGION, SECRET_KEY, TestS3};
use crate::common::{TestApp, field_error};

/// Saves settings pointing at `s3`'s `bucket` and adds a SQLite and a directory source.
async fn configure(app: &TestApp, s3: &TestS3, bucket: &str, secret: &str) -> tempfile::TempDir {
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    let saved = app
        .post_form(
            "/settings",
            &[
                ("access_key_id", ACCESS_KEY),
                ("secret_access_key", secret),
                ("notify_email", "ops@example.com"),
                ("bucket", bucket),
                ("endpoint_url", &endpoint),
                ("region", REGION),
                ("path_style", "on"),
                ("backup_path", "erp"),
                ("frequency", "none"),
                ("backup_time", "02:00"),
                ("backup_weekday", "monday"),
                ("backup_monthday", "1"),
                ("timezone", "UTC"),
                ("backup_files", "on"),
                ("backup_limit", "3"),
            ],
        )
        .await;
    assert_eq!(
        saved.status(),
        200,
        "{}",
        saved.text().await.unwrap_or_default()
    );

    let dir = tempfile::tempdir().expect("source dir");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("mkdir");
    std::fs::write(files.join("invoice.txt"), "Facture n°42 — 1 234,56 €").expect("write");
    let db = dir.path().join("app.sqlite3");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('été');")
        .status()
        .expect("the sqlite3 tool is installed");
    assert!(status.success());
    for (name, kind, location) in [
        ("files", "directory", files.to_str().expect("utf-8")),
        ("app", "sqlite", db.to_str().expect("utf-8")),
    ] {
        let r = app
            .post_form(
                "/sources",
                &[("name", name), ("kind", kind), ("location", location)],
            )
            .await;
        assert_eq!(r.status(), 200, "adding {name}");
    }
    dir
}

#[tokio::test]
async fn backup_now_runs_in_the_background_and_the_history_shows_it() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = configure(&app, &s3, &bucket, SECRET_KEY).await;

    let started = app.post_form("/backups/run", &[]).await;
    assert_eq!(started.status(), 200);
    let run_page = started.url().path().to_owned();
    assert!(
        run_page.starts_with("/backups/"),
        "lands on the run's page: {run_page}"
    );
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let history = app.get_text("/backups").await;
    assert!(history.contains("status-success"));
    let detail = app.get_text(&run_page).await;
    assert!(detail.contains("files.tar.zst"));
    assert!(detail.contains("app.sqlite3.zst"));
    let keys = s3.keys(&bucket, "erp/").await;
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_second_backup_now_during_a_run_is_refused() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = configure(&app, &s3, &bucket, SECRET_KEY).await;
    s3.hooks.hold();
    let first = app.post_form("/backups/run", &[]).await;
    let run_page = first.url().path().to_owned();
    let second = app.post_form("/backups/run", &[]).await;
    let html = second.text().await.expect("body");
    assert!(html.contains("A backup is already running"), "{html}");
    s3.hooks.open();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let history = app.get_text("/backups").await;
    assert_eq!(
        history.matches("status-success").count(),
        1,
        "only one run happened"
    );
}

#[tokio::test]
async fn test_connection_answers_precisely() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = configure(&app, &s3, &bucket, SECRET_KEY).await;
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    let form = |secret: &'static str, bucket: String| {
        vec![
            ("access_key_id", ACCESS_KEY.to_owned()),
            ("secret_access_key", secret.to_owned()),
            ("bucket", bucket),
            ("endpoint_url", endpoint.clone()),
            ("region", REGION.to_owned()),
            ("path_style", "on".to_owned()),
            ("backup_path", "erp".to_owned()),
            ("frequency", "none".to_owned()),
            ("backup_time", "02:00".to_owned()),
            ("backup_weekday", "monday".to_owned()),
            ("backup_monthday", "1".to_owned()),
            ("timezone", "UTC".to_owned()),
            ("backup_limit", "3".to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("/settings/test-connection", &refs)
                .await
                .text()
                .await
                .expect("body")
        }
    };
    // Blank secret: the stored one is used.
    let ok = send(form("", bucket.clone())).await;
    assert!(ok.contains("The bucket is reachable"), "{ok}");
    let bad_secret = send(form("not-the-secret", bucket.clone())).await;
    assert!(
        bad_secret.contains("secret access key is wrong"),
        "{bad_secret}"
    );
    assert!(!bad_secret.contains("not-the-secret"));
    let no_bucket = send(form("", "no-such-bucket-here".to_owned())).await;
    assert!(
        no_bucket.contains("This bucket does not exist"),
        "{no_bucket}"
    );
    let bad_name = send(form("", "Bad_Bucket".to_owned())).await;
    assert!(field_error(&bad_name, "bucket").is_some());
    // Nothing of this was saved.
    let settings = app.get_text("/settings").await;
    assert!(settings.contains(&format!("value=\"{bucket}\"")));
}

#[tokio::test]
async fn backup_now_without_settings_explains_what_is_missing() {
    let app = TestApp::spawn_logged_in().await;
    let r = app.post_form("/backups/run", &[]).await;
    assert_eq!(r.url().path(), "/backups");
    let html = r.text().await.expect("body");
    assert!(html.contains("cannot start"), "{html}");
    assert!(html.contains("No backup has run yet") || !html.contains("status-"));
}

#[tokio::test]
async fn a_run_of_another_live_process_blocks_backup_now_until_that_process_is_gone() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = configure(&app, &s3, &bucket, SECRET_KEY).await;
    // Another process (standing in for `s3-backup backup`) holds the run lock and has a
    // run going.
    let lock = app.data_dir().join("run.lock");
    let mut other = std::process::Command::new("flock")
        .arg("--no-fork")
        .arg(&lock)
        .args(["sleep", "600"])
        .spawn()
        .expect("start a process");
    let pool = s3_backup::db::open(&app.data_dir().join("s3-backup.sqlite3"))
        .await
        .expect("open db");
    sqlx::query("INSERT INTO runs (trigger, status, started_at) VALUES ('cli', 'running', ?1)")
        .bind(chrono::Utc::now())
        .execute(&pool)
        .await
        .expect("insert run");
    // The lock is held once flock has opened it: wait for that, not for a fixed time.
    while std::fs::File::open(&lock)
        .map(|f| f.try_lock().is_ok())
        .unwrap_or(true)
    {
        tokio::task::yield_now().await;
    }

    let refused = app
        .post_form("/backups/run", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(refused.contains("A backup is already running"), "{refused}");

    // That process dies without finishing its run: the run is over, a new one may start.
    other.kill().expect("kill");
    other.wait().expect("reap");
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let history = app.get_text("/backups").await;
    assert!(
        history.contains("status-interrupted"),
        "the dead process's run is interrupted"
    );
}

#[tokio::test]
async fn backups_succeed_with_only_list_and_put_allowed_as_the_setup_guide_suggests() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = configure(&app, &s3, &bucket, SECRET_KEY).await;
    // The IAM policy of the guide: s3:ListBucket and s3:PutObject, nothing else.
    s3.hooks
        .deny_get
        .store(true, std::sync::atomic::Ordering::SeqCst);
    s3.hooks
        .deny_delete
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    s3.hooks
        .deny_get
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let keys = s3.keys(&bucket, "erp/").await;
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn stopping_the_app_during_a_backup_aborts_its_upload_and_records_the_run() {
    let mut app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let sources = configure(&app, &s3, &bucket, SECRET_KEY).await;
    // Enough incompressible data for a multipart upload of several parts.
    let mut noise = vec![0u8; 24 * 1024 * 1024];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut noise);
    std::fs::write(sources.path().join("files").join("photo.raw"), &noise).expect("write");

    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    s3.hooks.parts_received(1).await;
    s3.hooks.hold();
    app.shutdown().await;
    s3.hooks.open();
    // The abort sent at shutdown reaches the server once it answers again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !s3.open_multipart_uploads().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "multipart upload left open"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let keys = s3.keys(&bucket, "erp/").await;
    assert!(
        !keys.iter().any(|k| k.ends_with("files.tar.zst")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with("manifest.json")),
        "{keys:?}"
    );

    app.restart().await;
    let page = app.get_text(&run_page).await;
    assert!(page.contains("status-failed"), "{page}");
    assert!(page.contains("This backup was cancelled"));
}
