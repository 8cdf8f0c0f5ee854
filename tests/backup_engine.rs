//! The engine against real components: an S3 server in the process, the machine's
//! PostgreSQL and MariaDB with their real dump tools, restored with standard tools only.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use common::databases::{Databases, Server};
use common::s3::TestS3;
use common::tree::{set_mtime, snapshot};
use s3_backup::backup::progress::RunEvent;
use s3_backup::backup::restore::BackupChoice;
use s3_backup::backup::verify::{self, VerifyJob};
use s3_backup::backup::{Job, Manifest, Progress, Reporter, SourceSpec, run_backup};
use s3_backup::settings::{DatabaseUrl, SourceKind, SourceLocation};

// ---- tools and databases -------------------------------------------------------------

/// A tool the test needs: missing means the test fails, it does not skip.
fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is missing: install it (apt-get install -y zstd sqlite3 postgresql-client mariadb-client)"
    );
    Command::new(name)
}

/// Runs a command that must succeed; returns its stdout.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand::random::<u32>())
}

fn psql(database: &str) -> Command {
    let mut command = tool("psql");
    command.args([
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-X",
        "-q",
        "-d",
        database,
    ]);
    command
}

fn mariadb() -> Command {
    let mut command = tool("mariadb");
    command.args([
        "-h",
        "127.0.0.1",
        "-P",
        "3306",
        "-u",
        "root",
        "--batch",
        "--skip-column-names",
        "--default-character-set=utf8mb4",
    ]);
    command
}

struct PgDatabase(String);

impl PgDatabase {
    fn create(seed_sql: &str) -> Self {
        let database = Self::empty();
        run(psql(&database.0).args(["-c", seed_sql]));
        database
    }

    fn empty() -> Self {
        let name = unique("s3b_pg");
        run(psql("postgres").args(["-c", &format!("CREATE DATABASE {name}")]));
        Self(name)
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres:unused-password@127.0.0.1:5432/{}",
            self.0
        )
    }

    fn query(&self, sql: &str) -> String {
        run(psql(&self.0).args(["-A", "-t", "-c", sql]))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql("postgres")
            .args([
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0),
            ])
            .output();
    }
}

struct MariaDatabase(String);

impl MariaDatabase {
    fn create(seed_sql: &str) -> Self {
        let name = unique("s3b_maria");
        run(mariadb().args([
            "-e",
            &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        ]));
        run(mariadb().args(["-D", &name, "-e", seed_sql]));
        Self(name)
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.0)
    }

    fn query(&self, sql: &str) -> String {
        run(mariadb().args(["-D", &self.0, "-e", sql]))
    }
}

impl Drop for MariaDatabase {
    fn drop(&mut self) {
        let _ = mariadb()
            .args(["-e", &format!("DROP DATABASE IF EXISTS {}", self.0)])
            .output();
    }
}

const PG_SEED: &str = "
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, city text,
                        balance numeric(12,2), joined date);
INSERT INTO customers VALUES
  (1, 'Zoë Ωmega', 'Paris', 12.50, '2024-01-02'),
  (2, '李雷', NULL, NULL, NULL),
  (3, 'O''Brien \"quoted\"', 'Köln', -3.10, '1999-12-31');
CREATE TABLE notes (id serial PRIMARY KEY, customer_id int REFERENCES customers (id), body text);
INSERT INTO notes (customer_id, body)
  SELECT 1 + (g % 3), 'line ' || g || E'\\ttab\\nnewline 🚀' FROM generate_series(1, 500) g;
";

const PG_CHECK: &[&str] = &[
    "SELECT * FROM customers ORDER BY id",
    "SELECT * FROM notes ORDER BY id",
    "SELECT last_value FROM notes_id_seq",
];

const MARIA_SEED: &str = "
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, city VARCHAR(50),
                        balance DECIMAL(12,2), photo BLOB) ENGINE=InnoDB;
INSERT INTO customers VALUES
  (1, 'Zoë Ωmega', 'Paris', 12.50, X'00FF10'),
  (2, '李雷 😀', NULL, NULL, NULL),
  (3, 'O''Brien \"quoted\"', 'Köln', -3.10, '');
CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT, note TEXT);
INSERT INTO events (customer_id, note) VALUES (1, 'a\\tb'), (2, NULL), (3, 'ünïcödé');
CREATE TRIGGER events_note BEFORE INSERT ON events FOR EACH ROW SET NEW.note = COALESCE(NEW.note, 'none');
";

const MARIA_CHECK: &[&str] = &[
    "SELECT id, name, city, balance, HEX(photo) FROM customers ORDER BY id",
    "SELECT * FROM events ORDER BY id",
    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
];

fn sqlite_database(dir: &Path) -> PathBuf {
    let path = dir.join("app.sqlite3");
    run(tool("sqlite3").arg(&path).arg(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, price REAL, data BLOB);
         INSERT INTO items VALUES (1, 'crème brûlée', 4.5, x'DEADBEEF'), (2, NULL, NULL, NULL),
                                  (3, '東京', -1.25, x'');
         WITH RECURSIVE n(i) AS (SELECT 4 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO items SELECT i, 'item ' || i, i * 0.5, randomblob(16) FROM n;",
    ));
    path
}

const SQLITE_CHECK: &str = "SELECT id, label, price, hex(data) FROM items ORDER BY id";

fn files_directory(dir: &Path) -> PathBuf {
    let root = dir.join("files");
    let nested = root.join("été").join("sous dossier");
    std::fs::create_dir_all(&nested).expect("directories");
    std::fs::create_dir_all(root.join("empty-dir")).expect("directories");
    std::fs::write(root.join("readme.txt"), "hello\n").expect("file");
    std::fs::write(nested.join("résumé.txt"), "déjà vu\n".repeat(1000)).expect("file");
    std::fs::write(root.join("empty"), "").expect("file");
    let long_name = format!("{}.txt", "long-name-".repeat(15));
    std::fs::write(nested.join(long_name), "long path").expect("file");
    random_file(&root.join("photo.jpg"), 3 * 1024 * 1024 + 17);
    std::os::unix::fs::symlink("readme.txt", root.join("link-to-readme")).expect("symlink");
    root
}

/// Incompressible bytes (from the kernel: fast even in a debug build).
fn random_file(path: &Path, size: u64) {
    use std::io::Read;
    let mut source = std::fs::File::open("/dev/urandom")
        .expect("/dev/urandom")
        .take(size);
    let mut file = std::fs::File::create(path).expect("file");
    std::io::copy(&mut source, &mut file).expect("random data");
}

fn job(target: s3_backup::backup::S3Target, sources: Vec<SourceSpec>) -> Job {
    Job {
        target,
        sources,
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    }
}

fn source(name: &str, kind: SourceKind, location: impl Into<String>) -> SourceSpec {
    SourceSpec::parse(name, kind, &location.into()).expect("a valid source")
}

/// A reporter whose log lines the test can read afterwards.
fn recording_reporter() -> (Reporter, mpsc::UnboundedReceiver<RunEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    (
        Reporter::new(Arc::new(Progress::default()), events),
        received,
    )
}

fn log_lines(mut received: mpsc::UnboundedReceiver<RunEvent>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(event) = received.try_recv() {
        if let RunEvent::Log { message, .. } = event {
            lines.push(message.to_string());
        }
    }
    lines
}

/// Downloads an object and decompresses it with the zstd command.
async fn fetch_and_decompress(s3: &TestS3, bucket: &str, key: &str, dir: &Path) -> PathBuf {
    let bytes = s3.get(bucket, key).await.expect("object exists");
    let name = key.rsplit('/').next().expect("file name");
    let compressed = dir.join(name);
    std::fs::write(&compressed, &bytes).expect("write download");
    let plain = dir.join(name.trim_end_matches(".zst"));
    run(tool("zstd")
        .args(["-d", "-q", "-f", "-o"])
        .arg(&plain)
        .arg(&compressed));
    plain
}

