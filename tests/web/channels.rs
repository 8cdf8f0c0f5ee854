//! The notifications page and the channels beside e-mail: webhooks (signed), Slack,
//! Discord, ntfy and pings, told of real runs against the in-process S3 server.

use std::time::{Duration, Instant};

use crate::common::s3::TestS3;
use crate::common::webhooks::Webhooks;
use crate::common::{TestApp, field_error};

const PUBLIC_URL: &str = "https://backup.example.com/";

/// An app whose channels are retried quickly, with a public address for links.
async fn app() -> TestApp {
    TestApp::logged_in(
        TestApp::spawn_with(|config| {
            config.public_url = Some(url::Url::parse(PUBLIC_URL).expect("url"));
            config.channels.timeout = Duration::from_secs(2);
            config.channels.retry_delays =
                vec![Duration::from_millis(20), Duration::from_millis(40)];
        })
        .await,
    )
    .await
}

/// Adds a channel; returns the page answered.
async fn add(app: &TestApp, name: &str, kind: &str, url: &str, events: &[&str]) -> String {
    add_with(app, name, kind, url, "", events).await.1
}

async fn add_with(
    app: &TestApp,
    name: &str,
    kind: &str,
    url: &str,
    token: &str,
    events: &[&str],
) -> (u16, String) {
    let mut fields = vec![
        ("name", name),
        ("kind", kind),
        ("url", url),
        ("token", token),
    ];
    fields.extend(events.iter().map(|event| ("events", *event)));
    let response = app.post_form("/notifications", &fields).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn secret_in(html: &str) -> String {
    let marker = "<code id=\"channel-secret\">";
    let start = html.find(marker).expect("the secret is shown") + marker.len();
    let end = html[start..].find('<').expect("end") + start;
    html[start..end].to_owned()
}

/// A backup of one small directory to `bucket` (which may not exist); returns its page.
async fn run_backup(app: &TestApp, s3: &TestS3, bucket: &str) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.txt"), "hello").expect("write");
    app.save_s3_settings(s3, bucket, "p").await;
    app.add_directory_source("files", dir.path()).await;
    let started = app.post_form("/backups/run", &[]).await;
    assert_eq!(started.status(), 200);
    let path = started.url().path().to_owned();
    if path == "/backups" {
        let html = started.text().await.unwrap_or_default();
        let at = html.find("role=\"alert\"").unwrap_or(0);
        panic!(
            "backup not started: {}",
            &html[at..(at + 400).min(html.len())]
        );
    }
    (path, dir)
}

#[tokio::test]
async fn channels_page_needs_a_login() {
    let app = TestApp::spawn().await;
    let response = app.get("/notifications").await;
    assert_ne!(response.url().path(), "/notifications");
}

#[tokio::test]
async fn channels_are_listed_masked_and_removed_and_secrets_stay_sealed() {
    let app = app().await;
    let token_url = "https://hooks.slack.com/services/T000/B000/verysecrettoken";
    let page = add(&app, "team chat", "slack", token_url, &["backup_failed"]).await;
    assert!(page.contains("team chat"));
    assert!(page.contains("https://hooks.slack.com/…"));
    assert!(!page.contains("verysecrettoken"));
    let (status, _) = add_with(
        &app,
        "phone",
        "ntfy",
        "https://ntfy.example.com/backups",
        "tk_ntfysecrettoken",
        &["overdue"],
    )
    .await;
    assert_eq!(status, 200);
    let html = app.get_text("/notifications").await;
    assert!(html.contains("aria-current=\"page\""), "in the nav");
    assert!(!html.contains("verysecrettoken") && !html.contains("tk_ntfysecrettoken"));
    let db = app.database_bytes();
    for secret in ["verysecrettoken", "tk_ntfysecrettoken"] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear in the database"
        );
    }

    let removed = app.post_form("/notifications/1/remove", &[]).await;
    assert_eq!(removed.status(), 200);
    let html = removed.text().await.expect("body");
    assert!(html.contains("phone"));
    // Gone from the list; the change log says who added and removed it.
    let list = html
        .split("id=\"changes-title\"")
        .next()
        .unwrap_or_default();
    assert!(!list.contains("team chat"), "{list}");
    let log = html
        .split("id=\"changes-title\"")
        .nth(1)
        .expect("a change log");
    assert!(
        log.contains("notification channel team chat added (slack)"),
        "{log}"
    );
    assert!(
        log.contains("notification channel team chat removed"),
        "{log}"
    );
    assert!(log.contains(crate::common::ADMIN), "{log}");
}

