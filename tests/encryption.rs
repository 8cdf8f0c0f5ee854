//! Backups encrypted with age: restored with the standard tools alone (`age`, `zstd`, `tar`,
//! `psql`), and through the app's own restore and verification given the identity; without
//! it, or with another, they fail with a message that says why.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use age::secrecy::ExposeSecret;
use common::TestApp;
use common::databases::{Databases, Server};
use common::s3::TestS3;
use common::tree::snapshot;
use s3_backup::backup::restore::{
    BackupChoice, Report, Request, RestoreJob, SourceChoice, restore,
};
use s3_backup::backup::verify::{VerifyJob, VerifyReport, verify};
use s3_backup::backup::{BackupOutcome, Job, Manifest, Reporter, SourceSpec, run_backup};
use s3_backup::settings::{Identity, Recipients, SourceKind};
use tokio_util::sync::CancellationToken;

const PREFIX: &str = "erp";

/// A bucket, a key pair, and a work directory holding the identity file.
struct World {
    s3: TestS3,
    bucket: String,
    identity: Identity,
    work: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        let identity = Identity::generate();
        let work = tempfile::tempdir().expect("work dir");
        std::fs::write(
            work.path().join("key.txt"),
            identity.to_file().expose_secret(),
        )
        .expect("identity file");
        World {
            s3,
            bucket,
            identity,
            work,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn key_file(&self) -> PathBuf {
        self.path("key.txt")
    }

    /// Backs up `source` encrypted for this world's recipient.
    async fn back_up(&self, source: SourceSpec) -> BackupOutcome {
        let job = Job {
            target: self.s3.target(&self.bucket, PREFIX),
            sources: vec![source],
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: Some(self.identity.recipients()),
        };
        run_backup(&job, &Reporter::detached())
            .await
            .expect("the backup succeeds")
    }

    /// The stored object, saved under its own name in the work directory.
    async fn download(&self, key: &str) -> PathBuf {
        let bytes = self.s3.get(&self.bucket, key).await.expect("the object");
        let path = self.path(key.rsplit('/').next().expect("a name"));
        std::fs::write(&path, bytes).expect("save the object");
        path
    }

    async fn manifest(&self, outcome: &BackupOutcome) -> (String, Manifest) {
        let key = format!("{}/manifest.json", outcome.folder);
        let bytes = self.s3.get(&self.bucket, &key).await.expect("a manifest");
        let text = String::from_utf8(bytes).expect("utf-8");
        let manifest = serde_json::from_str(&text).expect("a manifest");
        (text, manifest)
    }

    async fn restore(&self, source: &str, to: &Path, identities: Vec<Identity>) -> Report {
        let job = RestoreJob {
            target: self.s3.target(&self.bucket, PREFIX),
            configured: Vec::new(),
            request: Request {
                backup: BackupChoice::Latest,
                source: SourceChoice::Named(source.to_owned()),
                to: Some(to.to_owned()),
                replace: false,
            },
            identities,
        };
        restore(&job, &Reporter::detached(), &CancellationToken::new())
            .await
            .expect("the backup is found")
    }

    async fn verify(&self, identities: Vec<Identity>) -> VerifyReport {
        let job = VerifyJob {
            target: self.s3.target(&self.bucket, PREFIX),
            configured: Vec::new(),
            backup: BackupChoice::Latest,
            instance: format!("{:08x}", rand::random::<u32>()),
            scratch: None,
            identities,
        };
        verify(&job, 1, &Reporter::detached(), &CancellationToken::new())
            .await
            .expect("the backup is found")
    }
}

/// A small tree with text, binary content and a subdirectory.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("invoice.txt"), "Facture n° 42 — 1 234,56 €\n").expect("write");
    let binary: Vec<u8> = (0..300_000u32).map(|n| (n * 7 % 251) as u8).collect();
    std::fs::write(root.join("sub/scan.bin"), binary).expect("write");
}

