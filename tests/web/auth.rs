use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp, client, field_error};

#[tokio::test]
async fn first_visit_leads_to_setup_until_an_account_exists() {
    let app = TestApp::spawn().await;
    for path in ["/", "/settings", "/sources", "/email-account", "/login"] {
        let response = app.get(path).await;
        assert_eq!(
            response.url().path(),
            "/setup",
            "{path} should lead to setup"
        );
    }
    let response = app
        .post_form(
            "/setup",
            &[
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("password_confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        response.url().path(),
        "/",
        "setting up lands on the overview"
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("The administrator account is created"));
    assert_eq!(app.get("/setup").await.status(), 404);
}

#[tokio::test]
async fn setup_rejects_a_weak_password_with_its_reason_and_keeps_the_name() {
    let app = TestApp::spawn().await;
    let response = app
        .post_form(
            "/setup",
            &[
                ("username", "alice"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    let message = field_error(&html, "password").expect("a message beside the password");
    assert!(message.contains("12"), "says how long: {message}");
    assert!(html.contains("value=\"alice\""));
    assert_eq!(app.get("/settings").await.url().path(), "/setup");
}

#[tokio::test]
async fn every_page_sends_an_anonymous_visitor_to_login() {
    let app = TestApp::spawn_logged_in().await;
    let anonymous = client();
    for path in [
        "/",
        "/settings",
        "/sources",
        "/email-account",
        "/sources/1",
        "/tokens",
    ] {
        let response = anonymous.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.url().path(), "/login", "{path}");
    }
}

#[tokio::test]
async fn login_then_logout() {
    let app = TestApp::spawn_logged_in().await;
    let response = app.post_form("/logout", &[]).await;
    assert_eq!(response.url().path(), "/login");
    assert_eq!(app.get("/settings").await.url().path(), "/login");

    let wrong = app
        .post_form(
            "/login",
            &[("username", ADMIN), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.expect("body");
    assert!(
        field_error(&html, "password").is_some_and(|m| m.contains("Wrong user name or password"))
    );

    let right = app
        .post_form(
            "/login",
            &[
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("next", "/sources"),
            ],
        )
        .await;
    assert_eq!(right.status(), 200);
    assert_eq!(right.url().path(), "/sources");
}

#[tokio::test]
async fn login_gives_a_new_session_id() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form("/logout", &[]).await;
    let before = app.get("/login").await;
    let before_cookie = session_cookie(&before);
    let token = crate::common::csrf_in(&before.text().await.expect("body"));
    let after = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    let after_cookie = session_cookie(&after);
    assert!(before_cookie.is_some() || after_cookie.is_some());
    assert_ne!(before_cookie, after_cookie);
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .cookies()
        .find(|c| c.name() == "s3backup_session")
        .map(|c| {
            assert!(c.http_only(), "session cookie must be HttpOnly");
            assert!(
                c.same_site_lax() || c.same_site_strict(),
                "session cookie must be SameSite"
            );
            c.value().to_owned()
        })
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = TestApp::spawn_logged_in().await;
    let no_token = app.post_raw("/settings", &[("bucket", "my-bucket")]).await;
    assert_eq!(no_token.status(), 403);
    let wrong = app
        .post_raw(
            "/settings",
            &[("csrf_token", "forged"), ("bucket", "my-bucket")],
        )
        .await;
    assert_eq!(wrong.status(), 403);
    let logout = app.post_raw("/logout", &[]).await;
    assert_eq!(logout.status(), 403);
    let html = app.get_text("/settings").await;
    assert!(!html.contains("value=\"my-bucket\""), "nothing was saved");
}

#[tokio::test]
async fn repeated_bad_passwords_slow_down_logins() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form("/logout", &[]).await;
    for _ in 0..5 {
        let r = app
            .post_form(
                "/login",
                &[("username", ADMIN), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    // Even the right password is refused until the wait is over.
    let r = app
        .post_form(
            "/login",
            &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 429);
    let html = r.text().await.expect("body");
    assert!(html.contains("Too many failed attempts"));
    assert_eq!(app.get("/settings").await.url().path(), "/login");
}

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let app = TestApp::spawn_logged_in().await;
    let response = app.get("/settings").await;
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy"));
    let html = response.text().await.expect("body");
    assert!(!html.contains("<script>"), "no inline script");
    assert!(!html.contains(" style=\""), "no inline style");
}

/// Logs in as `user` from a client on `from` (another loopback address is another host).
async fn login_from(app: &TestApp, client: &reqwest::Client, user: &str, password: &str) -> u16 {
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("body");
    let token = crate::common::csrf_in(&page);
    client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /login")
        .status()
        .as_u16()
}

fn client_on(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .local_address(std::net::IpAddr::from(address))
        .build()
        .expect("client")
}

#[tokio::test]
async fn guesses_from_elsewhere_do_not_lock_the_admin_out() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form("/logout", &[]).await;
    // Someone else guesses "ADMIN"'s password from two other addresses.
    for attacker in [[127, 0, 0, 2], [127, 0, 0, 3]] {
        let client = client_on(attacker);
        for _ in 0..6 {
            login_from(&app, &client, "ADMIN", "wrong password!").await;
        }
        // That address is slowed down, even with the right password.
        assert_eq!(
            login_from(&app, &client, ADMIN, ADMIN_PASSWORD).await,
            429,
            "the guessing address waits"
        );
    }
    // The admin, from an address that never failed, gets in with the right password.
    let admin = client_on([127, 0, 0, 1]);
    assert_eq!(login_from(&app, &admin, ADMIN, ADMIN_PASSWORD).await, 200);
    let settings = admin
        .get(app.url("/settings"))
        .send()
        .await
        .expect("GET /settings");
    assert_eq!(settings.url().path(), "/settings", "logged in");
}

#[tokio::test]
async fn behind_https_browsers_are_told_to_stay_on_https() {
    let app = TestApp::spawn_behind_https().await;
    let response = app.get("/login").await;
    assert_eq!(
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let plain = TestApp::spawn().await;
    assert!(
        !plain
            .get("/login")
            .await
            .headers()
            .contains_key("strict-transport-security"),
        "not over plain HTTP"
    );
}

/// A browser on `address` whose requests carry `X-Forwarded-For: forwarded`, as a reverse
/// proxy on that address sends them.
fn relayed(address: [u8; 4], forwarded: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        forwarded.parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .local_address(std::net::IpAddr::from(address))
        .default_headers(headers)
        .build()
        .expect("client")
}

#[tokio::test]
async fn behind_the_trusted_proxy_guesses_from_one_client_do_not_lock_out_another() {
    let app = TestApp::spawn_with(|config| config.trusted_proxy = Some([127, 0, 0, 1].into()));
    let app = TestApp::logged_in(app.await).await;
    app.post_form("/logout", &[]).await;
    let attacker = relayed([127, 0, 0, 1], "203.0.113.9");
    for _ in 0..6 {
        login_from(&app, &attacker, ADMIN, "wrong password!").await;
    }
    assert_eq!(
        login_from(&app, &attacker, ADMIN, ADMIN_PASSWORD).await,
        429,
        "the guessing client waits"
    );

    // Another client behind the same proxy, with the right password.
    let admin = relayed([127, 0, 0, 1], "198.51.100.7");
    assert_eq!(login_from(&app, &admin, ADMIN, ADMIN_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_forwarded_address_from_anyone_but_the_trusted_proxy_is_ignored() {
    let app = TestApp::spawn_with(|config| config.trusted_proxy = Some([127, 0, 0, 1].into()));
    let app = TestApp::logged_in(app.await).await;
    app.post_form("/logout", &[]).await;
    // A new made-up address at every guess, from a host that is not the proxy.
    for attempt in 0..6 {
        let liar = relayed([127, 0, 0, 4], &format!("198.51.100.{attempt}"));
        login_from(&app, &liar, ADMIN, "wrong password!").await;
    }

    let liar = relayed([127, 0, 0, 4], "198.51.100.200");
    assert_eq!(
        login_from(&app, &liar, ADMIN, ADMIN_PASSWORD).await,
        429,
        "counted by its own address"
    );
}
