//! The storage class and server-side encryption of the settings form.

use crate::common::{TestApp, field_error, input_value};

fn form(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut form = vec![
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        (
            "secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY",
        ),
        ("notify_email", "ops@example.com"),
        ("bucket", "acme-backups"),
        ("endpoint_url", ""),
        ("region", "eu-west-3"),
        ("backup_path", "erp"),
        ("frequency", "none"),
        ("timezone", "UTC"),
        ("backup_limit", "7"),
        ("storage_class", ""),
        ("server_side_encryption", "none"),
        ("sse_kms_key_id", ""),
    ];
    form.retain(|(name, _)| !extra.iter().any(|(other, _)| other == name));
    form.extend_from_slice(extra);
    form
}

fn selected(html: &str, name: &str, value: &str) -> bool {
    let Some(start) = html.find(&format!("name=\"{name}\"")) else {
        return false;
    };
    let end = html[start..]
        .find("</select>")
        .map_or(html.len(), |end| start + end);
    html[start..end].contains(&format!("<option value=\"{value}\" selected>"))
}

#[tokio::test]
async fn storage_class_and_kms_encryption_are_saved_and_shown() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/settings",
            &form(&[
                ("storage_class", "STANDARD_IA"),
                ("server_side_encryption", "aws:kms"),
                ("sse_kms_key_id", "alias/backups"),
            ]),
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Saved."), "{html}");
    assert_eq!(
        input_value(&html, "storage_class").as_deref(),
        Some("STANDARD_IA")
    );
    assert!(selected(&html, "server_side_encryption", "aws:kms"));
    assert_eq!(
        input_value(&html, "sse_kms_key_id").as_deref(),
        Some("alias/backups")
    );
    assert!(html.contains("Storage class") && html.contains("Server-side encryption"));

    // Another provider's own class, and SSE-S3 without a key.
    app.post_form(
        "/settings",
        &form(&[
            ("storage_class", "HIGH_PERF"),
            ("server_side_encryption", "AES256"),
        ]),
    )
    .await;
    let html = app.get_text("/settings").await;
    assert_eq!(
        input_value(&html, "storage_class").as_deref(),
        Some("HIGH_PERF")
    );
    assert!(selected(&html, "server_side_encryption", "AES256"));
    assert_eq!(input_value(&html, "sse_kms_key_id").as_deref(), Some(""));
}

#[tokio::test]
async fn a_malformed_storage_class_gets_its_message_and_nothing_is_lost() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/settings",
            &form(&[
                ("storage_class", "standard ia"),
                ("server_side_encryption", "aws:kms"),
                ("sse_kms_key_id", "alias/backups"),
            ]),
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "storage_class").expect("a message beside the class");
    assert!(message.contains("Spaces are not allowed"), "{message}");
    assert_eq!(
        input_value(&html, "storage_class").as_deref(),
        Some("standard ia")
    );
    assert!(selected(&html, "server_side_encryption", "aws:kms"));
    assert_eq!(
        input_value(&html, "sse_kms_key_id").as_deref(),
        Some("alias/backups")
    );
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("acme-backups")
    );
    // Nothing was saved.
    let stored = app.get_text("/settings").await;
    assert_eq!(input_value(&stored, "bucket").as_deref(), Some(""));
    assert!(selected(&stored, "server_side_encryption", "none"));
}

#[tokio::test]
async fn a_lowercase_class_is_refused_with_its_capitalised_form_in_french() {
    let app = TestApp::spawn_logged_in().await;
    app.get("/settings?lang=fr").await;
    let response = app
        .post_form("/settings", &form(&[("storage_class", "glacier_ir")]))
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "storage_class").expect("a message beside the class");
    assert!(
        message.contains("majuscules") && message.contains("GLACIER_IR"),
        "{message}"
    );
    assert!(html.contains("Classe de stockage") && html.contains("Chiffrement côté serveur"));
}

#[tokio::test]
async fn a_kms_key_without_kms_is_refused_beside_the_key() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/settings",
            &form(&[
                ("server_side_encryption", "AES256"),
                ("sse_kms_key_id", "alias/backups"),
            ]),
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "sse_kms_key_id").expect("a message beside the key");
    assert!(message.contains("only with aws:kms"), "{message}");
    assert!(selected(&html, "server_side_encryption", "AES256"));
    assert_eq!(
        input_value(&html, "sse_kms_key_id").as_deref(),
        Some("alias/backups")
    );
}

#[tokio::test]
async fn a_form_without_the_storage_fields_keeps_them() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form(
        "/settings",
        &form(&[
            ("storage_class", "ONEZONE_IA"),
            ("server_side_encryption", "AES256"),
        ]),
    )
    .await;
    let older: Vec<_> = form(&[])
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                *name,
                "storage_class" | "server_side_encryption" | "sse_kms_key_id"
            )
        })
        .collect();
    assert_eq!(app.post_form("/settings", &older).await.status(), 200);
    let html = app.get_text("/settings").await;
    assert_eq!(
        input_value(&html, "storage_class").as_deref(),
        Some("ONEZONE_IA")
    );
    assert!(selected(&html, "server_side_encryption", "AES256"));
}
