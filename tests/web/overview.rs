//! The overview at `/`: the state in one sentence, the checklist before setup, each source's
//! last stored backup, and charts whose tables give the same numbers as their bars.

use crate::common::TestApp;
use crate::common::s3::TestS3;
use crate::common::smtp::{self, TestSmtp};

/// The checklist's steps as shown: (done, text).
fn steps(html: &str) -> Vec<(bool, String)> {
    let Some(start) = html.find("id=\"checklist\"") else {
        return Vec::new();
    };
    let list = &html[start
        ..html[start..]
            .find("</ol>")
            .map_or(html.len(), |end| start + end)];
    list.split("<li class=\"")
        .skip(1)
        .map(|item| {
            let done = item.starts_with("done");
            let text = item
                .split("</span>")
                .nth(2)
                .unwrap_or_default()
                .split(" — ")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (done, text)
        })
        .collect()
}

fn health(html: &str) -> String {
    let start = html.find("id=\"health\">").expect("the health sentence") + 12;
    html[start..start + html[start..].find("</p>").expect("its end")].to_owned()
}

/// The text of each element between `open` and `close` in `html`.
fn all_between<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    html.split(open)
        .skip(1)
        .filter_map(|piece| piece.split(close).next())
        .collect()
}

/// A source directory with a file in it.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::write(dir.path().join("invoice.txt"), "Facture n°42").expect("write");
    dir
}

async fn back_up(app: &TestApp) -> (String, String) {
    let started = app.post_form("/backups/run", &[]).await;
    let page = started.url().path().to_owned();
    let status = app.wait_until_done(&page).await;
    (page, status)
}

/// An app with settings for a new bucket of `s3` and a directory source, backed up once.
async fn backed_up(s3: &TestS3, extra: &[(&str, &str)]) -> (TestApp, tempfile::TempDir, String) {
    let app = TestApp::spawn_logged_in().await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(s3, &bucket, "erp", extra).await;
    let dir = files();
    app.add_directory_source("files", dir.path()).await;
    let (page, status) = back_up(&app).await;
    assert_eq!(status, "success");
    (app, dir, page)
}

