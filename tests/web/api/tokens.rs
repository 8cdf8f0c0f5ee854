//! The tokens page: a secret shown once and kept only as a hash, input checked beside
//! each field, revocation at once, and every change in the log.

use super::{create_token, get, secret_in, token_id};
use crate::common::{TestApp, field_error, input_value};

#[tokio::test]
async fn a_tokens_secret_is_shown_once_and_only_its_hash_is_stored() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form("/tokens", &[("name", "monitoring"), ("scope", "read")])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    let secret = secret_in(&html).expect("shown on the answer to the form");
    assert!(secret.starts_with("s3b_"), "{secret}");
    assert_eq!(secret.len(), 4 + 43);
    assert!(html.contains("not shown again"), "with the warning");

    let list = app.get_text("/tokens").await;
    assert!(!list.contains(&secret), "never shown again");
    assert!(secret_in(&list).is_none());
    assert!(
        list.contains(&format!("{}…", &secret[..12])),
        "its identifier"
    );
    assert!(
        !list.contains(&secret[..20]),
        "no more of it than the identifier"
    );
    let bytes = app.database_bytes();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is not in the database"
    );
    assert!(
        !bytes.windows(20).any(|w| w == &secret.as_bytes()[12..32]),
        "no part of it beyond the identifier either"
    );
    assert_eq!(get(&app, "/api/v1/status", Some(&secret)).await.status, 200);
}

#[tokio::test]
async fn bad_token_input_gets_a_message_beside_each_field_and_nothing_is_made() {
    let app = TestApp::spawn_logged_in().await;
    for (name, scope, field) in [
        ("", "read", "name"),
        ("   ", "read", "name"),
        (&"n".repeat(65) as &str, "read", "name"),
        ("cron", "admin", "scope"),
        ("cron", "", "scope"),
    ] {
        let response = app
            .post_form("/tokens", &[("name", name), ("scope", scope)])
            .await;
        assert_eq!(response.status(), 422, "{name:?} {scope:?}");
        let html = response.text().await.expect("body");
        assert!(field_error(&html, field).is_some(), "{field}: {html}");
        assert!(secret_in(&html).is_none());
        if field == "scope" {
            assert_eq!(input_value(&html, "name").as_deref(), Some("cron"), "kept");
        }
    }
    let response = app
        .post_form("/tokens", &[("name", ""), ("scope", "root")])
        .await;
    let html = response.text().await.expect("body");
    assert!(field_error(&html, "name").is_some() && field_error(&html, "scope").is_some());
    assert!(app.get_text("/tokens").await.contains("No token yet."));
}

#[tokio::test]
async fn two_live_tokens_never_share_a_name() {
    let app = TestApp::spawn_logged_in().await;
    create_token(&app, "cron", "operate").await;
    let response = app
        .post_form("/tokens", &[("name", "cron"), ("scope", "read")])
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert!(
        field_error(&html, "name")
            .expect("a message")
            .contains("exists")
    );
    let id = token_id(&app, "cron").await;
    app.post_form(&format!("/tokens/{id}/revoke"), &[]).await;
    create_token(&app, "cron", "read").await;
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_and_the_log_says_who_did_what() {
    let app = TestApp::spawn_logged_in().await;
    let secret = create_token(&app, "nightly", "operate").await;
    assert_eq!(get(&app, "/api/v1/runs", Some(&secret)).await.status, 200);
    let list = app.get_text("/tokens").await;
    assert!(!list.contains("Never"), "its use is shown: {list}");

    let id = token_id(&app, "nightly").await;
    let revoked = app.post_form(&format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.url().path(), "/tokens");
    let refused = get(&app, "/api/v1/runs", Some(&secret)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.error_code(), "unauthorized");

    let list = app.get_text("/tokens").await;
    assert!(list.contains("Revoked"), "{list}");
    assert!(
        list.contains("API token nightly created (operate)"),
        "{list}"
    );
    assert!(list.contains("API token nightly revoked"), "{list}");
    let again = app.post_form(&format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(again.status(), 404, "revoked once");
}

#[tokio::test]
async fn revoking_needs_the_pages_form_token() {
    let app = TestApp::spawn_logged_in().await;
    let secret = create_token(&app, "ci", "read").await;
    let id = token_id(&app, "ci").await;
    let forged = app.post_raw(&format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(get(&app, "/api/v1/status", Some(&secret)).await.status, 200);
}

#[tokio::test]
async fn the_tokens_page_is_in_the_navigation_and_in_french() {
    let app = TestApp::spawn_logged_in().await;
    let html = app.get_text("/settings").await;
    assert!(html.contains("href=\"/tokens\""));
    let html = app
        .get_with("/tokens", ("accept-language", "fr"))
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("Créer un jeton"), "{html}");
    let anonymous = crate::common::client()
        .get(app.url("/tokens"))
        .send()
        .await
        .expect("GET");
    assert_eq!(anonymous.url().path(), "/login", "the page needs a login");
}
