//! The schedule part of the settings: with scripts, only the fields the chosen frequency
//! reads are shown; without, every field shows and the form works all the same. The time
//! of day reads on a 24-hour clock whatever the browser's language.

use crate::common::TestApp;
use crate::driver::{Browser, Lang};
use crate::input_errors::log_in;

/// The schedule's fields, each in its own block.
const PARTS: [&str; 5] = [
    "f-backup_time",
    "f-backup_weekday",
    "f-backup_monthday",
    "f-cron",
    "f-timezone",
];

/// Which of the schedule's fields a person sees now.
async fn shown(browser: &Browser) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for id in PARTS {
        let field = browser.find(&format!("#{id}")).await;
        if field.is_displayed().await.expect("displayed or not") {
            seen.push(id);
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_fields_of_the_chosen_frequency_are_shown() {
    let app = TestApp::spawn_logged_in().await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;

    assert_eq!(shown(&browser).await, Vec::<&str>::new(), "manual only");
    for (frequency, expected) in [
        ("hourly", vec!["f-backup_time", "f-timezone"]),
        ("daily", vec!["f-backup_time", "f-timezone"]),
        (
            "weekly",
            vec!["f-backup_time", "f-backup_weekday", "f-timezone"],
        ),
        (
            "monthly",
            vec!["f-backup_time", "f-backup_monthday", "f-timezone"],
        ),
        ("cron", vec!["f-cron", "f-timezone"]),
    ] {
        browser.select("#f-frequency", frequency).await;
        assert_eq!(shown(&browser).await, expected, "{frequency}");
    }

    // Saved with the other fields hidden (and sent as they were): a weekly backup.
    browser.select("#f-frequency", "weekly").await;
    browser.select("#f-backup_weekday", "sunday").await;
    browser.fill("#f-backup_time", "14:30").await;
    browser.fill("#f-timezone", "Europe/Paris").await;
    browser.click_text("button", "Save").await;
    browser.find_text(".notice[role=status]", "Saved.").await;
    assert_eq!(browser.value("#f-frequency").await, "weekly");
    assert_eq!(browser.value("#f-backup_weekday").await, "sunday");
    assert_eq!(browser.value("#f-backup_time").await, "14:30");
    assert_eq!(
        shown(&browser).await,
        ["f-backup_time", "f-backup_weekday", "f-timezone"]
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_with_an_error_stays_in_sight() {
    let app = TestApp::spawn_logged_in().await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;

    browser.select("#f-frequency", "monthly").await;
    browser.fill("#f-backup_monthday", "40").await;
    browser.select("#f-frequency", "daily").await;
    browser.click_text("button", "Save").await;
    browser.find("#error-summary").await;

    // Daily does not read the day of the month, but its message must be seen.
    assert!(
        shown(&browser).await.contains(&"f-backup_monthday"),
        "the day of the month is hidden with its error"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_scripts_every_field_shows_and_the_form_still_saves() {
    let app = TestApp::spawn_logged_in().await;
    let browser = Browser::start_without_javascript(Lang::English).await;
    log_in(&browser, &app).await;

    assert_eq!(
        shown(&browser).await,
        PARTS,
        "nothing hidden without a script"
    );
    browser.select("#f-frequency", "monthly").await;
    assert_eq!(shown(&browser).await, PARTS);
    browser.fill("#f-backup_monthday", "15").await;
    browser.fill("#f-backup_time", "03:15").await;
    browser.fill("#f-timezone", "UTC").await;
    browser.click_text("button", "Save").await;
    browser.find_text(".notice[role=status]", "Saved.").await;

    assert_eq!(browser.value("#f-frequency").await, "monthly");
    assert_eq!(browser.value("#f-backup_monthday").await, "15");
    assert_eq!(browser.value("#f-backup_time").await, "03:15");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_of_day_reads_on_a_24_hour_clock_in_an_american_browser() {
    let app = TestApp::spawn_logged_in().await;
    // en-US: a time input would show "02:30 PM".
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    browser.select("#f-frequency", "daily").await;
    browser.fill("#f-backup_time", "14:30").await;
    browser.click_text("button", "Save").await;
    browser.find_text(".notice[role=status]", "Saved.").await;

    // A text field shows exactly its value: no AM/PM picker in between.
    assert_eq!(
        browser.attr("#f-backup_time", "type").await.as_deref(),
        Some("text")
    );
    assert_eq!(browser.value("#f-backup_time").await, "14:30");
    let hint = browser.text("#h-backup_time").await;
    assert!(hint.contains("24-hour"), "{hint}");
    browser.close().await;
}
