//! age encryption from the browser: a key pair generated and shown once, or public keys
//! pasted; encrypted backups restored, verified and downloaded through the pages, and with
//! the `age` command-line tool.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::s3::TestS3;
use crate::common::tree::snapshot;
use crate::common::{TestApp, field_error, input_value};

/// A directory source `files` with a file in a subfolder, under a parent of its own.
async fn with_files(app: &TestApp) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().expect("dir");
    let files = parent.path().join("files");
    std::fs::create_dir_all(files.join("factures")).expect("mkdir");
    std::fs::write(files.join("factures/n°42.txt"), "Facture n°42, payée").expect("write");
    std::fs::write(files.join("logo.bin"), vec![9u8; 200_000]).expect("write");
    app.add_directory_source("files", &files).await;
    (parent, files)
}

/// Runs "Backup now" to its end; returns the backup's folder name (under `erp/`).
async fn backup_now(app: &TestApp, s3: &TestS3, bucket: &str) -> String {
    let started = app.post_form("/backups/run", &[]).await;
    let run_page = started.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let manifest = s3
        .keys(bucket, "erp/")
        .await
        .into_iter()
        .filter(|key| key.ends_with("/manifest.json"))
        .max()
        .expect("a manifest");
    manifest
        .trim_start_matches("erp/")
        .trim_end_matches("/manifest.json")
        .to_owned()
}

/// The text between `<pre …><code>` and `</code></pre>` of the element with `id`.
fn pre_text(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {html}"));
    let code = start + html[start..].find("<code>").expect("<code>") + "<code>".len();
    let end = code + html[code..].find("</code>").expect("</code>");
    html[code..end].to_owned()
}

fn secret_line(file: &str) -> String {
    file.lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("no secret key in {file}"))
        .to_owned()
}

fn public_line(file: &str) -> String {
    file.lines()
        .find_map(|line| line.strip_prefix("# public key: "))
        .unwrap_or_else(|| panic!("no public key in {file}"))
        .to_owned()
}

/// `age-keygen`'s new key file in `dir`, and its public key.
fn age_keygen(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("office-key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("age-keygen is installed (Debian package age; scripts/test-setup.sh)");
    assert!(out.status.success(), "{out:?}");
    let file = std::fs::read_to_string(&path).expect("key file");
    let public = public_line(&file);
    (path, public)
}

/// The stored object decrypted with the `age` tool, decompressed with `zstd`, and unpacked
/// with `tar` into a new directory.
fn unpacked_with_standard_tools(stored: &[u8], key_file: &Path, work: &Path) -> PathBuf {
    let object = work.join("files.tar.zst.age");
    std::fs::write(&object, stored).expect("write");
    let out = work.join("unpacked");
    std::fs::create_dir(&out).expect("mkdir");
    let script = format!(
        "set -euo pipefail; age -d -i '{}' '{}' | zstd -dc | tar -x -C '{}'",
        key_file.display(),
        object.display(),
        out.display()
    );
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(status.status.success(), "{script}: {status:?}");
    out
}

#[tokio::test]
async fn a_generated_key_pair_is_shown_once_and_decrypts_with_age_and_the_app() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let (parent, files) = with_files(&app).await;

    let shown = app.post_form("/settings/encryption/generate", &[]).await;
    assert_eq!(shown.status(), 200);
    let page = shown.text().await.expect("page");
    assert!(
        page.contains("Without this key, nobody can read the backups"),
        "{page}"
    );
    let file = pre_text(&page, "age-key-file");
    let (secret, public) = (secret_line(&file), public_line(&file));
    assert!(public.starts_with("age1") && page.contains(&public));

    let download = app
        .post_form("/settings/encryption/recovery-key", &[])
        .await;
    assert_eq!(download.status(), 200);
    let disposition = download
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(".txt"),
        "{disposition}"
    );
    let recovery = download.text().await.expect("file");
    assert_eq!(secret_line(&recovery), secret);

    // Not before the admin says the key is saved: nothing is encrypted yet.
    let unconfirmed = app.post_form("/settings/encryption/confirm", &[]).await;
    assert_eq!(unconfirmed.status(), 422);
    let again = unconfirmed.text().await.expect("page");
    assert!(again.contains("Check this box"), "{again}");
    let settings = app.get_text("/settings").await;
    assert!(!settings.contains(&public), "not a recipient yet");

    let confirmed = app
        .post_form("/settings/encryption/confirm", &[("saved", "on")])
        .await;
    assert_eq!(confirmed.status(), 200);
    assert_eq!(confirmed.url().path(), "/settings");
    let settings = confirmed.text().await.expect("page");
    assert!(settings.contains("New backups are encrypted"), "{settings}");
    assert!(
        settings.contains(
            "id=\"f-encrypt_backups\" name=\"encrypt_backups\" type=\"checkbox\" checked"
        )
    );
    assert!(settings.contains(&public), "{settings}");
    assert!(
        !settings.contains(&secret),
        "the secret key is never shown again"
    );
    // Shown once: there is nothing left to download.
    let gone = app
        .post_form("/settings/encryption/recovery-key", &[])
        .await;
    assert_eq!(gone.status(), 404);
    let stored = app.database_bytes();
    let secret_bytes = secret.as_bytes();
    assert!(
        !stored
            .windows(secret_bytes.len())
            .any(|window| window == secret_bytes),
        "the secret key is sealed in the database"
    );

    let folder = backup_now(&app, &s3, &bucket).await;
    let keys = s3.keys(&bucket, &format!("erp/{folder}/")).await;
    assert!(
        keys.iter().any(|key| key.ends_with("/files.tar.zst.age")),
        "{keys:?}"
    );
    let object = s3
        .get(&bucket, &format!("erp/{folder}/files.tar.zst.age"))
        .await
        .expect("the object");
    assert!(object.starts_with(b"age-encryption.org/v1\n"));

    // The standard tools, with the recovery key file.
    let work = tempfile::tempdir().expect("dir");
    let key_file = work.path().join("key.txt");
    std::fs::write(&key_file, &recovery).expect("write");
    let unpacked = unpacked_with_standard_tools(&object, &key_file, work.path());
    assert_eq!(snapshot(&unpacked), snapshot(&files));

    // The app decrypts on its own: page, plain download, restore.
    let backup_page = app.get_text(&format!("/restore/{folder}")).await;
    assert!(backup_page.contains(&public), "{backup_page}");
    assert!(backup_page.contains("This app holds the secret key"));
    assert!(!backup_page.contains("name=\"identity\""));
    assert!(
        backup_page.contains("age -d -i key.txt -o files.tar.zst files.tar.zst.age"),
        "{backup_page}"
    );
    let plain = app
        .get(&format!(
            "/restore/{folder}/objects/files.tar.zst.age?form=plain"
        ))
        .await;
    assert_eq!(plain.status(), 200);
    let tar = plain.bytes().await.expect("body");
    assert!(tar.windows(8).any(|w| w == b"logo.bin"));

    let restored = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[("source", "files"), ("mode", "new")],
        )
        .await;
    let run_page = restored.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let into = std::fs::read_dir(parent.path())
        .expect("read")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().contains("files.restored-"))
        .expect("a restored directory");
    assert_eq!(snapshot(&into), snapshot(&files));
}

