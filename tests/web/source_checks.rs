//! The sources page tries each source: its "Test" button and the test made when a source is
//! saved (a warning, never a refusal), against the real PostgreSQL, MariaDB and SQLite of
//! this machine and real directories; and each source's last backup in the list.

use crate::common::TestApp;
use crate::common::databases::{Databases, Server};
use crate::common::s3::TestS3;

/// The text of the page's notice: `(true, text)` for a confirmation, `(false, text)` for a
/// warning.
fn notice(html: &str) -> Option<(bool, String)> {
    for (passed, marker) in [
        (true, "<div class=\"notice\" role=\"status\">"),
        (false, "<div class=\"warning\" role=\"alert\">"),
    ] {
        if let Some(start) = html.find(marker) {
            let rest = &html[start + marker.len()..];
            let end = rest.find("</div>").unwrap_or(rest.len());
            return Some((passed, rest[..end].trim().to_owned()));
        }
    }
    None
}

/// The row of the source named `name` in the list.
fn row<'a>(html: &'a str, name: &str) -> &'a str {
    html.split("<tr id=\"source-")
        .skip(1)
        .find(|row| row.contains(&format!("<strong>{name}</strong>")))
        .map(|row| &row[..row.find("</tr>").unwrap_or(row.len())])
        .unwrap_or_else(|| panic!("no row for {name} in:\n{html}"))
}

/// The id of the source named `name`.
fn source_id(html: &str, name: &str) -> String {
    row(html, name)
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// Adds a source and returns the page it lands on (the list, with the notice).
async fn add(app: &TestApp, name: &str, kind: &str, location: &str) -> String {
    let response = app
        .post_form(
            "/sources",
            &[("name", name), ("kind", kind), ("location", location)],
        )
        .await;
    assert_eq!(response.status(), 200, "adding {name}");
    assert_eq!(response.url().path(), "/sources");
    response.text().await.expect("body")
}

/// Presses the "Test" button of the source named `name`; returns the notice.
async fn press_test(app: &TestApp, name: &str) -> (bool, String) {
    let id = source_id(&app.get_text("/sources").await, name);
    let response = app.post_form(&format!("/sources/{id}/test"), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/sources");
    let html = response.text().await.expect("body");
    notice(&html).unwrap_or_else(|| panic!("no notice after testing {name}:\n{html}"))
}

#[tokio::test]
async fn a_postgres_source_connects_and_its_dump_tool_fits_the_server() {
    let app = TestApp::spawn_logged_in().await;
    let databases = Databases::new(Server::Postgres);
    let database = databases.create_source();

    let html = add(&app, "erp", "postgres", &Server::Postgres.url(&database)).await;

    let (passed, text) = notice(&html).expect("a notice");
    assert!(passed, "{text}");
    assert!(text.starts_with("Source added."), "{text}");
    assert!(text.contains("Connected to PostgreSQL 1"), "{text}");
    assert!(text.contains("pg_dump (PostgreSQL)"), "{text}");
    let (passed, text) = press_test(&app, "erp").await;
    assert!(passed, "{text}");
    assert!(
        text.starts_with("erp works: Connected to PostgreSQL"),
        "{text}"
    );
}

#[tokio::test]
async fn a_mariadb_source_connects_and_its_dump_tool_fits_the_server() {
    let app = TestApp::spawn_logged_in().await;
    let databases = Databases::new(Server::Mariadb);
    let database = databases.create_source();
    add(&app, "shop", "mysql", &Server::Mariadb.url(&database)).await;

    let (passed, text) = press_test(&app, "shop").await;

    assert!(passed, "{text}");
    assert!(text.contains("MariaDB"), "{text}");
    assert!(text.contains("mariadb-dump"), "{text}");
}

#[tokio::test]
async fn a_sqlite_source_opens_and_its_tables_are_counted() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("app.sqlite3");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1);")
        .status()
        .expect("the sqlite3 tool is installed");
    assert!(status.success());
    add(&app, "app", "sqlite", db.to_str().expect("utf-8")).await;

    let (passed, text) = press_test(&app, "app").await;

    assert!(passed, "{text}");
    assert!(text.contains("tables: 2"), "{text}");
}

#[tokio::test]
async fn a_directory_source_is_read() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("invoice.pdf"), b"%PDF").expect("write");
    std::fs::create_dir(dir.path().join("photos")).expect("mkdir");
    add(
        &app,
        "files",
        "directory",
        dir.path().to_str().expect("utf-8"),
    )
    .await;

    let (passed, text) = press_test(&app, "files").await;

    assert!(passed, "{text}");
    assert!(text.contains("can be read (2 entries"), "{text}");
}

