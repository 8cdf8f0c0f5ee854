//! The command line, run as a user would: the real binary, a data directory, stdin.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::s3::{ACCESS_KEY, SECRET_KEY, TestS3};
use common::{TestApp, client};

fn run(args: &[&str], data_dir: &std::path::Path, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("the binary ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_create_and_passwd_read_the_password_from_stdin() {
    let mut app = TestApp::spawn().await;
    app.shutdown().await;
    let data = app.data_dir().to_owned();

    let weak = run(&["user", "create", "ops"], &data, "short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("12"));

    let created = run(
        &["user", "create", "ops"],
        &data,
        "a long enough passphrase\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let again = run(
        &["user", "create", "ops"],
        &data,
        "a long enough passphrase\n",
    );
    assert!(
        !again.status.success(),
        "a second account with the same name is refused"
    );

    let changed = run(
        &["user", "passwd", "ops"],
        &data,
        "another long passphrase\n",
    );
    assert!(changed.status.success());
    let unknown = run(
        &["user", "passwd", "nobody"],
        &data,
        "another long passphrase\n",
    );
    assert!(!unknown.status.success());

    // The account works in the browser, and setup is gone.
    app.restart().await;
    assert_eq!(app.get("/setup").await.status(), 404);
    let ok = app
        .post_form(
            "/login",
            &[("username", "ops"), ("password", "another long passphrase")],
        )
        .await;
    assert_eq!(ok.url().path(), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_command_exits_zero_on_success_and_non_zero_on_failure() {
    let mut app = TestApp::spawn_logged_in().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.txt"), "hello").expect("write");
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    let mut fields = vec![
        ("access_key_id", ACCESS_KEY),
        ("secret_access_key", SECRET_KEY),
        ("bucket", bucket.as_str()),
        ("endpoint_url", endpoint.as_str()),
        ("region", "us-east-1"),
        ("path_style", "on"),
        ("frequency", "none"),
        ("backup_time", "02:00"),
        ("backup_weekday", "monday"),
        ("backup_monthday", "1"),
        ("timezone", "UTC"),
        ("backup_files", "on"),
        ("backup_limit", "0"),
    ];
    assert_eq!(app.post_form("/settings", &fields).await.status(), 200);
    let location = dir.path().to_str().expect("utf-8");
    app.post_form(
        "/sources",
        &[
            ("name", "docs"),
            ("kind", "directory"),
            ("location", location),
        ],
    )
    .await;
    app.shutdown().await;

    let ok = run(&["backup"], app.data_dir(), "");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("success"));
    assert!(out.contains("docs.tar.zst"));

    // A wrong secret: the run fails, the exit code says so, and the history has both.
    app.restart().await;
    fields.retain(|(n, _)| *n != "secret_access_key");
    fields.push(("secret_access_key", "wrong-secret"));
    assert_eq!(app.post_form("/settings", &fields).await.status(), 200);
    app.shutdown().await;
    let failed = run(&["backup"], app.data_dir(), "");
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stdout).contains("failed"));

    app.restart().await;
    let history = app.get_text("/backups").await;
    assert!(history.contains("status-success"));
    assert!(history.contains("status-failed"));
    let _ = client();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_installation_given_only_the_bucket_lists_the_backups_of_another() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    // The first installation makes a backup from the command line.
    let first = TestApp::spawn_logged_in().await;
    first.save_s3_settings(&s3, &bucket, "erp").await;
    let files = tempfile::tempdir().expect("dir");
    std::fs::write(files.path().join("facture.txt"), "facture 42").expect("write");
    first.add_directory_source("files", files.path()).await;
    let made = run(&["backup"], first.data_dir(), "");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stdout)
    );
    // What a killed run leaves (no manifest), a partial run, and a key that is not a backup.
    s3.put(&bucket, "erp/2020-01-01T000000Z/files.tar.zst", b"half")
        .await;
    s3.put(&bucket, "erp/2020-01-02T000000Z/db.sql.zst", b"x")
        .await;
    s3.put(&bucket, "erp/2020-01-02T000000Z/partial.json", b"[]")
        .await;
    s3.put(&bucket, "erp/2020-01-02T000000Z/manifest.json", b"{}")
        .await;
    s3.put(&bucket, "erp/notes.txt", b"not a backup").await;

    let here = first.get_text("/restore").await;
    assert!(
        here.contains("href=\"/backups/1\""),
        "the run that made it: {here}"
    );

    // A new installation, with only the bucket settings.
    let second = TestApp::spawn_logged_in().await;
    second.save_s3_settings(&s3, &bucket, "erp").await;
    let html = second.get_text("/restore").await;
    let made_folder = s3
        .keys(&bucket, "erp/")
        .await
        .into_iter()
        .find_map(|key| {
            key.strip_suffix("/files.tar.zst")
                .filter(|folder| !folder.contains("2020-"))
                .map(|folder| folder.trim_start_matches("erp/").to_owned())
        })
        .expect("the backup's folder");
    assert!(html.contains(&made_folder), "{html}");
    assert!(html.contains("not made here"), "{html}");
    assert!(html.contains("Incomplete (no manifest)"));
    assert!(html.contains("Partial"));
    assert!(!html.contains("notes.txt"));
    let newest = html.find(&made_folder).expect("listed");
    let oldest = html.find("2020-01-01T000000Z").expect("listed");
    assert!(newest < oldest, "newest first");

    let listed = run(&["list"], second.data_dir(), "");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let out = String::from_utf8_lossy(&listed.stdout);
    let line = out
        .lines()
        .find(|line| line.starts_with(&made_folder))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(" yes "), "{line}");
    assert!(line.ends_with("files"), "{line}");
    let incomplete = out
        .lines()
        .find(|line| line.starts_with("2020-01-01T000000Z"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(incomplete.contains(" no "), "{incomplete}");
    assert!(out.contains("partial"), "{out}");

    // It restores them too: from the shell and from its pages, naming where (the source is
    // not configured here), and the history of this installation records both.
    let elsewhere = tempfile::tempdir().expect("dir");
    let by_shell = elsewhere.path().join("by-shell");
    let restored = run(
        &[
            "restore",
            "latest",
            "files",
            "--to",
            by_shell.to_str().expect("utf-8"),
        ],
        second.data_dir(),
        "",
    );
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(by_shell.join("facture.txt")).expect("restored"),
        "facture 42"
    );
    let by_page = elsewhere.path().join("by-page");
    let page = second.get_text(&format!("/restore/{made_folder}")).await;
    assert!(page.contains("not configured on this machine"), "{page}");
    let response = second
        .post_form(
            &format!("/restore/{made_folder}/run"),
            &[
                ("source", "files"),
                ("mode", "elsewhere"),
                ("to", by_page.to_str().expect("utf-8")),
            ],
        )
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(second.wait_until_done(&run_page).await, "success");
    assert_eq!(
        std::fs::read_to_string(by_page.join("facture.txt")).expect("restored"),
        "facture 42"
    );
    let history = second.get_text("/backups").await;
    assert_eq!(history.matches("kind-restore").count(), 2, "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_without_bucket_settings_says_what_is_missing() {
    let mut app = TestApp::spawn().await;
    app.shutdown().await;
    let listed = run(&["list"], app.data_dir(), "");
    assert!(!listed.status.success());
    let err = String::from_utf8_lossy(&listed.stderr);
    assert!(err.contains("bucket"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private_whoever_created_it() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    let temp = tempfile::tempdir().expect("temp dir");
    // Created by `user create` on a fresh machine.
    let fresh = temp.path().join("fresh");
    let created = run(
        &["user", "create", "ops"],
        &fresh,
        "a long enough passphrase\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("s3-backup.sqlite3")), 0o600);

    // Created open by someone else (`mkdir -p` in a container image): closed at start.
    let open = temp.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let listed = run(
        &["user", "create", "ops"],
        &open,
        "a long enough passphrase\n",
    );
    assert!(listed.status.success());
    std::fs::set_permissions(
        open.join("s3-backup.sqlite3"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let again = run(&["list"], &open, "");
    assert!(
        !again.status.success(),
        "no bucket set: list fails, but after opening the data"
    );
    assert_eq!(mode(&open), 0o700);
    assert_eq!(mode(&open.join("s3-backup.sqlite3")), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_set_from_the_shell_lifts_the_login_wait() {
    let app = TestApp::spawn_logged_in().await;
    app.post_form("/logout", &[]).await;
    for _ in 0..6 {
        app.post_form(
            "/login",
            &[("username", common::ADMIN), ("password", "wrong password!")],
        )
        .await;
    }
    let throttled = app
        .post_form(
            "/login",
            &[
                ("username", common::ADMIN),
                ("password", common::ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(throttled.status(), 429);

    let changed = run(
        &["user", "passwd", common::ADMIN],
        app.data_dir(),
        "a brand new passphrase\n",
    );
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let logged_in = app
        .post_form(
            "/login",
            &[
                ("username", common::ADMIN),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(logged_in.status(), 200);
    assert_eq!(logged_in.url().path(), "/");
}