// ---- tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_source_restores_with_standard_tools() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let pg = PgDatabase::create(PG_SEED);
    let maria = MariaDatabase::create(MARIA_SEED);
    let sqlite = sqlite_database(work.path());
    let files = files_directory(work.path());
    let pg_before: Vec<String> = PG_CHECK.iter().map(|sql| pg.query(sql)).collect();
    let maria_before: Vec<String> = MARIA_CHECK.iter().map(|sql| maria.query(sql)).collect();
    let sqlite_before = run(tool("sqlite3").arg(&sqlite).arg(SQLITE_CHECK));

    let (reporter, received) = recording_reporter();
    let outcome = run_backup(
        &job(
            s3.target(&bucket, "company/erp"),
            vec![
                source("erp", SourceKind::Postgres, pg.url()),
                source("crm", SourceKind::Mysql, maria.url()),
                source("wiki", SourceKind::Sqlite, sqlite.to_string_lossy()),
                source("files", SourceKind::Directory, files.to_string_lossy()),
            ],
        ),
        &reporter,
    )
    .await
    .expect("backup succeeds");
    drop(reporter);
    // Small objects go in one PUT whose CRC32 the server stores and reports back.
    let lines = log_lines(received);
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("wiki:") && line.contains("size and CRC32 checked")),
        "{lines:?}"
    );

    // One folder under the prefix, named after the start time, with the manifest last.
    assert!(outcome.folder.starts_with("company/erp/"));
    let keys = s3.keys(&bucket, "company/erp/").await;
    let folder = &outcome.folder;
    let mut expected = vec![
        format!("{folder}/crm.sql.zst"),
        format!("{folder}/erp.sql.zst"),
        format!("{folder}/files.tar.zst"),
        format!("{folder}/manifest.json"),
        format!("{folder}/wiki.sqlite3.zst"),
    ];
    expected.sort();
    assert_eq!(keys, expected);

    let manifest: Manifest = serde_json::from_slice(
        &s3.get(&bucket, &format!("{folder}/manifest.json"))
            .await
            .expect("manifest"),
    )
    .expect("manifest is JSON");
    assert_eq!(manifest.app_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.objects.len(), 4);
    for object in &manifest.objects {
        let stored = s3.get(&bucket, &object.key).await.expect("object");
        assert_eq!(stored.len() as u64, object.size, "{}", object.key);
        assert_eq!(
            hex::encode(Sha256::digest(&stored)),
            object.sha256,
            "{}",
            object.key
        );
    }
    let kinds: Vec<&str> = manifest.objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["postgres", "mysql", "sqlite", "directory"]);

    let restore = tempfile::tempdir().expect("temp dir");
    let dir = restore.path();

    // PostgreSQL: psql into a fresh database.
    let dump = fetch_and_decompress(&s3, &bucket, &format!("{folder}/erp.sql.zst"), dir).await;
    let restored_pg = PgDatabase::empty();
    run(psql(&restored_pg.0).arg("-f").arg(&dump));
    let pg_after: Vec<String> = PG_CHECK.iter().map(|sql| restored_pg.query(sql)).collect();
    assert_eq!(pg_after, pg_before);

    // MariaDB: `mariadb < dump` recreates the database under its own name.
    let dump = fetch_and_decompress(&s3, &bucket, &format!("{folder}/crm.sql.zst"), dir).await;
    run(mariadb().args(["-e", &format!("DROP DATABASE {}", maria.0)]));
    run(mariadb().stdin(std::fs::File::open(&dump).expect("dump")));
    let maria_after: Vec<String> = MARIA_CHECK.iter().map(|sql| maria.query(sql)).collect();
    assert_eq!(maria_after, maria_before);

    // SQLite: the snapshot is a database file.
    let snapshot =
        fetch_and_decompress(&s3, &bucket, &format!("{folder}/wiki.sqlite3.zst"), dir).await;
    assert_eq!(
        run(tool("sqlite3").arg(&snapshot).arg("PRAGMA integrity_check")).trim(),
        "ok"
    );
    assert_eq!(
        run(tool("sqlite3").arg(&snapshot).arg(SQLITE_CHECK)),
        sqlite_before
    );

    // Directory: tar -x gives back the same tree, links included.
    let archive = fetch_and_decompress(&s3, &bucket, &format!("{folder}/files.tar.zst"), dir).await;
    let extracted = dir.join("extracted");
    std::fs::create_dir(&extracted).expect("dir");
    run(tool("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&extracted));
    run(tool("diff")
        .args(["-r", "--no-dereference"])
        .arg(&files)
        .arg(&extracted));
    assert!(extracted.join("empty-dir").is_dir());
}

/// Nested directories, each with an mtime in the past set after its content was made.
fn nested_tree(dir: &Path) -> PathBuf {
    let root = dir.join("nested");
    std::fs::create_dir_all(root.join("a/b/c")).expect("directories");
    std::fs::create_dir_all(root.join("empty")).expect("directories");
    std::fs::create_dir_all(root.join("z")).expect("directories");
    for file in [
        "a/b/c/deep.txt",
        "a/b/mid.txt",
        "a/top.txt",
        "m.txt",
        "z/last.txt",
    ] {
        std::fs::write(root.join(file), file).expect("file");
    }
    let entries = [
        "a/b/c/deep.txt",
        "a/b/c",
        "a/b/mid.txt",
        "a/b",
        "a/top.txt",
        "a",
        "empty",
        "m.txt",
        "z/last.txt",
        "z",
    ];
    for (index, entry) in entries.iter().enumerate() {
        set_mtime(&root.join(entry), 1_500_000_000 + index as u64 * 86_400);
    }
    root
}

#[tokio::test]
async fn zstd_and_plain_tar_give_back_every_mtime_of_a_nested_tree() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let files = nested_tree(work.path());
    let outcome = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![source(
                "files",
                SourceKind::Directory,
                files.to_string_lossy(),
            )],
        ),
        &Reporter::detached(),
    )
    .await
    .expect("backup succeeds");
    let archive = work.path().join("files.tar.zst");
    let stored = s3
        .get(&bucket, &format!("{}/files.tar.zst", outcome.folder))
        .await
        .expect("the archive");
    std::fs::write(&archive, stored).expect("write download");
    let extracted = work.path().join("extracted");
    std::fs::create_dir(&extracted).expect("dir");

    // `zstd -dc files.tar.zst | tar -x`, as the README says.
    let mut zstd = tool("zstd")
        .arg("-dc")
        .arg(&archive)
        .stdout(Stdio::piped())
        .spawn()
        .expect("zstd starts");
    let decompressed = zstd.stdout.take().expect("zstd's stdout");
    let tar = tool("tar")
        .arg("-x")
        .current_dir(&extracted)
        .stdin(decompressed)
        .status()
        .expect("tar runs");
    let zstd = zstd.wait().expect("zstd ends");

    assert!(zstd.success() && tar.success(), "zstd {zstd}, tar {tar}");
    assert_eq!(snapshot(&extracted), snapshot(&files));
}

