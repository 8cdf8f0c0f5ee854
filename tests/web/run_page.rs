//! A failed run's page leads on: a link to the setting or the source to fix, and "Run
//! again", which starts the same operation (refused, and said, while another one runs).

use crate::common::TestApp;
use crate::common::s3::{SECRET_KEY, TestS3};
use crate::common::watch::backup_now;
use crate::history::backup_with_a_wrong_secret;

/// The `href` of every link in the "What to fix" section.
fn fix_links(html: &str) -> Vec<String> {
    let Some(start) = html.find("class=\"fix-links\"") else {
        return Vec::new();
    };
    let end = html[start..]
        .find("</ul>")
        .map_or(html.len(), |end| start + end);
    html[start..end]
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_backup_refused_for_its_secret_links_to_the_secret_field() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let (run_page, _dir) = backup_with_a_wrong_secret(&app, &s3).await;
    let page = app.get_text(&run_page).await;
    assert_eq!(
        fix_links(&page),
        ["/settings#f-secret_access_key"],
        "{page}"
    );
    assert!(page.contains("Check the secret access key in the settings"));
    // The field it leads to is there.
    assert!(
        app.get_text("/settings")
            .await
            .contains("id=\"f-secret_access_key\"")
    );
}

#[tokio::test]
async fn a_source_that_failed_links_to_its_own_page() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let dir = tempfile::tempdir().expect("source directory");
    let (kept, gone) = (dir.path().join("kept"), dir.path().join("gone"));
    for path in [&kept, &gone] {
        std::fs::create_dir(path).expect("mkdir");
        std::fs::write(path.join("a.txt"), "a").expect("write");
    }
    app.add_directory_source("kept", &kept).await;
    app.add_directory_source("gone", &gone).await;
    std::fs::remove_dir_all(&gone).expect("remove a source's directory");

    let run_page = backup_now(&app).await;
    assert_eq!(app.wait_until_done(&run_page).await, "partial");
    let id: i64 = sqlx::query_scalar("SELECT id FROM sources WHERE name = 'gone'")
        .fetch_one(&app.pool().await)
        .await
        .expect("the source's id");
    let page = app.get_text(&run_page).await;
    assert_eq!(fix_links(&page), [format!("/sources/{id}")], "{page}");
    assert!(page.contains("Edit the source gone"));
    assert_eq!(app.get(&format!("/sources/{id}")).await.status(), 200);
}

#[tokio::test]
async fn run_again_starts_the_same_backup_which_succeeds_once_the_setting_is_fixed() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let (run_page, _dir) = backup_with_a_wrong_secret(&app, &s3).await;
    let page = app.get_text(&run_page).await;
    assert!(
        page.contains(&format!("action=\"{run_page}/again\"")),
        "{page}"
    );
    assert!(page.contains("Run the backup again"));

    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(&s3, &bucket, "erp", &[("secret_access_key", SECRET_KEY)])
        .await;
    let again = app.post_form(&format!("{run_page}/again"), &[]).await;
    assert_eq!(again.status(), 200);
    let new_page = again.url().path().to_owned();
    assert!(
        new_page.starts_with("/backups/") && new_page != run_page,
        "{new_page}"
    );
    assert!(again.text().await.expect("body").contains("Started again."));
    assert_eq!(app.wait_until_done(&new_page).await, "success");
    let keys = s3.keys(&bucket, "erp/").await;
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );

    // A run that succeeded has nothing to fix and nothing to run again.
    let done = app.get_text(&new_page).await;
    assert!(!done.contains("/again\""), "{done}");
    assert!(fix_links(&done).is_empty());
}

#[tokio::test]
async fn run_again_is_refused_and_said_while_another_run_is_going() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let (failed_page, _dir) = backup_with_a_wrong_secret(&app, &s3).await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings_with(&s3, &bucket, "erp", &[("secret_access_key", SECRET_KEY)])
        .await;
    s3.hooks.hold();
    let running = backup_now(&app).await;

    let refused = app.post_form(&format!("{failed_page}/again"), &[]).await;
    assert_eq!(
        refused.url().path(),
        failed_page,
        "back on the failed run's page"
    );
    let html = refused.text().await.expect("body");
    assert!(
        html.contains("Another operation (backup, restore or verification) is running"),
        "{html}"
    );

    s3.hooks.open();
    assert_eq!(app.wait_until_done(&running).await, "success");
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs")
        .fetch_one(&app.pool().await)
        .await
        .expect("count runs");
    assert_eq!(runs, 2, "no third run was started");
}

#[tokio::test]
async fn run_again_needs_the_forms_token() {
    let app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let (run_page, _dir) = backup_with_a_wrong_secret(&app, &s3).await;
    let forged = app.post_raw(&format!("{run_page}/again"), &[]).await;
    assert_eq!(forged.status(), 403);
}
