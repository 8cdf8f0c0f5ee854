//! The settings form with the keyboard alone: Tab reaches every field and button in the
//! order of the page, the focus is always visible, and the form is filled and sent.

use fantoccini::key::Key;

use crate::common::TestApp;
use crate::driver::{Browser, Lang};
use crate::input_errors::log_in;

/// What a person types when the focus reaches a field.
const TYPED: [(&str, &str); 6] = [
    ("f-access_key_id", "AKIAKEYBOARDONLY0001"),
    ("f-secret_access_key", "typed-with-the-keyboard-only"),
    ("f-notify_email", "ops@example.com"),
    ("f-bucket", "keyboard-backups"),
    ("f-region", "eu-west-3"),
    ("f-backup_path", "erp"),
];

/// Every element the keyboard should reach, in the order of the page, named like
/// `Browser::focused` names the focused one.
const FOCUSABLE: &str = "return Array.from(document.querySelectorAll(\
     'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex=\"-1\"])'))\
     .filter(e => !e.disabled && e.getClientRects().length > 0)\
     .map(e => e.id || (e.tagName.toLowerCase() + ':' + e.textContent.trim()));";

/// Whether the focused element shows a focus ring a person can see.
const FOCUS_RING: &str = "const e = document.activeElement; const s = getComputedStyle(e); \
     return { visible: e.matches(':focus-visible'), style: s.outlineStyle, \
              width: parseFloat(s.outlineWidth), color: s.outlineColor };";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_form_is_filled_and_saved_with_the_keyboard_alone() {
    let app = TestApp::spawn_logged_in().await;
    let browser = Browser::start(Lang::English).await;
    log_in(&browser, &app).await;
    // A fresh load: the focus starts at the top of the page.
    browser.goto(&app.url("/settings")).await;
    browser.find_text("h1", "S3 Backup Settings").await;
    let expected: Vec<String> = browser
        .js(FOCUSABLE)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert!(
        expected.contains(&"button:Backup now".to_owned()),
        "{expected:?}"
    );

    let mut reached: Vec<String> = Vec::new();
    let mut presses = 0;
    while reached.last().map(String::as_str) != Some("button:Backup now") {
        presses += 1;
        assert!(presses < 80, "Tab never reached Backup now: {reached:?}");
        browser.press(Key::Tab).await;
        let focused = browser.focused().await;
        // A time field takes one Tab per part (hours, minutes): one stop for this list.
        if reached.last() == Some(&focused) {
            continue;
        }
        let ring = browser.js(FOCUS_RING).await;
        assert!(
            ring["visible"] == true
                && ring["style"] != "none"
                && ring["width"].as_f64().unwrap_or(0.0) >= 2.0,
            "no visible focus on {focused}: {ring}"
        );
        match focused.as_str() {
            "f-enabled" | "f-path_style" => browser.press(Key::Space).await,
            // Typing the first letter picks "Daily", as in any select.
            "f-frequency" => browser.keys("d").await,
            "f-backup_limit" => {
                browser.chord(Key::Control, 'a').await;
                browser.keys("5").await;
            }
            field => {
                if let Some((_, text)) = TYPED.iter().find(|(id, _)| *id == field) {
                    browser.chord(Key::Control, 'a').await;
                    browser.keys(text).await;
                }
            }
        }
        reached.push(focused);
    }
    // Choosing "Daily" showed the fields it reads: the order is that of the page now.
    let expected: Vec<String> = browser
        .js(FOCUSABLE)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        reached,
        expected[..reached.len()],
        "Tab follows the page's order"
    );
    for id in [
        "f-enabled",
        "f-access_key_id",
        "f-secret_access_key",
        "f-notify_email",
        "f-send_email_for_successful_backup",
        "f-bucket",
        "f-endpoint_url",
        "f-region",
        "f-path_style",
        "f-backup_path",
        "f-frequency",
        "f-backup_time",
        "f-timezone",
        "f-backup_files",
        "f-backup_limit",
        "button:Save",
        "button:Test connection",
    ] {
        assert!(
            reached.iter().any(|r| r == id),
            "Tab never reached {id}: {reached:?}"
        );
    }

    // Fields a daily schedule does not read are out of the way.
    for id in ["f-backup_weekday", "f-backup_monthday", "f-cron"] {
        assert!(
            !reached.iter().any(|r| r == id),
            "Tab reached {id}, which a daily schedule hides: {reached:?}"
        );
    }

    // Back to Save and send the form with Enter.
    browser.chord(Key::Shift, Key::Tab.into()).await;
    browser.chord(Key::Shift, Key::Tab.into()).await;
    assert_eq!(browser.focused().await, "button:Save");
    browser.press(Key::Enter).await;
    browser.find_text(".notice[role=status]", "Saved.").await;
    assert!(browser.is_checked("#f-enabled").await);
    assert_eq!(
        browser.value("#f-access_key_id").await,
        "AKIAKEYBOARDONLY0001"
    );
    assert!(
        browser
            .text("#h-secret_access_key")
            .await
            .contains("is stored")
    );
    assert_eq!(browser.value("#f-notify_email").await, "ops@example.com");
    assert_eq!(browser.value("#f-bucket").await, "keyboard-backups");
    assert_eq!(browser.value("#f-region").await, "eu-west-3");
    assert!(browser.is_checked("#f-path_style").await);
    assert_eq!(browser.value("#f-frequency").await, "daily");
    assert!(browser.is_checked("#f-backup_files").await);
    assert_eq!(browser.value("#f-backup_limit").await, "5");

    // The first Tab shows the skip link; Enter on it goes straight to the form.
    browser.goto(&app.url("/settings")).await;
    browser.find_text("h1", "S3 Backup Settings").await;
    browser.press(Key::Tab).await;
    assert_eq!(browser.focused().await, "a:Skip to content");
    let left = browser
        .js("return document.activeElement.getBoundingClientRect().left;")
        .await;
    assert!(
        left.as_f64().is_some_and(|x| x >= 0.0),
        "the skip link is on screen: {left}"
    );
    browser.press(Key::Enter).await;
    assert_eq!(browser.focused().await, "main");
    browser.press(Key::Tab).await;
    assert_eq!(browser.focused().await, "f-enabled");

    browser.close().await;
}