/// The manifest of the run that wrote `folder`.
async fn stored_manifest(s3: &TestS3, bucket: &str, folder: &str) -> Manifest {
    let body = s3
        .get(bucket, &format!("{folder}/manifest.json"))
        .await
        .expect("a manifest");
    serde_json::from_slice(&body).expect("manifest JSON")
}

/// A tree with what makes tar entries differ from files: nested and empty directories,
/// symbolic and hard links, paths over 100 bytes (GNU long-name headers), a name that is not
/// UTF-8, empty, small and large files. Returns it with its bytes of file content.
fn awkward_tree(dir: &Path) -> (PathBuf, u64) {
    use std::os::unix::ffi::OsStrExt;
    let root = dir.join("awkward");
    let long_dir = root.join("d".repeat(90));
    for path in [root.join("a/b/c"), root.join("empty-dir"), long_dir.clone()] {
        std::fs::create_dir_all(path).expect("directories");
    }
    let mut content_bytes = 0;
    for (path, text) in [
        (root.join("a/b/c/deep.txt"), "deep"),
        (root.join("a/top.txt"), "top of the tree\n"),
        (root.join("empty"), ""),
        (
            long_dir.join(format!("{}.txt", "f".repeat(40))),
            "a long path",
        ),
        (
            root.join(std::ffi::OsStr::from_bytes(b"caf\xe9 latin-1.txt")),
            "not UTF-8",
        ),
    ] {
        std::fs::write(path, text).expect("file");
        content_bytes += text.len() as u64;
    }
    // Over SMALL_FILE: its data goes out in chunks of its own.
    random_file(&root.join("big.bin"), 200 * 1024 + 3);
    std::fs::hard_link(root.join("a/top.txt"), root.join("hard-link")).expect("hard link");
    content_bytes += 200 * 1024 + 3 + "top of the tree\n".len() as u64;
    std::os::unix::fs::symlink("a/top.txt", root.join("link")).expect("symlink");
    std::os::unix::fs::symlink("nowhere", root.join("dangling")).expect("symlink");
    std::os::unix::fs::symlink("../a/top.txt", long_dir.join("link-with-a-long-path"))
        .expect("symlink");
    (root, content_bytes)
}

