//! A bad value in the settings form: the message beside the field, linked to it, the rest of
//! the input kept, and the error summary focused so it is read out at once.

use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp};
use crate::driver::{Browser, Lang};

/// Logs in through the login page of an app whose admin account exists.
pub async fn log_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/settings")).await;
    browser.find_text("h1", "Log in").await;
    browser.fill("#f-username", ADMIN).await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;
    browser.click_text("main button", "Log in").await;
    browser.find_text("h1", "S3 Backup Settings").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_bucket_name_is_explained_beside_the_field_and_nothing_typed_is_lost() {
    let app = TestApp::spawn_logged_in().await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;

    browser.check("#f-enabled", true).await;
    browser
        .fill("#f-access_key_id", "AKIAIOSFODNN7EXAMPLE")
        .await;
    browser
        .fill(
            "#f-secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .await;
    browser
        .fill("#f-notify_email", "ops@example.com, boss@example.org")
        .await;
    browser.fill("#f-bucket", "Mon_Bucket").await;
    browser
        .fill("#f-endpoint_url", "https://s3.fr-par.scw.cloud")
        .await;
    browser.fill("#f-region", "fr-par").await;
    browser.check("#f-path_style", true).await;
    browser.fill("#f-backup_path", "erp/prod").await;
    browser.select("#f-frequency", "weekly").await;
    browser.select("#f-backup_weekday", "sunday").await;
    browser.fill("#f-timezone", "Europe/Paris").await;
    browser.fill("#f-backup_limit", "14").await;
    browser.click_text("button", "Save").await;

    // The summary is announced and has the focus.
    let summary = browser.find("#error-summary").await;
    assert_eq!(
        summary.attr("role").await.expect("role").as_deref(),
        Some("alert")
    );
    assert_eq!(browser.focused().await, "error-summary");

    // The message sits beside the field and is tied to it.
    let message = browser.text("#e-bucket").await;
    assert!(
        message.contains("Uppercase letters are not allowed"),
        "{message}"
    );
    let described_by = browser
        .attr("#f-bucket", "aria-describedby")
        .await
        .unwrap_or_default();
    assert!(
        described_by.split_whitespace().any(|id| id == "e-bucket"),
        "aria-describedby={described_by:?}"
    );
    assert_eq!(
        browser.attr("#f-bucket", "aria-invalid").await.as_deref(),
        Some("true")
    );
    let same_field: bool = browser
        .js(
            "return document.getElementById('e-bucket').closest('.field') \
                 === document.getElementById('f-bucket').closest('.field');",
        )
        .await
        .as_bool()
        .unwrap_or(false);
    assert!(same_field, "the message is in the field's own block");

    browser.screenshot("settings-error").await;

    // The summary's link leads to the field.
    browser
        .click_text("#error-summary a", "Uppercase letters")
        .await;
    assert_eq!(browser.focused().await, "f-bucket");

    // Everything else is as typed (the secret excepted: it is never sent back).
    assert_eq!(browser.value("#f-bucket").await, "Mon_Bucket");
    assert!(browser.is_checked("#f-enabled").await);
    assert_eq!(
        browser.value("#f-access_key_id").await,
        "AKIAIOSFODNN7EXAMPLE"
    );
    assert_eq!(
        browser.value("#f-notify_email").await,
        "ops@example.com, boss@example.org"
    );
    assert_eq!(
        browser.value("#f-endpoint_url").await,
        "https://s3.fr-par.scw.cloud"
    );
    assert_eq!(browser.value("#f-region").await, "fr-par");
    assert!(browser.is_checked("#f-path_style").await);
    assert_eq!(browser.value("#f-backup_path").await, "erp/prod");
    assert_eq!(browser.value("#f-frequency").await, "weekly");
    assert_eq!(browser.value("#f-backup_weekday").await, "sunday");
    assert_eq!(browser.value("#f-timezone").await, "Europe/Paris");
    assert_eq!(browser.value("#f-backup_limit").await, "14");
    assert_eq!(browser.value("#f-secret_access_key").await, "");
    let hint = browser.text("#h-secret_access_key").await;
    assert!(
        hint.contains("type it again"),
        "the page says the secret must be typed again: {hint}"
    );
    browser.close().await;
}
