//! The server as an admin runs it: the real binary, and what it writes to its log.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{ADMIN, ADMIN_PASSWORD, client, csrf_in};

/// Far longer than the binary takes to start or to log a line.
const BOUND: Duration = Duration::from_secs(30);

/// `s3-backup serve` in a fresh data directory, with its log read line by line.
struct Served {
    child: Child,
    log: mpsc::Receiver<String>,
    port: u16,
    _data: tempfile::TempDir,
}

impl Served {
    fn start(listen: &str) -> Served {
        let data = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3-backup"))
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stderr = child.stderr.take().expect("stderr");
        let (send, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut served = Served {
            child,
            log,
            port: 0,
            _data: data,
        };
        let listening = served.wait_for("is listening on http://");
        served.port = listening
            .rsplit(':')
            .next()
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("a port in {listening:?}"));
        served
    }

    /// The next line of the log that contains `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?} within {BOUND:?}"),
            }
        }
    }

    /// The lines logged so far and not read yet.
    fn logged(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Fills in the setup form opened with `token`, and posts it with `posted` as its token.
async fn create_admin(
    browser: &reqwest::Client,
    served: &Served,
    token: Option<&str>,
    posted: Option<&str>,
) -> reqwest::Response {
    let path = token.map_or_else(|| "/setup".to_owned(), |t| format!("/setup?token={t}"));
    let page = browser.get(served.url(&path)).send().await.expect("GET");
    let csrf = csrf_in(&page.text().await.expect("body"));
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("username", ADMIN),
        ("password", ADMIN_PASSWORD),
        ("password_confirm", ADMIN_PASSWORD),
    ];
    if let Some(posted) = posted {
        fields.push(("setup_token", posted));
    }
    browser
        .post(served.url("/setup"))
        .form(&fields)
        .send()
        .await
        .expect("POST /setup")
}

#[tokio::test]
async fn on_a_network_address_setup_needs_the_link_written_in_the_log() {
    let served = Served::start("0.0.0.0:0");
    let line = served.wait_for("/setup?token=");
    let token: String = line
        .split("/setup?token=")
        .nth(1)
        .expect("a token")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 24, "{line}");
    let browser = client();

    let (status, html) = text(browser.get(served.url("/setup")).send().await.expect("GET")).await;
    assert_eq!(status, 403);
    assert!(html.contains("one-time link"), "{html}");
    assert!(html.contains("setup?token="), "says where to look: {html}");
    assert!(!html.contains("name=\"password\""), "no form: {html}");

    let (status, html) = text(
        browser
            .get(served.url("/setup?token=guessed"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(html.contains("not the right one"), "{html}");

    // The form posted without its token, or with another, creates nothing.
    for posted in [None, Some("guessed")] {
        let forged = create_admin(&browser, &served, Some(&token), posted).await;
        assert_eq!(forged.status(), 403);
    }
    let (status, html) = text(
        browser
            .get(served.url(&format!("/setup?token={token}")))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(status, 200, "setup is still open: {html}");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(
        html.contains(&format!("?lang=fr&amp;token={token}")),
        "switching the language keeps the link: {html}"
    );

    let created = create_admin(&browser, &served, Some(&token), Some(&token)).await;
    assert_eq!(created.status(), 200);
    assert_eq!(created.url().path(), "/");
    let after = browser.get(served.url("/setup")).send().await.expect("GET");
    assert_eq!(after.status(), 404, "setup is over");
}

#[tokio::test]
async fn on_loopback_setup_needs_no_link() {
    let served = Served::start("127.0.0.1:0");
    let browser = client();

    let created = create_admin(&browser, &served, None, None).await;

    assert_eq!(created.status(), 200);
    assert_eq!(created.url().path(), "/");
    assert!(
        !served.logged().iter().any(|line| line.contains("token=")),
        "no token is made for loopback"
    );
}

#[tokio::test]
async fn a_login_name_with_a_newline_cannot_forge_a_log_line() {
    let served = Served::start("127.0.0.1:0");
    let browser = client();
    assert_eq!(
        create_admin(&browser, &served, None, None).await.status(),
        200
    );
    let anonymous = client();
    let page = anonymous
        .get(served.url("/login"))
        .send()
        .await
        .expect("GET /login");
    let csrf = csrf_in(&page.text().await.expect("body"));
    let forged = "mallory\nINFO forged: admin logged in from 10.0.0.1";

    let refused = anonymous
        .post(served.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", forged),
            ("password", "not the password"),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(refused.status(), 401);

    let line = served.wait_for("failed login");
    assert!(line.contains(r"mallory\nINFO forged"), "escaped: {line}");
    let rest = served.logged();
    assert!(
        !rest.iter().any(|line| line.starts_with("INFO forged")),
        "a forged line: {rest:?}"
    );
}