/// Entries and bytes of file content of an archive, counted as a verification does.
async fn count_archive(archive: &Path) -> (u64, u64) {
    use futures::StreamExt;
    use tokio_tar::EntryType;
    let file = tokio::fs::File::open(archive).await.expect("the archive");
    let mut archive = tokio_tar::Archive::new(file);
    let mut entries = archive.entries().expect("entries");
    let (mut count, mut content_bytes) = (0, 0);
    while let Some(entry) = entries.next().await {
        let mut entry = entry.expect("an entry");
        count += 1;
        if matches!(
            entry.header().entry_type(),
            EntryType::Regular | EntryType::Continuous
        ) {
            content_bytes += tokio::io::copy(&mut entry, &mut tokio::io::sink())
                .await
                .expect("entry data");
        }
    }
    (count, content_bytes)
}

#[tokio::test]
async fn a_directory_archive_records_the_entries_and_bytes_a_reader_counts() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let (files, content_bytes) = awkward_tree(work.path());

    let outcome = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![source(
                "files",
                SourceKind::Directory,
                files.to_string_lossy(),
            )],
        ),
        &Reporter::detached(),
    )
    .await
    .expect("backup succeeds");

    let manifest = stored_manifest(&s3, &bucket, &outcome.folder).await;
    let contents = manifest.objects[0].contents.clone().expect("contents");
    let archive = fetch_and_decompress(
        &s3,
        &bucket,
        &format!("{}/files.tar.zst", outcome.folder),
        work.path(),
    )
    .await;
    let (read_entries, read_bytes) = count_archive(&archive).await;
    assert_eq!(contents.entries, Some(read_entries));
    assert_eq!(contents.content_bytes, Some(read_bytes));
    // 5 directories, 7 files (the hard link is a file of its own), 3 symbolic links.
    assert_eq!(read_entries, 15);
    assert_eq!(read_bytes, content_bytes);
    assert_eq!(contents.tables, None);
    assert_eq!(manifest.format, s3_backup::backup::manifest::FORMAT);
}