fn directory(name: &str, path: &Path) -> SourceSpec {
    SourceSpec::parse(name, SourceKind::Directory, path.to_str().expect("utf-8"))
        .expect("a valid source")
}

/// Runs a shell pipeline; the test fails if a tool is missing or fails.
fn pipeline(script: &str) {
    let output = Command::new("bash")
        .args(["-o", "pipefail", "-ec", script])
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `age` tool is there: a test that needs it fails without it.
fn require_age_tool() {
    let found = Command::new("age").arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "the age tool is missing (apt-get install age; scripts/test-setup.sh installs it)"
    );
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[tokio::test]
async fn an_encrypted_directory_restores_with_age_zstd_and_tar() {
    require_age_tool();
    let world = World::new().await;
    let source = world.path("files");
    make_tree(&source);

    let outcome = world.back_up(directory("files", &source)).await;

    let key = &outcome.objects[0].key;
    assert!(key.ends_with("/files.tar.zst.age"), "{key}");
    let stored = world.download(key).await;
    let out = world.path("out");
    std::fs::create_dir(&out).expect("mkdir");
    pipeline(&format!(
        "age -d -i {} {} | zstd -d | tar -x -C {}",
        quoted(&world.key_file()),
        quoted(&stored),
        quoted(&out)
    ));
    assert_eq!(snapshot(&out), snapshot(&source));
}

#[tokio::test]
async fn the_manifest_records_the_recipients_and_the_stored_bytes_never_a_secret() {
    let world = World::new().await;
    let source = world.path("files");
    make_tree(&source);

    let outcome = world.back_up(directory("files", &source)).await;

    let (text, manifest) = world.manifest(&outcome).await;
    let object = &manifest.objects[0];
    let encryption = object.encryption.as_ref().expect("recorded");
    assert_eq!(encryption.format, "age");
    assert_eq!(encryption.recipients, world.identity.recipients().keys());
    let stored = world
        .s3
        .get(&world.bucket, &object.key)
        .await
        .expect("stored");
    assert!(stored.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(object.size, stored.len() as u64);
    assert_eq!(
        object.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&stored))
    );
    assert!(!text.to_uppercase().contains("AGE-SECRET-KEY"), "{text}");
}

#[tokio::test]
async fn an_encrypted_postgres_backup_restores_with_age_zstd_and_psql() {
    require_age_tool();
    let databases = Databases::new(Server::Postgres);
    let name = databases.create_source();
    let url = Server::Postgres.url(&name);
    let world = World::new().await;
    let source = SourceSpec::parse("erp", SourceKind::Postgres, &url).expect("a source");

    let outcome = world.back_up(source).await;

    let key = &outcome.objects[0].key;
    assert!(key.ends_with("/erp.sql.zst.age"), "{key}");
    let stored = world.download(key).await;
    let restored = format!("{name}_by_hand");
    Server::Postgres.sql("postgres", &format!("CREATE DATABASE \"{restored}\""));
    pipeline(&format!(
        "age -d -i {} {} | zstd -d | psql -X -q -v ON_ERROR_STOP=1 -d '{}' >/dev/null",
        quoted(&world.key_file()),
        quoted(&stored),
        Server::Postgres.url(&restored)
    ));
    assert_eq!(
        Server::Postgres.fingerprint(&restored),
        Server::Postgres.fingerprint(&name)
    );
}

#[tokio::test]
async fn an_encrypted_mariadb_backup_restores_with_age_zstd_and_mariadb() {
    require_age_tool();
    let databases = Databases::new(Server::Mariadb);
    let name = databases.create_source();
    let before = Server::Mariadb.fingerprint(&name);
    let world = World::new().await;
    let source =
        SourceSpec::parse("shop", SourceKind::Mysql, &Server::Mariadb.url(&name)).expect("source");

    let outcome = world.back_up(source).await;

    let key = &outcome.objects[0].key;
    assert!(key.ends_with("/shop.sql.zst.age"), "{key}");
    let stored = world.download(key).await;
    // The dump recreates its database by name: on a server where it is gone.
    Server::Mariadb.drop_database(&name);
    pipeline(&format!(
        "age -d -i {} {} | zstd -d | mariadb -h 127.0.0.1 -P 3306 -u root --default-character-set=utf8mb4",
        quoted(&world.key_file()),
        quoted(&stored),
    ));
    assert_eq!(Server::Mariadb.fingerprint(&name), before);
}

