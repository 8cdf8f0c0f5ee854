//! Sessions: stored only for a login, which ends after its lifetime however active it is;
//! the login form stays protected against forged posts without one.

use std::time::{Duration, Instant};

use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp, client, csrf_in};

async fn stored_sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions")
        .fetch_one(&app.pool().await)
        .await
        .expect("count sessions")
}

#[tokio::test]
async fn visitors_who_do_not_log_in_store_no_session() {
    let app = TestApp::spawn_logged_in().await;
    let before = stored_sessions(&app).await;
    let cookieless = reqwest::Client::new();

    for _ in 0..300 {
        let response = cookieless
            .get(app.url("/login"))
            .send()
            .await
            .expect("GET /login");
        assert_eq!(response.status(), 200);
    }

    assert_eq!(stored_sessions(&app).await, before);
}

async fn login_with_token(browser: &reqwest::Client, app: &TestApp, token: &str) -> u16 {
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login")
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_login_form_refuses_a_post_without_the_visitors_own_token() {
    let app = TestApp::spawn_logged_in().await;
    let victim = client();
    let attacker = client();
    let attackers_token = csrf_in(
        &attacker
            .get(app.url("/login"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body"),
    );
    let victims_token = csrf_in(
        &victim
            .get(app.url("/login"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body"),
    );

    let no_token = victim
        .post(app.url("/login"))
        .form(&[("username", ADMIN), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_eq!(no_token.status(), 403);
    assert_eq!(login_with_token(&victim, &app, "forged").await, 403);
    assert_eq!(login_with_token(&victim, &app, &attackers_token).await, 403);
    let cookieless = reqwest::Client::new();
    assert_eq!(
        login_with_token(&cookieless, &app, &victims_token).await,
        403,
        "the token alone, without its cookie"
    );

    assert_eq!(login_with_token(&victim, &app, &victims_token).await, 200);
    let settings = victim.get(app.url("/settings")).send().await.expect("GET");
    assert_eq!(settings.url().path(), "/settings", "logged in");
}

#[tokio::test]
async fn a_login_ends_after_its_lifetime_however_active() {
    let lifetime = Duration::from_secs(3);
    let app = TestApp::spawn_with(move |config| config.session_lifetime = lifetime).await;
    let app = TestApp::logged_in(app).await;
    let logged_in = Instant::now();

    // Busy all along: a page every quarter of a second, so the idle limit is never near.
    let ended = loop {
        let response = app.get("/settings").await;
        if response.url().path() == "/login" {
            break logged_in.elapsed();
        }
        assert!(
            logged_in.elapsed() < Duration::from_secs(20),
            "still logged in"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    assert!(ended >= lifetime - Duration::from_millis(100), "{ended:?}");
    let html = app.get_text("/settings").await;
    assert!(!html.contains("Log out"), "logged out: {html}");
}

#[tokio::test]
async fn behind_https_the_login_forms_cookie_is_secure() {
    let app = TestApp::spawn_behind_https().await;
    let visitor = client();

    let response = visitor.get(app.url("/setup")).send().await.expect("GET");

    let cookie = response
        .cookies()
        .find(|c| c.name() == "s3backup_csrf")
        .expect("the form's cookie");
    assert!(cookie.secure() && cookie.http_only() && cookie.same_site_strict());
    assert!(response.headers().contains_key("strict-transport-security"));
}

/// The token of the login form `browser` opens on `app`.
async fn login_form_token(browser: &reqwest::Client, app: &TestApp) -> String {
    csrf_in(
        &browser
            .get(app.url("/login"))
            .send()
            .await
            .expect("GET /login")
            .text()
            .await
            .expect("body"),
    )
}

#[tokio::test]
async fn a_login_form_opened_before_a_restart_logs_in_after_it() {
    let mut app = TestApp::spawn_logged_in().await;
    let visitor = client();
    let token = login_form_token(&visitor, &app).await;

    app.restart().await;

    assert_eq!(login_with_token(&visitor, &app, &token).await, 200);
    let settings = visitor.get(app.url("/settings")).send().await.expect("GET");
    assert_eq!(settings.url().path(), "/settings", "logged in");
}

#[tokio::test]
async fn a_login_form_of_another_installation_is_refused() {
    let app = TestApp::spawn_logged_in().await;
    let other = TestApp::spawn().await;
    let visitor = client();
    // The other installation's token, with its signed cookie (the browser sends it to both:
    // cookies do not tell ports apart).
    let token = csrf_in(
        &visitor
            .get(other.url("/setup"))
            .send()
            .await
            .expect("GET /setup")
            .text()
            .await
            .expect("body"),
    );

    assert_eq!(login_with_token(&visitor, &app, &token).await, 403);
}

/// How many times the stored sessions were written since `count_session_writes`.
async fn session_writes(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT writes FROM session_writes")
        .fetch_one(&app.pool().await)
        .await
        .expect("count session writes")
}

/// Counts every write of a stored session from now on, with a trigger.
async fn count_session_writes(app: &TestApp) {
    let pool = app.pool().await;
    for statement in [
        "CREATE TABLE session_writes (writes INTEGER NOT NULL)",
        "INSERT INTO session_writes VALUES (0)",
        "CREATE TRIGGER session_updated AFTER UPDATE ON tower_sessions \
         BEGIN UPDATE session_writes SET writes = writes + 1; END",
        "CREATE TRIGGER session_inserted AFTER INSERT ON tower_sessions \
         BEGIN UPDATE session_writes SET writes = writes + 1; END",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("a counting trigger");
    }
}

#[tokio::test]
async fn reading_pages_writes_no_session() {
    let app = TestApp::spawn_logged_in().await;
    // The first page after the login may mark the session as seen.
    assert_eq!(app.get("/").await.status(), 200);
    count_session_writes(&app).await;

    for path in ["/", "/backups", "/settings", "/sources", "/", "/backups"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }

    assert_eq!(session_writes(&app).await, 0);
    let html = app.get_text("/settings").await;
    assert!(html.contains("Log out"), "still logged in: {html}");
}