#[tokio::test]
async fn a_new_key_pair_replaces_the_apps_key_and_the_old_one_still_reads_old_backups() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    let office = Command::new("age-keygen").output().expect("age-keygen");
    let office = public_line(&String::from_utf8_lossy(&office.stdout));
    app.save_s3_settings_with(
        &s3,
        &bucket,
        "erp",
        &[("encrypt_backups", "on"), ("age_recipients", &office)],
    )
    .await;
    let (_parent, _files) = with_files(&app).await;

    let mut publics = Vec::new();
    for _ in 0..2 {
        let page = app
            .post_form("/settings/encryption/generate", &[])
            .await
            .text()
            .await
            .expect("page");
        publics.push(public_line(&pre_text(&page, "age-key-file")));
        app.post_form("/settings/encryption/confirm", &[("saved", "on")])
            .await;
        if publics.len() == 1 {
            backup_now(&app, &s3, &bucket).await;
        }
    }
    let settings = app.get_text("/settings").await;
    let recipients = settings
        .split("id=\"f-age_recipients\"")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .expect("the recipients' field")
        .to_owned();
    assert!(recipients.contains(&publics[1]), "{recipients}");
    assert!(
        recipients.contains(&office),
        "pasted keys stay: {recipients}"
    );
    assert!(!recipients.contains(&publics[0]), "{recipients}");
    assert!(settings.contains(&publics[0]) && settings.contains(&publics[1]));

    // The backup made with the first key still verifies without any key pasted.
    let backups = app.get_text("/restore").await;
    let folder = backups
        .split("href=\"/restore/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a backup")
        .to_owned();
    let verify = app
        .post_form(&format!("/restore/{folder}/verify"), &[])
        .await;
    let run_page = verify.url().path().to_owned();
    assert!(run_page.starts_with("/backups/"), "{run_page}");
    assert_eq!(app.wait_until_done(&run_page).await, "success");
}

