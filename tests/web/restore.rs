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
