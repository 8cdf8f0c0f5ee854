//! "Test connection" against an endpoint nobody listens on: a sentence in the reader's
//! language, the network's own words quoted at most, never the client's internals.

use crate::common::TestApp;

/// The address of a port that was free a moment ago and is closed now.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The text of the "Test connection" answer.
fn connection_answer(html: &str) -> String {
    let start = html
        .find("id=\"connection-result\"")
        .unwrap_or_else(|| panic!("the page shows an answer: {html}"));
    let end = html[start..].find("</div>").expect("answer ends") + start;
    html[start..end].to_owned()
}

async fn test_connection(app: &TestApp, endpoint: &str) -> String {
    let fields = [
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        (
            "secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY",
        ),
        ("bucket", "acme-backups"),
        ("endpoint_url", endpoint),
        ("region", "us-east-1"),
        ("path_style", "on"),
        ("backup_path", "erp"),
        ("frequency", "none"),
        ("backup_time", "02:00"),
        ("backup_weekday", "monday"),
        ("backup_monthday", "1"),
        ("timezone", "UTC"),
        ("backup_limit", "3"),
    ];
    let response = app.post_form("/settings/test-connection", &fields).await;
    assert_eq!(response.status(), 422);
    connection_answer(&response.text().await.expect("body"))
}

const INTERNALS: [&str; 9] = [
    "DispatchFailure",
    "ConnectorError",
    "hyper",
    "Some(",
    "{ kind:",
    "kind:",
    "source:",
    "os error",
    "dispatch failure",
];

fn assert_no_internals(answer: &str) {
    for internal in INTERNALS {
        assert!(!answer.contains(internal), "{internal:?} shown: {answer}");
    }
}

#[tokio::test]
async fn a_closed_port_is_explained_in_english_without_internals() {
    let app = TestApp::spawn_logged_in().await;

    let answer = test_connection(&app, &closed_endpoint()).await;

    assert!(
        answer.contains("The S3 endpoint cannot be reached"),
        "{answer}"
    );
    assert!(
        answer.to_lowercase().contains("connection refused"),
        "{answer}"
    );
    assert_no_internals(&answer);
}

#[tokio::test]
async fn a_closed_port_is_explained_in_french_without_internals() {
    let app = TestApp::spawn_logged_in().await;
    app.get("/settings?lang=fr").await;

    let answer = test_connection(&app, &closed_endpoint()).await;

    assert!(
        answer.contains("Le point de terminaison S3 est injoignable"),
        "{answer}"
    );
    assert!(!answer.contains("cannot be reached"), "{answer}");
    assert_no_internals(&answer);
}
