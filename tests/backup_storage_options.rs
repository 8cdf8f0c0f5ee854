//! The storage class and server-side encryption chosen in the settings, as the S3 server
//! (moto, which records both for every object) sees them on each object of a backup.

mod common;

use std::path::Path;
use std::process::Command;

use rand::RngCore;

use common::TestApp;
use common::moto::Moto;
use s3_backup::backup::{Job, Reporter, SourceSpec, StorageOptions, run_backup};
use s3_backup::settings::{Identity, KmsKeyId, ServerSideEncryption, SourceKind, StorageClass};

const PREFIX: &str = "erp";

/// A directory of `size` random bytes in one file.
fn random_dir(root: &Path, name: &str, size: usize) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut bytes = vec![0u8; size];
    rand::thread_rng().fill_bytes(&mut bytes);
    std::fs::write(dir.join("data.bin"), bytes).expect("write");
    dir
}

/// For each object under `prefix`: its key, storage class, encryption and KMS key.
async fn stored_as(moto: &Moto, bucket: &str) -> Vec<(String, String, String, Option<String>)> {
    let mut seen = Vec::new();
    for key in moto.keys(bucket, PREFIX).await {
        let head = moto
            .client
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("head object");
        seen.push((
            key,
            head.storage_class()
                .map_or("(none)".to_owned(), |class| class.as_str().to_owned()),
            head.server_side_encryption()
                .map_or("(none)".to_owned(), |sse| sse.as_str().to_owned()),
            head.ssekms_key_id().map(str::to_owned),
        ));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_and_encryption_saved_in_the_settings_reach_every_object() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_settings_at(
        &moto.endpoint,
        &bucket,
        PREFIX,
        &[
            ("storage_class", "STANDARD_IA"),
            ("server_side_encryption", "AES256"),
        ],
    )
    .await;
    let work = tempfile::tempdir().expect("work dir");
    // One object in several parts, one in a single PUT, and the manifest.
    app.add_directory_source("scans", &random_dir(work.path(), "scans", 9 * 1024 * 1024))
        .await;
    app.add_directory_source("notes", &random_dir(work.path(), "notes", 1000))
        .await;

    let output = Command::new(env!("CARGO_BIN_EXE_s3-backup"))
        .arg("backup")
        .arg("--data-dir")
        .arg(app.data_dir())
        .output()
        .expect("the binary runs");

    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = stored_as(&moto, &bucket).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    for (key, class, sse, _) in &seen {
        assert_eq!(class, "STANDARD_IA", "{key}");
        assert_eq!(sse, "AES256", "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_encryption_with_a_named_key_reaches_every_object() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    let scans = random_dir(work.path(), "scans", 9 * 1024 * 1024);
    let mut target = moto.target(&bucket, PREFIX);
    target.storage = StorageOptions {
        storage_class: StorageClass::parse("GLACIER_IR").ok(),
        encryption: ServerSideEncryption::Kms(KmsKeyId::parse("alias/backups").ok()),
        ..StorageOptions::default()
    };
    let job = Job {
        target,
        sources: vec![
            SourceSpec::parse(
                "scans",
                SourceKind::Directory,
                scans.to_str().expect("utf-8"),
            )
            .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };

    run_backup(&job, &Reporter::detached())
        .await
        .expect("the backup succeeds");

    let seen = stored_as(&moto, &bucket).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (key, class, sse, kms_key) in &seen {
        assert_eq!(class, "GLACIER_IR", "{key}");
        assert_eq!(sse, "aws:kms", "{key}");
        assert!(
            kms_key
                .as_deref()
                .is_some_and(|id| id.ends_with("alias/backups")),
            "{key}: {kms_key:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_storage_options_objects_get_the_servers_defaults() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    let notes = random_dir(work.path(), "notes", 1000);
    let job = Job {
        target: moto.target(&bucket, PREFIX),
        sources: vec![
            SourceSpec::parse(
                "notes",
                SourceKind::Directory,
                notes.to_str().expect("utf-8"),
            )
            .expect("a valid source"),
        ],
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: None,
    };

    run_backup(&job, &Reporter::detached())
        .await
        .expect("the backup succeeds");

    for (key, class, sse, _) in stored_as(&moto, &bucket).await {
        // S3 leaves the class out of its answer for STANDARD.
        assert!(
            matches!(class.as_str(), "(none)" | "STANDARD"),
            "{key}: {class}"
        );
        assert_eq!(sse, "(none)", "{key}");
    }
}

/// "Test connection" with the form's storage options: the status and the answer's text.
async fn test_connection(app: &TestApp, moto: &Moto, bucket: &str, class: &str) -> (u16, String) {
    let endpoint = moto.endpoint.as_str().trim_end_matches('/').to_owned();
    let fields = [
        ("access_key_id", common::moto::ACCESS_KEY),
        ("secret_access_key", common::moto::SECRET_KEY),
        ("bucket", bucket),
        ("endpoint_url", endpoint.as_str()),
        ("region", common::moto::REGION),
        ("path_style", "on"),
        ("backup_path", PREFIX),
        ("frequency", "none"),
        ("timezone", "UTC"),
        ("backup_limit", "3"),
        ("storage_class", class),
        ("server_side_encryption", "AES256"),
    ];
    let response = app.post_form("/settings/test-connection", &fields).await;
    let status = response.status().as_u16();
    let html = response.text().await.expect("body");
    let start = html
        .find("id=\"connection-result\"")
        .unwrap_or_else(|| panic!("the page shows an answer: {html}"));
    let end = html[start..].find("</div>").expect("answer ends") + start;
    (status, html[start..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_writes_as_backups_do_and_shows_a_refused_class() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;

    let (status, answer) = test_connection(&app, &moto, &bucket, "STANDARD_IA").await;
    assert_eq!(status, 200, "{answer}");

    // A class this provider does not offer: the provider's own words, before any backup.
    let (status, answer) = test_connection(&app, &moto, &bucket, "HIGH_PERF").await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("storage class"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_says_what_it_holds_in_its_content_type() {
    let moto = Moto::start().await;
    let bucket = moto.new_bucket().await;
    let work = tempfile::tempdir().expect("work dir");
    // Larger than one part: a multipart upload; the manifest is a single PUT.
    let plain = random_dir(work.path(), "plain", 9 * 1024 * 1024);
    let secret = random_dir(work.path(), "secret", 1024);
    let directory = |name: &str, dir: &Path| {
        SourceSpec::parse(name, SourceKind::Directory, dir.to_str().expect("utf-8"))
            .expect("a valid source")
    };
    let stored = |prefix: &'static str, sources: Vec<SourceSpec>, encrypted: bool| {
        let job = Job {
            target: moto.target(&bucket, prefix),
            sources,
            backup_limit: 0,
            leave_out: Vec::new(),
            encryption: encrypted.then(|| Identity::generate().recipients()),
        };
        async move {
            run_backup(&job, &Reporter::detached())
                .await
                .expect("the backup succeeds");
        }
    };
    stored(PREFIX, vec![directory("plain", &plain)], false).await;
    stored("sealed", vec![directory("secret", &secret)], true).await;

    let mut seen = Vec::new();
    for prefix in [PREFIX, "sealed"] {
        for key in moto.keys(&bucket, prefix).await {
            let head = moto
                .client
                .head_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .expect("head object");
            seen.push((key, head.content_type().unwrap_or("(none)").to_owned()));
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (key, content_type) in &seen {
        let expected = if key.ends_with(".json") {
            "application/json"
        } else if key.ends_with(".tar.zst.age") {
            "application/octet-stream"
        } else {
            assert!(key.ends_with(".tar.zst"), "{key}");
            "application/zstd"
        };
        assert_eq!(content_type, expected, "{key}");
    }
}