#[tokio::test]
async fn logging_in_and_setting_up_land_on_the_overview() {
    let app = TestApp::spawn_logged_in().await;
    let html = app.get_text("/").await;
    assert!(html.contains("<h1>Overview</h1>"), "{html}");
    assert!(
        html.contains(r#"<a href="/" aria-current="page">Overview</a>"#),
        "first in the navigation, current"
    );
    assert!(html.contains(r#"<a class="brand" href="/">"#));
}

#[tokio::test]
async fn before_setup_the_checklist_ticks_each_step_as_it_is_done() {
    let server = TestSmtp::start().await;
    let app = TestApp::logged_in(TestApp::spawn_trusting(Some(server.ca_pem())).await).await;
    let s3 = TestS3::start().await;

    let html = app.get_text("/").await;
    assert!(
        health(&html).contains("not set up yet"),
        "{}",
        health(&html)
    );
    let fresh = steps(&html);
    assert_eq!(fresh.len(), 4, "{html}");
    assert!(fresh.iter().all(|(done, _)| !done), "{fresh:?}");
    for link in [
        r#"href="/settings""#,
        r#"href="/sources""#,
        r#"href="/email-account""#,
    ] {
        assert!(html.contains(link), "{link}");
    }

    // The bucket: saved, then tested with what was saved.
    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(&s3, &bucket, "erp", &[("notify_email", "ops@example.com")])
        .await;
    assert!(!steps(&app.get_text("/").await)[0].0, "saved, not tested");
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    let form = [
        ("access_key_id", crate::common::s3::ACCESS_KEY),
        ("secret_access_key", crate::common::s3::SECRET_KEY),
        ("notify_email", "ops@example.com"),
        ("bucket", bucket.as_str()),
        ("endpoint_url", endpoint.as_str()),
        ("region", crate::common::s3::REGION),
        ("path_style", "on"),
        ("backup_path", "erp"),
        ("frequency", "none"),
        ("backup_time", "02:00"),
        ("backup_weekday", "monday"),
        ("backup_monthday", "1"),
        ("timezone", "UTC"),
        ("backup_files", "on"),
        ("backup_limit", "0"),
    ];
    let tested = app.post_form("/settings/test-connection", &form).await;
    assert_eq!(tested.status(), 200);
    let ticks: Vec<bool> = steps(&app.get_text("/").await)
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(ticks, [true, false, false, false]);

    // A source.
    let dir = files();
    app.add_directory_source("files", dir.path()).await;
    // The e-mail account: saved, and a test e-mail sent with it.
    let port = server.addr.port().to_string();
    let account = [
        ("smtp_host", "127.0.0.1"),
        ("smtp_port", port.as_str()),
        ("smtp_security", "starttls"),
        ("smtp_username", smtp::USER),
        ("smtp_password", smtp::PASSWORD),
        ("sender", smtp::SENDER),
    ];
    assert_eq!(
        app.post_form("/email-account", &account).await.status(),
        200
    );
    let sent = app.post_form("/email-account/test", &account).await;
    assert_eq!(sent.status(), 200);
    let ticks: Vec<bool> = steps(&app.get_text("/").await)
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(ticks, [true, true, true, false]);

    // The first backup: the checklist is done and goes; the state leads.
    let (_, status) = back_up(&app).await;
    assert_eq!(status, "success");
    let html = app.get_text("/").await;
    assert!(steps(&html).is_empty(), "{html}");
    assert!(health(&html).starts_with("All good"), "{}", health(&html));

    // Another bucket saved: the test was of the old one.
    let other = s3.new_bucket().await;
    app.save_s3_settings_with(&s3, &other, "erp", &[("notify_email", "ops@example.com")])
        .await;
    let ticks: Vec<bool> = steps(&app.get_text("/").await)
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(ticks, [false, true, true, true]);
}

#[tokio::test]
async fn after_a_success_each_source_shows_its_last_backup_and_size() {
    let s3 = TestS3::start().await;
    let (app, _dir, run_page) = backed_up(&s3, &[]).await;
    let html = app.get_text("/").await;
    let sentence = health(&html);
    assert!(
        sentence.starts_with("All good: the last backup succeeded ("),
        "{sentence}"
    );
    assert!(!sentence.contains("<a "), "nothing to follow: {sentence}");
    // The source's row links to the run that stored it, with its size and outcome.
    let row = &html[html.find("<th scope=\"row\"").expect("a source row")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("files"), "{row}");
    assert!(row.contains(&format!("href=\"{run_page}\"")), "{row}");
    assert!(row.contains(" B<") || row.contains("KiB<"), "a size: {row}");
    assert!(row.contains("outcome-stored"), "{row}");
    assert!(html.contains("in 1 complete backups"), "usage");
    assert!(html.contains("None: backups run only when asked."));
    assert!(
        !html.contains("id=\"last-verification\""),
        "no verification yet"
    );
}

#[tokio::test]
async fn after_a_failure_the_overview_says_so_and_links_to_the_run() {
    let s3 = TestS3::start().await;
    let (app, _dir, _) = backed_up(&s3, &[]).await;
    // The bucket goes away: the next backup fails.
    app.save_s3_settings(&s3, "bucket-that-does-not-exist", "erp")
        .await;
    let (failed_page, status) = back_up(&app).await;
    assert_eq!(status, "failed");
    let html = app.get_text("/").await;
    let sentence = health(&html);
    assert!(
        sentence.starts_with("The last backup failed ("),
        "{sentence}"
    );
    assert!(
        sentence.contains(&format!(
            "<a href=\"{failed_page}\">See what went wrong</a>"
        )),
        "{sentence}"
    );
    assert!(html.contains("health-problem"));
    assert!(html.contains("outcome-failed"), "the source failed with it");
    assert!(
        html.contains("in 1 complete backups"),
        "the earlier one counts"
    );
}

#[tokio::test]
async fn overdue_backups_are_the_state_when_the_schedule_was_missed() {
    let s3 = TestS3::start().await;
    let schedule = [
        ("enabled", "on"),
        ("frequency", "daily"),
        ("notify_email", "ops@example.com"),
    ];
    let (app, _dir, _) = backed_up(&s3, &schedule).await;
    assert!(health(&app.get_text("/").await).starts_with("All good"));
    // The success and the schedule's saving were three days ago.
    let pool = app.pool().await;
    let then = chrono::Utc::now() - chrono::Duration::days(3);
    for statement in [
        "UPDATE runs SET started_at = ?1, finished_at = ?1",
        "UPDATE settings SET schedule_saved_at = ?1",
    ] {
        sqlx::query(statement)
            .bind(then)
            .execute(&pool)
            .await
            .expect(statement);
    }
    let html = app.get_text("/").await;
    let sentence = health(&html);
    assert!(
        sentence.starts_with("Backups are overdue: the last successful one ended "),
        "{sentence}"
    );
    assert!(sentence.contains(&then.format("%Y-%m-%d").to_string()));
}

#[tokio::test]
async fn a_failed_verification_is_the_state_and_the_last_verification() {
    let s3 = TestS3::start().await;
    let (app, _dir, run_page) = backed_up(&s3, &[]).await;
    let pool = app.pool().await;
    let id: i64 = run_page
        .trim_start_matches("/backups/")
        .parse()
        .expect("run id");
    let folder: String = sqlx::query_scalar("SELECT folder FROM runs WHERE id = ?1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("folder");
    let check = s3_backup::db::runs::record_failed_check(
        &pool,
        &folder,
        &s3_backup::lang::Message::new("run.error.unknown"),
    )
    .await
    .expect("a failed check");
    let html = app.get_text("/").await;
    let sentence = health(&html);
    assert!(
        sentence.starts_with("The last verification failed ("),
        "{sentence}"
    );
    assert!(
        sentence.contains(&format!("href=\"/backups/{check}\"")),
        "{sentence}"
    );
    let last = &html[html.find("id=\"last-verification\"").expect("shown")..];
    assert!(
        last.starts_with(&format!(
            "id=\"last-verification\"><a href=\"/backups/{check}\" class=\"verify-failed\">Failed, "
        )),
        "{last}"
    );
}

#[tokio::test]
async fn each_chart_has_a_table_with_the_numbers_of_its_bars() {
    let s3 = TestS3::start().await;
    let (app, _dir, _) = backed_up(&s3, &[]).await;
    let (_, status) = back_up(&app).await;
    assert_eq!(status, "success");
    app.save_s3_settings(&s3, "bucket-that-does-not-exist", "erp")
        .await;
    let (_, status) = back_up(&app).await;
    assert_eq!(status, "failed");

    let html = app.get_text("/").await;
    for id in ["chart-size", "chart-duration"] {
        let start = html.find(&format!("id=\"{id}\"")).expect(id);
        let figure = &html[start..start + html[start..].find("</figure>").expect("end")];
        assert!(figure.contains("<svg viewBox=\"0 0 900 200\""), "{figure}");
        let bars = all_between(figure, "<title>", "</title>");
        assert_eq!(bars.len(), 3, "one bar a run: {figure}");
        assert!(figure.contains("bar-failed"), "the failure in its colour");
        // Each bar's "date — value" is a row of the table, newest first.
        let rows: Vec<String> = figure
            .split("<tr>")
            .skip(2)
            .map(|row| {
                let cells = all_between(row, "<td", "</td>");
                let date = cells[0].rsplit('>').nth(1).unwrap_or_default();
                let date = date.trim_end_matches("</a");
                let value = cells[2].rsplit('>').next().unwrap_or_default();
                format!("{date} — {value}")
            })
            .collect();
        let mut titles: Vec<String> = bars.iter().map(|t| t.to_string()).collect();
        titles.reverse();
        assert_eq!(rows, titles, "{id}");
    }
    assert!(html.contains("Size of each of the last 30 backups"));
}

#[tokio::test]
async fn the_charts_span_thirty_or_ninety_runs_without_script() {
    let s3 = TestS3::start().await;
    let (app, _dir, _) = backed_up(&s3, &[]).await;
    let html = app.get_text("/?runs=90").await;
    assert!(
        html.contains("Size of each of the last 90 backups"),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/?runs=30">Last 30 runs</a>"#));
    assert!(html.contains(r#"<span aria-current="true" class="current-span">Last 90 runs</span>"#));
    assert!(
        html.contains("lang=fr&amp;runs=90"),
        "the language switch keeps it"
    );
    let odd = app.get_text("/?runs=12345").await;
    assert!(odd.contains("Size of each of the last 30 backups"));
    let french = app.get_text("/?runs=90&lang=fr").await;
    assert!(french.contains("Taille de chacune des 90 dernières sauvegardes"));
    assert!(!french.contains("overview."), "every text translated");
}