#[tokio::test]
async fn bad_input_is_refused_beside_the_field_and_nothing_saved() {
    let app = app().await;
    let (status, html) = add_with(&app, "x", "webhook", "ftp://example.com/h", "", &[]).await;
    assert_eq!(status, 422);
    assert!(
        field_error(&html, "url")
            .expect("url error")
            .contains("ftp")
    );
    assert!(field_error(&html, "events").is_some(), "no event chosen");
    assert!(html.contains("value=\"x\""), "the name typed is kept");

    let (_, html) = add_with(&app, "x", "webhook", "not a url", "", &["reboot"]).await;
    assert!(field_error(&html, "url").is_some());
    assert!(
        field_error(&html, "events")
            .expect("event error")
            .contains("reboot")
    );

    let (_, html) = add_with(&app, "", "pager", "https://ok.example/", "", &["overdue"]).await;
    assert!(field_error(&html, "name").is_some());
    assert!(field_error(&html, "kind").is_some());

    let html = app.get_text("/notifications").await;
    assert!(html.contains("class=\"empty\""), "nothing saved");
}

#[tokio::test]
async fn a_webhook_is_signed_and_carries_the_failed_run() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    let s3 = TestS3::start().await;
    let page = add(
        &app,
        "ops",
        "webhook",
        &hooks.url("/hook"),
        &["backup_failed"],
    )
    .await;
    let secret = secret_in(&page);
    assert!(
        !app.get_text("/notifications").await.contains(&secret),
        "shown once"
    );

    let (run_page, _dir) = run_backup(&app, &s3, "no-such-bucket").await;
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    let received = hooks.wait_path("/hook", 1).await;
    let hook = &received[0];
    let signature = hook.header("x-s3backup-signature").expect("signed");
    assert_eq!(
        signature,
        s3_backup::notify::channels::signature(&secret, &hook.body)
    );
    assert_ne!(
        signature,
        s3_backup::notify::channels::signature("guess", &hook.body)
    );
    let json = hook.json();
    let run_id: i64 = run_page
        .trim_start_matches("/backups/")
        .parse()
        .expect("id");
    assert_eq!(json["event"], "backup_failed");
    assert_eq!(json["run_id"], run_id);
    assert_eq!(json["kind"], "backup");
    assert_eq!(json["status"], "failed");
    assert!(json["started_at"].is_string() && json["finished_at"].is_string());
    assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(json["url"], format!("{PUBLIC_URL}backups/{run_id}"));
}

#[tokio::test]
async fn slack_discord_and_ntfy_get_the_shapes_they_document() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let events = ["backup_succeeded", "backup_failed"];
    add(&app, "slack", "slack", &hooks.url("/slack"), &events).await;
    add(&app, "discord", "discord", &hooks.url("/discord"), &events).await;
    add_with(
        &app,
        "ntfy",
        "ntfy",
        &hooks.url("/topic"),
        "tk_abc",
        &events,
    )
    .await;

    let (run_page, _dir) = run_backup(&app, &s3, &bucket).await;
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let slack = &hooks.wait_path("/slack", 1).await[0];
    let text = slack.json()["text"].as_str().expect("text").to_owned();
    assert!(text.contains("success") && text.contains(PUBLIC_URL));
    let discord = &hooks.wait_path("/discord", 1).await[0];
    assert!(
        discord.json()["content"]
            .as_str()
            .is_some_and(|c| c.contains("success"))
    );
    let ntfy = &hooks.wait_path("/topic", 1).await[0];
    assert_eq!(ntfy.method, "POST");
    assert!(ntfy.text().contains("success"));
    assert!(
        ntfy.header("title")
            .is_some_and(|t| t.contains("s3-backup"))
    );
    assert_eq!(ntfy.header("priority").as_deref(), Some("default"));
    assert!(ntfy.header("tags").is_some());
    assert_eq!(
        ntfy.header("authorization").as_deref(),
        Some("Bearer tk_abc")
    );
    assert!(
        ntfy.header("click")
            .is_some_and(|c| c.starts_with(PUBLIC_URL))
    );

    let detail = app.get_text(&run_page).await;
    assert!(detail.contains("channel-deliveries"));
    assert!(detail.contains("discord (Discord)"), "{detail}");
}

