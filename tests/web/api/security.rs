//! Who the API answers: a live token in `Authorization: Bearer`, never a session cookie;
//! a read token only reads; every refusal in the same JSON shape.

use super::{Answer, assert_error_shape, create_token, get, post, script};
use crate::common::TestApp;

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_with_a_bearer_challenge() {
    let app = TestApp::spawn_logged_in().await;
    let real = create_token(&app, "monitoring", "read").await;
    let unknown = format!("s3b_{}", "A".repeat(43));
    let mut wrong_tail = real.clone();
    wrong_tail.pop();
    wrong_tail.push(if real.ends_with('A') { 'B' } else { 'A' });
    for authorization in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer nonsense".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {wrong_tail}")),
        Some(format!("Basic {real}")),
        Some(real.clone()),
    ] {
        let mut request = script().get(app.url("/api/v1/status"));
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("GET");
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response.headers().clone();
        let body = response.json().await.expect("JSON");
        let answer = Answer {
            status,
            headers,
            body,
        };
        assert_eq!(status, 401, "{authorization:?}");
        assert!(
            challenge
                .as_deref()
                .is_some_and(|c| c.starts_with("Bearer")),
            "{authorization:?}: {challenge:?}"
        );
        assert_eq!(answer.error_code(), "unauthorized");
    }
    let ok = script()
        .get(app.url("/api/v1/status"))
        .header("authorization", format!("bearer  {real}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(ok.status(), 200, "the scheme is case-insensitive");
}

#[tokio::test]
async fn a_logged_in_browsers_cookie_alone_gets_401() {
    let app = TestApp::spawn_logged_in().await;
    // The admin's browser: its session cookie is in this client's jar.
    assert_eq!(app.get("/backups").await.url().path(), "/backups");
    let read = app
        .client
        .get(app.url("/api/v1/status"))
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 401);
    let started = app
        .client
        .post(app.url("/api/v1/backups"))
        .send()
        .await
        .expect("POST");
    assert_eq!(started.status(), 401, "neither CSRF's 403 nor a run");
    assert!(started.headers().contains_key("www-authenticate"));
    let runs = crate::api::get(
        &app,
        "/api/v1/runs",
        Some(&create_token(&app, "t", "read").await),
    )
    .await;
    assert_eq!(
        runs.body["runs"].as_array().map(Vec::len),
        Some(0),
        "no run started"
    );
}

#[tokio::test]
async fn a_read_token_may_not_start_anything() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "dashboard", "read").await;
    for path in ["/api/v1/backups", "/api/v1/verify"] {
        let refused = post(&app, path, Some(&token)).await;
        assert_eq!(refused.status, 403, "{path}");
        assert_eq!(refused.error_code(), "forbidden");
    }
    assert_eq!(get(&app, "/api/v1/status", Some(&token)).await.status, 200);
    let runs = get(&app, "/api/v1/runs", Some(&token)).await;
    assert_eq!(runs.body["runs"], serde_json::json!([]), "nothing started");
}

#[tokio::test]
async fn every_refusal_has_the_same_json_shape() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "ops", "operate").await;
    let reader = create_token(&app, "reader", "read").await;
    let cases: Vec<(Answer, u16, &str)> = vec![
        (get(&app, "/api/v1/status", None).await, 401, "unauthorized"),
        (
            post(&app, "/api/v1/backups", Some(&reader)).await,
            403,
            "forbidden",
        ),
        (
            get(&app, "/api/v1/nothing", Some(&token)).await,
            404,
            "not_found",
        ),
        (get(&app, "/api/v2/status", None).await, 404, "not_found"),
        (get(&app, "/api", None).await, 404, "not_found"),
        (
            get(&app, "/api/v1/runs/999", Some(&token)).await,
            404,
            "not_found",
        ),
        (
            get(&app, "/api/v1/runs/abc", Some(&token)).await,
            404,
            "not_found",
        ),
        (
            get(&app, "/api/v1/runs?limit=0", Some(&token)).await,
            400,
            "bad_request",
        ),
        (
            post(&app, "/api/v1/status", Some(&token)).await,
            405,
            "method_not_allowed",
        ),
        (
            post(&app, "/api/v1/backups", Some(&token)).await,
            422,
            "not_configured",
        ),
        (
            post(&app, "/api/v1/verify", Some(&token)).await,
            422,
            "not_configured",
        ),
    ];
    for (answer, status, code) in cases {
        assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
        assert_error_shape(&answer);
        assert_eq!(answer.error_code(), code, "{}", answer.body);
    }
}

#[tokio::test]
async fn messages_follow_the_clients_language() {
    let app = TestApp::spawn_logged_in().await;
    let response = script()
        .get(app.url("/api/v1/status"))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .expect("GET");
    let body: serde_json::Value = response.json().await.expect("JSON");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("jeton"), "{message}");
    let token = create_token(&app, "ops", "operate").await;
    let refused = post(&app, "/api/v1/backups", Some(&token)).await;
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("missing"),
        "says what is missing: {message}"
    );
    assert!(message.contains("Bucket name"), "{message}");
}
