//! A running backup's progress as its page polls it: a percentage and a time left measured
//! against the previous successful run of the same sources ("unknown" without one), the
//! source it is at, its pace, what it stored so far, and its log after a given line.

use crate::common::TestApp;
use crate::common::s3::TestS3;
use crate::common::watch::{backup_now, second_backup_held, two_sources};

#[tokio::test]
async fn a_backup_of_the_same_sources_as_before_shows_how_far_it_is_and_how_long_it_needs() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = two_sources(&app, &s3, &bucket).await;
    let run_page = second_backup_held(&app, &s3).await;

    let progress = app
        .progress_when(&run_page, |p| {
            p["percent_value"].as_u64() > Some(0) && p["throughput"] != ""
        })
        .await;
    let percent = progress["percent_value"].as_u64().unwrap_or_default();
    assert!((1..100).contains(&percent), "{progress}");
    assert_eq!(progress["percent"], format!("{percent} %"));
    let left = progress["time_left"].as_str().unwrap_or_default();
    assert!(
        left.starts_with("about ") || left == "any moment now",
        "{progress}"
    );
    assert_eq!(progress["position"], "2 of 2: b-photos");
    assert!(
        progress["read_of"]
            .as_str()
            .is_some_and(|read| read.contains(" of about 64.0 MiB")),
        "{progress}"
    );
    assert!(
        progress["throughput"]
            .as_str()
            .is_some_and(|rate| rate.ends_with("/s")),
        "{progress}"
    );
    assert_eq!(progress["no_estimate"], false);
    // The small source is stored, the large one not yet: the figures above the progress
    // say so, not the zeroes of a run that has not ended.
    assert_eq!(progress["objects"], 1, "{progress}");
    assert_ne!(progress["size"], "0 B", "{progress}");

    // The page shows the same at load, without its script.
    let html = app.get_text(&run_page).await;
    assert!(html.contains("2 of 2: b-photos"), "{html}");
    assert!(html.contains("id=\"live-time-left\""), "{html}");
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");

    s3.hooks.open();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
}

#[tokio::test]
async fn a_first_backup_says_its_time_left_is_unknown() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = two_sources(&app, &s3, &bucket).await;
    let parts = s3.hooks.parts_count();
    let run_page = backup_now(&app).await;
    s3.hooks.parts_received(parts + 1).await;
    s3.hooks.hold();

    let progress = app
        .progress_when(&run_page, |p| p["position"] == "2 of 2: b-photos")
        .await;
    assert_eq!(progress["time_left"], "unknown", "{progress}");
    assert_eq!(progress["percent"], "unknown", "{progress}");
    assert!(progress["percent_value"].is_null(), "{progress}");
    assert_eq!(progress["no_estimate"], true);
    let html = app.get_text(&run_page).await;
    assert!(html.contains("No earlier successful backup of these sources"));

    s3.hooks.open();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
}

#[tokio::test]
async fn the_progress_carries_the_log_lines_after_the_one_asked_for() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = two_sources(&app, &s3, &bucket).await;
    let run_page = second_backup_held(&app, &s3).await;

    // The small source's line is written once it is stored.
    let all = app.progress_when(&run_page, |p| p["objects"] == 1).await;
    let everything: serde_json::Value = app
        .get(&format!("{run_page}/progress?after=0"))
        .await
        .json()
        .await
        .expect("JSON");
    let lines = everything["log"].as_array().expect("log lines").clone();
    assert!(lines.len() >= 2, "{everything}");
    assert!(
        lines.iter().any(|line| line["message"]
            .as_str()
            .is_some_and(|m| m.contains("a-notes"))),
        "{everything}"
    );
    assert!(
        all["log"].as_array().is_none_or(Vec::is_empty),
        "no log unless asked"
    );
    let first = lines[0]["id"].as_i64().expect("line id");
    let rest: serde_json::Value = app
        .get(&format!("{run_page}/progress?after={first}"))
        .await
        .json()
        .await
        .expect("JSON");
    let rest = rest["log"].as_array().expect("log lines");
    assert_eq!(rest.len(), lines.len() - 1);
    assert!(rest.iter().all(|line| line["id"].as_i64() > Some(first)));

    s3.hooks.open();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
}
