use crate::common::{TestApp, field_error, input_value};

const PASSWORD: &str = "smtp-Password-4242-secret";

#[tokio::test]
async fn the_smtp_account_is_saved_with_its_password_sealed() {
    let mut app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/email-account",
            &[
                ("smtp_host", "smtp.example.com"),
                ("smtp_port", ""),
                ("smtp_security", "starttls"),
                ("smtp_username", "backups@example.com"),
                ("smtp_password", PASSWORD),
                ("sender", "Backups <backups@example.com>"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Saved."));
    assert_eq!(input_value(&html, "smtp_port").as_deref(), Some("587"));
    assert!(html.contains("A password is stored"));
    assert!(!html.contains(PASSWORD));
    let db = app.database_bytes();
    assert!(!db.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()));
    app.restart().await;
    let html = app.get_text("/email-account").await;
    assert_eq!(
        input_value(&html, "smtp_host").as_deref(),
        Some("smtp.example.com")
    );
}

#[tokio::test]
async fn bad_smtp_values_get_messages_and_keep_the_input() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/email-account",
            &[
                ("smtp_host", "smtp://smtp.example.com"),
                ("smtp_port", "99999"),
                ("smtp_security", "tls"),
                ("smtp_username", "me"),
                ("smtp_password", PASSWORD),
                ("sender", "not a mailbox"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    for name in ["smtp_host", "smtp_port", "sender"] {
        assert!(field_error(&html, name).is_some(), "{name}");
    }
    assert_eq!(input_value(&html, "smtp_username").as_deref(), Some("me"));
    assert!(!html.contains(PASSWORD));
}

pub(crate) mod send_test {
    use crate::common::TestApp;
    use crate::common::smtp::{self, TestSmtp};

    pub(crate) async fn app_for(server: &TestSmtp) -> TestApp {
        let app = TestApp::logged_in(TestApp::spawn_trusting(Some(server.ca_pem())).await).await;
        let saved = app
            .post_form(
                "/settings",
                &[
                    ("notify_email", "ops@example.com, boss@example.org"),
                    ("frequency", "none"),
                    ("backup_time", "02:00"),
                    ("backup_weekday", "monday"),
                    ("backup_monthday", "1"),
                    ("timezone", "UTC"),
                    ("backup_limit", "7"),
                ],
            )
            .await;
        assert_eq!(saved.status(), 200);
        app
    }

    async fn send(app: &TestApp, port: u16, password: &str) -> (u16, String) {
        let port = port.to_string();
        let r = app
            .post_form(
                "/email-account/test",
                &[
                    ("smtp_host", "127.0.0.1"),
                    ("smtp_port", &port),
                    ("smtp_security", "starttls"),
                    ("smtp_username", smtp::USER),
                    ("smtp_password", password),
                    ("sender", smtp::SENDER),
                ],
            )
            .await;
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    #[tokio::test]
    async fn the_test_email_reaches_every_notification_address() {
        let server = TestSmtp::start().await;
        let app = app_for(&server).await;
        let (status, html) = send(&app, server.addr.port(), smtp::PASSWORD).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Test e-mail sent to ops@example.com, boss@example.org"));
        assert!(!html.contains(smtp::PASSWORD));
        let mail = server.wait_for(1).await;
        assert!(!mail[0].subject().is_empty());
        // Nothing was saved by the test.
        let page = app.get_text("/email-account").await;
        assert!(page.contains("No password is stored"));
    }

    #[tokio::test]
    async fn a_wrong_password_is_reported_as_failed_authentication() {
        let server = TestSmtp::start().await;
        let app = app_for(&server).await;
        let (status, html) = send(&app, server.addr.port(), "wrong-password-123").await;
        assert_eq!(status, 422);
        assert!(html.contains("Authentication failed"), "{html}");
        assert!(server.messages().is_empty());
    }

    #[tokio::test]
    async fn a_server_that_is_down_is_reported_as_refusing_the_connection() {
        let mut server = TestSmtp::start().await;
        let app = app_for(&server).await;
        let port = server.addr.port();
        server.stop().await;
        let (status, html) = send(&app, port, smtp::PASSWORD).await;
        assert_eq!(status, 422);
        assert!(html.contains("refused the connection"), "{html}");
    }
}

#[tokio::test]
async fn the_stored_smtp_password_is_not_sent_to_a_new_server() {
    let app = TestApp::spawn_logged_in().await;
    let mut fields = vec![
        ("smtp_host", "smtp.example.com"),
        ("smtp_port", "587"),
        ("smtp_security", "starttls"),
        ("smtp_username", "me"),
        ("smtp_password", PASSWORD),
        ("sender", "backups@example.com"),
    ];
    assert_eq!(app.post_form("/email-account", &fields).await.status(), 200);
    fields.retain(|(n, _)| !matches!(*n, "smtp_password" | "smtp_host"));
    fields.push(("smtp_password", ""));
    fields.push(("smtp_host", "smtp.attacker.example"));
    let moved = app.post_form("/email-account", &fields).await;
    assert_eq!(moved.status(), 422);
    let html = moved.text().await.expect("body");
    assert!(field_error(&html, "smtp_password").is_some_and(|m| m.contains("again")));
}

#[tokio::test]
async fn the_stored_smtp_password_is_not_sent_in_clear_after_a_switch_to_no_security() {
    let app = TestApp::spawn_logged_in().await;
    let mut fields = vec![
        ("smtp_host", "smtp.example.com"),
        ("smtp_port", "587"),
        ("smtp_security", "tls"),
        ("smtp_username", "me"),
        ("smtp_password", PASSWORD),
        ("sender", "backups@example.com"),
    ];
    assert_eq!(app.post_form("/email-account", &fields).await.status(), 200);
    fields.retain(|(n, _)| !matches!(*n, "smtp_password" | "smtp_security"));
    fields.push(("smtp_password", ""));
    fields.push(("smtp_security", "none"));
    let weakened = app.post_form("/email-account", &fields).await;
    assert_eq!(weakened.status(), 422);
    let html = weakened.text().await.expect("body");
    assert!(field_error(&html, "smtp_password").is_some_and(|m| m.contains("again")));
}
