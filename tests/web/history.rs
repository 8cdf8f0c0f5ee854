//! The history page: filtered by status and kind with a form that works without script,
//! the pager keeping the filters, values it does not know explained, what started each run
//! read as such, and the error of a run in one line (the whole of it on the run's page).

use crate::common::TestApp;
use crate::common::s3::TestS3;

/// Records `count` ended runs of `kind` in `status`, started by `trigger`, as they would be
/// left by runs of another process (the history of a long-lived install).
async fn record_runs(app: &TestApp, count: usize, kind: &str, status: &str, trigger: &str) {
    let pool = app.pool().await;
    for n in 0..count {
        let at = chrono::Utc::now() - chrono::Duration::minutes(n as i64 + 1);
        sqlx::query(
            "INSERT INTO runs (kind, trigger, status, started_at, finished_at) \
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )
        .bind(kind)
        .bind(trigger)
        .bind(status)
        .bind(at)
        .execute(&pool)
        .await
        .expect("record a run");
    }
}

/// The text of each table cell of class `class`, tags left out.
pub fn cells(html: &str, class: &str) -> Vec<String> {
    let marker = format!("class=\"{class}\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let start = html[at..].find('>').map_or(at, |end| at + end + 1);
            let end = html[start..]
                .find("</td>")
                .map_or(html.len(), |end| start + end);
            let mut text = String::new();
            let mut in_tag = false;
            for c in html[start..end].chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.trim().to_owned()
        })
        .collect()
}

/// The address of the pager's link `rel`, as the browser follows it.
fn link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

#[tokio::test]
async fn the_history_shows_only_the_runs_of_the_status_and_kind_chosen_and_the_pager_keeps_them() {
    let app = TestApp::spawn_logged_in().await;
    record_runs(&app, 23, "backup", "failed", "scheduled").await;
    record_runs(&app, 4, "backup", "success", "scheduled").await;
    record_runs(&app, 3, "verify", "failed", "scheduled").await;

    let first = app.get_text("/backups?status=failed&kind=backup").await;
    assert_eq!(first.matches("class=\"status-failed\"").count(), 20);
    assert_eq!(first.matches("class=\"kind-backup\"").count(), 20);
    assert!(!first.contains("status-success") && !first.contains("kind-verify"));
    assert!(
        first.contains("<option value=\"failed\" selected>"),
        "{first}"
    );
    assert!(
        first.contains("<option value=\"backup\" selected>"),
        "{first}"
    );
    let next = link(&first, "next").expect("a next page");
    assert_eq!(
        next, "/backups?page=2&status=failed&kind=backup",
        "the pager keeps the filters"
    );

    let second = app.get_text(&next).await;
    assert_eq!(
        link(&second, "prev").as_deref(),
        Some("/backups?page=1&status=failed&kind=backup")
    );
    assert_eq!(second.matches("class=\"status-failed\"").count(), 3);
    assert!(!second.contains("kind-verify"));

    let verifications = app.get_text("/backups?kind=verify").await;
    assert_eq!(verifications.matches("class=\"kind-verify\"").count(), 3);
    assert!(!verifications.contains("kind-backup"));

    let successes = app.get_text("/backups?status=success&kind=").await;
    assert_eq!(successes.matches("class=\"status-success\"").count(), 4);

    let none = app.get_text("/backups?status=running").await;
    assert!(none.contains("No run matches these filters."), "{none}");
    assert!(
        none.contains("Show every run"),
        "a way back to every run: {none}"
    );
}

#[tokio::test]
async fn a_filter_value_the_history_does_not_know_is_explained_beside_its_field() {
    let app = TestApp::spawn_logged_in().await;
    record_runs(&app, 2, "backup", "success", "manual").await;

    let response = app.get("/backups?status=Failed&kind=backup").await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    let message = crate::common::field_error(&html, "status").expect("a message");
    assert!(message.contains("“Failed” is not a status"), "{message}");
    assert!(html.contains("id=\"error-summary\""));
    // The other filter still applies, and what there is to see is shown.
    assert_eq!(html.matches("class=\"status-success\"").count(), 2);

    let response = app.get("/backups?kind=%3Cscript%3E").await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    assert!(!html.contains("<script>"), "the value is escaped");
    assert!(
        crate::common::field_error(&html, "kind").is_some(),
        "{html}"
    );

    let response = app.get("/backups?page=last").await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    assert!(html.contains("“last” is not a page number"), "{html}");
}

#[tokio::test]
async fn what_started_a_run_reads_as_manual_scheduled_command_line_or_api() {
    let app = TestApp::spawn_logged_in().await;
    for trigger in ["manual", "scheduled", "cli", "api"] {
        record_runs(&app, 1, "backup", "success", trigger).await;
    }
    let english = cells(&app.get_text("/backups").await, "run-trigger");
    // Newest first.
    assert_eq!(english, ["API", "command line", "scheduled", "manual"]);
    let french = cells(&app.get_text("/backups?lang=fr").await, "run-trigger");
    assert_eq!(french, ["API", "ligne de commande", "planifié", "manuel"]);
}

/// A backup with a secret the S3 server does not accept, run to its end; its page.
pub async fn backup_with_a_wrong_secret(app: &TestApp, s3: &TestS3) -> (String, tempfile::TempDir) {
    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(
        s3,
        &bucket,
        "erp",
        &[("secret_access_key", "not-the-secret")],
    )
    .await;
    let dir = tempfile::tempdir().expect("source directory");
    std::fs::write(dir.path().join("a.txt"), "a").expect("write");
    app.add_directory_source("files", dir.path()).await;
    let run_page = crate::common::watch::backup_now(app).await;
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    (run_page, dir)
}

#[tokio::test]
async fn the_history_shows_a_failed_runs_error_in_one_line_and_its_page_the_whole_text() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let (run_page, _dir) = backup_with_a_wrong_secret(&app, &s3).await;

    let history = app.get_text("/backups").await;
    let errors = cells(&history, "run-error");
    assert_eq!(errors.len(), 1, "{history}");
    let line = &errors[0];
    assert!(line.starts_with("S3 refused"), "{line}");
    assert!(
        !line.contains("SignatureDoesNotMatch"),
        "no raw detail: {line}"
    );
    assert!(line.ends_with("details"), "a link to the rest: {line}");
    assert!(history.contains(&format!("href=\"{run_page}#error-title\"")));

    let page = app.get_text(&run_page).await;
    assert!(page.contains("S3 refused"), "{page}");
    assert!(
        page.contains("SignatureDoesNotMatch"),
        "the whole text: {page}"
    );

    let french = cells(&app.get_text("/backups?lang=fr").await, "run-error");
    assert!(french[0].starts_with("S3 a refusé"), "{french:?}");
}
