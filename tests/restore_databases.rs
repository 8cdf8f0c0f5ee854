//! `s3-backup restore` of PostgreSQL and MariaDB objects against the servers on this machine:
//! a real dump in the in-process S3 server, the real binary, and the tables compared.

mod common;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use common::TestApp;
use common::s3::TestS3;
use s3_backup::backup::{Job, Manifest, Reporter, SourceSpec, StoredObject, run_backup};
use s3_backup::settings::SourceKind;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const PREFIX: &str = "erp";
const POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432";
const MARIADB: &str = "mysql://root@127.0.0.1:3306";

/// A database name no other test run uses.
fn unique(prefix: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = Utc::now().timestamp_subsec_nanos();
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{count}", std::process::id())
}

#[derive(Clone, Copy)]
enum Server {
    Postgres,
    Mariadb,
}

impl Server {
    fn url(self, database: &str) -> String {
        match self {
            Self::Postgres => format!("{POSTGRES}/{database}"),
            Self::Mariadb => format!("{MARIADB}/{database}"),
        }
    }

    fn kind(self) -> SourceKind {
        match self {
            Self::Postgres => SourceKind::Postgres,
            Self::Mariadb => SourceKind::Mysql,
        }
    }

    /// Runs `sql` in `database` and returns its rows, tab-separated.
    fn sql(self, database: &str, sql: &str) -> String {
        let output = match self {
            Self::Postgres => Command::new("psql")
                .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "\t"])
                .arg("-d")
                .arg(self.url(database))
                .arg("-c")
                .arg(sql)
                .output(),
            Self::Mariadb => Command::new("mariadb")
                .args([
                    "--batch",
                    "--skip-column-names",
                    "--default-character-set=utf8mb4",
                ])
                .args([
                    "-h",
                    "127.0.0.1",
                    "-P",
                    "3306",
                    "-u",
                    "root",
                    "-e",
                    sql,
                    "--",
                ])
                .arg(database)
                .output(),
        }
        .expect("the client runs");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn admin_database(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mariadb => "information_schema",
        }
    }

    /// The databases whose name starts with `prefix`.
    fn databases(self, prefix: &str) -> Vec<String> {
        let sql = match self {
            Self::Postgres => format!(
                "SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
            ),
            Self::Mariadb => format!(
                "SELECT SCHEMA_NAME FROM SCHEMATA WHERE LEFT(SCHEMA_NAME, {}) = '{prefix}' ORDER BY 1",
                prefix.len()
            ),
        };
        self.sql(self.admin_database(), &sql)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn drop_database(self, name: &str) {
        let sql = match self {
            Self::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            Self::Mariadb => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        self.sql(self.admin_database(), &sql);
    }

    /// Row count and a checksum of the table `items`.
    fn fingerprint(self, database: &str) -> String {
        let sql = match self {
            Self::Postgres => {
                "SELECT count(*), md5(string_agg(i::text, '|' ORDER BY id)) FROM items i; \
                 SELECT count(*), md5(string_agg(n::text, '|' ORDER BY id)) FROM notes n"
            }
            Self::Mariadb => {
                "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', id, name, price) ORDER BY id SEPARATOR '|')) FROM items; \
                 SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', id, body) ORDER BY id SEPARATOR '|')) FROM notes"
            }
        };
        self.sql(database, sql)
    }
}

/// The databases of one test, named `<prefix>…`, dropped when the test ends however it ends.
struct Databases {
    server: Server,
    prefix: String,
}

impl Databases {
    fn new(server: Server) -> Self {
        Self {
            server,
            prefix: unique("s3b"),
        }
    }

    /// Creates the source database with two tables, non-ASCII text included.
    fn create_source(&self) -> String {
        let name = self.prefix.clone();
        let create = match self.server {
            Server::Postgres => format!("CREATE DATABASE \"{name}\""),
            Server::Mariadb => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        };
        self.server.sql(self.server.admin_database(), &create);
        let tables = match self.server {
            Server::Postgres => {
                "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2)); \
                 CREATE TABLE notes (id int PRIMARY KEY, body text); \
                 INSERT INTO items (name, price) VALUES ('Käse', 3.50), ('naïve café', 2.00), ('日本語', 10.25), ('quote '' and \\ backslash', NULL); \
                 INSERT INTO notes VALUES (1, E'two\\nlines'), (2, 'Grüße 🎉');"
            }
            Server::Mariadb => {
                "CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, price decimal(10,2)); \
                 CREATE TABLE notes (id int PRIMARY KEY, body text); \
                 INSERT INTO items (name, price) VALUES ('Käse', 3.50), ('naïve café', 2.00), ('日本語', 10.25), ('quote '' and \\\\ backslash', NULL); \
                 INSERT INTO notes VALUES (1, 'two\\nlines'), (2, 'Grüße 🎉');"
            }
        };
        self.server.sql(&name, tables);
        name
    }

    fn all(&self) -> Vec<String> {
        self.server.databases(&self.prefix)
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        for name in self.server.databases(&self.prefix) {
            self.server.drop_database(&name);
        }
    }
}

/// An installation whose settings point at a bucket of its own, and that bucket.
struct Installation {
    app: TestApp,
    s3: TestS3,
    bucket: String,
}

impl Installation {
    async fn new() -> Installation {
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        let app = TestApp::spawn_logged_in().await;
        app.save_s3_settings(&s3, &bucket, PREFIX).await;
        Installation { app, s3, bucket }
    }

    async fn add_source(&self, name: &str, server: Server, url: &str) {
        let kind = server.kind().as_str();
        let response = self
            .app
            .post_form(
                "/sources",
                &[("name", name), ("kind", kind), ("location", url)],
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
    }

    async fn back_up(&self, name: &str, server: Server, url: &str) {
        let job = Job {
            target: self.s3.target(&self.bucket, PREFIX),
            sources: vec![SourceSpec::parse(name, server.kind(), url).expect("a valid source")],
            backup_limit: 0,
        };
        let outcome = run_backup(&job, &Reporter::detached())
            .await
            .expect("the backup succeeds");
        assert!(!outcome.is_partial());
    }

    /// Uploads `sql` as the object of source `name` in a folder of its own, as the manifest
    /// lists it.
    async fn upload_dump(&self, name: &str, server: Server, sql: &str) {
        let mut encoder = async_compression::tokio::write::ZstdEncoder::new(Vec::new());
        encoder.write_all(sql.as_bytes()).await.expect("compress");
        encoder.shutdown().await.expect("compress");
        let stored = encoder.into_inner();
        let folder = Utc::now().format("%Y-%m-%dT%H%M%SZ").to_string();
        let key = format!("{PREFIX}/{folder}/{name}.sql.zst");
        let object = StoredObject {
            source: name.into(),
            kind: server.kind().as_str().into(),
            key: key.clone(),
            size: stored.len() as u64,
            sha256: hex::encode(Sha256::digest(&stored)),
            source_bytes: sql.len() as u64,
        };
        self.put(&key, stored).await;
        let manifest = Manifest::new(Utc::now(), Utc::now(), vec![object], Vec::new());
        let json = manifest.to_json().expect("json");
        self.put(&format!("{PREFIX}/{folder}/manifest.json"), json)
            .await;
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put object");
    }

    fn restore(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_s3-backup"))
            .arg("restore")
            .args(args)
            .arg("--data-dir")
            .arg(self.app.data_dir())
            .output()
            .expect("the binary runs")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The database the restore reports it restored into.
fn restored_into(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let url = stdout.trim().rsplit(" to ").next().expect("a target");
    url.rsplit('/').next().expect("a database").to_owned()
}

/// Fails with one line that says `why`.
fn assert_refused(output: &Output, why: &str) {
    assert!(!output.status.success(), "the restore should fail");
    let message = stderr(output);
    assert!(message.contains(why), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

async fn restores_into_a_new_database_beside_the_source(server: Server) {
    let databases = Databases::new(server);
    let source = databases.create_source();
    let url = server.url(&source);
    let install = Installation::new().await;
    install.add_source("shop", server, &url).await;
    install.back_up("shop", server, &url).await;

    let output = install.restore(&["latest", "shop"]);

    let restored = restored_into(&output);
    assert!(
        restored.starts_with(&format!("{source}_restored_")),
        "{restored}"
    );
    assert_eq!(server.fingerprint(&restored), server.fingerprint(&source));
    assert!(server.fingerprint(&source).starts_with("4\t"));
}

async fn refuses_an_existing_database_without_replace(server: Server) {
    let databases = Databases::new(server);
    let source = databases.create_source();
    let url = server.url(&source);
    let install = Installation::new().await;
    install.add_source("shop", server, &url).await;
    install.back_up("shop", server, &url).await;
    server.sql(&source, "INSERT INTO notes VALUES (3, 'kept')");
    let before = server.fingerprint(&source);

    let output = install.restore(&["latest", "shop", "--to", &url]);

    assert_refused(&output, "exists already: add --replace");
    assert_eq!(server.fingerprint(&source), before);
    assert_eq!(databases.all(), [source]);
}

async fn a_dump_that_fails_to_load_leaves_no_new_database(server: Server) {
    let databases = Databases::new(server);
    let source = databases.create_source();
    let install = Installation::new().await;
    install
        .add_source("shop", server, &server.url(&source))
        .await;
    let dump = "CREATE TABLE fine (id int);\nINSERT INTO fine VALUES (1);\nTHIS IS NOT SQL;\n";
    install.upload_dump("shop", server, dump).await;

    let output = install.restore(&["latest", "shop"]);

    assert_refused(&output, "loading the dump");
    assert!(stderr(&output).contains("THIS IS NOT SQL") || stderr(&output).contains("syntax"));
    assert_eq!(databases.all(), [source]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restores_into_a_new_database_beside_the_source() {
    restores_into_a_new_database_beside_the_source(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_an_existing_database_without_replace() {
    refuses_an_existing_database_without_replace(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_that_fails_to_load_leaves_no_new_database() {
    a_dump_that_fails_to_load_leaves_no_new_database(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_restores_into_a_new_database_beside_the_source() {
    restores_into_a_new_database_beside_the_source(Server::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_refuses_an_existing_database_without_replace() {
    refuses_an_existing_database_without_replace(Server::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_dump_that_fails_to_load_leaves_no_new_database() {
    a_dump_that_fails_to_load_leaves_no_new_database(Server::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restores_into_an_existing_empty_database_with_replace() {
    let server = Server::Postgres;
    let databases = Databases::new(server);
    let source = databases.create_source();
    let url = server.url(&source);
    let install = Installation::new().await;
    install.add_source("shop", server, &url).await;
    install.back_up("shop", server, &url).await;
    let empty = format!("{source}_empty");
    server.sql("postgres", &format!("CREATE DATABASE \"{empty}\""));

    let output = install.restore(&["latest", "shop", "--to", &server.url(&empty), "--replace"]);

    assert_eq!(restored_into(&output), empty);
    assert_eq!(server.fingerprint(&empty), server.fingerprint(&source));
}