#[tokio::test]
async fn a_directory_removed_since_it_was_added_fails_its_test() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let uploads = dir.path().join("uploads");
    std::fs::create_dir(&uploads).expect("mkdir");
    add(
        &app,
        "uploads",
        "directory",
        uploads.to_str().expect("utf-8"),
    )
    .await;
    std::fs::remove_dir(&uploads).expect("rmdir");

    let (passed, text) = press_test(&app, "uploads").await;

    assert!(!passed, "{text}");
    assert!(
        text.contains("uploads cannot be backed up as it stands"),
        "{text}"
    );
    assert!(text.contains("does not exist"), "{text}");
}

#[tokio::test]
async fn an_unreachable_server_is_saved_with_a_warning() {
    let app = TestApp::spawn_logged_in().await;
    // Nothing listens on port 1.
    let html = add(
        &app,
        "erp",
        "postgres",
        "postgresql://postgres@127.0.0.1:1/erp",
    )
    .await;

    let (passed, text) = notice(&html).expect("a notice");
    assert!(!passed, "a warning: {text}");
    assert!(text.starts_with("Source added."), "{text}");
    assert!(text.contains("kept all the same"), "{text}");
    assert!(
        text.contains("The server at 127.0.0.1:1 cannot be reached"),
        "{text}"
    );
    // Saved all the same.
    assert!(row(&html, "erp").contains("postgresql://postgres@127.0.0.1:1/erp"));
}

#[tokio::test]
async fn a_wrong_password_is_named_and_never_shown() {
    let app = TestApp::spawn_logged_in().await;
    let databases = Databases::new(Server::Mariadb);
    let database = databases.create_source();
    let password = "Wrong-Pass-5150";
    let url = format!("mysql://root:{password}@127.0.0.1:3306/{database}");

    let html = add(&app, "shop", "mysql", &url).await;

    let (passed, text) = notice(&html).expect("a notice");
    assert!(!passed, "{text}");
    assert!(text.contains("refused the user name or password"), "{text}");
    assert!(!html.contains(password));
    let (passed, text) = press_test(&app, "shop").await;
    assert!(!passed);
    assert!(text.contains("refused the user name or password"), "{text}");
    assert!(!text.contains(password));
}

#[tokio::test]
async fn editing_a_source_tests_it_again() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let html = add(
        &app,
        "files",
        "directory",
        dir.path().to_str().expect("utf-8"),
    )
    .await;
    let id = source_id(&html, "files");
    let elsewhere = tempfile::tempdir().expect("dir");
    let moved = elsewhere.path().join("files");
    std::fs::create_dir(&moved).expect("mkdir");
    let saved = app
        .post_form(
            &format!("/sources/{id}"),
            &[
                ("name", "files"),
                ("kind", "directory"),
                ("location", moved.to_str().expect("utf-8")),
            ],
        )
        .await;

    let (passed, text) = notice(&saved.text().await.expect("body")).expect("a notice");

    assert!(passed, "{text}");
    assert!(text.starts_with("Source saved."), "{text}");
    assert!(text.contains("0 entries"), "{text}");
}

#[tokio::test]
async fn each_source_shows_how_its_last_backup_went_and_its_size() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let dir = tempfile::tempdir().expect("dir");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).expect("mkdir");
    std::fs::write(files.join("report.txt"), "x".repeat(4096)).expect("write");
    app.add_directory_source("files", &files).await;
    let before = app.get_text("/sources").await;
    assert!(row(&before, "files").contains("Not backed up yet"));

    let run = app.post_form("/backups/run", &[]).await;
    let run_page = run.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let after = app.get_text("/sources").await;
    let shown = row(&after, "files");
    assert!(shown.contains(&format!("href=\"{run_page}\"")), "{shown}");
    assert!(shown.contains("Backed up"), "{shown}");
    assert!(shown.contains("<span class=\"size\">"), "{shown}");
    assert!(
        shown.contains(" B</span>") || shown.contains("KiB</span>"),
        "{shown}"
    );

    std::fs::remove_dir_all(&files).expect("remove the directory");
    let failed = app.post_form("/backups/run", &[]).await;
    let failed_page = failed.url().path().to_owned();
    assert_eq!(app.wait_until_done(&failed_page).await, "failed");
    let later = app.get_text("/sources").await;
    let shown = row(&later, "files");
    assert!(
        shown.contains(&format!("href=\"{failed_page}\"")),
        "{shown}"
    );
    assert!(shown.contains("Failed"), "{shown}");
    assert!(!shown.contains("class=\"size\""), "{shown}");
}
