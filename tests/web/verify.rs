//! Verification against the real servers: a backup of each kind verified from the shell and
//! from its page with the source's row counts; damaged objects failing, named and mailed;
//! no scratch database left behind, even by a killed verification.

use std::process::{Command, Output};

use s3_backup::backup::{Job, Reporter, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

use crate::common::TestApp;
use crate::common::databases::{Databases, Server};
use crate::common::s3::TestS3;
use crate::common::smtp::TestSmtp;

/// The start of the scratch databases' names of the installation of `app`: its instance
/// name is derived from its key, so parallel tests (and installations) never share one.
fn scratch_prefix(app: &TestApp) -> String {
    use sha2::Digest;
    let key = std::fs::read(app.data_dir().join("master.key")).expect("the key");
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"s3-backup instance name\0");
    hasher.update(&key);
    format!("s3backup_verify_{}_", hex::encode(&hasher.finalize()[..4]))
}

/// `s3-backup verify ARGS` on the data of `app`, without blocking the S3 server of the test.
async fn verify(app: &TestApp, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .arg("verify")
        .args(args)
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .await
        .expect("the binary runs")
}

/// An installation with one source of each kind, backed up once.
struct World {
    app: TestApp,
    s3: TestS3,
    bucket: String,
    postgres: Databases,
    mariadb: Databases,
    _dir: tempfile::TempDir,
    sqlite: std::path::PathBuf,
    smtp: Option<TestSmtp>,
}

impl World {
    async fn new(mail: bool) -> World {
        let smtp = if mail {
            Some(TestSmtp::start().await)
        } else {
            None
        };
        let app = TestApp::logged_in(
            TestApp::spawn_trusting(smtp.as_ref().map(|server| server.ca_pem())).await,
        )
        .await;
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        if let Some(server) = &smtp {
            crate::notifications::save_email_account(&app, server).await;
        }
        app.save_s3_settings_with(&s3, &bucket, "erp", &[("notify_email", "ops@example.com")])
            .await;
        let postgres = Databases::new(Server::Postgres);
        let mariadb = Databases::new(Server::Mariadb);
        postgres.create_source();
        mariadb.create_source();
        let dir = tempfile::tempdir().expect("dir");
        let files = dir.path().join("files");
        std::fs::create_dir_all(files.join("a/b")).expect("mkdir");
        std::fs::write(files.join("a/b/c.txt"), "deep").expect("write");
        std::fs::write(files.join("big.bin"), vec![3u8; 200_000]).expect("write");
        let sqlite = dir.path().join("app.sqlite3");
        let made = Command::new("sqlite3")
            .arg(&sqlite)
            .arg("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a'), ('b'), ('c');")
            .status()
            .expect("sqlite3 runs");
        assert!(made.success());
        let world = World {
            app,
            s3,
            bucket,
            _dir: dir,
            sqlite,
            smtp,
            postgres,
            mariadb,
        };
        for (name, kind, location) in world.sources(&files) {
            let response = world
                .app
                .post_form(
                    "/sources",
                    &[
                        ("name", name),
                        ("kind", kind.as_str()),
                        ("location", &location),
                    ],
                )
                .await;
            assert!(response.status().is_success());
        }
        world
    }

    fn sources(&self, files: &std::path::Path) -> Vec<(&'static str, SourceKind, String)> {
        vec![
            (
                "shop",
                SourceKind::Postgres,
                Server::Postgres.url(&self.postgres.prefix),
            ),
            (
                "crm",
                SourceKind::Mysql,
                Server::Mariadb.url(&self.mariadb.prefix),
            ),
            ("app", SourceKind::Sqlite, self.sqlite.display().to_string()),
            ("files", SourceKind::Directory, files.display().to_string()),
        ]
    }

