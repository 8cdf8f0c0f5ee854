//! A backup's page: its objects from the manifest, downloads checked as they stream, and the
//! commands that restore it with standard tools.

use s3_backup::backup::{Job, Reporter, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

use crate::common::TestApp;
use crate::common::s3::TestS3;

/// A backup of one directory, made by the engine under `erp/`; returns its folder name.
async fn backed_up(s3: &TestS3, bucket: &str, files: &std::path::Path) -> String {
    let source = SourceSpec::parse("files", SourceKind::Directory, &files.display().to_string())
        .expect("a source");
    let outcome = run_backup(
        &Job {
            target: s3.target(bucket, "erp"),
            sources: vec![source],
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("backup");
    outcome.folder.trim_start_matches("erp/").to_owned()
}

fn tar_listing(tar: &[u8], dir: &std::path::Path) -> String {
    let path = dir.join("files.tar");
    std::fs::write(&path, tar).expect("write");
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&path)
        .output()
        .expect("tar is installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_backups_page_lists_its_objects_and_downloads_them_checked() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("dir");
    std::fs::write(files.path().join("facture-42.txt"), "Facture n°42").expect("write");
    let folder = backed_up(&s3, &bucket, files.path()).await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;

    let catalogue = app.get_text("/restore").await;
    assert!(
        catalogue.contains(&format!("href=\"/restore/{folder}\"")),
        "{catalogue}"
    );
    let page = app.get_text(&format!("/restore/{folder}")).await;
    let stored = s3
        .get(&bucket, &format!("erp/{folder}/files.tar.zst"))
        .await
        .expect("the object");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&stored))
    };
    assert!(page.contains(&sha), "the manifest's SHA-256 is shown");
    assert!(page.contains("files.tar.zst"));
    assert!(page.contains("sha256sum -c"), "{page}");
    assert!(
        page.contains(&format!("s3-backup restore {folder} files")),
        "{page}"
    );
    assert!(
        page.contains("zstd -dc files.tar.zst | tar -x -C files.restored"),
        "{page}"
    );
    assert!(page.contains(&format!("s3://{bucket}/erp/{folder}/files.tar.zst")));

    let as_stored = app
        .get(&format!("/restore/{folder}/objects/files.tar.zst"))
        .await;
    assert_eq!(as_stored.status(), 200);
    assert!(
        as_stored
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("files.tar.zst"))
    );
    assert_eq!(
        as_stored.bytes().await.expect("body").as_ref(),
        stored.as_slice()
    );

    let plain = app
        .get(&format!(
            "/restore/{folder}/objects/files.tar.zst?form=plain"
        ))
        .await;
    assert_eq!(plain.status(), 200);
    let tar = plain.bytes().await.expect("body");
    let work = tempfile::tempdir().expect("dir");
    assert!(tar_listing(&tar, work.path()).contains("facture-42.txt"));
}

#[tokio::test]
async fn a_flipped_byte_on_the_server_cuts_the_download() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("dir");
    std::fs::write(files.path().join("a.txt"), "a".repeat(100_000)).expect("write");
    let folder = backed_up(&s3, &bucket, files.path()).await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let on_disk = s3
        .root
        .join(&bucket)
        .join(format!("erp/{folder}/files.tar.zst"));
    let mut bytes = std::fs::read(&on_disk).expect("the stored file");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&on_disk, &bytes).expect("flip a byte");

    for form in ["", "?form=plain"] {
        // The answer is cut: before its headers when the very first bytes already fail to
        // decode, otherwise before the body's end.
        let url = app.url(&format!("/restore/{folder}/objects/files.tar.zst{form}"));
        let received = match app.client.get(url).send().await {
            Ok(response) => response.bytes().await.map(|_| ()),
            Err(error) => Err(error),
        };
        assert!(
            received.is_err(),
            "the download does not end cleanly ({form})"
        );
    }
    // And it is recorded: the backup shows as failing verification, and every page says so.
    let mut page = String::new();
    for _ in 0..200 {
        page = app.get_text("/restore").await;
        if page.contains("verification failed") {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(page.contains("verification failed"), "{page}");
    assert!(page.contains("id=\"verify-banner\""), "{page}");
}

#[tokio::test]
async fn unknown_or_malformed_folders_and_objects_are_not_found() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let files = tempfile::tempdir().expect("dir");
    std::fs::write(files.path().join("a.txt"), "a").expect("write");
    let folder = backed_up(&s3, &bucket, files.path()).await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    for path in [
        "/restore/2001-01-01T000000Z".to_owned(),
        "/restore/..%2F..%2Fetc".to_owned(),
        "/restore/not-a-folder".to_owned(),
        format!("/restore/{folder}/objects/other.tar.zst"),
        format!("/restore/{folder}/objects/manifest.json"),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
}

/// The one entry of `dir` whose name starts with `prefix`.
fn only_entry_starting_with(dir: &std::path::Path, prefix: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(prefix))
        })
        .collect();
    assert_eq!(found.len(), 1, "{prefix}* in {}: {found:?}", dir.display());
    found[0].clone()
}

