use crate::common::{TestApp, field_error, input_value};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY";

fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("enabled", "on"),
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        ("secret_access_key", SECRET),
        ("notify_email", "ops@example.com, boss@example.org"),
        ("bucket", "acme-backups"),
        ("endpoint_url", "https://s3.fr-par.scw.cloud"),
        ("region", "fr-par"),
        ("path_style", "on"),
        ("backup_path", "erp/prod"),
        ("frequency", "daily"),
        ("backup_time", "02:30"),
        ("backup_weekday", "sunday"),
        ("backup_monthday", "1"),
        ("cron", ""),
        ("timezone", "Europe/Paris"),
        ("backup_files", "on"),
        ("backup_limit", "14"),
    ]
}

fn with(
    mut form: Vec<(&'static str, &'static str)>,
    name: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    form.retain(|(n, _)| *n != name);
    form.push((name, value));
    form
}

#[tokio::test]
async fn valid_settings_are_saved_confirmed_and_shown() {
    let app = TestApp::spawn_logged_in().await;
    let response = app.post_form("/settings", &valid_form()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/settings");
    let html = response.text().await.expect("body");
    assert!(html.contains("Saved."));
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("acme-backups")
    );
    assert_eq!(input_value(&html, "region").as_deref(), Some("fr-par"));
    assert_eq!(input_value(&html, "backup_limit").as_deref(), Some("14"));
    assert!(html.contains("A secret access key is stored"));
}

#[tokio::test]
async fn a_bad_bucket_name_shows_its_message_and_keeps_the_rest() {
    let app = TestApp::spawn_logged_in().await;
    let form = with(valid_form(), "bucket", "Acme_Backups");
    let response = app.post_form("/settings", &form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "bucket").expect("message beside the bucket");
    assert!(
        message.contains("Uppercase letters are not allowed"),
        "{message}"
    );
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("Acme_Backups")
    );
    assert_eq!(
        input_value(&html, "access_key_id").as_deref(),
        Some("AKIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(
        input_value(&html, "backup_path").as_deref(),
        Some("erp/prod")
    );
    assert_eq!(
        input_value(&html, "timezone").as_deref(),
        Some("Europe/Paris")
    );
    assert!(html.contains("ops@example.com, boss@example.org"));
    assert!(!html.contains(SECRET), "the secret is never sent back");
    // Nothing was saved.
    let stored = app.get_text("/settings").await;
    assert_eq!(input_value(&stored, "bucket").as_deref(), Some(""));
}

#[tokio::test]
async fn each_bad_field_gets_a_message() {
    let app = TestApp::spawn_logged_in().await;
    let mut form = valid_form();
    for (name, value) in [
        ("notify_email", "ops@example.com, not-an-address"),
        ("endpoint_url", "s3.fr-par.scw.cloud"),
        ("region", "EU West"),
        ("backup_time", "25:99"),
        ("timezone", "Mars/Olympus"),
        ("backup_limit", "-3"),
        ("frequency", "cron"),
        ("cron", "every day"),
    ] {
        form = with(form, name, value);
    }
    let response = app.post_form("/settings", &form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    for name in [
        "notify_email",
        "endpoint_url",
        "region",
        "backup_time",
        "timezone",
        "backup_limit",
        "cron",
    ] {
        assert!(field_error(&html, name).is_some(), "no message for {name}");
    }
    assert!(html.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn enabling_requires_the_essentials() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form("/settings", &[("enabled", "on"), ("frequency", "none")])
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert!(
        field_error(&html, "frequency").is_none(),
        "manual backups only is a valid choice"
    );
    for name in [
        "access_key_id",
        "secret_access_key",
        "notify_email",
        "bucket",
    ] {
        assert!(
            field_error(&html, name).is_some(),
            "{name} should be required"
        );
    }
    // Switched off, the same blanks save.
    let off: Vec<_> = valid_form()
        .into_iter()
        .filter(|(n, _)| {
            !matches!(
                *n,
                "enabled" | "access_key_id" | "secret_access_key" | "notify_email" | "bucket"
            )
        })
        .collect();
    let off = app
        .post_form("/settings", &with(off, "frequency", "none"))
        .await;
    assert_eq!(off.status(), 200);
}

#[tokio::test]
async fn the_secret_is_write_only_and_never_stored_in_clear() {
    let app = TestApp::spawn_logged_in().await;
    let saved = app.post_form("/settings", &valid_form()).await;
    assert!(!saved.text().await.expect("body").contains(SECRET));

    // Blank keeps the stored secret: enabled settings still save without retyping it.
    let kept = app
        .post_form("/settings", &with(valid_form(), "secret_access_key", ""))
        .await;
    assert_eq!(kept.status(), 200);
    let html = kept.text().await.expect("body");
    assert!(html.contains("A secret access key is stored"));
    assert!(!html.contains(SECRET));
    assert_eq!(input_value(&html, "secret_access_key").as_deref(), Some(""));

    let db = app.database_bytes();
    assert!(
        !db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "secret in clear in the database"
    );

    // Remove deletes it; with automatic backup on, that is then an error.
    let removed = app
        .post_form(
            "/settings",
            &with(
                with(valid_form(), "secret_access_key", ""),
                "remove_secret",
                "on",
            ),
        )
        .await;
    assert_eq!(removed.status(), 422);
    let off = with(
        with(
            with(valid_form(), "secret_access_key", ""),
            "remove_secret",
            "on",
        ),
        "enabled",
        "",
    );
    let off: Vec<_> = off.into_iter().filter(|(n, _)| *n != "enabled").collect();
    let removed = app.post_form("/settings", &off).await;
    assert_eq!(removed.status(), 200);
    assert!(
        removed
            .text()
            .await
            .expect("body")
            .contains("No secret access key is stored")
    );
}

#[tokio::test]
async fn settings_survive_a_restart() {
    let mut app = TestApp::spawn_logged_in().await;
    app.post_form("/settings", &valid_form()).await;
    app.restart().await;
    let html = app.get_text("/settings").await;
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("acme-backups")
    );
    assert_eq!(
        input_value(&html, "endpoint_url").as_deref(),
        Some("https://s3.fr-par.scw.cloud")
    );
    assert!(html.contains("A secret access key is stored"));
}

#[tokio::test]
async fn saved_changes_are_listed_without_values() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form("/settings", &valid_form()).await;
    let html = app
        .post_form(
            "/settings",
            &with(
                with(valid_form(), "bucket", "other-bucket"),
                "secret_access_key",
                "",
            ),
        )
        .await
        .text()
        .await
        .expect("body");
    let changes = &html[html.find("Latest changes").expect("changes section")..];
    assert!(changes.contains("admin"));
    assert!(
        changes.contains("Bucket name"),
        "fields are named by their labels"
    );
    assert!(changes.contains("Secret access key"));
    assert!(
        !changes.contains("secret_access_key"),
        "not by their column names"
    );
    assert!(!changes.contains("other-bucket"));
    assert!(!changes.contains(SECRET));
}

