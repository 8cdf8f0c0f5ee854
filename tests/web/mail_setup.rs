//! What the mail pages tell the admin before mail goes out: that links in mail have no
//! address while `S3BACKUP_PUBLIC_URL` is not set, and "Send test e-mail" to an address of
//! their choice.

use crate::common::smtp::{self, TestSmtp};
use crate::common::{TestApp, field_error, input_value};
use crate::email_account::send_test::app_for;

const NOTICE: &str = "S3BACKUP_PUBLIC_URL is not set";

#[tokio::test]
async fn the_mail_pages_say_when_the_public_url_is_not_set() {
    let app = TestApp::spawn_logged_in().await;

    for page in ["/settings", "/email-account"] {
        let html = app.get_text(page).await;
        assert!(html.contains("id=\"public-url-missing\""), "{page}");
        assert!(html.contains(NOTICE), "{page}");
    }
}

#[tokio::test]
async fn the_notice_is_gone_once_the_public_url_is_set() {
    let app = TestApp::logged_in(
        TestApp::spawn_with(|config| {
            config.public_url = Some(url::Url::parse("https://backup.example.com").expect("url"));
        })
        .await,
    )
    .await;

    for page in ["/settings", "/email-account"] {
        let html = app.get_text(page).await;
        assert!(!html.contains(NOTICE), "{page}");
    }
}

async fn send_to(app: &TestApp, server: &TestSmtp, recipient: &str) -> (u16, String) {
    let port = server.addr.port().to_string();
    let response = app
        .post_form(
            "/email-account/test",
            &[
                ("smtp_host", "127.0.0.1"),
                ("smtp_port", &port),
                ("smtp_security", "starttls"),
                ("smtp_username", smtp::USER),
                ("smtp_password", smtp::PASSWORD),
                ("sender", smtp::SENDER),
                ("test_recipient", recipient),
            ],
        )
        .await;
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

#[tokio::test]
async fn the_recipient_field_starts_with_the_notification_addresses() {
    let server = TestSmtp::start().await;
    let app = app_for(&server).await;

    let html = app.get_text("/email-account").await;

    assert_eq!(
        input_value(&html, "test_recipient").as_deref(),
        Some("ops@example.com, boss@example.org")
    );
}

#[tokio::test]
async fn the_test_email_goes_to_the_recipient_chosen() {
    let server = TestSmtp::start().await;
    let app = app_for(&server).await;

    let (status, html) = send_to(&app, &server, "me@example.net").await;

    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Test e-mail sent to me@example.net."),
        "{html}"
    );
    let mail = server.wait_for(1).await;
    assert_eq!(mail[0].to, ["me@example.net"]);
    // The choice comes back in the form, and the settings keep their addresses.
    assert_eq!(
        input_value(&html, "test_recipient").as_deref(),
        Some("me@example.net")
    );
    let settings = app.get_text("/settings").await;
    assert_eq!(
        input_value(&settings, "notify_email").as_deref(),
        Some("ops@example.com, boss@example.org")
    );
}

#[tokio::test]
async fn a_blank_recipient_sends_to_the_notification_addresses() {
    let server = TestSmtp::start().await;
    let app = app_for(&server).await;

    let (status, html) = send_to(&app, &server, "  ").await;

    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Test e-mail sent to ops@example.com, boss@example.org"));
}

#[tokio::test]
async fn a_bad_recipient_is_refused_next_to_its_field_and_nothing_is_sent() {
    let server = TestSmtp::start().await;
    let app = app_for(&server).await;

    let (status, html) = send_to(&app, &server, "not an address").await;

    assert_eq!(status, 422);
    assert!(field_error(&html, "test_recipient").is_some(), "{html}");
    assert!(html.contains("Send the test e-mail to: "), "{html}");
    assert_eq!(
        input_value(&html, "test_recipient").as_deref(),
        Some("not an address")
    );
    assert!(server.messages().is_empty());
}
