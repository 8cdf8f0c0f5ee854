use crate::common::{TestApp, field_error};

/// The id of the first source listed, from its edit link.
async fn first_source_id(app: &TestApp) -> String {
    let list = app.get_text("/sources").await;
    let start = list.find("href=\"/sources/").expect("edit link") + "href=\"/sources/".len();
    list[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[tokio::test]
async fn sources_are_added_listed_edited_and_removed() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let files = dir.path().to_str().expect("utf-8 path");
    let added = app
        .post_form(
            "/sources",
            &[
                ("name", "public-files"),
                ("kind", "directory"),
                ("location", files),
            ],
        )
        .await;
    assert_eq!(added.status(), 200);
    let html = added.text().await.expect("body");
    assert!(html.contains("Source added."));
    assert!(html.contains("public-files"));
    assert!(html.contains(files));

    let duplicate = app
        .post_form(
            "/sources",
            &[
                ("name", "public-files"),
                ("kind", "directory"),
                ("location", files),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    let html = duplicate.text().await.expect("body");
    assert!(field_error(&html, "name").is_some_and(|m| m.contains("already exists")));

    let id = first_source_id(&app).await;
    let edited = app
        .post_form(
            &format!("/sources/{id}"),
            &[
                ("name", "files"),
                ("kind", "directory"),
                ("location", files),
            ],
        )
        .await;
    assert_eq!(edited.status(), 200);
    assert!(edited.text().await.expect("body").contains("Source saved."));

    let removed = app.post_form(&format!("/sources/{id}/delete"), &[]).await;
    assert_eq!(removed.status(), 200);
    let html = removed.text().await.expect("body");
    assert!(html.contains("Source removed."));
    assert!(!html.contains(files));
    let changes = &html[html.find("Latest changes").expect("changes section")..];
    assert!(changes.contains("source public-files added"));
    assert!(changes.contains("source files removed"));
}

#[tokio::test]
async fn bad_locations_are_explained() {
    let app = TestApp::spawn_logged_in().await;
    for (kind, location) in [
        ("directory", "/no/such/directory/here"),
        ("sqlite", "/no/such/file.sqlite3"),
        ("postgres", "mysql://root@localhost/app"),
        ("mysql", "not a url"),
    ] {
        let r = app
            .post_form(
                "/sources",
                &[("name", "db"), ("kind", kind), ("location", location)],
            )
            .await;
        assert_eq!(r.status(), 422, "{kind} {location}");
        let html = r.text().await.expect("body");
        assert!(
            field_error(&html, "location").is_some(),
            "{kind} {location}"
        );
        assert!(html.contains(location), "input kept");
    }
    let r = app
        .post_form(
            "/sources",
            &[
                ("name", "Bad Name!"),
                ("kind", "directory"),
                ("location", "/tmp"),
            ],
        )
        .await;
    assert!(field_error(&r.text().await.expect("body"), "name").is_some());
}

#[tokio::test]
async fn a_connection_password_is_masked_and_sealed() {
    let app = TestApp::spawn_logged_in().await;
    let secret = "pg-Secret-Pass-777";
    let url = format!("postgres://backup:{secret}@db.example.com:5432/erp");
    let r = app
        .post_form(
            "/sources",
            &[("name", "erp"), ("kind", "postgres"), ("location", &url)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    assert!(!html.contains(secret));
    assert!(html.contains("postgres://backup:***@db.example.com:5432/erp"));
    let db = app.database_bytes();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    // Editing with the mask left in place keeps the stored password.
    let id = first_source_id(&app).await;
    let edit = app.get_text(&format!("/sources/{id}")).await;
    assert!(!edit.contains(secret));
    assert!(edit.contains("A password is stored"));
}

#[tokio::test]
async fn a_stored_password_is_not_sent_to_a_new_server() {
    let app = TestApp::spawn_logged_in().await;
    let url = "postgres://backup:pg-Secret-9@db.example.com:5432/erp";
    app.post_form(
        "/sources",
        &[("name", "erp"), ("kind", "postgres"), ("location", url)],
    )
    .await;
    let id = first_source_id(&app).await;
    let moved = app
        .post_form(
            &format!("/sources/{id}"),
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                (
                    "location",
                    "postgres://backup:***@attacker.example.com:5432/erp",
                ),
            ],
        )
        .await;
    assert_eq!(moved.status(), 422);
    let html = moved.text().await.expect("body");
    assert!(field_error(&html, "location").is_some_and(|m| m.contains("again")));
    // The same server with the mask keeps the password.
    let same = app
        .post_form(
            &format!("/sources/{id}"),
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                ("location", "postgres://backup:***@db.example.com:5432/erp"),
            ],
        )
        .await;
    assert_eq!(same.status(), 200);
    assert!(
        app.get_text(&format!("/sources/{id}"))
            .await
            .contains("A password is stored")
    );
}

#[tokio::test]
async fn a_typed_database_password_is_never_echoed_back() {
    let app = TestApp::spawn_logged_in().await;
    let typed = "postgresql://erp:Typed-Pw-4242@127.0.0.1:5432/erp";
    let refused = app
        .post_form(
            "/sources",
            &[
                ("name", "bad name!"),
                ("kind", "postgres"),
                ("location", typed),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("body");
    assert!(!html.contains("Typed-Pw-4242"), "the password came back");
    assert!(
        html.contains("postgresql://erp:***@127.0.0.1:5432/erp"),
        "{html}"
    );

    // Sent back as shown, the mask is not taken for a password.
    let again = app
        .post_form(
            "/sources",
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                ("location", "postgresql://erp:***@127.0.0.1:5432/erp"),
            ],
        )
        .await;
    assert_eq!(again.status(), 422);
    let html = again.text().await.expect("body");
    assert!(html.contains("replace *** with the password"), "{html}");
}

#[tokio::test]
async fn a_stored_password_does_not_follow_a_query_that_moves_the_connection() {
    let app = TestApp::spawn_logged_in().await;
    let url = "postgresql://backup:pg-Secret-9@127.0.0.1:5432/erp";
    app.post_form(
        "/sources",
        &[("name", "erp"), ("kind", "postgres"), ("location", url)],
    )
    .await;
    let id = first_source_id(&app).await;
    for (moved, option) in [
        (
            "postgresql://backup:***@127.0.0.1:5432/erp?port=18933",
            "“port”",
        ),
        (
            "postgresql://backup:***@127.0.0.1:5432/erp?host=attacker.example.com",
            "“host”",
        ),
        (
            "postgresql://backup:***@127.0.0.1:5432/erp?hostaddr=10.0.0.9",
            "“hostaddr”",
        ),
        (
            "postgresql://backup:***@127.0.0.1:5432/erp?host=/tmp",
            "again",
        ),
    ] {
        let response = app
            .post_form(
                &format!("/sources/{id}"),
                &[("name", "erp"), ("kind", "postgres"), ("location", moved)],
            )
            .await;
        assert_eq!(response.status(), 422, "{moved}");
        let html = response.text().await.expect("body");
        assert!(
            field_error(&html, "location").is_some_and(|m| m.contains(option)),
            "{moved}: {html}"
        );
    }
}

#[tokio::test]
async fn a_database_name_a_dump_tool_would_take_for_an_option_is_refused() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/sources",
            &[
                ("name", "crm"),
                ("kind", "mysql"),
                (
                    "location",
                    "mysql://root@localhost/--result-file%3D%2Ftmp%2Fx.sql",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert!(
        field_error(&html, "location").is_some_and(|m| m.contains("cannot start with")),
        "{html}"
    );
    assert!(
        !app.get_text("/sources").await.contains("result-file"),
        "not saved"
    );
}

#[tokio::test]
async fn a_stored_database_password_never_reaches_a_port_named_in_the_query() {
    use crate::common::databases::{Databases, Server};
    use crate::common::fake_postgres::FakePostgres;
    use crate::common::s3::TestS3;
    let impostor = FakePostgres::start().await;
    let databases = Databases::new(Server::Postgres);
    let database = databases.create_source();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let url = format!("postgresql://postgres:Stored-Pw-31@127.0.0.1:5432/{database}");
    app.post_form(
        "/sources",
        &[("name", "erp"), ("kind", "postgres"), ("location", &url)],
    )
    .await;
    let id = first_source_id(&app).await;
    let port = impostor.port.to_string();

    // The URL kept, its password masked, the connection moved by a query option.
    let moved = format!("postgresql://postgres:***@127.0.0.1:5432/{database}?port={port}");
    let response = app
        .post_form(
            &format!("/sources/{id}"),
            &[("name", "erp"), ("kind", "postgres"), ("location", &moved)],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let why = field_error(&html, "location").unwrap_or_default();
    assert!(
        why.contains("port") && why.contains("not accepted"),
        "{why}"
    );

    // A backup still goes to the server the password was typed for.
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    // A restore "elsewhere" to the same server, moved by the query, is refused too.
    let keys = s3.keys(&bucket, "erp/").await;
    let folder = keys
        .iter()
        .find_map(|key| key.strip_suffix("/manifest.json"))
        .and_then(|folder| folder.strip_prefix("erp/"))
        .expect("a backup folder")
        .to_owned();
    let to = format!("postgresql://postgres@127.0.0.1:5432/{database}_copy?port={port}");
    let page = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "erp"), ("mode", "elsewhere"), ("to", &to)],
        )
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("not accepted in the URL"), "{page}");

    assert_eq!(
        impostor.connections(),
        0,
        "nothing connected to the impostor"
    );
    assert!(impostor.passwords().is_empty());
}

#[tokio::test]
async fn a_password_copied_into_another_source_does_not_open_there() {
    let s3 = crate::common::s3::TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    for (name, url) in [
        ("erp", "postgresql://erp:Erp-Pw-1@db.example.com:5432/erp"),
        (
            "crm",
            "postgresql://crm:Crm-Pw-2@other.example.com:5432/crm",
        ),
    ] {
        let added = app
            .post_form(
                "/sources",
                &[("name", name), ("kind", "postgres"), ("location", url)],
            )
            .await;
        assert_eq!(added.status(), 200);
    }
    // Someone with write access to the database copies erp's sealed password into crm.
    let pool = app.pool().await;
    sqlx::query(
        "UPDATE sources SET password = (SELECT password FROM sources WHERE name = 'erp')
         WHERE name = 'crm'",
    )
    .execute(&pool)
    .await
    .expect("copied");

    let page = app
        .post_form("/backups/run", &[])
        .await
        .text()
        .await
        .expect("page");

    assert!(page.contains("The backup cannot start."), "{page}");
    assert!(page.contains("does not open"), "{page}");
    let history = app.get_text("/backups").await;
    assert!(!history.contains("status-running"), "no run started");
}

#[tokio::test]
async fn a_typed_password_is_kept_out_of_the_page_and_saved_once_the_form_is_corrected() {
    use crate::common::fake_postgres::FakePostgres;
    use crate::common::input_value;
    let server = FakePostgres::start().await;
    let s3 = crate::common::s3::TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let typed = format!(
        "postgresql://erp:Typed-Pw-4242@127.0.0.1:{}/erp",
        server.port
    );

    let refused = app
        .post_form(
            "/sources",
            &[
                ("name", "bad name!"),
                ("kind", "postgres"),
                ("location", &typed),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("body");
    assert!(!html.contains("Typed-Pw-4242"), "the password came back");
    let shown = input_value(&html, "location").expect("the location field");
    assert_eq!(
        shown,
        format!("postgresql://erp:***@127.0.0.1:{}/erp", server.port)
    );
    let pending = input_value(&html, "pending_password").expect("the password kept apart");
    assert!(html.contains("The password you typed is kept"), "{html}");

    // The name corrected, the rest sent back as the page showed it.
    let saved = app
        .post_form(
            "/sources",
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                ("location", &shown),
                ("pending_password", &pending),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    assert!(saved.text().await.expect("body").contains("Source added."));

    // The backup sends the password typed first to the server it was typed for.
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    app.wait_until_done(&run_page).await;
    assert!(
        server.passwords().iter().any(|p| p == "Typed-Pw-4242"),
        "{:?}",
        server.passwords()
    );
}

#[tokio::test]
async fn a_kept_password_does_not_follow_a_changed_url() {
    use crate::common::input_value;
    let app = TestApp::spawn_logged_in().await;
    let refused = app
        .post_form(
            "/sources",
            &[
                ("name", "bad name!"),
                ("kind", "postgres"),
                (
                    "location",
                    "postgresql://erp:Typed-Pw-4242@db.example.com/erp",
                ),
            ],
        )
        .await;
    let html = refused.text().await.expect("body");
    let pending = input_value(&html, "pending_password").expect("the password kept apart");

    let moved = app
        .post_form(
            "/sources",
            &[
                ("name", "erp"),
                ("kind", "postgres"),
                ("location", "postgresql://erp:***@attacker.example.com/erp"),
                ("pending_password", &pending),
            ],
        )
        .await;

    assert_eq!(moved.status(), 422);
    let html = moved.text().await.expect("body");
    assert!(html.contains("replace *** with the password"), "{html}");
}

#[tokio::test]
async fn a_directory_holding_the_data_directory_is_refused() {
    let app = TestApp::spawn_logged_in().await;
    let data_dir = app.data_dir().to_owned();
    for holder in [
        data_dir.clone(),
        data_dir.parent().expect("a parent").to_owned(),
    ] {
        let location = holder.display().to_string();
        let response = app
            .post_form(
                "/sources",
                &[
                    ("name", "all"),
                    ("kind", "directory"),
                    ("location", &location),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{location}");
        let html = response.text().await.expect("body");
        assert!(
            field_error(&html, "location").is_some_and(|m| m.contains("the key that decrypts")),
            "{location}: {html}"
        );
    }
}

#[tokio::test]
async fn a_source_saved_holding_the_data_directory_backs_up_without_it() {
    let s3 = crate::common::s3::TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let holder = app.data_dir().parent().expect("a parent").to_owned();
    std::fs::write(holder.join("notes.txt"), "kept").expect("write");
    // Saved before such a source was refused: the row is written as it was then.
    sqlx::query(
        "INSERT INTO sources (name, kind, location, created_at)
         VALUES ('all', 'directory', ?1, ?2)",
    )
    .bind(holder.to_str().expect("utf-8"))
    .bind(chrono::Utc::now())
    .execute(&app.pool().await)
    .await
    .expect("inserted");

    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    app.wait_until_done(&run_page).await;

    let keys = s3.keys(&bucket, "").await;
    let object = keys
        .iter()
        .find(|k| k.ends_with("/all.tar.zst"))
        .unwrap_or_else(|| panic!("the directory is backed up: {keys:?}"));
    let work = tempfile::tempdir().expect("dir");
    let archive = work.path().join("all.tar.zst");
    std::fs::write(&archive, s3.get(&bucket, object).await.expect("download")).expect("write");
    let listing = std::process::Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$1\" | tar -t")
        .arg("sh")
        .arg(&archive)
        .output()
        .expect("zstd and tar are installed");
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let entries: Vec<&str> = listing.lines().collect();
    assert!(entries.contains(&"notes.txt"), "{entries:?}");
    assert!(
        !entries.iter().any(|entry| entry.starts_with("data")),
        "{entries:?}"
    );
    let run = app.get_text(&run_page).await;
    assert!(
        run.contains(&app.data_dir().display().to_string()) && run.contains("data directory"),
        "{run}"
    );
}