#[tokio::test]
async fn a_directory_holding_the_data_directory_is_archived_without_it() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let served = work.path().join("srv");
    let data_dir = served.join("app/data");
    std::fs::create_dir_all(&data_dir).expect("mkdir");
    std::fs::write(data_dir.join("master.key"), [7u8; 32]).expect("key");
    std::fs::write(data_dir.join("s3-backup.sqlite3"), "secrets").expect("database");
    std::fs::write(served.join("app/config.toml"), "port = 8080").expect("config");
    std::fs::write(served.join("index.html"), "<h1>hi</h1>").expect("page");
    let mut job = job(
        s3.target(&bucket, ""),
        vec![source(
            "srv",
            SourceKind::Directory,
            served.to_string_lossy(),
        )],
    );
    job.leave_out = vec![data_dir.clone()];
    let (reporter, received) = recording_reporter();

    let outcome = run_backup(&job, &reporter).await.expect("backup succeeds");
    drop(reporter);

    let archive = fetch_and_decompress(
        &s3,
        &bucket,
        &format!("{}/srv.tar.zst", outcome.folder),
        work.path(),
    )
    .await;
    let listing = run(tool("tar").arg("-tf").arg(&archive));
    let entries: Vec<&str> = listing.lines().collect();
    assert!(entries.contains(&"app/config.toml"), "{entries:?}");
    assert!(entries.contains(&"index.html"), "{entries:?}");
    assert!(
        !entries.iter().any(|entry| entry.starts_with("app/data")),
        "{entries:?}"
    );
    let shown = data_dir.display().to_string();
    let lines = log_lines(received);
    assert!(
        lines
            .iter()
            .any(|line| line.contains(&shown) && line.contains("data directory")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_database_records_its_tables_and_versions_in_the_manifest() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let pg = Databases::new(Server::Postgres);
    let pg_name = pg.create_source();
    let maria = Databases::new(Server::Mariadb);
    let maria_name = maria.create_source();
    let sqlite = sqlite_database(work.path());
    let (reporter, received) = recording_reporter();

    let outcome = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![
                source("erp", SourceKind::Postgres, Server::Postgres.url(&pg_name)),
                source("crm", SourceKind::Mysql, Server::Mariadb.url(&maria_name)),
                source("wiki", SourceKind::Sqlite, sqlite.to_string_lossy()),
            ],
        ),
        &reporter,
    )
    .await
    .expect("backup succeeds");
    drop(reporter);

    let manifest = stored_manifest(&s3, &bucket, &outcome.folder).await;
    let contents: Vec<_> = manifest
        .objects
        .iter()
        .map(|object| object.contents.clone().expect("contents"))
        .collect();
    let [erp, crm, wiki] = &contents[..] else {
        panic!("three objects: {contents:?}");
    };
    let first_line = |program: &str| {
        run(tool(program).arg("--version"))
            .lines()
            .next()
            .map(|line| line.trim().to_owned())
    };
    assert_eq!(erp.tables, Some(2));
    let pg_version = Server::Postgres.sql("postgres", "SHOW server_version");
    assert_eq!(erp.server_version.as_deref(), Some(pg_version.trim()));
    assert_eq!(erp.tool_version, first_line("pg_dump"));
    assert_eq!(crm.tables, Some(2));
    let maria_version = Server::Mariadb.sql("information_schema", "SELECT VERSION()");
    assert_eq!(crm.server_version.as_deref(), Some(maria_version.trim()));
    assert_eq!(crm.tool_version, first_line("mariadb-dump"));
    assert_eq!(wiki.tables, Some(1));
    assert!(wiki.pages.is_some_and(|pages| pages > 0), "{wiki:?}");
    assert!(contents.iter().all(|c| c.entries.is_none()));
    let lines = log_lines(received);
    assert!(
        lines.iter().all(|line| !line.contains("left out")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_backup_of_every_kind_verifies_against_the_contents_it_records() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let pg = Databases::new(Server::Postgres);
    let pg_name = pg.create_source();
    let maria = Databases::new(Server::Mariadb);
    let maria_name = maria.create_source();
    let (files, _) = awkward_tree(work.path());
    let sources = vec![
        source("erp", SourceKind::Postgres, Server::Postgres.url(&pg_name)),
        source("crm", SourceKind::Mysql, Server::Mariadb.url(&maria_name)),
        source(
            "wiki",
            SourceKind::Sqlite,
            sqlite_database(work.path()).to_string_lossy(),
        ),
        source("files", SourceKind::Directory, files.to_string_lossy()),
    ];
    let target = s3.target(&bucket, "");
    run_backup(&job(target.clone(), sources.clone()), &Reporter::detached())
        .await
        .expect("backup succeeds");

    let report = verify::verify(
        &VerifyJob {
            target,
            configured: sources,
            backup: BackupChoice::Latest,
            // Its scratch databases are dropped by no other test.
            instance: format!("{:08x}", rand::random::<u32>()),
            scratch: None,
            identities: Vec::new(),
        },
        1,
        &Reporter::detached(),
        &CancellationToken::new(),
    )
    .await
    .expect("the backup is found");

    assert_eq!(report.checks.len(), 4);
    for check in &report.checks {
        assert!(check.object.contents.is_some(), "{}", check.object.key);
        let findings = check.result.as_ref().unwrap_or_else(|error| {
            panic!("{}: {error}", check.object.key);
        });
        assert!(findings.not_restored.is_none(), "{findings:?}");
    }
}

#[tokio::test]
async fn wrong_secret_fails_the_run_with_the_signature_error() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let mut target = s3.target(&bucket, "");
    target.secret_access_key = "not-the-secret".into();

    let result = run_backup(
        &job(
            target,
            vec![source(
                "db",
                SourceKind::Sqlite,
                sqlite_database(work.path()).to_string_lossy(),
            )],
        ),
        &Reporter::detached(),
    )
    .await;

    let error = result.expect_err("the run fails").to_string();
    assert!(error.contains("SignatureDoesNotMatch"), "{error}");
    assert!(s3.keys(&bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_failing_source_makes_a_partial_run_that_keeps_the_others() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let missing = unique("s3b_missing");
    let erp = source(
        "erp",
        SourceKind::Postgres,
        format!("postgres://postgres:pw@127.0.0.1:5432/{missing}"),
    );

    let outcome = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![
                source(
                    "files",
                    SourceKind::Directory,
                    files_directory(work.path()).to_string_lossy(),
                ),
                erp.clone(),
            ],
        ),
        &Reporter::detached(),
    )
    .await
    .expect("the good source is kept");

    assert!(outcome.is_partial());
    assert_eq!(outcome.objects.len(), 1);
    assert_eq!(outcome.objects[0].source, "files");
    assert_eq!(outcome.failed.len(), 1);
    let failure = &outcome.failed[0];
    assert_eq!(failure.source, "erp");
    assert!(
        failure.reason.contains("source erp: pg_dump failed"),
        "{}",
        failure.reason
    );
    assert!(
        failure
            .reason
            .contains(&format!("database \"{missing}\" does not exist")),
        "{}",
        failure.reason
    );
    assert!(!failure.reason.contains("pw@"), "the password leaked");
    let keys = s3.keys(&bucket, "").await;
    assert!(
        keys.iter().all(|key| !key.ends_with("erp.sql.zst")),
        "{keys:?}"
    );
    let folder = &outcome.folder;
    assert!(
        keys.contains(&format!("{folder}/files.tar.zst")),
        "{keys:?}"
    );
    assert!(keys.contains(&format!("{folder}/partial.json")), "{keys:?}");
    let manifest: Manifest = serde_json::from_slice(
        &s3.get(&bucket, &format!("{folder}/manifest.json"))
            .await
            .expect("a manifest"),
    )
    .expect("manifest JSON");
    assert_eq!(manifest.objects.len(), 1);
    assert_eq!(manifest.failed.len(), 1);
    assert_eq!(manifest.failed[0].source, "erp");
    // The stored object restores with standard tools alone.
    let tar = fetch_and_decompress(
        &s3,
        &bucket,
        &format!("{folder}/files.tar.zst"),
        work.path(),
    )
    .await;
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .expect("tar runs");
    assert!(listing.status.success());
    assert!(!listing.stdout.is_empty());

    // When every source fails, the run fails and leaves nothing.
    let before = s3.keys(&bucket, "").await;
    let error = run_backup(
        &job(s3.target(&bucket, ""), vec![erp]),
        &Reporter::detached(),
    )
    .await
    .expect_err("the run fails")
    .to_string();
    assert!(error.contains("source erp: pg_dump failed"), "{error}");
    assert_eq!(s3.keys(&bucket, "").await, before, "nothing new is left");
}

