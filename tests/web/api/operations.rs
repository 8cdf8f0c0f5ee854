//! Starting operations through the API: a backup like "Backup now" (202, Location, then
//! followed to its end), one operation at a time (409), a verification of the latest
//! complete backup, and the status that follows what happened.

use reqwest::StatusCode;

use super::{backup_to_end, configured, create_token, get, post};
use crate::common::TestApp;
use crate::common::s3::TestS3;

#[tokio::test]
async fn a_backup_started_through_the_api_runs_in_the_background_to_success() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let _dir = configured(&app, &s3).await;
    let token = create_token(&app, "cron", "operate").await;

    let started = post(&app, "/api/v1/backups", Some(&token)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    let run_id = started.body["run_id"].as_i64().expect("run_id");
    let location = started.header("location").expect("Location").to_owned();
    assert_eq!(location, format!("/api/v1/runs/{run_id}"));

    let run = app.wait_until_api_run_done(&location, &token).await;
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["kind"], "backup");
    assert_eq!(run["trigger"], "api");
    assert_eq!(run["id"], run_id);
    assert!(run["finished_at"].is_string());
    let objects = run["objects"].as_array().expect("objects");
    assert!(
        objects.iter().any(|o| o["key"]
            .as_str()
            .is_some_and(|k| k.ends_with("files.tar.zst"))),
        "{run}"
    );
    let history = app.get_text(&format!("/backups/{run_id}")).await;
    assert!(
        history.contains("API"),
        "the history says where it came from"
    );
}

#[tokio::test]
async fn a_second_start_while_an_operation_runs_gets_409() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let _dir = configured(&app, &s3).await;
    let token = create_token(&app, "cron", "operate").await;
    s3.hooks.hold();
    let first = post(&app, "/api/v1/backups", Some(&token)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let location = first.header("location").expect("Location").to_owned();

    let second = post(&app, "/api/v1/backups", Some(&token)).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.error_code(), "conflict");
    let verify = post(&app, "/api/v1/verify", Some(&token)).await;
    assert_eq!(verify.status, StatusCode::CONFLICT);
    let status = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(status.body["in_progress"], true);
    assert_eq!(status.body["running_run_id"], first.body["run_id"]);

    s3.hooks.open();
    let run = app.wait_until_api_run_done(&location, &token).await;
    assert_eq!(run["status"], "success");
    let runs = get(&app, "/api/v1/runs", Some(&token)).await;
    assert_eq!(
        runs.body["runs"].as_array().map(Vec::len),
        Some(1),
        "one run only"
    );
}

#[tokio::test]
async fn the_status_follows_a_success_then_a_failure() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "monitoring", "operate").await;
    let fresh = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["state"], "not_configured");
    assert_eq!(fresh.body["last_backup"], serde_json::Value::Null);
    assert_eq!(fresh.body["next_run_at"], serde_json::Value::Null, "manual");

    let s3 = TestS3::start().await;
    let dir = configured(&app, &s3).await;
    let ready = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(ready.body["state"], "no_backup");

    let good = backup_to_end(&app, &token).await;
    assert_eq!(good["status"], "success");
    let after_success = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(after_success.body["state"], "ok", "{}", after_success.body);
    assert_eq!(after_success.body["in_progress"], false);
    assert_eq!(after_success.body["last_backup"]["id"], good["id"]);
    let last_success = after_success.body["last_success_at"].clone();
    assert_eq!(last_success, good["finished_at"]);

    std::fs::remove_dir_all(dir.path().join("files")).expect("remove the source");
    let bad = backup_to_end(&app, &token).await;
    assert_eq!(bad["status"], "failed", "{bad}");
    assert!(bad["error"].as_str().is_some_and(|e| !e.is_empty()));
    let after_failure = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(
        after_failure.body["state"], "failed",
        "{}",
        after_failure.body
    );
    assert_eq!(after_failure.body["last_backup"]["id"], bad["id"]);
    assert_eq!(after_failure.body["last_success_at"], last_success);
}

#[tokio::test]
async fn a_scheduled_installation_shows_its_next_run() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(
        &s3,
        &bucket,
        "erp",
        &[
            ("enabled", "on"),
            ("notify_email", "ops@example.com"),
            ("frequency", "daily"),
        ],
    )
    .await;
    let token = create_token(&app, "monitoring", "read").await;
    let status = get(&app, "/api/v1/status", Some(&token)).await;
    let next = status.body["next_run_at"].as_str().expect("a next run");
    let next = chrono::DateTime::parse_from_rfc3339(next).expect("ISO 8601");
    assert_eq!(next.offset().local_minus_utc(), 0, "in UTC");
    assert!(next > chrono::Utc::now());
}

#[tokio::test]
async fn a_verification_started_through_the_api_checks_the_latest_backup() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let _dir = configured(&app, &s3).await;
    let token = create_token(&app, "cron", "operate").await;
    let backup = backup_to_end(&app, &token).await;
    assert_eq!(backup["status"], "success");

    let started = post(&app, "/api/v1/verify", Some(&token)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let location = started.header("location").expect("Location").to_owned();
    let run = app.wait_until_api_run_done(&location, &token).await;
    assert_eq!(run["kind"], "verify");
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["folder"], backup["folder"]);
    let status = get(&app, "/api/v1/status", Some(&token)).await;
    assert_eq!(status.body["last_verification"]["id"], run["id"]);
    assert_eq!(status.body["state"], "ok");
}