/// The scratch server stored in the app's database, opened with its master key.
async fn stored_scratch_server(app: &TestApp) -> String {
    use s3_backup::crypto::{MasterKey, Slot, purpose};
    let key = MasterKey::load_or_create(&app.data_dir().join("master.key")).expect("the key");
    let sealed =
        sqlx::query_scalar::<_, Vec<u8>>("SELECT scratch_server FROM settings WHERE id = 1")
            .fetch_one(&app.pool().await)
            .await
            .expect("a scratch server is stored");
    key.open(&Slot::single(purpose::SCRATCH_SERVER), &sealed)
        .expect("it opens")
}

/// `valid_form()` with a scratch server and the fields of `extra` in place of their own.
fn with_scratch<'a>(scratch: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = valid_form()
        .into_iter()
        .filter(|(name, _)| !extra.iter().any(|(other, _)| other == name))
        .collect();
    form.push(("scratch_server", scratch));
    form.extend_from_slice(extra);
    form
}

#[tokio::test]
async fn a_typed_scratch_server_password_is_kept_out_of_the_page_and_saved_once_corrected() {
    let app = TestApp::spawn_logged_in().await;
    let typed = "postgresql://verify:Scratch-Pw-9191@db.example.com:5432/postgres";

    let refused = app
        .post_form(
            "/settings",
            &with_scratch(typed, &[("bucket", "Acme_Backups")]),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("body");
    assert!(!html.contains("Scratch-Pw-9191"), "the password came back");
    let shown = input_value(&html, "scratch_server").expect("the scratch server field");
    assert_eq!(
        shown,
        "postgresql://verify:***@db.example.com:5432/postgres"
    );
    let pending = input_value(&html, "pending_password").expect("the password kept apart");
    assert!(html.contains("The password you typed is kept"), "{html}");

    // The bucket corrected, the rest sent back as the page showed it.
    let saved = app
        .post_form(
            "/settings",
            &with_scratch(&shown, &[("pending_password", &pending)]),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let html = saved.text().await.expect("body");
    assert!(html.contains("Saved."), "{html}");
    assert!(!html.contains("Scratch-Pw-9191"));
    assert_eq!(stored_scratch_server(&app).await, typed);
}

#[tokio::test]
async fn a_kept_scratch_server_password_does_not_follow_a_changed_url() {
    let app = TestApp::spawn_logged_in().await;
    let typed = "postgresql://verify:Scratch-Pw-9191@db.example.com:5432/postgres";
    let refused = app
        .post_form(
            "/settings",
            &with_scratch(typed, &[("bucket", "Acme_Backups")]),
        )
        .await;
    let html = refused.text().await.expect("body");
    let pending = input_value(&html, "pending_password").expect("the password kept apart");

    let moved = app
        .post_form(
            "/settings",
            &with_scratch(
                "postgresql://verify:***@attacker.example.com:5432/postgres",
                &[("pending_password", &pending)],
            ),
        )
        .await;

    assert_eq!(moved.status(), 422);
    let html = moved.text().await.expect("body");
    assert!(
        field_error(&html, "scratch_server").is_some_and(|m| m.contains("replace *** with")),
        "{html}"
    );
    let stored = sqlx::query_scalar::<_, Option<Vec<u8>>>(
        "SELECT scratch_server FROM settings WHERE id = 1",
    )
    .fetch_one(&app.pool().await)
    .await
    .expect("the settings row");
    assert!(stored.is_none(), "nothing saved");
}