#[tokio::test]
async fn failing_mariadb_dump_fails_the_run_with_its_message() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let missing = unique("s3b_missing");

    let result = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![source(
                "crm",
                SourceKind::Mysql,
                format!("mysql://root@127.0.0.1:3306/{missing}"),
            )],
        ),
        &Reporter::detached(),
    )
    .await;

    let error = result.expect_err("the run fails").to_string();
    assert!(error.contains("source crm: mariadb-dump failed"), "{error}");
    // mariadb-dump writes a header before failing: its output does not make a backup.
    assert!(
        error.contains(&format!("Unknown database '{missing}'")),
        "{error}"
    );
    assert!(s3.keys(&bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_database_name_starting_with_a_dash_is_never_read_as_an_option_by_the_dump_tool() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let planted = dir.path().join("planted.sql");
    // The form refuses such a name; the dump tool must not obey one that got past it.
    let url = DatabaseUrl::parse(SourceKind::Mysql, "mysql://root@127.0.0.1:3306/mysql")
        .expect("a URL")
        .with_database(&format!("--result-file={}", planted.display()));
    let spec = SourceSpec {
        name: "crm".to_owned(),
        location: SourceLocation::Mysql(url),
    };

    let result = run_backup(
        &job(s3.target(&bucket, ""), vec![spec]),
        &Reporter::detached(),
    )
    .await;

    assert!(
        !planted.exists(),
        "mariadb-dump wrote the file the name asked for"
    );
    let error = result.expect_err("no such database").to_string();
    assert!(
        error.contains("Unknown database '--result-file="),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stays_under_a_small_part_limit() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    // 72 MiB of incompressible data: 9 parts at a fixed 8 MiB, over a limit of 8.
    random_file(&data.join("video.mp4"), 72 * 1024 * 1024);
    let mut target = s3.target(&bucket, "");
    target.max_parts = 8;

    let outcome = run_backup(
        &job(
            target,
            vec![source(
                "media",
                SourceKind::Directory,
                data.to_string_lossy(),
            )],
        ),
        &Reporter::detached(),
    )
    .await
    .expect("backup succeeds");

    let object = &outcome.objects[0];
    assert!(object.size > 72 * 1024 * 1024);
    let parts = s3.hooks.parts_count();
    assert!((2..=8).contains(&parts), "{parts} parts");
    let stored = s3.get(&bucket, &object.key).await.expect("object");
    assert_eq!(hex::encode(Sha256::digest(&stored)), object.sha256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_part_fails_the_run_and_aborts_the_upload() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    random_file(&data.join("archive.bin"), 20 * 1024 * 1024);
    s3.hooks.fail_part_from.store(2, Ordering::SeqCst);
    let (reporter, received) = recording_reporter();

    let result = run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![source(
                "media",
                SourceKind::Directory,
                data.to_string_lossy(),
            )],
        ),
        &reporter,
    )
    .await;
    drop(reporter);

    let error = result.expect_err("the run fails").to_string();
    // Parts go up several at a time: whichever refused part is heard of first is named.
    let part: u32 = error
        .split("uploading part ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("names the part: {error}"));
    assert!(part >= 2, "{error}");
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(s3.keys(&bucket, "").await.is_empty());
    assert!(
        s3.open_multipart_uploads().is_empty(),
        "the upload was left open"
    );
    let lines = log_lines(received);
    assert!(
        lines.iter().any(|line| line
            .to_lowercase()
            .starts_with("aborted the multipart upload")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stopping_mid_run_fails_it_and_leaves_no_object() {
    let mut s3 = TestS3::start().await;
    let data_dir = s3.keep_data().expect("data directory");
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    random_file(&data.join("archive.bin"), 48 * 1024 * 1024);
    let (reporter, received) = recording_reporter();
    let backup = job(
        s3.target(&bucket, ""),
        vec![source(
            "media",
            SourceKind::Directory,
            data.to_string_lossy(),
        )],
    );

    let run = tokio::spawn(async move { run_backup(&backup, &reporter).await });
    s3.hooks.parts_received(2).await;
    s3.stop().await;
    let result = run.await.expect("run task");

    let error = result.expect_err("the run fails").to_string();
    assert!(error.contains("media.tar.zst"), "{error}");
    // The abort could not reach the stopped server: the run says so, and names the upload.
    let lines = log_lines(received);
    let abort_line = lines
        .iter()
        .find(|line| {
            line.to_lowercase()
                .starts_with("could not abort the multipart upload")
        })
        .unwrap_or_else(|| panic!("no abort attempt logged: {lines:?}"));
    // Back up on the same data: no object at the final key, no manifest; the open upload is
    // the one the run reported (a lifecycle rule on incomplete uploads would remove it).
    let restarted = TestS3::start_in(data_dir.path()).await;
    assert!(restarted.keys(&bucket, "").await.is_empty());
    let open = restarted.open_multipart_uploads();
    assert_eq!(open.len(), 1);
    assert!(abort_line.contains(&open[0]), "{abort_line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_object_without_a_reported_checksum_is_checked_by_size_and_etag() {
    // The in-process server gives no checksum for a multipart object: the log says what
    // was checked instead.
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    random_file(&data.join("scan.bin"), 9 * 1024 * 1024);
    let (reporter, received) = recording_reporter();

    run_backup(
        &job(
            s3.target(&bucket, ""),
            vec![source(
                "scans",
                SourceKind::Directory,
                data.to_string_lossy(),
            )],
        ),
        &reporter,
    )
    .await
    .expect("backup succeeds");

    drop(reporter);
    assert_eq!(s3.hooks.parts_count(), 2);
    let lines = log_lines(received);
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("scans:") && line.contains("size and ETag checked")),
        "{lines:?}"
    );
}
