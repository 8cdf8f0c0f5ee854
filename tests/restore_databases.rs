//! `s3-backup restore` of PostgreSQL and MariaDB objects against the servers on this machine:
//! a real dump in the in-process S3 server, the real binary, and the tables compared.

mod common;

use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use common::TestApp;
use common::databases::{Databases, Server};
use common::s3::TestS3;
use s3_backup::backup::{Job, Manifest, Reporter, SourceSpec, StoredObject, run_backup};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const PREFIX: &str = "erp";
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
            leave_out: Vec::new(),
            encryption: None,
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
            contents: None,
            encryption: None,
            encoding: Default::default(),
            site: None,
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

/// A database that is not the backup: other rows, an extra table, an extra schema.
fn a_different_database(server: Server, name: &str) {
    server.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
    server.sql(
        name,
        "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2)); \
         INSERT INTO items (name, price) VALUES ('changed since', 1.00); \
         CREATE TABLE extra (x int); CREATE SCHEMA audit; CREATE TABLE audit.trail (y int);",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replace_leaves_exactly_the_backup_in_a_database_that_has_other_content() {
    let server = Server::Postgres;
    let databases = Databases::new(server);
    let source = databases.create_source();
    let url = server.url(&source);
    let install = Installation::new().await;
    install.add_source("shop", server, &url).await;
    install.back_up("shop", server, &url).await;
    let live = format!("{source}_live");
    a_different_database(server, &live);

    let output = install.restore(&["latest", "shop", "--to", &server.url(&live), "--replace"]);

    assert_eq!(restored_into(&output), live);
    assert_eq!(server.fingerprint(&live), server.fingerprint(&source));
    let tables = server.sql(
        &live,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    assert_eq!(tables, "public.items\npublic.notes\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replace_that_fails_to_load_leaves_the_database_as_it_was() {
    let server = Server::Postgres;
    let databases = Databases::new(server);
    let install = Installation::new().await;
    install
        .upload_dump(
            "shop",
            server,
            "CREATE TABLE items (id int);\nTHIS IS NOT SQL;\n",
        )
        .await;
    let live = format!("{}_live", databases.prefix);
    a_different_database(server, &live);
    let before = server.sql(
        &live,
        "SELECT name FROM items; SELECT count(*) FROM audit.trail",
    );

    let output = install.restore(&["latest", "shop", "--to", &server.url(&live), "--replace"]);

    assert_refused(&output, "syntax error");
    assert_eq!(
        server.sql(
            &live,
            "SELECT name FROM items; SELECT count(*) FROM audit.trail"
        ),
        before
    );
}
