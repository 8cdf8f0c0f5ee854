//! The Object Lock field of the settings form, checked against the bucket when it is
//! saved, and the bucket's posture shown by "Test connection".

use crate::common::moto::{self, Moto};
use crate::common::{TestApp, field_error, input_value};

/// The settings form for `bucket` at `endpoint`, with `extra` fields added or replaced.
fn form(endpoint: &str, bucket: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let form: Vec<(String, String)> = [
        ("access_key_id", moto::ACCESS_KEY),
        ("secret_access_key", moto::SECRET_KEY),
        ("notify_email", "ops@example.com"),
        ("bucket", bucket),
        ("endpoint_url", endpoint),
        ("region", moto::REGION),
        ("path_style", "on"),
        ("backup_path", "erp"),
        ("storage_class", "STANDARD_IA"),
        ("frequency", "none"),
        ("timezone", "UTC"),
        ("backup_limit", "7"),
        ("object_lock_days", ""),
        ("object_lock_mode", "governance"),
    ]
    .into_iter()
    .filter(|(name, _)| !extra.iter().any(|(other, _)| other == name))
    .chain(extra.iter().copied())
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    form
}

async fn post(app: &TestApp, path: &str, form: &[(String, String)]) -> (u16, String) {
    let fields: Vec<(&str, &str)> = form
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let response = app.post_form(path, &fields).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn endpoint(moto: &Moto) -> String {
    moto.endpoint.as_str().trim_end_matches('/').to_owned()
}

fn selected(html: &str, name: &str, value: &str) -> bool {
    let Some(start) = html.find(&format!("name=\"{name}\"")) else {
        return false;
    };
    let end = html[start..]
        .find("</select>")
        .map_or(html.len(), |end| start + end);
    html[start..end].contains(&format!("<option value=\"{value}\" selected>"))
}

/// The lines of the bucket's posture in the "Test connection" answer.
fn posture(html: &str) -> Vec<String> {
    let start = html
        .find("id=\"bucket-posture\"")
        .unwrap_or_else(|| panic!("the answer shows the posture: {html}"));
    let end = html[start..].find("</ul>").expect("the list ends") + start;
    html[start..end]
        .split("<li")
        .skip(1)
        .map(|item| {
            let text = item.split_once('>').map_or("", |(_, text)| text);
            text.split("</li>")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_lock_on_a_locked_bucket_is_saved_and_shown() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    let app = TestApp::spawn_logged_in().await;

    let (status, html) = post(
        &app,
        "/settings",
        &form(
            &endpoint(&moto),
            &bucket,
            &[
                ("object_lock_days", "30"),
                ("object_lock_mode", "compliance"),
            ],
        ),
    )
    .await;

    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Saved."), "{html}");
    let stored = app.get_text("/settings").await;
    assert_eq!(
        input_value(&stored, "object_lock_days").as_deref(),
        Some("30")
    );
    assert!(selected(&stored, "object_lock_mode", "compliance"));
    assert!(stored.contains("Keep each backup immutable (days)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_lock_on_a_bucket_without_it_is_refused_beside_the_field_and_nothing_is_lost() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;

    let (status, html) = post(
        &app,
        "/settings",
        &form(
            &endpoint(&moto),
            &bucket,
            &[
                ("object_lock_days", "30"),
                ("object_lock_mode", "compliance"),
            ],
        ),
    )
    .await;

    assert_eq!(status, 422, "{html}");
    let message = field_error(&html, "object_lock_days").expect("a message beside the field");
    assert!(
        message.contains(&bucket) && message.contains("does not have Object Lock enabled"),
        "{message}"
    );
    assert_eq!(
        input_value(&html, "object_lock_days").as_deref(),
        Some("30")
    );
    assert!(selected(&html, "object_lock_mode", "compliance"));
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some(bucket.as_str())
    );
    assert_eq!(
        input_value(&html, "storage_class").as_deref(),
        Some("STANDARD_IA")
    );
    // Nothing was saved; without Object Lock the same form saves.
    let stored = app.get_text("/settings").await;
    assert_eq!(input_value(&stored, "bucket").as_deref(), Some(""));
    let (status, _) = post(&app, "/settings", &form(&endpoint(&moto), &bucket, &[])).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn days_out_of_range_or_not_a_number_are_refused_beside_the_field() {
    let app = TestApp::spawn_logged_in().await;
    // Nobody listens there: a refusal of the days must not depend on the bucket.
    let nowhere = "http://127.0.0.1:9";
    for (days, expected) in [
        ("100000", "At most 36,500 days"),
        ("thirty", "Enter a whole number of days from 1 to 36,500"),
        ("-5", "Enter a whole number of days"),
    ] {
        let (status, html) = post(
            &app,
            "/settings",
            &form(
                nowhere,
                "acme-backups",
                &[
                    ("object_lock_days", days),
                    ("object_lock_mode", "compliance"),
                ],
            ),
        )
        .await;

        assert_eq!(status, 422, "{days}");
        let message = field_error(&html, "object_lock_days").expect("a message beside the field");
        assert!(message.contains(expected), "{days}: {message}");
        assert_eq!(
            input_value(&html, "object_lock_days").as_deref(),
            Some(days)
        );
        assert!(selected(&html, "object_lock_mode", "compliance"), "{days}");
        assert_eq!(
            input_value(&html, "bucket").as_deref(),
            Some("acme-backups")
        );
        assert_eq!(input_value(&html, "backup_limit").as_deref(), Some("7"));
    }
    let (status, html) = post(
        &app,
        "/settings",
        &form(nowhere, "acme-backups", &[("object_lock_days", "100000")]),
    )
    .await;
    assert_eq!(status, 422);
    app.get("/settings?lang=fr").await;
    let (_, html_fr) = post(
        &app,
        "/settings",
        &form(nowhere, "acme-backups", &[("object_lock_days", "100000")]),
    )
    .await;
    let message = field_error(&html_fr, "object_lock_days").expect("a message in French");
    assert!(message.contains("Au plus 36"), "{message}");
    assert!(html.contains("Keep each backup immutable (days)"));
}

#[tokio::test]
async fn zero_days_is_object_lock_off_and_saves_without_asking_the_bucket() {
    let app = TestApp::spawn_logged_in().await;

    let (status, html) = post(
        &app,
        "/settings",
        &form(
            "http://127.0.0.1:9",
            "acme-backups",
            &[
                ("object_lock_days", "0"),
                ("object_lock_mode", "compliance"),
            ],
        ),
    )
    .await;

    assert_eq!(status, 200, "{html}");
    let stored = app.get_text("/settings").await;
    assert_eq!(
        input_value(&stored, "object_lock_days").as_deref(),
        Some("")
    );
    assert!(
        selected(&stored, "object_lock_mode", "compliance"),
        "the mode is kept for later"
    );
}

#[tokio::test]
async fn object_lock_on_a_bucket_that_cannot_be_reached_is_refused_with_the_reason() {
    let app = TestApp::spawn_logged_in().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        format!("http://127.0.0.1:{port}")
    };

    let (status, html) = post(
        &app,
        "/settings",
        &form(&closed, "acme-backups", &[("object_lock_days", "7")]),
    )
    .await;

    assert_eq!(status, 422, "{html}");
    let message = field_error(&html, "object_lock_days").expect("a message beside the field");
    assert!(
        message.contains("Could not check that the bucket acme-backups has Object Lock")
            && message.to_lowercase().contains("connection refused"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_shows_the_buckets_posture_line_by_line() {
    let moto = Moto::start().await;
    let bucket = moto.new_locked_bucket().await;
    moto.client
        .put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(false)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("block public access");
    let app = TestApp::spawn_logged_in().await;

    let (status, html) = post(
        &app,
        "/settings/test-connection",
        &form(&endpoint(&moto), &bucket, &[("object_lock_days", "7")]),
    )
    .await;

    assert_eq!(status, 200, "{html}");
    assert_eq!(
        posture(&html),
        [
            "Public access: partly blocked (off: BlockPublicPolicy); its policy and ACL do not make it public",
            "Default encryption: not configured",
            "Versioning: enabled",
            "Object Lock: enabled, no default retention",
            "Lifecycle rules under erp/: not configured",
        ]
    );
    assert!(html.contains("The bucket</h3>"), "{html}");

    app.get("/settings?lang=fr").await;
    let (_, html) = post(
        &app,
        "/settings/test-connection",
        &form(&endpoint(&moto), &bucket, &[]),
    )
    .await;
    let lines = posture(&html);
    assert_eq!(lines.len(), 5, "{lines:?}");
    for start in [
        "Accès public",
        "Chiffrement par défaut",
        "Gestion des versions",
        "Object Lock",
        "Règles de cycle de vie",
    ] {
        assert!(
            lines.iter().any(|line| line.starts_with(start)),
            "{start}: {lines:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_with_object_lock_on_refuses_a_bucket_without_it() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;

    let (status, html) = post(
        &app,
        "/settings/test-connection",
        &form(&endpoint(&moto), &bucket, &[("object_lock_days", "7")]),
    )
    .await;

    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("does not have Object Lock enabled"),
        "the answer says why: {html}"
    );
    assert!(
        posture(&html)
            .iter()
            .any(|line| line == "Object Lock: not configured"),
        "the posture is shown beside it"
    );
}