#[tokio::test]
async fn a_ping_hears_start_then_success() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    add(
        &app,
        "hc",
        "ping",
        &hooks.url("/ping/abc"),
        &["backup_succeeded", "backup_failed"],
    )
    .await;
    let (run_page, _dir) = run_backup(&app, &s3, &bucket).await;
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let pings = hooks.wait_for(2, |r| r.path.starts_with("/ping/abc")).await;
    let paths: Vec<&str> = pings.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/ping/abc/start", "/ping/abc"]);
}

#[tokio::test]
async fn a_ping_hears_start_then_fail() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    let s3 = TestS3::start().await;
    add(
        &app,
        "hc",
        "ping",
        &hooks.url("/ping/x"),
        &["backup_succeeded", "backup_failed"],
    )
    .await;
    let (run_page, _dir) = run_backup(&app, &s3, "no-such-bucket").await;
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    let pings = hooks.wait_for(2, |r| r.path.starts_with("/ping/x")).await;
    let paths: Vec<&str> = pings.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/ping/x/start", "/ping/x/fail"]);
}

#[tokio::test]
async fn a_channel_answering_500_is_retried_and_each_attempt_recorded() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    hooks.answer("/down", 500, "upstream exploded");
    let s3 = TestS3::start().await;
    add(
        &app,
        "down",
        "discord",
        &hooks.url("/down"),
        &["backup_failed"],
    )
    .await;
    add(&app, "up", "slack", &hooks.url("/up"), &["backup_failed"]).await;
    let (run_page, _dir) = run_backup(&app, &s3, "no-such-bucket").await;
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    assert_eq!(hooks.wait_path("/down", 3).await.len(), 3);
    hooks.wait_path("/up", 1).await;

    let run_id: i64 = run_page
        .trim_start_matches("/backups/")
        .parse()
        .expect("id");
    let pool = app.pool().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let deliveries = s3_backup::db::channels::deliveries_for_run(&pool, run_id)
            .await
            .expect("deliveries");
        if deliveries.iter().all(|d| d.finished_at.is_some()) && deliveries.len() == 2 {
            break deliveries;
        }
        assert!(Instant::now() < deadline, "deliveries never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let down = deliveries
        .iter()
        .find(|d| d.channel_name == "down")
        .expect("down");
    assert_eq!(down.attempts, 3);
    assert_eq!(down.tries.len(), 3);
    assert!(down.sent_at.is_none());
    let up = deliveries
        .iter()
        .find(|d| d.channel_name == "up")
        .expect("up");
    assert!(up.sent_at.is_some());
    assert_eq!(up.tries.len(), 1);

    let detail = app.get_text(&run_page).await;
    assert_eq!(detail.matches("HTTP 500").count(), 3, "{detail}");
    assert!(detail.contains("upstream exploded"));
}

#[tokio::test]
async fn a_channel_that_never_answers_delays_neither_the_run_nor_another_channel() {
    let app = TestApp::logged_in(
        TestApp::spawn_with(|config| {
            config.channels.timeout = Duration::from_secs(60);
            config.channels.retry_delays = Vec::new();
        })
        .await,
    )
    .await;
    let hooks = Webhooks::start().await;
    hooks.hang("/hang");
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let events = ["backup_succeeded"];
    add(&app, "hang", "webhook", &hooks.url("/hang"), &events).await;
    add(&app, "fine", "slack", &hooks.url("/fine"), &events).await;
    add(&app, "hang-ping", "ping", &hooks.url("/hang"), &events).await;

    let begun = Instant::now();
    let (run_page, _dir) = run_backup(&app, &s3, &bucket).await;
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    hooks.wait_path("/fine", 1).await;
    assert!(
        begun.elapsed() < Duration::from_secs(20),
        "{:?}",
        begun.elapsed()
    );
    assert!(
        !hooks.received("/hang").is_empty(),
        "the hanging channel was called"
    );
}