    /// Backs up every source; returns the folder's name.
    async fn back_up(&self) -> String {
        let files = self._dir.path().join("files");
        let outcome = run_backup(
            &Job {
                target: self.s3.target(&self.bucket, "erp"),
                sources: self
                    .sources(&files)
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
        outcome.folder.trim_start_matches("erp/").to_owned()
    }

    /// This installation's scratch databases on both servers.
    fn scratch_databases(&self) -> Vec<String> {
        let prefix = scratch_prefix(&self.app);
        let mut all = Server::Postgres.databases(&prefix);
        all.extend(Server::Mariadb.databases(&prefix));
        all
    }

    fn object_path(&self, folder: &str, name: &str) -> std::path::PathBuf {
        self.s3
            .root
            .join(&self.bucket)
            .join(format!("erp/{folder}/{name}"))
    }
}

#[tokio::test]
async fn a_clean_backup_of_each_kind_verifies_with_the_sources_row_counts() {
    let world = World::new(false).await;
    let folder = world.back_up().await;

    let output = verify(&world.app, &[]).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("backup {folder} verified")),
        "{stdout}"
    );
    // The counts the test restores found are the sources' own.
    assert!(
        stdout.contains("shop: ok, 2 tables, 6 rows (public.items 4, public.notes 2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("crm: ok, 2 tables, 6 rows (items 4, notes 2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("app: ok, 1 tables, 3 rows (t 3)"),
        "{stdout}"
    );
    assert!(stdout.contains("files: ok, "), "{stdout}");
    assert!(
        world.scratch_databases().is_empty(),
        "{:?}",
        world.scratch_databases()
    );

    // From the backup's page too; the catalogue then says it was verified.
    let response = world
        .app
        .post_form(&format!("/restore/{folder}/verify"), &[])
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(world.app.wait_until_done(&run_page).await, "success");
    let run = world.app.get_text(&run_page).await;
    assert!(run.contains("Verification of"), "{run}");
    assert!(run.contains("test-restored, 2 tables, 6 rows"), "{run}");
    let catalogue = world.app.get_text("/restore").await;
    assert!(catalogue.contains("verified 20"), "{catalogue}");
    assert!(world.scratch_databases().is_empty());
    let metrics = world.app.get_text("/metrics").await;
    assert!(
        metrics.contains("s3backup_runs_total{kind=\"verify\",status=\"success\"} 2"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("s3backup_last_verification_success_timestamp_seconds 0\n"),
        "{metrics}"
    );
}

/// Damages an object of a fresh backup with `damage`, then verifies it: the verification
/// fails naming `object`, leaves no scratch database, and is mailed.
async fn fails_naming(world: &World, object: &str, damage: impl FnOnce(&World, &str)) {
    let folder = world.back_up().await;
    damage(world, &folder);
    assert_fails_naming(world, &folder, object).await;
}

async fn assert_fails_naming(world: &World, folder: &str, object: &str) {
    let output = verify(&world.app, &[folder]).await;
    assert!(!output.status.success(), "a damaged backup must not verify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(object), "{object}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    // From the page, too: the run names it, and the server mails it.
    let response = world
        .app
        .post_form(&format!("/restore/{folder}/verify"), &[])
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(world.app.wait_until_done(&run_page).await, "failed");
    let run = world.app.get_text(&run_page).await;
    assert!(run.contains(object), "{object}: {run}");
    assert!(
        world.scratch_databases().is_empty(),
        "{:?}",
        world.scratch_databases()
    );
    let page = world.app.get_text("/restore").await;
    assert!(page.contains("verification failed"), "{page}");
    assert!(
        page.contains("id=\"verify-banner\""),
        "the banner says so: {page}"
    );
}

#[tokio::test]
async fn damaged_objects_fail_verification_naming_them_and_are_mailed() {
    let world = World::new(true).await;

    fails_naming(&world, "files.tar.zst", |world, folder| {
        let path = world.object_path(folder, "files.tar.zst");
        let mut bytes = std::fs::read(&path).expect("stored");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, bytes).expect("flip a byte");
    })
    .await;
    fails_naming(&world, "shop.sql.zst", |world, folder| {
        let path = world.object_path(folder, "shop.sql.zst");
        let bytes = std::fs::read(&path).expect("stored");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    })
    .await;
    fails_naming(&world, "app.sqlite3.zst", |world, folder| {
        std::fs::remove_file(world.object_path(folder, "app.sqlite3.zst")).expect("delete");
    })
    .await;
    // A manifest listing an object that is not there.
    let folder = world.back_up().await;
    let key = format!("erp/{folder}/manifest.json");
    let stored = world.s3.get(&world.bucket, &key).await.expect("manifest");
    let mut manifest: serde_json::Value = serde_json::from_slice(&stored).expect("json");
    let mut ghost = manifest["objects"][0].clone();
    ghost["source"] = "ghost".into();
    ghost["key"] = format!("erp/{folder}/ghost.sql.zst").into();
    manifest["objects"]
        .as_array_mut()
        .expect("objects")
        .push(ghost);
    world
        .s3
        .client
        .put_object()
        .bucket(&world.bucket)
        .key(&key)
        .body(serde_json::to_vec(&manifest).expect("json").into())
        .send()
        .await
        .expect("put the manifest");
    assert_fails_naming(&world, &folder, "ghost.sql.zst").await;

    let smtp = world.smtp.as_ref().expect("mail");
    let messages: Vec<_> = smtp
        .wait_for(4)
        .await
        .into_iter()
        .filter(|mail| mail.subject().contains("Verification failed"))
        .collect();
    assert_eq!(
        messages.len(),
        4,
        "each failure is mailed once by the server"
    );
    for (mail, object) in messages.iter().zip([
        "files.tar.zst",
        "shop.sql.zst",
        "app.sqlite3.zst",
        "ghost.sql.zst",
    ]) {
        assert!(
            mail.subject()
                .starts_with("[s3-backup] Verification failed: "),
            "{}",
            mail.subject()
        );
        assert!(mail.text().contains(object), "{object}: {}", mail.text());
    }

    // A verification that passes takes the banner down.
    let output = verify(&world.app, &[&world.back_up().await]).await;
    assert!(output.status.success());
    let page = world.app.get_text("/restore").await;
    assert!(!page.contains("id=\"verify-banner\""), "{page}");
}

#[tokio::test]
async fn a_killed_verification_leaves_no_scratch_database_once_the_app_runs_again() {
    let mut world = World::new(false).await;
    let folder = world.back_up().await;
    // The verification creates its scratch database, then waits for the dump.
    world.s3.hooks.hold_gets_of("shop.sql.zst");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .args(["verify", &folder, "--data-dir"])
        .arg(world.app.data_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    world.s3.hooks.get_held().await;
    assert_eq!(
        Server::Postgres
            .databases(&scratch_prefix(&world.app))
            .len(),
        1
    );
    child.kill().await.expect("kill -9");
    world.s3.hooks.release_gets();
    assert_eq!(
        Server::Postgres
            .databases(&scratch_prefix(&world.app))
            .len(),
        1,
        "left behind by the killed process"
    );

    world.app.restart().await;
    // The next verification (or the start-up cleaning, whichever runs first) drops it.
    let response = world
        .app
        .post_form(&format!("/restore/{folder}/verify"), &[])
        .await;
    let run_page = response.url().path().to_owned();
    assert_eq!(world.app.wait_until_done(&run_page).await, "success");
    assert!(
        world.scratch_databases().is_empty(),
        "{:?}",
        world.scratch_databases()
    );
    let history = world.app.get_text("/backups").await;
    assert!(history.contains("kind-verify"), "{history}");
}

#[tokio::test]
async fn a_new_installation_test_restores_dumps_on_the_scratch_server_of_its_settings() {
    let world = World::new(false).await;
    let folder = world.back_up().await;
    // Only the bucket and a scratch PostgreSQL server: no source is configured here.
    let fresh = TestApp::spawn_logged_in().await;
    let scratch = "postgresql://postgres:hunter2@127.0.0.1:5432/postgres";
    fresh
        .save_s3_settings_with(
            &world.s3,
            &world.bucket,
            "erp",
            &[("scratch_server", scratch)],
        )
        .await;
    let settings = fresh.get_text("/settings").await;
    assert!(
        settings.contains("postgresql://postgres:***@127.0.0.1:5432/postgres"),
        "{settings}"
    );
    assert!(!settings.contains("hunter2"));
    assert!(
        !String::from_utf8_lossy(&fresh.database_bytes()).contains("hunter2"),
        "never stored in clear"
    );
    let sealed = |pool: sqlx::SqlitePool| async move {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT scratch_server FROM settings WHERE id = 1")
            .fetch_one(&pool)
            .await
            .expect("stored")
    };
    let before = sealed(fresh.pool().await).await;
    // Sent back as shown, it stays as it was.
    fresh
        .save_s3_settings_with(
            &world.s3,
            &world.bucket,
            "erp",
            &[(
                "scratch_server",
                "postgresql://postgres:***@127.0.0.1:5432/postgres",
            )],
        )
        .await;
    assert_eq!(sealed(fresh.pool().await).await, before);

    let output = verify(&fresh, &[&folder]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("shop: ok, 2 tables, 6 rows (public.items 4, public.notes 2)"),
        "test-restored on the scratch server: {stdout}"
    );
    assert!(
        stdout.contains("crm: ok (checked, not test-restored"),
        "no MariaDB server for it here: {stdout}"
    );
    assert!(stdout.contains("app: ok, 1 tables, 3 rows"), "{stdout}");
    assert!(
        Server::Postgres
            .databases(&scratch_prefix(&fresh))
            .is_empty(),
        "dropped"
    );
}
