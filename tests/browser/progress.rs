//! A backup followed on its page in the browser: a percentage and a time left appear while
//! it runs, the duration ticks, the log grows, and a notice says when the server stops
//! answering (and goes once it answers again). The history on a phone: cards, no sideways
//! scrolling.

use std::time::{Duration, Instant};

use crate::accessibility::audit;
use crate::common::TestApp;
use crate::common::proxy::Proxy;
use crate::common::s3::{SECRET_KEY, TestS3};
use crate::common::watch::{backup_now, second_backup_held, two_sources};
use crate::driver::{Browser, Lang, TIMEOUT, publish, screenshot_dir};
use crate::input_errors::log_in;

/// Waits until `script` returns true in the page.
async fn until(browser: &Browser, what: &str, script: &str) {
    let deadline = Instant::now() + TIMEOUT;
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    loop {
        poll.tick().await;
        if browser.js(script).await == serde_json::Value::Bool(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not so after {TIMEOUT:?}"
        );
    }
}

const OFFLINE_SHOWN: &str = "return !document.getElementById('live-offline').hidden;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_backup_shows_its_percentage_and_time_left_and_says_when_the_server_is_gone() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let _sources = two_sources(&app, &s3, &bucket).await;
    let run_page = second_backup_held(&app, &s3).await;
    // The browser reaches the app through a relay the test can cut.
    let proxy = Proxy::start(app.addr).await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    browser.goto(&proxy.url(&run_page)).await;

    browser
        .find_text("#run-status.status-running", "Running")
        .await;
    let percent = browser.find_text("#live-percent", " %").await;
    let percent = percent.text().await.expect("percent");
    let value: u64 = percent.trim_end_matches(" %").parse().expect("a number");
    assert!((1..100).contains(&value), "{percent}");
    assert_eq!(
        browser.attr("progress[data-bar]", "value").await.as_deref(),
        Some(value.to_string().as_str())
    );
    browser.find_text("#live-time-left", "about").await;
    browser
        .find_text("#live-position", "2 of 2: b-photos")
        .await;
    browser.find_text("#live-throughput", "/s").await;
    browser.find_text("#run-log li", "a-notes").await;
    browser.find_text("#run-objects", "1").await;
    // The duration goes on while nothing else moves (the S3 server holds the run).
    let before = browser.text("#run-duration").await;
    until(
        &browser,
        "the duration ticks",
        &format!("return document.getElementById('run-duration').textContent !== {before:?};"),
    )
    .await;
    let mut problems = Vec::new();
    audit(&browser, "a running backup", &mut problems).await;
    assert!(problems.is_empty(), "{problems:#?}");
    let shot = browser.screenshot("progress").await;
    publish(&shot, "progress");

    // The server stops answering: the page says so, and no longer once it answers again.
    assert_eq!(browser.js(OFFLINE_SHOWN).await, false);
    proxy.cut();
    until(&browser, "the offline notice shows", OFFLINE_SHOWN).await;
    assert!(
        browser
            .text("#live-offline")
            .await
            .contains("The server is not answering")
    );
    proxy.mend();
    until(
        &browser,
        "the offline notice goes",
        "return document.getElementById('live-offline').hidden;",
    )
    .await;
    browser.find_text("#live-percent", " %").await;

    // The run ends: the page shows the end of it.
    s3.hooks.open();
    browser
        .find_text("#run-status.status-success", "Success")
        .await;
    assert_eq!(browser.count("section.live").await, 0);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_on_a_phone_shows_each_run_as_a_card_without_scrolling_sideways() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    // A failure with a long error, then a success.
    app.save_s3_settings_with(
        &s3,
        &bucket,
        "erp",
        &[("secret_access_key", "not-the-secret")],
    )
    .await;
    let dir = tempfile::tempdir().expect("source directory");
    std::fs::write(dir.path().join("a.txt"), "a").expect("write");
    app.add_directory_source("files", dir.path()).await;
    let failed = backup_now(&app).await;
    assert_eq!(app.wait_until_done(&failed).await, "failed");
    app.save_s3_settings_with(&s3, &bucket, "erp", &[("secret_access_key", SECRET_KEY)])
        .await;
    let done = backup_now(&app).await;
    assert_eq!(app.wait_until_done(&done).await, "success");

    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    // The failed run's page, with what to fix and "Run again", for keyboard and screen
    // reader alike.
    browser.goto(&app.url(&failed)).await;
    browser.find_text("#fix-title", "What to fix").await;
    browser
        .find_text("form.again button", "Run the backup again")
        .await;
    let mut problems = Vec::new();
    audit(&browser, "a failed run", &mut problems).await;
    assert!(problems.is_empty(), "{problems:#?}");
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    let rows_as = "return Array.from(document.querySelectorAll('table.runs tbody tr'))\
                   .map(r => getComputedStyle(r).display);";
    for width in [1280, 390] {
        browser
            .client
            .set_window_size(width, 900)
            .await
            .expect("resize the window");
        browser.goto(&app.url("/backups")).await;
        browser.find_text("h1", "Backup history").await;
        let inner = browser.js("return window.innerWidth;").await;
        assert!(
            inner.as_u64().is_some_and(|w| w <= u64::from(width)),
            "{inner}"
        );
        assert_eq!(
            browser.js(fits).await,
            true,
            "sideways scrolling at {width} px"
        );
        let displays = browser.js(rows_as).await;
        let expected = if width < 640 { "block" } else { "table-row" };
        assert_eq!(
            displays,
            serde_json::json!([expected, expected]),
            "rows at {width} px"
        );
    }
    // Each cell of a card says which column it is.
    let label = browser
        .js("return getComputedStyle(document.querySelector('table.runs td.run-trigger'), '::before').content;")
        .await;
    assert_eq!(label, "\"Started by\"");
    assert_eq!(
        browser.text("table.runs tbody tr .run-trigger").await,
        "manual"
    );
    let png = browser.client.screenshot().await.expect("screenshot");
    let file = screenshot_dir().join("history-phone.png");
    std::fs::create_dir_all(screenshot_dir()).expect("screenshot directory");
    std::fs::write(&file, png).expect("write the screenshot");
    publish(&file, "history-phone");
    browser.close().await;
}