#[tokio::test]
async fn an_encrypted_sqlite_backup_restores_with_age_zstd_and_sqlite3() {
    require_age_tool();
    let world = World::new().await;
    let database = world.path("wiki.sqlite3");
    let make = Command::new("sqlite3")
        .arg(&database)
        .arg("CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO pages (title) VALUES ('Accueil'), ('Grüße 🎉'), ('日本語');")
        .output()
        .expect("sqlite3 is installed");
    assert!(make.status.success(), "{make:?}");
    let source = SourceSpec::parse(
        "wiki",
        SourceKind::Sqlite,
        database.to_str().expect("utf-8"),
    )
    .expect("source");

    let outcome = world.back_up(source).await;

    let key = &outcome.objects[0].key;
    assert!(key.ends_with("/wiki.sqlite3.zst.age"), "{key}");
    let stored = world.download(key).await;
    let restored = world.path("restored.sqlite3");
    pipeline(&format!(
        "age -d -i {} {} | zstd -d -o {}",
        quoted(&world.key_file()),
        quoted(&stored),
        quoted(&restored)
    ));
    let rows = |path: &Path| {
        let out = Command::new("sqlite3")
            .arg(path)
            .arg("PRAGMA integrity_check; SELECT id, title FROM pages ORDER BY id;")
            .output()
            .expect("sqlite3");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(rows(&restored).starts_with("ok\n"), "{}", rows(&restored));
    assert_eq!(rows(&restored), rows(&database));
}

#[tokio::test]
async fn the_apps_restore_and_verification_decrypt_with_the_identity() {
    let world = World::new().await;
    let source = world.path("files");
    make_tree(&source);
    world.back_up(directory("files", &source)).await;
    let to = world.path("restored");

    let report = world
        .restore("files", &to, vec![world.identity.clone()])
        .await;
    let verified = world.verify(vec![world.identity.clone()]).await;

    let outcome = &report.outcomes[0];
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(snapshot(&to), snapshot(&source));
    assert!(verified.passed(), "{:?}", verified.checks);
    let findings = verified.checks[0].result.as_ref().expect("verified");
    let text = std::fs::metadata(source.join("invoice.txt"))
        .expect("stat")
        .len();
    assert_eq!(findings.content_bytes, 300_000 + text);
}

#[tokio::test]
async fn an_encrypted_database_restores_through_the_app_with_the_identity() {
    let databases = Databases::new(Server::Postgres);
    let name = databases.create_source();
    let world = World::new().await;
    let source = SourceSpec::parse("erp", SourceKind::Postgres, &Server::Postgres.url(&name))
        .expect("a source");
    world.back_up(source).await;
    let restored = format!("{name}_by_app");

    let report = world
        .restore(
            "erp",
            Path::new(&Server::Postgres.url(&restored)),
            vec![Identity::generate(), world.identity.clone()],
        )
        .await;

    assert!(report.outcomes[0].result.is_ok(), "{:?}", report.outcomes);
    assert_eq!(
        Server::Postgres.fingerprint(&restored),
        Server::Postgres.fingerprint(&name)
    );
}

#[tokio::test]
async fn a_missing_identity_says_for_whom_the_backup_is_encrypted() {
    let world = World::new().await;
    let source = world.path("files");
    make_tree(&source);
    world.back_up(directory("files", &source)).await;
    let to = world.path("restored");

    let report = world.restore("files", &to, Vec::new()).await;
    let verified = world.verify(Vec::new()).await;

    let recipient = &world.identity.recipients().keys()[0];
    let error = report.outcomes[0]
        .result
        .as_ref()
        .expect_err("no identity")
        .to_string();
    assert!(
        error.contains(&format!("this backup is encrypted for {recipient}"))
            && error.contains("give its identity file"),
        "{error}"
    );
    assert!(!to.exists(), "nothing is created");
    assert!(!verified.passed());
    let error = verified.checks[0]
        .result
        .as_ref()
        .expect_err("no identity")
        .to_string();
    assert!(error.contains("give its identity file"), "{error}");
}

#[tokio::test]
async fn a_wrong_identity_fails_naming_the_object() {
    let world = World::new().await;
    let source = world.path("files");
    make_tree(&source);
    let outcome = world.back_up(directory("files", &source)).await;
    let to = world.path("restored");
    let stranger = Identity::generate();

    let report = world.restore("files", &to, vec![stranger.clone()]).await;
    let verified = world.verify(vec![stranger]).await;

    let key = &outcome.objects[0].key;
    let error = report.outcomes[0]
        .result
        .as_ref()
        .expect_err("a wrong identity")
        .to_string();
    assert!(
        error.contains(key.as_str()) && error.contains("not one of them"),
        "{error}"
    );
    assert!(!to.exists(), "nothing is created");
    assert!(!verified.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_restores_and_verifies_with_an_identity_file() {
    let world = World::new().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&world.s3, &world.bucket, PREFIX).await;
    let source = world.path("files");
    make_tree(&source);
    world.back_up(directory("files", &source)).await;
    let to = world.path("restored");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_s3-backup"))
            .args(args)
            .arg("--data-dir")
            .arg(app.data_dir())
            .output()
            .expect("the binary runs")
    };
    let key = world.key_file();
    let key = key.to_str().expect("utf-8");

    let without = cli(&[
        "restore",
        "latest",
        "files",
        "--to",
        to.to_str().expect("utf-8"),
    ]);
    let restored = cli(&[
        "restore",
        "latest",
        "files",
        "--to",
        to.to_str().expect("utf-8"),
        "--identity",
        key,
    ]);
    let verified = cli(&["verify", "latest", "--identity", key]);

    assert!(!without.status.success());
    let message = String::from_utf8_lossy(&without.stderr);
    assert!(message.contains("give its identity file"), "{message}");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(snapshot(&to), snapshot(&source));
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn a_malformed_recipient_is_refused_naming_its_line() {
    let good = Identity::generate().recipients().to_string();

    let refused = Recipients::parse(&format!("{good}\nage1typo\n")).expect_err("refused");

    assert!(refused.message("en").contains("line 2: age1typo"));
    assert!(refused.message("fr").contains("ligne 2: age1typo"));
}

/// Runs `sql` on the PostgreSQL server as its superuser.
fn postgres_admin(sql: &str) {
    let status = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-qAtc", sql])
        .stdout(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(status.success(), "{sql}");
}

#[tokio::test]
async fn a_missing_identity_is_said_before_a_database_is_created() {
    let databases = Databases::new(Server::Postgres);
    let name = databases.create_source();
    let world = World::new().await;
    let source = SourceSpec::parse("erp", SourceKind::Postgres, &Server::Postgres.url(&name))
        .expect("a source");
    world.back_up(source).await;
    // A role that may not create databases: any attempt to create one would say so instead.
    let role = format!("s3b_nocreate_{:08x}", rand::random::<u32>());
    postgres_admin(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"));
    let to = format!("postgresql://{role}@127.0.0.1:5432/{name}_new");

    let report = world.restore("erp", Path::new(&to), Vec::new()).await;
    postgres_admin(&format!("DROP ROLE {role}"));

    let error = report.outcomes[0]
        .result
        .as_ref()
        .expect_err("no identity")
        .to_string();
    assert!(error.contains("give its identity file"), "{error}");
}
