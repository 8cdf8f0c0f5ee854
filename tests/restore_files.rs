//! `s3-backup restore` of SQLite databases and directories, run as the admin would: a real
//! backup in the in-process S3 server, the real binary, and the files compared afterwards.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use common::TestApp;
use common::s3::TestS3;
use common::tree::{set_mtime, snapshot};
use s3_backup::backup::{Job, Manifest, Reporter, SourceSpec, StoredObject, run_backup};
use s3_backup::settings::SourceKind;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const PREFIX: &str = "erp";

/// An installation whose settings point at a bucket of its own, and that bucket.
struct Installation {
    app: TestApp,
    s3: TestS3,
    bucket: String,
    work: tempfile::TempDir,
}

impl Installation {
    async fn new() -> Installation {
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        let app = TestApp::spawn_logged_in().await;
        app.save_s3_settings(&s3, &bucket, PREFIX).await;
        Installation {
            app,
            s3,
            bucket,
            work: tempfile::tempdir().expect("work dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    async fn add_source(&self, name: &str, kind: &str, location: &Path) {
        let location = location.to_str().expect("utf-8 path");
        let response = self
            .app
            .post_form(
                "/sources",
                &[("name", name), ("kind", kind), ("location", location)],
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Backs up `sources` and returns the folder's name.
    async fn back_up(&self, sources: &[(&str, SourceKind, &Path)]) -> String {
        let job = Job {
            target: self.s3.target(&self.bucket, PREFIX),
            sources: sources
                .iter()
                .map(|(name, kind, path)| {
                    SourceSpec::parse(name, *kind, path.to_str().expect("utf-8"))
                        .expect("a valid source")
                })
                .collect(),
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: None,
        };
        let outcome = run_backup(&job, &Reporter::detached())
            .await
            .expect("the backup succeeds");
        assert!(!outcome.is_partial());
        folder_name(&outcome.folder)
    }

    /// Uploads `archive` (a tar) as the directory `files` of a backup folder of its own.
    async fn upload_archive(&self, folder: &str, archive: &[u8]) {
        self.upload_archive_listed_as(folder, archive, None).await;
    }

    /// Uploads `archive` with a manifest that gives it `sha256` instead of its own.
    async fn upload_archive_listed_as(&self, folder: &str, archive: &[u8], sha256: Option<&str>) {
        let mut encoder = async_compression::tokio::write::ZstdEncoder::new(Vec::new());
        encoder.write_all(archive).await.expect("compress");
        encoder.shutdown().await.expect("compress");
        let stored = encoder.into_inner();
        let key = format!("{PREFIX}/{folder}/files.tar.zst");
        let object = StoredObject {
            source: "files".into(),
            kind: "directory".into(),
            key: key.clone(),
            size: stored.len() as u64,
            sha256: sha256.map_or_else(|| hex::encode(Sha256::digest(&stored)), str::to_owned),
            source_bytes: archive.len() as u64,
            contents: None,
            encryption: None,
            encoding: Default::default(),
            site: None,
        };
        self.put(&key, stored).await;
        let manifest = Manifest::new(Utc::now(), Utc::now(), vec![object], Vec::new());
        self.put(
            &format!("{PREFIX}/{folder}/manifest.json"),
            manifest.to_json().expect("json"),
        )
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

    /// Flips one byte in the middle of the stored object `name` of `folder`.
    fn flip_byte(&self, folder: &str, name: &str) {
        let file = self
            .s3
            .root
            .join(&self.bucket)
            .join(PREFIX)
            .join(folder)
            .join(name);
        let mut bytes = std::fs::read(&file).expect("the stored object");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        std::fs::write(&file, bytes).expect("write the object back");
    }

    fn restore(&self, args: &[&OsStr]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_s3-backup"))
            .arg("restore")
            .args(args)
            .arg("--data-dir")
            .arg(self.app.data_dir())
            .output()
            .expect("the binary runs")
    }
}

fn folder_name(key: &str) -> String {
    key.rsplit('/').next().expect("a folder").to_owned()
}

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
}

/// Fails with one line that says `why`.
fn assert_refused(output: &Output, why: &str) {
    assert!(!output.status.success(), "the restore should fail");
    let message = stderr(output);
    assert!(message.contains(why), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| PathBuf::from(entry.expect("entry").file_name()))
        .collect();
    names.sort();
    names
}

/// A tree with what a restore must bring back: modes, mtimes, symlinks, an empty
/// directory, a unicode name and a name that is not UTF-8.
fn files_tree(root: &Path) {
    std::fs::create_dir_all(root.join("bin")).expect("mkdir");
    std::fs::create_dir(root.join("empty")).expect("mkdir");
    std::fs::write(root.join("facture.txt"), "facture 42\n").expect("write");
    std::fs::write(root.join("bin/run.sh"), "#!/bin/sh\necho ok\n").expect("write");
    std::fs::write(root.join("secret.key"), [7u8; 3000]).expect("write");
    std::fs::write(root.join("façade ünï €.txt"), "unicode").expect("write");
    let latin1 = root.join(OsStr::from_bytes(b"caf\xe9.bin"));
    std::fs::write(
        &latin1,
        (0..=255u8).cycle().take(70_000).collect::<Vec<_>>(),
    )
    .expect("write");
    std::os::unix::fs::symlink("facture.txt", root.join("latest")).expect("symlink");
    std::os::unix::fs::symlink("../facture.txt", root.join("bin/facture")).expect("symlink");
    let modes = [
        ("bin/run.sh", 0o755),
        ("secret.key", 0o600),
        ("empty", 0o700),
        ("bin", 0o750),
    ];
    for (name, mode) in modes {
        std::fs::set_permissions(root.join(name), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }
    for (index, name) in ["facture.txt", "bin/run.sh", "secret.key", "empty", "bin"]
        .iter()
        .enumerate()
    {
        set_mtime(&root.join(name), 1_700_000_000 + index as u64 * 3600);
    }
    set_mtime(&latin1, 1_600_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_comes_back_bit_for_bit_beside_its_source() {
    let site = Installation::new().await;
    let files = site.path("files");
    files_tree(&files);
    site.add_source("files", "directory", &files).await;
    let folder = site
        .back_up(&[("files", SourceKind::Directory, &files)])
        .await;

    let output = site.restore(&[os(&folder), os("files")]);

    assert_success(&output);
    let restored: Vec<PathBuf> = names(site.work.path())
        .into_iter()
        .filter(|name| name.to_string_lossy().starts_with("files.restored-"))
        .collect();
    assert_eq!(restored.len(), 1, "{:?}", names(site.work.path()));
    let restored = site.work.path().join(&restored[0]);
    assert_eq!(snapshot(&restored), snapshot(&files));
    assert_eq!(
        names(site.work.path()).len(),
        2,
        "nothing else beside the source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_comes_back_sound_with_the_same_rows() {
    let site = Installation::new().await;
    let db = site.path("app.sqlite3");
    sqlite3(
        &db,
        "CREATE TABLE invoices(id INTEGER PRIMARY KEY, customer TEXT, total REAL, scan BLOB);
         INSERT INTO invoices(customer, total, scan)
           SELECT 'client ' || value, value * 1.5, randomblob(500) FROM generate_series(1, 2000);",
    );
    site.add_source("app", "sqlite", &db).await;
    site.back_up(&[("app", SourceKind::Sqlite, &db)]).await;

    let output = site.restore(&[os("latest"), os("app")]);

    assert_success(&output);
    let restored = names(site.work.path())
        .into_iter()
        .find(|name| name.to_string_lossy().starts_with("app.sqlite3.restored-"))
        .map(|name| site.work.path().join(name))
        .expect("the restored database beside the source");
    assert_eq!(sqlite3(&restored, "PRAGMA integrity_check").trim(), "ok");
    let rows = "SELECT id, customer, total, hex(scan) FROM invoices ORDER BY id";
    assert_eq!(sqlite3(&restored, rows), sqlite3(&db, rows));

    // Replacing the database by name keeps the one it replaces.
    sqlite3(&db, "DELETE FROM invoices WHERE id > 10");
    let damaged = sqlite3(&db, rows);
    let output = site.restore(&[
        os("latest"),
        os("app"),
        os("--to"),
        db.as_os_str(),
        os("--replace"),
    ]);
    assert_success(&output);
    assert_eq!(sqlite3(&db, rows), sqlite3(&restored, rows));
    let kept = names(site.work.path())
        .into_iter()
        .find(|name| {
            name.to_string_lossy()
                .starts_with("app.sqlite3.before-restore-")
        })
        .map(|name| site.work.path().join(name))
        .expect("the previous database kept");
    assert_eq!(sqlite3(&kept, rows), damaged);
}

fn sqlite3(db: &Path, sql: &str) -> String {
    let output = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 is installed");
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One tar entry, written by hand so that it can hold what no honest tool writes.
fn tar_entry(name: &str, typeflag: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    header[136..148].copy_from_slice(format!("{:011o}\0", 1_700_000_000u64).as_bytes());
    header[148..156].copy_from_slice(b"        ");
    header[156] = typeflag;
    header[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let checksum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    let mut entry = header.to_vec();
    entry.extend_from_slice(data);
    entry.resize(entry.len().div_ceil(512) * 512, 0);
    entry
}

fn tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut archive = entries.concat();
    archive.extend_from_slice(&[0u8; 1024]);
    archive
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_archives_are_refused_and_write_nothing_outside_the_target() {
    let site = Installation::new().await;
    let outside = tempfile::tempdir().expect("outside");
    let outside_dir = outside.path().to_str().expect("utf-8").to_owned();
    let absolute = format!("{outside_dir}/abs");
    let ok = tar_entry("ok.txt", b'0', "", b"fine");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "2026-01-01T000000Z",
            tar(&[ok.clone(), tar_entry("../escape", b'0', "", b"x")]),
            "a path with \"..\"",
        ),
        (
            "2026-01-02T000000Z",
            tar(&[ok.clone(), tar_entry(&absolute, b'0', "", b"x")]),
            "an absolute path",
        ),
        (
            "2026-01-03T000000Z",
            tar(&[
                tar_entry("out", b'2', &outside_dir, b""),
                tar_entry("out/planted", b'0', "", b"x"),
            ]),
            "points outside the target",
        ),
        (
            "2026-01-04T000000Z",
            tar(&[
                tar_entry("inner", b'5', "", b""),
                tar_entry("up", b'2', "inner/../..", b""),
                tar_entry("up/planted", b'0', "", b"x"),
            ]),
            "points outside the target",
        ),
        (
            "2026-01-05T000000Z",
            tar(&[
                tar_entry("here", b'2', ".", b""),
                tar_entry("here/planted", b'0', "", b"x"),
            ]),
            "through the symlink here",
        ),
        (
            "2026-01-06T000000Z",
            tar(&[tar_entry("passwd", b'1', "../../../etc/passwd", b"")]),
            "hard link",
        ),
        (
            "2026-01-07T000000Z",
            tar(&[tar_entry("pipe", b'6', "", b"")]),
            "a FIFO",
        ),
    ];
    for (folder, archive, _) in &cases {
        site.upload_archive(folder, archive).await;
    }
    let restores = site.path("restores");
    std::fs::create_dir(&restores).expect("mkdir");

    for (folder, _, why) in &cases {
        let target = restores.join(folder);
        let output = site.restore(&[os(folder), os("files"), os("--to"), target.as_os_str()]);

        assert_refused(&output, why);
        assert_refused(&output, "refused");
        assert!(
            names(&restores).is_empty(),
            "{folder}: {:?}",
            names(&restores)
        );
        assert!(
            names(outside.path()).is_empty(),
            "{folder}: {:?}",
            names(outside.path())
        );
        assert_eq!(names(site.work.path()), vec![PathBuf::from("restores")]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_is_caught_before_the_target_is_touched() {
    let site = Installation::new().await;
    let files = site.path("files");
    files_tree(&files);
    let folder = site
        .back_up(&[("files", SourceKind::Directory, &files)])
        .await;
    site.flip_byte(&folder, "files.tar.zst");
    let existing = site.path("live");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::write(existing.join("today.txt"), "today's work").expect("write");
    let before = snapshot(&existing);

    let replace = site.restore(&[
        os(&folder),
        os("files"),
        os("--to"),
        existing.as_os_str(),
        os("--replace"),
    ]);

    assert_refused(&replace, "files.tar.zst");
    // The S3 client's own checksum may see it before the manifest's SHA-256 does.
    let message = stderr(&replace);
    assert!(
        message.contains("checksum mismatch") || message.contains("the manifest says"),
        "{message}"
    );
    assert_eq!(snapshot(&existing), before);
    assert_eq!(
        names(site.work.path()),
        vec![PathBuf::from("files"), PathBuf::from("live")]
    );

    let fresh = site.path("fresh");
    let new = site.restore(&[os(&folder), os("files"), os("--to"), fresh.as_os_str()]);

    assert!(!new.status.success());
    assert!(stderr(&new).contains("files.tar.zst"), "{}", stderr(&new));
    assert_eq!(
        names(site.work.path()),
        vec![PathBuf::from("files"), PathBuf::from("live")],
        "nothing left of the new target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_a_reason_and_write_nothing() {
    let site = Installation::new().await;
    let files = site.path("files");
    files_tree(&files);
    let folder = site
        .back_up(&[("files", SourceKind::Directory, &files)])
        .await;
    let a_file = site.path("a-file");
    std::fs::write(&a_file, "not a directory").expect("write");
    let full = site.path("full");
    std::fs::create_dir(&full).expect("mkdir");
    std::fs::write(full.join("keep.txt"), "keep").expect("write");
    let before = names(site.work.path());
    let to = |path: &Path| path.as_os_str().to_owned();

    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec![
                "2020-01-01T000000Z".into(),
                "files".into(),
                "--to".into(),
                to(&site.path("x")),
            ],
            "no backup folder \"2020-01-01T000000Z\"",
        ),
        (
            vec![
                folder.clone().into(),
                "nope".into(),
                "--to".into(),
                to(&site.path("x")),
            ],
            "has no source \"nope\"; it holds: files",
        ),
        (
            vec![
                folder.clone().into(),
                "files".into(),
                "--to".into(),
                to(&a_file),
            ],
            "is a file, not a directory",
        ),
        (
            vec![
                folder.clone().into(),
                "files".into(),
                "--to".into(),
                to(&full),
            ],
            "is not empty: add --replace",
        ),
        (
            vec!["latest".into(), "files".into()],
            "not configured on this machine: name where to restore it with --to",
        ),
    ];
    for (args, why) in &cases {
        let args: Vec<&OsStr> = args.iter().map(|arg| arg.as_os_str()).collect();
        let output = site.restore(&args);

        assert_refused(&output, why);
        assert_eq!(names(site.work.path()), before, "{why}");
        assert_eq!(names(&full), vec![PathBuf::from("keep.txt")]);
        assert_eq!(std::fs::read(&a_file).expect("read"), b"not a directory");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_differs_from_its_manifest_leaves_no_new_target() {
    let site = Installation::new().await;
    let archive = tar(&[tar_entry("ok.txt", b'0', "", b"fine")]);
    let folder = "2026-02-01T000000Z";
    site.upload_archive_listed_as(folder, &archive, Some(&"0".repeat(64)))
        .await;
    let target = site.path("restored");

    let output = site.restore(&[os(folder), os("files"), os("--to"), target.as_os_str()]);

    assert_refused(&output, "the manifest says");
    assert!(
        names(site.work.path()).is_empty(),
        "{:?}",
        names(site.work.path())
    );
}
