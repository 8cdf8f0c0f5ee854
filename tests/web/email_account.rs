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
