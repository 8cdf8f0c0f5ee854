use crate::common::{TestApp, client};

#[tokio::test]
async fn healthz_answers_without_login() {
    let app = TestApp::spawn_logged_in().await;
    let response = client().get(app.url("/healthz")).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["scheduler"], "ok");
}

#[tokio::test]
async fn metrics_need_a_login_and_speak_prometheus() {
    let app = TestApp::spawn_logged_in().await;
    let anonymous = client().get(app.url("/metrics")).send().await.expect("GET");
    assert_eq!(anonymous.status(), 401);
    let text = app.get_text("/metrics").await;
    assert!(text.contains("# TYPE s3backup_last_success_timestamp_seconds gauge"));
    assert!(text.contains("s3backup_last_success_timestamp_seconds 0"));
    assert!(text.contains("s3backup_backup_running 0"));
}

#[tokio::test]
async fn the_data_directory_and_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(app.data_dir()), 0o700);
    assert_eq!(mode(&app.data_dir().join("master.key")), 0o600);
    assert!(app.data_dir().join("s3-backup.sqlite3").exists());
}

#[tokio::test]
async fn unknown_addresses_are_a_page_in_the_readers_language() {
    let app = crate::common::TestApp::spawn_logged_in().await;
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.status(), 404);
    let html = missing.text().await.expect("body");
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains("href=\"/backups\""), "with the navigation");
    let french = app
        .get("/no-such-page?lang=fr")
        .await
        .text()
        .await
        .expect("body");
    assert!(french.contains("Page introuvable"), "{french}");
    for path in ["/backups/abc", "/backups/abc/progress", "/sources/x1"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.expect("body");
        assert!(!body.contains("Cannot parse"), "{path}: {body}");
    }
}
