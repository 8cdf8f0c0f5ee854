//! The JSON API and its tokens, driven over HTTP the way a script does: Bearer tokens, no
//! cookies; tokens made on their page the way the admin does.

mod openapi;
mod operations;
mod runs;
mod schema;
mod security;
mod tokens;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::common::TestApp;
use crate::common::s3::TestS3;

/// What an API call answered.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error's code, checking the one shape every error has.
    pub fn error_code(&self) -> String {
        assert_error_shape(self);
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `{"error": {"code": "…", "message": "…"}}` and nothing else, as JSON.
pub fn assert_error_shape(answer: &Answer) {
    assert!(
        answer.status.is_client_error() || answer.status.is_server_error(),
        "{}",
        answer.status
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{}: {}",
        answer.status,
        answer.body
    );
    let object = answer.body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{}", answer.body);
    let error = answer.body["error"].as_object().expect("error object");
    assert_eq!(error.len(), 2, "{}", answer.body);
    assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// A client without cookies, as a script is.
pub fn script() -> reqwest::Client {
    reqwest::Client::new()
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("a JSON body for {status}, not: {text}"));
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    let mut request = script().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("GET")).await
}

pub async fn post(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    let mut request = script().post(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("POST")).await
}

/// The one-time secret on the page that answered a token's creation.
pub fn secret_in(html: &str) -> Option<String> {
    let marker = "<code id=\"token-secret\">";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find("</code>")? + start;
    Some(html[start..end].to_owned())
}

/// Makes a token on the tokens page, as the logged-in admin; returns its secret.
pub async fn create_token(app: &TestApp, name: &str, scope: &str) -> String {
    let response = app
        .post_form("/tokens", &[("name", name), ("scope", scope)])
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    secret_in(&html).expect("the new token is shown")
}

/// The id of the token named `name`, from its revoke form on the page.
pub async fn token_id(app: &TestApp, name: &str) -> i64 {
    let html = app.get_text("/tokens").await;
    let row = html
        .split("<tr>")
        .find(|row| row.contains(&format!("<td>{name}</td>")))
        .expect("the token is listed");
    let marker = "action=\"/tokens/";
    let start = row.find(marker).expect("a revoke form") + marker.len();
    let end = row[start..].find('/').expect("id ends") + start;
    row[start..end].parse().expect("an id")
}

/// A logged-in app backing up one directory to the bucket of `s3`; the directory's
/// parent is returned (removing `files` in it makes the next backup fail).
pub async fn configured(app: &TestApp, s3: &TestS3) -> tempfile::TempDir {
    let bucket = s3.new_bucket().await;
    app.save_s3_settings(s3, &bucket, "erp").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("mkdir");
    std::fs::write(files.join("invoice.txt"), "Facture n°42").expect("write");
    app.add_directory_source("files", &files).await;
    dir
}

/// Starts a backup through the API and follows it to its end; returns the run.
pub async fn backup_to_end(app: &TestApp, token: &str) -> Value {
    let started = post(app, "/api/v1/backups", Some(token)).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let location = started.header("location").expect("Location").to_owned();
    app.wait_until_api_run_done(&location, token).await
}
