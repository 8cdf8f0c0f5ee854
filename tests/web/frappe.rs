//! A Frappe / Dokos site as a source on the pages: the site folder checked on save with a
//! message beside the field, its password never stored nor shown, the bench folder's sites
//! offered, "Backup files" kept per site, and the backup's page giving the `bench restore`
//! command with the objects' names.

use s3_backup::backup::{Job, Reporter, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

use crate::common::frappe_site::{PASSWORD, SITE, Site};
use crate::common::s3::TestS3;
use crate::common::{TestApp, field_error};

async fn add_site(app: &TestApp, location: &str, backup_files: bool) -> reqwest::Response {
    let mut fields = vec![
        ("name", "dokos"),
        ("kind", "frappe"),
        ("location", location),
    ];
    if backup_files {
        fields.push(("backup_files", "on"));
    }
    app.post_form("/sources", &fields).await
}

#[tokio::test]
async fn a_folder_without_site_config_is_refused_beside_the_field_and_kept() {
    let app = TestApp::spawn_logged_in().await;
    let folder = tempfile::tempdir().expect("a folder");
    let location = folder.path().display().to_string();

    let response = add_site(&app, &location, true).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "location").expect("a message beside the location");
    assert!(message.contains("site_config.json"), "{message}");
    assert!(html.contains(&location), "the input is kept");
    assert!(html.contains("value=\"dokos\""), "the name is kept");
}

#[tokio::test]
async fn a_config_without_db_name_is_refused_with_why() {
    let app = TestApp::spawn_logged_in().await;
    let site = Site::new();
    site.write_config(&serde_json::json!({ "db_password": PASSWORD }));

    let response = add_site(&app, &site.location(), true).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "location").expect("a message beside the location");
    assert!(message.contains("db_name"), "{message}");
    let french = app
        .get_with("/sources", ("Accept-Language", "fr"))
        .await
        .text()
        .await
        .expect("body");
    assert!(french.contains("Site Frappe / Dokos"), "the kind in French");
}

#[tokio::test]
async fn a_site_is_saved_tested_and_its_password_never_stored_nor_shown() {
    let app = TestApp::spawn_logged_in().await;
    let site = Site::new();

    let response = add_site(&app, &site.location(), false).await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(
        html.contains(&format!("Site {SITE}: its database {}", site.db_name)),
        "the save's test reached the site's database: {html}"
    );
    assert!(!html.contains(PASSWORD));
    assert!(
        !app.database_bytes()
            .windows(PASSWORD.len())
            .any(|window| window == PASSWORD.as_bytes()),
        "the password is not in the app's database"
    );
    let list = app.get_text("/sources").await;
    let id: String = list
        .split("<tr id=\"source-")
        .nth(1)
        .expect("a row")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let edit = app.get_text(&format!("/sources/{id}")).await;
    assert!(
        edit.contains("name=\"backup_files\" type=\"checkbox\""),
        "{edit}"
    );
    assert!(
        !edit.contains("name=\"backup_files\" type=\"checkbox\" checked"),
        "Backup files stays off for this site"
    );
}

#[tokio::test]
async fn a_second_site_of_the_same_name_is_refused_naming_the_first() {
    let app = TestApp::spawn_logged_in().await;
    let (first, second) = (Site::new(), Site::new());
    assert_eq!(add_site(&app, &first.location(), true).await.status(), 200);

    let response = app
        .post_form(
            "/sources",
            &[
                ("name", "copy"),
                ("kind", "frappe"),
                ("location", &second.location()),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "location").expect("a message beside the location");
    assert!(message.contains("dokos"), "{message}");
    let list = app.get_text("/sources").await;
    assert_eq!(
        list.matches("<tr id=\"source-").count(),
        1,
        "only the first is kept"
    );
}

#[tokio::test]
async fn wrong_credentials_are_a_warning_on_save() {
    let app = TestApp::spawn_logged_in().await;
    let site = Site::new();
    site.write_config(&serde_json::json!({
        "db_name": site.db_name,
        "db_password": "not the password",
    }));

    let response = add_site(&app, &site.location(), true).await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("Testing it failed"), "{html}");
    assert!(html.contains("refused"), "{html}");
}

#[tokio::test]
async fn typing_a_bench_folder_offers_its_sites() {
    let app = TestApp::spawn_logged_in().await;
    let site = Site::new();
    let bench = site.bench().display().to_string();

    let offered: Vec<String> = app
        .get(&format!("/sources/sites?bench={}", urlencode(&bench)))
        .await
        .json()
        .await
        .expect("JSON");

    assert_eq!(offered, [site.location()]);
    let page = app.get_text("/sources").await;
    assert!(page.contains("list=\"site-folders\""), "{page}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'/' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_backups_page_gives_the_bench_restore_command() {
    let site = Site::new();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let source =
        SourceSpec::parse("dokos", SourceKind::Frappe, &site.location()).expect("a site source");
    let outcome = run_backup(
        &Job {
            target: s3.target(&bucket, "erp"),
            sources: vec![source],
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("the backup succeeds");
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let folder = outcome.folder.trim_start_matches("erp/");

    let page = app.get_text(&format!("/restore/{folder}")).await;

    let stem = format!(
        "{}-erp_example_com",
        outcome.started_at.format("%Y%m%d_%H%M%S")
    );
    let command = format!(
        "bench --site {SITE} restore {stem}-database.sql.gz --with-public-files {stem}-files.tar --with-private-files {stem}-private-files.tar"
    );
    assert!(page.contains(&command), "{page}");
    assert_eq!(
        page.matches("class=\"restore-form\"").count(),
        1,
        "one form restores the whole site"
    );
    let downloaded = app
        .get(&format!(
            "/restore/{folder}/objects/{stem}-database.sql.gz?form=plain"
        ))
        .await
        .bytes()
        .await
        .expect("the dump");
    assert_eq!(
        &downloaded[..2],
        &[0x1f, 0x8b],
        "handed over as bench takes it"
    );
}

#[tokio::test]
async fn a_site_restored_from_its_page_gets_a_new_folder_and_database() {
    let site = Site::new();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let added = add_site(&app, &site.location(), true).await;
    assert_eq!(added.status(), 200);
    let response = app.post_form("/backups/run", &[]).await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let catalogue = app.get_text("/restore").await;
    let folder: String = catalogue
        .split("href=\"/restore/")
        .nth(1)
        .expect("a backup in the catalogue")
        .chars()
        .take_while(|c| *c != '"')
        .collect();

    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "dokos"), ("mode", "new")],
        )
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let restored: Vec<String> = site
        .databases
        .all()
        .into_iter()
        .filter(|name| name.contains("_restored_"))
        .collect();
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!(
        site.fingerprint(&restored[0]),
        site.fingerprint(&site.db_name)
    );
    let sites = site.folder.parent().expect("the sites folder");
    let folder = std::fs::read_dir(sites)
        .expect("the sites")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().contains(".restored-"))
        .expect("a new site folder");
    assert!(crate::common::frappe_site::same_tree(
        &site.public_files(),
        &folder.join("public/files")
    ));
}
