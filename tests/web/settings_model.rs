//! The settings as one model: the seed's manual mode, fields a frequency does not use, error
//! summaries that name their fields, and saves that never fail under concurrency.

use crate::common::{TestApp, csrf_in, field_error, input_value};

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("enabled", "on"),
        ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        (
            "secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("notify_email", "ops@example.com"),
        ("bucket", "acme-backups"),
        ("endpoint_url", "https://s3.fr-par.scw.cloud"),
        ("region", "fr-par"),
        ("backup_path", "erp"),
        ("timezone", "Europe/Paris"),
        ("backup_files", "on"),
        ("backup_limit", "7"),
    ]
}

fn with(
    mut form: Vec<(&'static str, &'static str)>,
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    for (name, value) in extra {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form
}

#[tokio::test]
async fn the_seeds_manual_mode_saves_and_schedules_nothing() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form("/settings", &with(base(), &[("frequency", "none")]))
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("role=\"status\">Saved."), "{html}");
    assert!(html.contains("checked"), "automatic backup stays on");
    assert!(
        html.contains("No automatic backup is planned."),
        "nothing is scheduled: {html}"
    );
}

#[tokio::test]
async fn a_daily_schedule_saves_without_the_fields_it_does_not_use() {
    let app = TestApp::spawn_logged_in().await;
    let weekly = app
        .post_form(
            "/settings",
            &with(
                base(),
                &[
                    ("frequency", "weekly"),
                    ("backup_time", "03:15"),
                    ("backup_weekday", "saturday"),
                    ("backup_monthday", "12"),
                ],
            ),
        )
        .await;
    assert_eq!(weekly.status(), 200);

    // Only what a daily schedule reads: no weekday, day of month or cron at all.
    let daily = app
        .post_form(
            "/settings",
            &with(base(), &[("frequency", "daily"), ("backup_time", "04:45")]),
        )
        .await;
    assert_eq!(daily.status(), 200);
    let html = daily.text().await.expect("body");
    assert!(html.contains("role=\"status\">Saved."), "{html}");
    assert_eq!(input_value(&html, "backup_time").as_deref(), Some("04:45"));
    assert_eq!(
        input_value(&html, "backup_monthday").as_deref(),
        Some("12"),
        "a field the frequency does not use keeps its stored value"
    );
    assert!(
        html.contains("value=\"saturday\" selected"),
        "the weekday is kept too"
    );

    // A field the frequency does use is still required.
    let missing_time = app
        .post_form(
            "/settings",
            &with(base(), &[("frequency", "daily"), ("backup_time", "")]),
        )
        .await;
    assert_eq!(missing_time.status(), 422);
    let html = missing_time.text().await.expect("body");
    assert!(field_error(&html, "backup_time").is_some());
    assert!(field_error(&html, "backup_weekday").is_none());
    assert!(field_error(&html, "cron").is_none());
}

/// The lines of the error summary.
fn summary(html: &str) -> Vec<String> {
    let start = html
        .find("class=\"error-summary\"")
        .expect("an error summary");
    let end = html[start..].find("</ul>").expect("summary ends") + start;
    html[start..end]
        .split("<li>")
        .skip(1)
        .map(|item| {
            let text = item.split('>').nth(1).unwrap_or_default();
            text.split('<').next().unwrap_or_default().trim().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_line_of_the_error_summary_names_its_field() {
    let app = TestApp::spawn_logged_in().await;
    let response = app
        .post_form(
            "/settings",
            &with(
                base(),
                &[
                    ("bucket", "Backups"),
                    ("frequency", "daily"),
                    ("backup_time", "25:00"),
                    ("notify_email", ""),
                ],
            ),
        )
        .await;
    assert_eq!(response.status(), 422);
    let lines = summary(&response.text().await.expect("body"));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("Bucket name: ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Time of day: ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Send notifications to")),
        "{lines:?}"
    );

    let french = app
        .post_form(
            "/settings?lang=fr",
            &with(base(), &[("bucket", "Backups"), ("frequency", "none")]),
        )
        .await;
    let lines = summary(&french.text().await.expect("body"));
    assert!(
        lines.iter().any(|l| l.starts_with("Nom du bucket : ")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn concurrent_saves_of_every_form_never_fail_and_the_last_wins() {
    let app = TestApp::spawn_logged_in().await;
    let dir = tempfile::tempdir().expect("dir");
    let token = csrf_in(&app.get_text("/settings").await);
    let buckets: Vec<String> = (0..6).map(|n| format!("bucket-{n}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (tab, bucket) in buckets.iter().enumerate() {
        let client = app.client.clone();
        let base_url = app.url("");
        let token = token.clone();
        let bucket = bucket.clone();
        let files = dir.path().join(format!("files-{tab}"));
        std::fs::create_dir(&files).expect("mkdir");
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..4 {
                let mut settings: Vec<(String, String)> = with(base(), &[("frequency", "none")])
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                settings.retain(|(n, _)| n != "bucket");
                settings.push(("bucket".into(), bucket.clone()));
                settings.push(("csrf_token".into(), token.clone()));
                let account = vec![
                    ("csrf_token".to_owned(), token.clone()),
                    ("smtp_host".into(), format!("smtp{tab}.example.com")),
                    ("smtp_port".into(), "587".into()),
                    ("smtp_security".into(), "starttls".into()),
                    ("smtp_username".into(), String::new()),
                    ("smtp_password".into(), String::new()),
                    ("sender".into(), "backup@example.com".into()),
                ];
                let source = vec![
                    ("csrf_token".to_owned(), token.clone()),
                    ("name".into(), format!("files-{tab}-{round}")),
                    ("kind".into(), "directory".into()),
                    ("location".into(), files.display().to_string()),
                ];
                for (path, form) in [
                    ("settings", &settings),
                    ("email-account", &account),
                    ("sources", &source),
                ] {
                    let response = client
                        .post(format!("{base_url}/{path}"))
                        .form(form)
                        .send()
                        .await
                        .expect("POST");
                    statuses.push((path, response.status().as_u16()));
                }
            }
            statuses
        });
    }
    let mut answers = 0;
    while let Some(done) = tasks.join_next().await {
        for (path, status) in done.expect("task") {
            answers += 1;
            assert!(status < 500, "{path} answered {status}");
            assert_eq!(status, 200, "{path} saved");
        }
    }
    assert_eq!(answers, 6 * 4 * 3);
    let html = app.get_text("/settings").await;
    let stored = input_value(&html, "bucket").expect("bucket shown");
    assert!(buckets.contains(&stored), "{stored}");
    let sources = app.get_text("/sources").await;
    for tab in 0..6 {
        for round in 0..4 {
            assert!(
                sources.contains(&format!("files-{tab}-{round}")),
                "every source was added"
            );
        }
    }

    // The last save wins.
    let last = app
        .post_form(
            "/settings",
            &with(base(), &[("frequency", "none"), ("bucket", "the-last-one")]),
        )
        .await;
    assert_eq!(last.status(), 200);
    let html = app.get_text("/settings").await;
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("the-last-one")
    );
}