#[tokio::test]
async fn send_test_names_a_refused_connection_and_an_http_404_with_its_body() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    hooks.answer("/gone", 404, "no such hook: check the URL");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    add(
        &app,
        "refused",
        "webhook",
        &format!("http://{closed}/x"),
        &["overdue"],
    )
    .await;
    add(&app, "gone", "slack", &hooks.url("/gone"), &["overdue"]).await;
    add(&app, "fine", "discord", &hooks.url("/fine"), &["overdue"]).await;
    hooks.hang("/silent");
    add(&app, "silent", "ntfy", &hooks.url("/silent"), &["overdue"]).await;

    let refused = app.post_form("/notifications/1/test", &[]).await;
    let html = refused.text().await.expect("body");
    assert!(html.contains("refused the connection"), "{html}");
    assert!(html.contains(&closed.to_string()));

    let html = app
        .post_form("/notifications/2/test", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("HTTP 404"), "{html}");
    assert!(html.contains("no such hook: check the URL"));

    let html = app
        .post_form("/notifications/3/test", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("HTTP 200"), "{html}");
    let test = &hooks.wait_path("/fine", 1).await[0];
    let html = app
        .post_form("/notifications/4/test", &[])
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("did not answer in time"), "{html}");
    assert!(test.json()["content"].is_string());
}

#[tokio::test]
async fn a_finished_restore_and_a_failed_verification_reach_their_channel() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    add(
        &app,
        "ops",
        "webhook",
        &hooks.url("/hook"),
        &["restore_finished", "verify_failed"],
    )
    .await;
    let (run_page, _dir) = run_backup(&app, &s3, &bucket).await;
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let key = s3
        .keys(&bucket, "p/")
        .await
        .into_iter()
        .find(|key| key.ends_with("/files.tar.zst"))
        .expect("the archive");
    let folder = key
        .trim_start_matches("p/")
        .trim_end_matches("/files.tar.zst")
        .to_owned();

    let restore = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "files"), ("mode", "new")],
        )
        .await;
    let restore_page = restore.url().path().to_owned();
    assert_eq!(app.wait_until_done(&restore_page).await, "success");
    let told = hooks.wait_path("/hook", 1).await;
    let restore_id: i64 = restore_page
        .trim_start_matches("/backups/")
        .parse()
        .expect("id");
    assert_eq!(told[0].json()["event"], "restore_finished");
    assert_eq!(told[0].json()["run_id"], restore_id);

    // A byte flipped on the server: the verification fails, and says so.
    let stored = s3.root.join(&bucket).join(&key);
    let mut bytes = std::fs::read(&stored).expect("the stored file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&stored, bytes).expect("damage it");
    let verify = app
        .post_form(&format!("/restore/{folder}/verify"), &[])
        .await;
    let verify_page = verify.url().path().to_owned();
    assert_eq!(app.wait_until_done(&verify_page).await, "failed");
    let told = hooks.wait_path("/hook", 2).await;
    let verify_id: i64 = verify_page
        .trim_start_matches("/backups/")
        .parse()
        .expect("id");
    assert_eq!(told[1].json()["event"], "verify_failed");
    assert_eq!(told[1].json()["run_id"], verify_id);
    assert_eq!(told.len(), 2, "the backup's success was not asked for");
}

#[tokio::test]
async fn send_test_names_a_failed_tls_handshake() {
    let app = app().await;
    let hooks = Webhooks::start().await;
    // The receiver speaks plain HTTP: an https:// address to it cannot shake hands.
    let https = hooks.url("/tls").replacen("http://", "https://", 1);
    add(&app, "tls", "webhook", &https, &["overdue"]).await;

    let html = app
        .post_form("/notifications/1/test", &[])
        .await
        .text()
        .await
        .expect("body");

    assert!(html.contains("The TLS handshake with"), "{html}");
    assert!(hooks.received("/tls").is_empty(), "no request went through");
}

#[tokio::test]
async fn send_test_names_a_host_that_does_not_resolve() {
    let app = app().await;
    // `.invalid` never resolves (RFC 2606).
    add(
        &app,
        "typo",
        "discord",
        "https://no-such-host.invalid/api/webhooks/1/x",
        &["overdue"],
    )
    .await;

    let html = app
        .post_form("/notifications/1/test", &[])
        .await
        .text()
        .await
        .expect("body");

    assert!(
        html.contains("The name no-such-host.invalid does not resolve."),
        "{html}"
    );
}