/// Every file under `root` with its content, by path relative to `root`.
fn contents(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut all = std::collections::BTreeMap::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let relative = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            if path.is_dir() {
                all.insert(format!("{relative}/"), Vec::new());
                todo.push(path);
            } else {
                all.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    all
}

/// A directory source `files` under a parent of its own, backed up; returns the parent,
/// the source's path and the backup's folder name.
async fn directory_backed_up(
    app: &TestApp,
    s3: &TestS3,
    bucket: &str,
) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let parent = tempfile::tempdir().expect("dir");
    let files = parent.path().join("files");
    std::fs::create_dir_all(files.join("factures/2026")).expect("mkdir");
    std::fs::create_dir(files.join("vide")).expect("mkdir");
    std::fs::write(files.join("factures/2026/n°42.txt"), "Facture n°42").expect("write");
    std::fs::write(files.join("logo.bin"), vec![7u8; 300_000]).expect("write");
    app.add_directory_source("files", &files).await;
    let folder = backed_up(s3, bucket, &files).await;
    (parent, files, folder)
}

#[tokio::test]
async fn a_restore_started_from_the_page_makes_a_new_directory_and_is_in_the_history() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let (parent, files, folder) = directory_backed_up(&app, &s3, &bucket).await;

    let page = app.get_text(&format!("/restore/{folder}")).await;
    let default = format!("{}.restored-&#60;YYYYMMDDHHMM&#62;", files.display());
    assert!(
        page.contains(&default),
        "the default target is shown: {page}"
    );

    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "files"), ("mode", "new")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let restored = only_entry_starting_with(parent.path(), "files.restored-");
    assert_eq!(contents(&restored), contents(&files));
    let run = app.get_text(&run_page).await;
    assert!(run.contains("Restore of"), "{run}");
    assert!(
        run.contains(&format!("restored into {}", restored.display())),
        "{run}"
    );
    assert!(run.contains(&folder), "the backup it came from: {run}");
    let history = app.get_text("/backups").await;
    assert!(history.contains("kind-restore"), "{history}");
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains("s3backup_runs_total{kind=\"restore\",status=\"success\"} 1"),
        "{metrics}"
    );
    // A restore is not a backup: the catalogue does not take it for the run that made one.
    let catalogue = app.get_text("/restore").await;
    assert!(
        !catalogue.contains(&format!("href=\"{run_page}\"")),
        "{catalogue}"
    );
}

#[tokio::test]
async fn replacing_the_source_needs_its_name_typed_and_keeps_the_previous_version() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let (parent, files, folder) = directory_backed_up(&app, &s3, &bucket).await;
    let backed_up = contents(&files);
    std::fs::write(files.join("written-after.txt"), "later").expect("write");
    let current = contents(&files);

    for confirm in ["", "file", "other"] {
        let response = app
            .post_form(
                &format!("/restore/{folder}/run"),
                &[
                    ("source", "files"),
                    ("mode", "source"),
                    ("confirm", confirm),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        assert!(response.url().path().starts_with("/restore/"));
        let page = response.text().await.expect("page");
        assert!(
            page.contains("To replace it, type files in the confirmation field."),
            "{page}"
        );
        assert!(
            page.contains("value=\"source\" checked"),
            "the choice is kept: {page}"
        );
    }
    assert_eq!(contents(&files), current, "nothing was touched");
    assert!(!app.get_text("/backups").await.contains("kind-restore"));

    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[
                ("source", "files"),
                ("mode", "source"),
                ("confirm", "files"),
            ],
        )
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    assert_eq!(contents(&files), backed_up);
    let kept = only_entry_starting_with(parent.path(), "files.before-restore-");
    assert_eq!(contents(&kept), current);
    let run = app.get_text(&run_page).await;
    assert!(run.contains("previous version is kept as"), "{run}");
}

#[tokio::test]
async fn a_bad_restore_form_says_why_and_starts_nothing() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let (_parent, _files, folder) = directory_backed_up(&app, &s3, &bucket).await;
    let a_file = tempfile::NamedTempFile::new().expect("file");
    let a_file = a_file.path().display().to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("source", "nope"), ("mode", "new")],
            "This backup has no source nope.",
        ),
        (
            vec![("source", "files"), ("mode", "elsewhere")],
            "Name where to restore it.",
        ),
        (
            vec![("source", "files"), ("mode", "sideways")],
            "Choose where to restore it.",
        ),
        (
            vec![
                ("source", "files"),
                ("mode", "elsewhere"),
                ("to", &a_file),
                ("replace", "1"),
            ],
            "To replace it, type",
        ),
    ];
    for (fields, why) in cases {
        let response = app
            .post_form(&format!("/restore/{folder}/run"), &fields)
            .await;
        assert_eq!(response.status(), 200);
        let page = response.text().await.expect("page");
        assert!(page.contains(why), "{fields:?}: {page}");
    }
    // A target that is a file is refused by the restore itself, which says so in its run.
    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "files"), ("mode", "elsewhere"), ("to", &a_file)],
        )
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    let run = app.get_text(&run_page).await;
    assert!(run.contains(&a_file), "{run}");
    assert_eq!(std::fs::read(&a_file).expect("still there"), b"");
}