#[tokio::test]
async fn pasted_recipients_need_the_identity_pasted_to_restore_verify_and_download() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    let keys = tempfile::tempdir().expect("dir");
    let (key_file, public) = age_keygen(keys.path());
    let identity = std::fs::read_to_string(&key_file).expect("key file");
    app.save_s3_settings_with(
        &s3,
        &bucket,
        "erp",
        &[("encrypt_backups", "on"), ("age_recipients", &public)],
    )
    .await;
    let settings = app.get_text("/settings").await;
    assert!(
        settings.contains("This app holds no secret key"),
        "{settings}"
    );
    let (parent, files) = with_files(&app).await;
    let folder = backup_now(&app, &s3, &bucket).await;

    let page = app.get_text(&format!("/restore/{folder}")).await;
    assert!(page.contains("name=\"identity\""), "{page}");
    assert!(!page.contains("?form=plain"), "no plain link without a key");
    let object = format!("/restore/{folder}/objects/files.tar.zst.age");

    // Without an identity, a wrong one, a malformed one: refused before anything runs, and
    // the pasted text is never sent back.
    let wrong = Command::new("age-keygen").output().expect("age-keygen");
    let wrong = String::from_utf8_lossy(&wrong.stdout).into_owned();
    for (pasted, says) in [
        ("", "paste the identity file"),
        (wrong.as_str(), "is not one of them"),
        ("AGE-SECRET-KEY-1NOTAKEY", "is not an age secret key"),
    ] {
        for path in [
            object.clone(),
            format!("/restore/{folder}/run"),
            format!("/restore/{folder}/verify"),
        ] {
            let fields = [("source", "files"), ("mode", "new"), ("identity", pasted)];
            let response = app.post_form(&path, &fields).await;
            assert_eq!(response.status(), 200, "{path}");
            let html = response.text().await.expect("page");
            assert!(
                html.contains(&format!("<code>{folder}</code>")),
                "the backup's page"
            );
            assert!(html.contains(says), "{path} with {pasted:?}: {html}");
            if !pasted.is_empty() {
                assert!(!html.contains(secret_line_or(pasted)), "{html}");
            }
        }
    }
    let history = app.get_text("/backups").await;
    assert!(!history.contains("Restore of"), "no restore ran: {history}");

    let plain = app
        .post_form(&object, &[("identity", identity.as_str())])
        .await;
    assert_eq!(plain.status(), 200);
    let tar = plain.bytes().await.expect("body");
    assert!(tar.windows(8).any(|w| w == b"logo.bin"));

    let verify = app
        .post_form(
            &format!("/restore/{folder}/verify"),
            &[("identity", identity.as_str())],
        )
        .await;
    let run_page = verify.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");

    let restore = app
        .post_form(
            &format!("/restore/{folder}/run"),
            &[
                ("source", "files"),
                ("mode", "new"),
                ("identity", identity.as_str()),
            ],
        )
        .await;
    let run_page = restore.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let into = std::fs::read_dir(parent.path())
        .expect("read")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().contains("files.restored-"))
        .expect("a restored directory");
    assert_eq!(snapshot(&into), snapshot(&files));
    let stored = app.database_bytes();
    let secret = secret_line(&identity);
    assert!(
        !stored
            .windows(secret.len())
            .any(|window| window == secret.as_bytes()),
        "a pasted identity is never stored"
    );
}

/// The secret line of a pasted identity, or the text itself when it has none.
fn secret_line_or(pasted: &str) -> &str {
    pasted
        .lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or(pasted)
}

#[tokio::test]
async fn bad_recipients_are_refused_beside_the_field_and_nothing_is_lost() {
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let app = TestApp::spawn_logged_in().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let good = Command::new("age-keygen").output().expect("age-keygen");
    let good = public_line(&String::from_utf8_lossy(&good.stdout));

    let typed = format!("{good}\nage1notakey");
    let response = app
        .post_form(
            "/settings",
            &[
                ("encrypt_backups", "on"),
                ("age_recipients", &typed),
                ("bucket", "typed-bucket"),
                ("region", "eu-west-3"),
                ("frequency", "none"),
                ("timezone", "UTC"),
                ("backup_limit", "3"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("page");
    let message = field_error(&html, "age_recipients").expect("a message beside the field");
    assert!(message.contains("2: age1notakey"), "{message}");
    assert!(html.contains(&typed), "the recipients as typed");
    assert_eq!(
        input_value(&html, "bucket").as_deref(),
        Some("typed-bucket")
    );

    let response = app
        .post_form(
            "/settings",
            &[
                ("encrypt_backups", "on"),
                ("age_recipients", ""),
                ("region", "eu-west-3"),
                ("frequency", "none"),
                ("timezone", "UTC"),
                ("backup_limit", "3"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("page");
    let message = field_error(&html, "age_recipients").expect("a message beside the field");
    assert!(message.contains("Encryption is on"), "{message}");

    // Nothing of either was saved.
    let settings = app.get_text("/settings").await;
    assert_eq!(
        input_value(&settings, "bucket").as_deref(),
        Some(bucket.as_str())
    );
    assert!(!settings.contains(&good));
    assert!(!settings.contains("name=\"encrypt_backups\" type=\"checkbox\" checked"));
}
