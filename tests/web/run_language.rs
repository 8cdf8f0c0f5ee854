//! A run's page and the history read in French from end to end: every outcome, with only
//! the outside world's own words (a tool's output, a server's reply) left as they came,
//! quoted.

use crate::common::TestApp;
use crate::common::s3::{ACCESS_KEY, REGION, SECRET_KEY, TestS3};
use s3_backup::db::runs::{self, Trigger};
use s3_backup::lang::Message;

/// Words of our English catalogs that no French sentence of ours contains.
/// ("Source", "E-mails" and "info" are French too.)
const ENGLISH: [&str; 48] = [
    "the",
    "was",
    "were",
    "is",
    "and",
    "of",
    "to",
    "by",
    "with",
    "while",
    "could",
    "cannot",
    "not",
    "no",
    "nothing",
    "this",
    "every",
    "some",
    "other",
    "others",
    "failed",
    "backup",
    "backups",
    "stored",
    "started",
    "sent",
    "yet",
    "again",
    "Size",
    "Objects",
    "Duration",
    "History",
    "Status",
    "Error",
    "Log",
    "Key",
    "Folder",
    "Reason",
    "Success",
    "Partial",
    "Interrupted",
    "Schedule",
    "Running",
    "warn",
    "warning",
    "error",
    "exit",
    "status",
];

/// The words of `html` a reader sees, without quoted details and `<code>` data.
fn sentences(html: &str) -> String {
    let mut text = drop_between(html, "<script", "</script>");
    text = drop_between(&text, "<style", "</style>");
    text = drop_between(&text, "<code", "</code>");
    text = drop_between(&text, "<", ">");
    text = text
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&nbsp;", " ");
    text = drop_between(&text, "\u{201c}", "\u{201d}");
    drop_between(&text, "«", "»")
}

/// `text` without each span from `open` to the next `close`.
fn drop_between(text: &str, open: &str, close: &str) -> String {
    let mut kept = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        kept.push_str(&rest[..start]);
        kept.push(' ');
        rest = match rest[start + open.len()..].find(close) {
            Some(end) => &rest[start + open.len() + end + close.len()..],
            None => "",
        };
    }
    kept.push_str(rest);
    kept
}

/// The English words found in the visible text of `html`.
fn english_words(html: &str) -> Vec<String> {
    let text = sentences(html);
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '_'))
        .filter(|word| {
            ENGLISH
                .iter()
                .any(|english| english.eq_ignore_ascii_case(word))
        })
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Checks `path` in French has no English sentence, and that the check would see one:
/// the same page in English has some.
async fn assert_reads_in_french(app: &TestApp, path: &str) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let english = app.get_text(&format!("{path}{separator}lang=en")).await;
    assert!(
        english_words(&english).len() >= 5,
        "the English page {path} should show English words: {:?}",
        english_words(&english)
    );
    let french = app.get_text(&format!("{path}{separator}lang=fr")).await;
    assert!(
        french.contains("<html lang=\"fr\">"),
        "{path} not in French"
    );
    let found = english_words(&french);
    assert!(
        found.is_empty(),
        "English on {path} in French: {found:?}\n{}",
        sentences(&french)
    );
}

/// Settings pointing at `s3`, mailing `ops@example.com` (no e-mail account is set up, so
/// each mail fails and the run's page says why).
async fn configure(app: &TestApp, s3: &TestS3) {
    let bucket = s3.new_bucket().await;
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    let saved = app
        .post_form(
            "/settings",
            &[
                ("access_key_id", ACCESS_KEY),
                ("secret_access_key", SECRET_KEY),
                ("notify_email", "ops@example.com"),
                ("send_email_for_successful_backup", "on"),
                ("bucket", &bucket),
                ("endpoint_url", &endpoint),
                ("region", REGION),
                ("path_style", "on"),
                ("backup_path", "erp"),
                ("frequency", "none"),
                ("backup_time", "02:00"),
                ("backup_weekday", "monday"),
                ("backup_monthday", "1"),
                ("timezone", "UTC"),
                ("backup_files", "on"),
                ("backup_limit", "3"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
}

/// A directory with a file in it, added as the source `files`.
async fn add_directory(app: &TestApp) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("source dir");
    std::fs::write(dir.path().join("invoice.txt"), "Facture n°42").expect("write");
    app.add_directory_source("files", dir.path()).await;
    dir
}

/// A PostgreSQL source whose database does not exist: pg_dump fails.
async fn add_missing_database(app: &TestApp) {
    let response = app
        .post_form(
            "/sources",
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                (
                    "location",
                    "postgresql://postgres@127.0.0.1:5432/no_such_database_here",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// Starts "Backup now" and waits for the run to end; returns its page and status.
async fn backup_now(app: &TestApp) -> (String, String) {
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert!(run_page.starts_with("/backups/"), "{run_page}");
    let status = app.wait_until_done(&run_page).await;
    (run_page, status)
}

#[tokio::test]
async fn a_successful_run_reads_in_french() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    configure(&app, &s3).await;
    let _dir = add_directory(&app).await;

    let (run_page, status) = backup_now(&app).await;

    assert_eq!(status, "success");
    assert_reads_in_french(&app, &run_page).await;
    assert_reads_in_french(&app, "/backups").await;
}

#[tokio::test]
async fn a_partial_run_reads_in_french() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    configure(&app, &s3).await;
    let _dir = add_directory(&app).await;
    add_missing_database(&app).await;

    let (run_page, status) = backup_now(&app).await;

    assert_eq!(status, "partial");
    assert_reads_in_french(&app, &run_page).await;
    assert_reads_in_french(&app, "/backups").await;
}

#[tokio::test]
async fn a_failed_run_reads_in_french() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    configure(&app, &s3).await;
    add_missing_database(&app).await;

    let (run_page, status) = backup_now(&app).await;

    assert_eq!(status, "failed");
    assert_reads_in_french(&app, &run_page).await;
    assert_reads_in_french(&app, "/backups").await;
}

#[tokio::test]
async fn an_interrupted_run_reads_in_french() {
    let mut app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    configure(&app, &s3).await;
    // A run the process was doing when it died.
    let pool = app.pool().await;
    let run = runs::create(&pool, Trigger::Scheduled, None)
        .await
        .expect("run");
    let start = Message::new("run.log.start")
        .with("count", 1)
        .with("folder", "s3://acme-archive/erp/2026-01-05T020000Z/");
    runs::append_log(&pool, run, "info", &start)
        .await
        .expect("log");
    pool.close().await;

    app.restart().await;

    let run_page = format!("/backups/{run}");
    assert!(app.get_text(&run_page).await.contains("status-interrupted"));
    assert_reads_in_french(&app, &run_page).await;
    assert_reads_in_french(&app, "/backups").await;
}