#[tokio::test]
async fn a_cancelled_database_restore_leaves_no_new_database_and_blocks_nothing_after() {
    use crate::common::databases::{Databases, Server};
    let databases = Databases::new(Server::Postgres);
    let source = databases.create_source();
    let url = Server::Postgres.url(&source);
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let response = app
        .post_form(
            "/sources",
            &[("name", "shop"), ("kind", "postgres"), ("location", &url)],
        )
        .await;
    assert!(response.status().is_success());
    let spec = SourceSpec::parse("shop", SourceKind::Postgres, &url).expect("a source");
    let outcome = run_backup(
        &Job {
            target: s3.target(&bucket, "erp"),
            sources: vec![spec],
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("backup");
    let folder = outcome.folder.trim_start_matches("erp/").to_owned();

    // The restore creates its new database, then waits for the dump's download.
    s3.hooks.hold_gets_of("shop.sql.zst");
    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "shop"), ("mode", "new")],
        )
        .await;
    let run_page = response.url().path().to_owned();
    s3.hooks.get_held().await;
    let restored_prefix = format!("{source}_restored_");
    assert_eq!(databases.server.databases(&restored_prefix).len(), 1);

    // Another operation waits for this one.
    let busy = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "shop"), ("mode", "new")],
        )
        .await
        .text()
        .await
        .expect("page");
    assert!(busy.contains("Another operation"), "{busy}");
    let run = app.get_text(&run_page).await;
    assert!(run.contains("Cancel this restore"), "{run}");

    let cancelled = app.post_form(&format!("{run_page}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(app.wait_until_done(&run_page).await, "failed");
    s3.hooks.release_gets();
    let run = app.get_text(&run_page).await;
    assert!(run.contains("The restore was cancelled"), "{run}");
    assert!(
        databases.server.databases(&restored_prefix).is_empty(),
        "the new database was dropped"
    );

    // The next restore runs to its end.
    let response = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "shop"), ("mode", "new")],
        )
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let restored = databases.server.databases(&restored_prefix);
    assert_eq!(restored.len(), 1);
    assert_eq!(
        Server::Postgres.fingerprint(&restored[0]),
        Server::Postgres.fingerprint(&source)
    );
}

#[tokio::test]
async fn restoring_a_whole_backup_from_the_page_brings_back_each_kind() {
    use crate::common::databases::{Databases, Server};
    let databases = Databases::new(Server::Mariadb);
    let shop = databases.create_source();
    let shop_url = Server::Mariadb.url(&shop);
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let parent = tempfile::tempdir().expect("dir");
    let files = parent.path().join("files");
    std::fs::create_dir_all(files.join("a/b")).expect("mkdir");
    std::fs::write(files.join("a/b/c.txt"), "deep").expect("write");
    let app_db = parent.path().join("app.sqlite3");
    let made = std::process::Command::new("sqlite3")
        .arg(&app_db)
        .arg("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('été'), ('winter');")
        .status()
        .expect("sqlite3 runs");
    assert!(made.success());
    let sources = [
        ("shop", SourceKind::Mysql, shop_url.clone()),
        ("files", SourceKind::Directory, files.display().to_string()),
        ("app", SourceKind::Sqlite, app_db.display().to_string()),
    ];
    for (name, kind, location) in &sources {
        let response = app
            .post_form(
                "/sources",
                &[
                    ("name", name),
                    ("kind", kind.as_str()),
                    ("location", location),
                ],
            )
            .await;
        assert!(response.status().is_success());
    }
    let outcome = run_backup(
        &Job {
            target: s3.target(&bucket, "erp"),
            sources: sources
                .iter()
                .map(|(name, kind, location)| {
                    SourceSpec::parse(name, *kind, location).expect("a source")
                })
                .collect(),
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: None,
        },
        &Reporter::detached(),
    )
    .await
    .expect("backup");
    let folder = outcome.folder.trim_start_matches("erp/").to_owned();

    let response = app
        .post_form(&format!("/restore/{folder}/run"), &[("source", "all")])
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let restored_files = only_entry_starting_with(parent.path(), "files.restored-");
    assert_eq!(contents(&restored_files), contents(&files));
    let restored_db = only_entry_starting_with(parent.path(), "app.sqlite3.restored-");
    let rows = std::process::Command::new("sqlite3")
        .arg(&restored_db)
        .arg("PRAGMA integrity_check; SELECT group_concat(v, ',') FROM t;")
        .output()
        .expect("sqlite3 runs");
    assert_eq!(String::from_utf8_lossy(&rows.stdout), "ok\nété,winter\n");
    let restored_shop = databases.server.databases(&format!("{shop}_restored_"));
    assert_eq!(restored_shop.len(), 1);
    assert_eq!(
        Server::Mariadb.fingerprint(&restored_shop[0]),
        Server::Mariadb.fingerprint(&shop)
    );
    let run = app.get_text(&run_page).await;
    assert!(run.contains("Objects restored"), "{run}");
    for name in ["shop.sql.zst", "files.tar.zst", "app.sqlite3.zst"] {
        assert!(run.contains(name), "{name} listed: {run}");
    }
}
