//! Clients that connect and then dawdle, driven over raw TCP on 127.0.0.1: they are cut
//! off after the configured timeouts, they cannot hold more than the connection limit, and
//! the health check still answers while they linger. Counts and waits are bounded.

use std::time::{Duration, Instant};

use s3_backup::config::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::TestApp;

/// Far longer than any timeout set here: a connection still open then was not cut.
const BOUND: Duration = Duration::from_secs(10);

async fn app_with(limits: ConnectionLimits) -> TestApp {
    TestApp::spawn_with(move |config| config.connections = limits).await
}

fn short(timeout: Duration) -> ConnectionLimits {
    ConnectionLimits {
        header_read: timeout,
        body_inactivity: timeout,
        body_deadline: timeout * 3,
        send_inactivity: timeout,
        max_connections: 64,
    }
}

/// Reads until the server closes the connection; what it sent, and when it closed.
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(BOUND, read_all)
        .await
        .unwrap_or_else(|_| panic!("the connection is still open after {BOUND:?}"));
    (received, Instant::now())
}

/// Reads one response to a GET of /healthz (its body is one JSON object).
async fn one_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !String::from_utf8_lossy(&received).ends_with('}') {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before answering");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(BOUND, read)
        .await
        .expect("an answer in time");
    String::from_utf8_lossy(&received).into_owned()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.expect("connect")
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn unfinished_headers_are_cut_at_the_header_timeout() {
    let app = app_with(short(Duration::from_secs(1))).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();

    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("write");
    let (received, closed) = until_closed(&mut stream).await;

    let open_for = closed - started;
    assert!(open_for >= Duration::from_millis(900), "{open_for:?}");
    assert!(
        !String::from_utf8_lossy(&received).contains("200 OK"),
        "no answer to an unfinished request"
    );
}

#[tokio::test]
async fn a_header_line_now_and_then_does_not_keep_a_connection_open() {
    let app = app_with(short(Duration::from_secs(1))).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("write");

    // One more header every 200 ms, as long as the server takes them.
    let mut lines = 0;
    let closed = loop {
        assert!(started.elapsed() < BOUND, "still open after {lines} lines");
        let mut probe = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut probe)).await {
            Ok(Ok(0) | Err(_)) => break Instant::now(),
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        lines += 1;
        if stream
            .write_all(format!("X-Line-{lines}: slow\r\n").as_bytes())
            .await
            .is_err()
        {
            break Instant::now();
        }
    };

    let open_for = closed - started;
    assert!(open_for < Duration::from_secs(3), "open for {open_for:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = app_with(short(Duration::from_secs(1))).await;
    let mut stream = connect(&app).await;

    stream.write_all(HEALTH).await.expect("write");
    let answer = one_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answered = Instant::now();
    let (more, closed) = until_closed(&mut stream).await;

    assert!(more.is_empty(), "nothing more was asked");
    let idle_for = closed - answered;
    assert!(idle_for >= Duration::from_millis(900), "{idle_for:?}");
}

#[tokio::test]
async fn a_request_body_that_stops_coming_is_cut() {
    let app = app_with(short(Duration::from_secs(1))).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();

    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n\
              username=admin&pass",
        )
        .await
        .expect("write");
    let (received, closed) = until_closed(&mut stream).await;

    assert!(closed - started >= Duration::from_millis(900));
    let answer = String::from_utf8_lossy(&received);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_connection_limit_holds_and_frees_its_places() {
    let app = app_with(ConnectionLimits {
        max_connections: 4,
        ..short(Duration::from_secs(30))
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&app).await;
        stream.write_all(b"GET /healthz HT").await.expect("write");
        slow.push(stream);
    }
    // Served once it is accepted: the four slow ones are served first.
    let mut waiting = connect(&app).await;
    waiting.write_all(HEALTH).await.expect("write");

    let mut probe = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut probe)).await;
    assert!(
        early.is_err(),
        "a fifth connection is not served beside four"
    );

    drop(slow);
    let answer = one_response(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn the_health_check_answers_while_slow_connections_linger() {
    let app = app_with(ConnectionLimits {
        header_read: Duration::from_secs(30),
        ..ConnectionLimits::default()
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
            .await
            .expect("write");
        slow.push(stream);
    }

    let health = tokio::time::timeout(BOUND, app.get("/healthz"))
        .await
        .expect("answered in time");

    assert_eq!(health.status(), 200);
    drop(slow);
}

/// A logged-in app with short timeouts, and the folder of a backup of `size` random bytes
/// (which do not compress: the stored object is as large).
async fn with_a_large_backup(
    s3: &crate::common::s3::TestS3,
    timeout: Duration,
    size: usize,
) -> (TestApp, String) {
    use rand::{RngCore, SeedableRng};
    use s3_backup::backup::{Job, Reporter, SourceSpec, run_backup};
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("dir");
    let mut content = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(11).fill_bytes(&mut content);
    std::fs::write(files.path().join("archive.bin"), &content).expect("write");
    let source = SourceSpec::parse(
        "files",
        s3_backup::settings::SourceKind::Directory,
        &files.path().display().to_string(),
    )
    .expect("a source");
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
    .expect("backup");
    let app = TestApp::logged_in(app_with(short(timeout)).await).await;
    app.save_s3_settings(s3, &bucket, "erp").await;
    let folder = outcome.folder.trim_start_matches("erp/").to_owned();
    (app, folder)
}

#[tokio::test]
async fn a_download_read_slowly_but_steadily_outlasts_every_timeout() {
    let s3 = crate::common::s3::TestS3::start().await;
    let timeout = Duration::from_millis(500);
    let (app, folder) = with_a_large_backup(&s3, timeout, 2_000_000).await;
    let started = Instant::now();

    let mut response = app
        .get(&format!("/restore/{folder}/objects/files.tar.zst"))
        .await;
    assert_eq!(response.status(), 200);
    let mut received = 0usize;
    // A slow reader: a pause after every piece, far below a timeout each.
    while let Some(piece) = response.chunk().await.expect("the download goes on") {
        received += piece.len();
        tokio::time::sleep(Duration::from_millis(15)).await;
        assert!(started.elapsed() < Duration::from_secs(60), "bounded");
    }

    assert!(received > 2_000_000, "{received} bytes");
    assert!(
        started.elapsed() > timeout * 4,
        "the download took longer than the timeouts: {:?}",
        started.elapsed()
    );
}

/// The Cookie header of a fresh login to `app`, for a request sent by hand.
async fn session_cookie(app: &TestApp) -> String {
    use reqwest::cookie::CookieStore;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    let page = browser
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("body");
    let token = crate::common::csrf_in(&page);
    let login = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", crate::common::ADMIN),
            ("password", crate::common::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(login.url().path(), "/");
    let url = reqwest::Url::parse(&app.url("/")).expect("url");
    jar.cookies(&url)
        .and_then(|value| value.to_str().ok().map(str::to_owned))
        .expect("a session cookie")
}

#[tokio::test]
async fn a_client_that_stops_reading_a_download_is_cut() {
    let s3 = crate::common::s3::TestS3::start().await;
    let timeout = Duration::from_millis(500);
    // Larger than what the system buffers between the two ends of a local connection.
    let size = 48_000_000;
    let (app, folder) = with_a_large_backup(&s3, timeout, size).await;
    let cookie = session_cookie(&app).await;
    let mut stream = connect(&app).await;
    let request = format!(
        "GET /restore/{folder}/objects/files.tar.zst HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");

    // Reads nothing for longer than the timeout, then everything it can.
    let mut probe = [0u8; 1];
    stream
        .read_exact(&mut probe)
        .await
        .expect("the answer starts");
    tokio::time::sleep(timeout * 6).await;
    let (received, _) = until_closed(&mut stream).await;

    assert!(
        received.len() < size,
        "the server gave up before sending all ({} bytes received)",
        received.len()
    );
}
