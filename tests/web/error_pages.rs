//! When a request goes wrong the reader gets a page like the others: in their language,
//! with the navigation and a way back, never a bare line of text or an empty body.

use crate::common::s3::TestS3;
use crate::common::{TestApp, client};

/// The parts every error page has: the menu of a logged-in reader and a link back.
fn assert_is_a_full_page(html: &str) {
    assert!(html.contains("<nav"), "the navigation: {html}");
    assert!(html.contains("href=\"/backups\""), "{html}");
    assert!(html.contains("href=\"/settings\""), "a way back: {html}");
}

async fn page_in_french(
    response: reqwest::Response,
    status: u16,
) -> (reqwest::header::HeaderMap, String) {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html"),
        "{headers:?}"
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("Retour aux paramètres"), "{html}");
    (headers, html)
}

async fn french_app() -> TestApp {
    let app = TestApp::spawn_logged_in().await;
    app.get("/settings?lang=fr").await;
    app
}

#[tokio::test]
async fn an_unknown_address_is_a_not_found_page() {
    let app = TestApp::spawn_logged_in().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("body");
    assert!(html.contains("Page not found"), "{html}");
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_missing_static_file_is_a_not_found_page_too() {
    let app = TestApp::spawn_logged_in().await;
    app.get("/settings?lang=fr").await;

    let (_, html) = page_in_french(app.get("/static/nope.css").await, 404).await;

    assert!(html.contains("Page introuvable"), "{html}");
}

#[tokio::test]
async fn a_run_address_that_is_not_a_number_is_not_found_not_a_parse_error() {
    let app = french_app().await;

    let (_, html) = page_in_french(app.get("/backups/abc").await, 404).await;

    assert!(!html.contains("Cannot parse"), "{html}");
    assert!(html.contains("Page introuvable"), "{html}");
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_malformed_query_is_a_bad_request_page() {
    let app = french_app().await;

    // The history explains a bad page number itself; the catalogue's query is refused
    // before its page is made.
    let (_, html) = page_in_french(app.get("/restore?page=abc").await, 400).await;

    assert!(
        html.contains("Cette requête est incompréhensible"),
        "{html}"
    );
    assert!(!html.contains("deserialize"), "{html}");
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_refused_form_is_explained_in_the_readers_language() {
    let app = french_app().await;

    let response = app.post_raw("/settings", &[("bucket", "my-bucket")]).await;

    let (_, html) = page_in_french(response, 403).await;
    assert!(html.contains("Formulaire refusé"), "{html}");
    assert!(html.contains("rechargez la page"), "{html}");
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_wrong_method_is_a_page_that_says_so() {
    let app = french_app().await;

    let response = app.get("/backups/run").await;

    let (headers, html) = page_in_french(response, 405).await;
    assert!(html.contains("utilise pas ainsi"), "{html}");
    assert_eq!(headers["allow"], "POST");
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_form_too_large_is_a_page_that_says_so() {
    let app = french_app().await;
    let huge = "x".repeat(300 * 1024);

    let response = app.post_form("/settings", &[("bucket", &huge)]).await;

    let (_, html) = page_in_french(response, 413).await;
    assert!(
        html.contains("Le formulaire envoyé est trop volumineux"),
        "{html}"
    );
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn a_failure_on_the_server_is_a_page_that_points_to_the_log() {
    let app = french_app().await;
    // The sources' table is gone: the sources page cannot be made.
    sqlx::query("ALTER TABLE sources RENAME TO sources_elsewhere")
        .execute(&app.pool().await)
        .await
        .expect("rename");

    let (_, html) = page_in_french(app.get("/sources").await, 500).await;

    assert!(html.contains("Une erreur est survenue"), "{html}");
    assert!(html.contains("journal du serveur"), "{html}");
    assert!(!html.contains("sources_elsewhere") && !html.contains("no such table"));
    assert_is_a_full_page(&html);
}

#[tokio::test]
async fn an_anonymous_reader_gets_the_page_without_the_menu() {
    let app = TestApp::spawn_logged_in().await;
    let anonymous = client();

    let response = anonymous
        .get(app.url("/static/missing.js"))
        .send()
        .await
        .expect("GET");

    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("body");
    assert!(html.contains("Page not found"), "{html}");
    assert!(!html.contains("<nav"), "no menu before login: {html}");
}

#[tokio::test]
async fn a_history_page_past_the_end_shows_the_last_page() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("dir");
    std::fs::write(files.path().join("a.txt"), "a").expect("write");
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    app.add_directory_source("files", files.path()).await;
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let response = app.get("/backups?page=99").await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(!html.contains("No backup has run yet"), "{html}");
    assert!(html.contains(&format!("href=\"{run_page}\"")), "{html}");
    assert!(html.contains("1 / 1"), "{html}");
}
