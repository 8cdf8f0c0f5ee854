//! The overview in the browser, on a phone (390 px) and a laptop (1280 px): before setup,
//! after a success and after a failure, never wider than the window.

use crate::common::s3::TestS3;
use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp};
use crate::driver::{Browser, Lang, publish, screenshot_dir};

const WIDTHS: [u32; 2] = [390, 1280];

/// Logs in from the login page, which leads to the overview.
async fn log_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/login")).await;
    browser.fill("#f-username", ADMIN).await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;
    browser.click_text("main button", "Log in").await;
    browser.find_text("h1", "Overview").await;
    assert_eq!(browser.path().await, "/");
}

/// Sets the window's size and waits until the page has taken the new width.
async fn resize(browser: &Browser, width: u32, height: u32) {
    browser
        .client
        .set_window_size(width, height)
        .await
        .expect("resize");
    let script = "const [width, done] = arguments; \
        const check = () => { if (window.innerWidth === width) { done(true); return true; } }; \
        if (!check()) window.addEventListener('resize', check);";
    browser
        .client
        .execute_async(script, vec![serde_json::json!(width)])
        .await
        .expect("the page takes the new width");
}

/// At each width, the page shown fits the window: (width, what overflows) for each that
/// does not.
async fn overflows(browser: &Browser, what: &str) -> Vec<String> {
    let mut found = Vec::new();
    for width in WIDTHS {
        resize(browser, width, 900).await;
        let sizes = browser
            .js("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll, inner) = (sizes[0].as_u64(), sizes[1].as_u64());
        assert_eq!(
            inner,
            Some(u64::from(width)),
            "the window is {width} px wide"
        );
        if scroll > inner {
            let wide = browser
                .js("return [...document.querySelectorAll('main *')] \
                     .filter(e => e.getBoundingClientRect().right > window.innerWidth) \
                     .slice(0, 5).map(e => e.tagName + '.' + e.className).join(', ');")
                .await;
            found.push(format!(
                "{what} at {width} px: {scroll:?} px wide ({})",
                wide.as_str().unwrap_or_default()
            ));
        }
    }
    resize(browser, 1280, 1000).await;
    found
}

/// The whole page at phone width, saved as `target/screenshots/<name>.png`.
async fn phone_screenshot(browser: &Browser, name: &str) {
    resize(browser, 390, 900).await;
    let height = browser
        .js("window.scrollTo(0, 0); return document.documentElement.scrollHeight;")
        .await
        .as_u64()
        .unwrap_or(900);
    let height = u32::try_from(height.clamp(900, 6000)).unwrap_or(900);
    resize(browser, 390, height).await;
    let png = browser.client.screenshot().await.expect("screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    let file = dir.join(format!("{name}.png"));
    std::fs::write(&file, png).expect("write the screenshot");
    publish(&file, name);
    resize(browser, 1280, 1000).await;
}

async fn run_backup(app: &TestApp) -> String {
    let started = app.post_form("/backups/run", &[]).await;
    app.wait_until_done(started.url().path()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_fits_a_phone_and_a_laptop_before_setup_after_a_success_and_a_failure() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let browser = Browser::start(Lang::English).await;
    let mut problems = Vec::new();

    log_in(&browser, &app).await;
    browser.find_text("#health", "not set up yet").await;
    assert_eq!(browser.count("#checklist li.todo").await, 4);
    problems.extend(overflows(&browser, "before setup").await);
    // The first step leads to where it is done.
    browser
        .click_text("#checklist a", "Open the settings")
        .await;
    browser.find_text("h1", "S3 Backup Settings").await;

    let bucket = s3.new_bucket().await;
    app.save_s3_settings(&s3, &bucket, "a-rather-long-folder-name/for-this-company")
        .await;
    let dir = tempfile::tempdir().expect("a directory to back up");
    std::fs::write(dir.path().join("invoice.txt"), "Facture n°42").expect("write");
    app.add_directory_source("uploaded-files-of-the-erp", dir.path())
        .await;
    for _ in 0..3 {
        assert_eq!(run_backup(&app).await, "success");
    }
    browser.goto(&app.url("/")).await;
    browser
        .find_text("#health", "All good: the last backup succeeded")
        .await;
    assert_eq!(browser.count("#chart-size rect.bar").await, 3);
    problems.extend(overflows(&browser, "after a success").await);
    browser.click("#chart-size details summary").await;
    browser.find("#chart-size details table").await;
    problems.extend(overflows(&browser, "with a chart's table open").await);
    let file = browser.screenshot("overview").await;
    publish(&file, "overview");
    phone_screenshot(&browser, "overview-phone").await;

    app.save_s3_settings(&s3, "bucket-that-does-not-exist", "erp")
        .await;
    assert_eq!(run_backup(&app).await, "failed");
    browser.goto(&app.url("/?runs=90")).await;
    browser.find_text("#health", "The last backup failed").await;
    assert_eq!(browser.count("#chart-size rect.bar-failed").await, 1);
    problems.extend(overflows(&browser, "after a failure").await);
    // The sentence leads to the run that failed.
    browser.click_text("#health a", "See what went wrong").await;
    browser.find_text("#run-status", "Failed").await;

    browser.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
