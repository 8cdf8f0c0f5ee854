//! The sources page in the browser: adding a source leaves a fresh form, and on a phone each
//! source is a card whose actions are all on screen.

use crate::common::TestApp;
use crate::driver::{Browser, Lang};
use crate::input_errors::log_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_source_leaves_a_fresh_form() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    browser.goto(&app.url("/sources")).await;
    let default_kind = browser.value("#f-kind").await;

    browser.fill("#f-name", "files").await;
    browser.select("#f-kind", "directory").await;
    browser
        .fill("#f-location", dir.path().to_str().expect("UTF-8 path"))
        .await;
    browser.click_text("main button", "Add").await;
    browser.find_text("[role=status]", "Source added.").await;

    assert_eq!(browser.value("#f-kind").await, default_kind);
    assert_eq!(browser.value("#f-name").await, "");
    assert_eq!(browser.value("#f-location").await, "");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sources_actions_are_on_screen_on_a_phone() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    app.add_directory_source("files", dir.path()).await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    browser.goto(&app.url("/sources")).await;
    browser.find("table.sources").await;
    browser.set_viewport(390, 900).await;

    for (css, text) in [
        ("table.sources button", "Test"),
        ("table.sources a", "Edit"),
        ("table.sources button", "Remove"),
    ] {
        let control = browser.find_text(css, text).await;
        let right = control
            .rectangle()
            .await
            .map(|(x, _, w, _)| x + w)
            .expect("its place on the page");
        assert!(right <= 390.0, "{text} ends at {right} px");
    }
    // Each cell says which column it belongs to.
    let labels = browser
        .js("return getComputedStyle(document.querySelector('table.sources td[data-label]'), '::before').content;")
        .await;
    assert_eq!(labels.as_str(), Some("\"Name\""));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_a_bench_folder_offers_its_sites_and_backup_files_shows_for_a_site() {
    let app = TestApp::spawn_logged_in().await;
    let site = crate::common::frappe_site::Site::new();
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    browser.goto(&app.url("/sources")).await;
    let files_hidden = "return document.getElementById('f-backup_files').closest('.field').hidden";

    browser.select("#f-kind", "directory").await;
    assert_eq!(browser.js(files_hidden).await, serde_json::json!(true));
    browser.select("#f-kind", "frappe").await;
    assert_eq!(browser.js(files_hidden).await, serde_json::json!(false));
    assert!(browser.is_checked("#f-backup_files").await, "on by default");
    browser
        .fill("#f-location", &site.bench().display().to_string())
        .await;

    let offered = browser
        .find(&format!(
            "#site-folders option[value=\"{}\"]",
            site.location()
        ))
        .await;
    assert!(offered.attr("value").await.expect("value").is_some());
    browser.close().await;
}
