//! A Frappe site as a source, against real components: a site folder backed by the
//! machine's MariaDB, the in-process S3 server, and bench's own ways of reading what it
//! wrote (`gunzip | mariadb`, `tar xf --strip 2` in the site folder), then the app's own
//! restore and verification.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use age::secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use common::databases::Server;
use common::frappe_site::{SITE, Site, same_tree};
use common::run_log::{log_lines, recording_reporter};
use common::s3::TestS3;
use s3_backup::backup::manifest::{Encoding, SitePartKind};
use s3_backup::backup::restore::{BackupChoice, Request, RestoreJob, SourceChoice, restore};
use s3_backup::backup::verify::{VerifyJob, verify};
use s3_backup::backup::{BackupOutcome, Job, Manifest, Reporter, SourceSpec, run_backup};
use s3_backup::settings::{Identity, SourceKind};

const PREFIX: &str = "erp";

fn site_source(site: &Site) -> SourceSpec {
    SourceSpec::parse("dokos", SourceKind::Frappe, &site.location()).expect("a site source")
}

fn job(s3: &TestS3, bucket: &str, sources: Vec<SourceSpec>, identity: Option<&Identity>) -> Job {
    Job {
        target: s3.target(bucket, PREFIX),
        sources,
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: identity.map(Identity::recipients),
    }
}

/// Runs `command` to success; its standard output.
fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

async fn manifest(s3: &TestS3, bucket: &str, outcome: &BackupOutcome) -> Manifest {
    let bytes = s3
        .get(bucket, &format!("{}/manifest.json", outcome.folder))
        .await
        .expect("a manifest");
    serde_json::from_slice(&bytes).expect("a manifest this app reads")
}

/// The object `name` of the run's folder, saved under that name in `dir`.
async fn download(s3: &TestS3, bucket: &str, outcome: &BackupOutcome, name: &str, dir: &Path) {
    let key = format!("{}/{name}", outcome.folder);
    let bytes = s3
        .get(bucket, &key)
        .await
        .unwrap_or_else(|| panic!("{key}"));
    std::fs::write(dir.join(name), bytes).expect("saved");
}

#[tokio::test]
async fn a_site_is_stored_as_bench_backup_names_it_and_bench_restore_reads_it() {
    let site = Site::new();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let (reporter, mut events) = recording_reporter();

    let outcome = run_backup(
        &job(&s3, &bucket, vec![site_source(&site)], None),
        &reporter,
    )
    .await
    .expect("the backup succeeds");

    let stem = format!(
        "{}-erp_example_com",
        outcome.started_at.format("%Y%m%d_%H%M%S")
    );
    let (database, files, private) = (
        format!("{stem}-database.sql.gz"),
        format!("{stem}-files.tar"),
        format!("{stem}-private-files.tar"),
    );
    let mut keys = s3.keys(&bucket, &outcome.folder).await;
    keys.sort();
    let mut expected: Vec<String> = [&database, &files, &private, &"manifest.json".to_owned()]
        .iter()
        .map(|name| format!("{}/{name}", outcome.folder))
        .collect();
    expected.sort();
    assert_eq!(keys, expected, "the configuration is not uploaded in clear");
    let lines = log_lines(&mut events).join("\n");
    assert!(
        lines.contains("site_config.json is not uploaded") && lines.contains("not encrypted"),
        "{lines}"
    );

    let manifest = manifest(&s3, &bucket, &outcome).await;
    let encodings: Vec<(String, Encoding, Option<SitePartKind>)> = manifest
        .objects
        .iter()
        .map(|o| {
            let name = o.key.rsplit('/').next().unwrap_or_default().to_owned();
            (name, o.encoding, o.site.as_ref().map(|part| part.part))
        })
        .collect();
    assert_eq!(
        encodings,
        [
            (
                database.clone(),
                Encoding::Gzip,
                Some(SitePartKind::Database)
            ),
            (
                files.clone(),
                Encoding::None,
                Some(SitePartKind::PublicFiles)
            ),
            (
                private.clone(),
                Encoding::None,
                Some(SitePartKind::PrivateFiles)
            ),
        ]
    );

    let work = tempfile::tempdir().expect("a work directory");
    for name in [&database, &files, &private] {
        download(&s3, &bucket, &outcome, name, work.path()).await;
    }
    // The database: gzip, beginning with SQL comments naming the site and the time.
    let gzip = std::fs::read(work.path().join(&database)).expect("the dump");
    assert_eq!(&gzip[..2], &[0x1f, 0x8b], "a gzip file");
    let sql = run(Command::new("gunzip")
        .arg("-c")
        .arg(work.path().join(&database)));
    let sql = String::from_utf8_lossy(&sql);
    let header: Vec<&str> = sql
        .lines()
        .take_while(|line| line.starts_with("-- "))
        .collect();
    assert!(header.iter().any(|line| line.contains(SITE)), "{header:?}");
    let time = outcome.started_at.format("%Y-%m-%d %H:%M:%S").to_string();
    assert!(header.iter().any(|line| line.contains(&time)), "{header:?}");
    assert!(
        !sql.contains("CREATE DATABASE"),
        "bench loads it into the site's own database"
    );

    // `tar tf` shows the members bench unpacks.
    for (name, folder) in [(&files, "public"), (&private, "private")] {
        let listing = run(Command::new("tar").arg("tf").arg(work.path().join(name)));
        let listing = String::from_utf8(listing).expect("utf-8 names");
        let prefix = format!("./{SITE}/{folder}/files/");
        assert!(
            listing.lines().all(|line| line.starts_with(&prefix)),
            "{listing}"
        );
        assert!(listing.lines().count() >= 3, "{listing}");
    }
    assert!(
        String::from_utf8_lossy(&run(Command::new("tar")
            .arg("tf")
            .arg(work.path().join(&files))))
        .contains("photos/日本語 🎉.png")
    );

    // What `bench restore` does: the dump into an empty database, the tars in a new site.
    let restored_db = format!("{}_bench", site.db_name);
    Server::Mariadb.sql(
        "information_schema",
        &format!("CREATE DATABASE `{restored_db}` CHARACTER SET utf8mb4"),
    );
    let mut gunzip = Command::new("gunzip")
        .arg("-c")
        .arg(work.path().join(&database))
        .stdout(Stdio::piped())
        .spawn()
        .expect("gunzip starts");
    let stdout = gunzip.stdout.take().expect("its output");
    run(Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root"])
        .arg(&restored_db)
        .stdin(stdout));
    assert!(gunzip.wait().expect("gunzip ends").success());
    assert_eq!(
        site.fingerprint(&restored_db),
        site.fingerprint(&site.db_name)
    );
    let new_site = work.path().join("new-bench/sites").join(SITE);
    std::fs::create_dir_all(&new_site).expect("an empty site folder");
    for name in [&files, &private] {
        run(Command::new("tar")
            .arg("xf")
            .arg(work.path().join(name))
            .args(["--strip", "2"])
            .current_dir(&new_site));
    }
    assert!(same_tree(
        &site.public_files(),
        &new_site.join("public/files")
    ));
    assert!(same_tree(
        &site.private_files(),
        &new_site.join("private/files")
    ));
}

#[tokio::test]
async fn the_app_restores_a_site_into_a_new_folder_and_database_and_verifies_it() {
    let site = Site::new();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let source = site_source(&site);
    run_backup(
        &job(&s3, &bucket, vec![source.clone()], None),
        &Reporter::detached(),
    )
    .await
    .expect("the backup succeeds");

    let restore_job = RestoreJob {
        target: s3.target(&bucket, PREFIX),
        configured: vec![source.clone()],
        request: Request {
            backup: BackupChoice::Latest,
            source: SourceChoice::Named("dokos".to_owned()),
            to: None,
            replace: false,
        },
        identities: Vec::new(),
    };
    let report = restore(
        &restore_job,
        &Reporter::detached(),
        &CancellationToken::new(),
    )
    .await
    .expect("the backup is found");

    assert_eq!(report.outcomes.len(), 3);
    for outcome in &report.outcomes {
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
    let restored: Vec<String> = site
        .databases
        .all()
        .into_iter()
        .filter(|name| name.contains("_restored_"))
        .collect();
    assert_eq!(restored.len(), 1, "a new database: {restored:?}");
    assert_eq!(
        site.fingerprint(&restored[0]),
        site.fingerprint(&site.db_name)
    );
    let sites = site.folder.parent().expect("the sites folder");
    let folder = std::fs::read_dir(sites)
        .expect("the sites")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().contains(".restored-"))
        .expect("a new site folder beside the site");
    assert!(same_tree(
        &site.public_files(),
        &folder.join("public/files")
    ));
    assert!(same_tree(
        &site.private_files(),
        &folder.join("private/files")
    ));

    let verify_job = VerifyJob {
        target: s3.target(&bucket, PREFIX),
        configured: vec![source],
        backup: BackupChoice::Latest,
        instance: format!("{:08x}", rand::random::<u32>()),
        scratch: None,
        identities: Vec::new(),
    };
    let report = verify(
        &verify_job,
        1,
        &Reporter::detached(),
        &CancellationToken::new(),
    )
    .await
    .expect("the backup is found");
    let tables: Vec<usize> = report
        .checks
        .iter()
        .map(|check| match &check.result {
            Ok(findings) => findings.tables.len(),
            Err(error) => panic!("{}: {error}", check.object.key),
        })
        .collect();
    assert_eq!(
        tables,
        [2, 0, 0],
        "the dump was test-restored with its two tables"
    );
}

#[tokio::test]
async fn an_encrypted_backup_keeps_the_site_config_and_age_opens_it() {
    let site = Site::new();
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let identity = Identity::generate();

    let outcome = run_backup(
        &job(&s3, &bucket, vec![site_source(&site)], Some(&identity)),
        &Reporter::detached(),
    )
    .await
    .expect("the backup succeeds");

    let name = format!(
        "{}-erp_example_com-site_config_backup.json.age",
        outcome.started_at.format("%Y%m%d_%H%M%S")
    );
    let work = tempfile::tempdir().expect("a work directory");
    download(&s3, &bucket, &outcome, &name, work.path()).await;
    let key_file = work.path().join("key.txt");
    std::fs::write(&key_file, identity.to_file().expose_secret()).expect("the identity");
    let config = run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key_file)
        .arg(work.path().join(&name)));
    assert_eq!(
        config,
        std::fs::read(site.folder.join("site_config.json")).expect("the config")
    );
    let names: Vec<String> = s3.keys(&bucket, &outcome.folder).await;
    assert!(
        names
            .iter()
            .all(|key| key.ends_with(".age") || key.ends_with("manifest.json")),
        "{names:?}"
    );

    // The app decrypts the site's objects into a site folder it is told; the configuration
    // stays in the bucket.
    let new_site = work.path().join(SITE);
    let restore_job = RestoreJob {
        target: s3.target(&bucket, PREFIX),
        configured: vec![site_source(&site)],
        request: Request {
            backup: BackupChoice::Latest,
            source: SourceChoice::Named("dokos".to_owned()),
            to: Some(new_site.clone()),
            replace: false,
        },
        identities: vec![identity],
    };
    let report = restore(
        &restore_job,
        &Reporter::detached(),
        &CancellationToken::new(),
    )
    .await
    .expect("the backup is found");
    assert_eq!(
        report.outcomes.len(),
        3,
        "the configuration is not restored"
    );
    for outcome in &report.outcomes {
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    }
    assert!(same_tree(
        &site.public_files(),
        &new_site.join("public/files")
    ));
    assert!(same_tree(
        &site.private_files(),
        &new_site.join("private/files")
    ));
    assert!(!new_site.join("site_config.json").exists());
}

#[tokio::test]
async fn a_site_with_wrong_credentials_fails_alone_in_a_partial_run() {
    let site = Site::new();
    site.write_config(&serde_json::json!({
        "db_name": site.db_name,
        "db_password": "not the password",
    }));
    let files = tempfile::tempdir().expect("a directory");
    std::fs::write(files.path().join("notes.txt"), "kept").expect("a file");
    let directory = SourceSpec::parse(
        "files",
        SourceKind::Directory,
        &files.path().display().to_string(),
    )
    .expect("a directory source");
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;

    let outcome = run_backup(
        &job(&s3, &bucket, vec![site_source(&site), directory], None),
        &Reporter::detached(),
    )
    .await
    .expect("the other source is stored");

    assert!(outcome.is_partial());
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].source, "dokos");
    assert!(
        outcome.failed[0]
            .reason
            .to_lowercase()
            .contains("access denied"),
        "{}",
        outcome.failed[0].reason
    );
    let keys = s3.keys(&bucket, &outcome.folder).await;
    assert!(
        keys.iter().all(|key| !key.contains("erp_example_com")),
        "nothing of the site stays: {keys:?}"
    );
    assert!(
        keys.iter().any(|key| key.ends_with("files.tar.zst")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_second_site_of_the_same_name_fails_and_leaves_the_first_intact() {
    let (first, second) = (Site::new(), Site::new());
    let copy = SourceSpec::parse("dokos-copy", SourceKind::Frappe, &second.location())
        .expect("a site source");
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;

    let outcome = run_backup(
        &job(&s3, &bucket, vec![site_source(&first), copy], None),
        &Reporter::detached(),
    )
    .await
    .expect("the first site is stored");

    assert!(outcome.is_partial());
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].source, "dokos-copy");
    assert!(
        outcome.failed[0].reason.contains(SITE),
        "{}",
        outcome.failed[0].reason
    );
    let database = outcome
        .objects
        .iter()
        .find(|object| object.key.ends_with("-database.sql.gz"))
        .expect("the first site's database");
    assert_eq!(database.source, "dokos");
    let dir = tempfile::tempdir().expect("a directory");
    let name = database.key.rsplit('/').next().expect("a name");
    download(&s3, &bucket, &outcome, name, dir.path()).await;
    // grep fails when no table is in the dump.
    let tables = run(Command::new("sh").arg("-c").arg(format!(
        "gunzip -c '{}' | grep -c 'CREATE TABLE'",
        dir.path().join(name).display()
    )));
    assert_ne!(String::from_utf8_lossy(&tables).trim(), "0");
}

#[tokio::test]
async fn a_site_whose_config_names_no_database_fails_with_why() {
    let site = Site::new();
    site.write_config(&serde_json::json!({ "db_password": "x" }));
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;

    let failed = run_backup(
        &job(&s3, &bucket, vec![site_source(&site)], None),
        &Reporter::detached(),
    )
    .await
    .expect_err("nothing to back up");

    assert!(failed.to_string().contains("db_name"), "{failed}");
    assert!(s3.keys(&bucket, PREFIX).await.is_empty());
}

#[tokio::test]
async fn a_postgres_site_is_dumped_with_pg_dump_and_loads_with_psql() {
    let databases = common::databases::Databases::new(Server::Postgres);
    let db_name = databases.create_source();
    let bench = tempfile::tempdir().expect("a bench");
    let folder = bench.path().join("sites").join(SITE);
    std::fs::create_dir_all(&folder).expect("the site folder");
    std::fs::write(
        folder.join("site_config.json"),
        serde_json::json!({
            "db_type": "postgres",
            "db_name": db_name,
            "db_user": "postgres",
            "db_host": "127.0.0.1",
            "db_port": 5432,
        })
        .to_string(),
    )
    .expect("site_config.json");
    let parsed = SourceSpec::parse("erp", SourceKind::Frappe, &folder.display().to_string())
        .expect("a site source");
    let source = SourceSpec {
        location: parsed.location.including_site_files(false),
        ..parsed
    };
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;

    let outcome = run_backup(
        &job(&s3, &bucket, vec![source], None),
        &Reporter::detached(),
    )
    .await
    .expect("the backup succeeds");

    assert_eq!(
        outcome.objects.len(),
        1,
        "the database alone, without files"
    );
    let object = &outcome.objects[0];
    assert_eq!(
        object
            .site
            .as_ref()
            .and_then(|part| part.db_type.as_deref()),
        Some("postgres")
    );
    let work = tempfile::tempdir().expect("a work directory");
    let name = object.key.rsplit('/').next().expect("a name").to_owned();
    download(&s3, &bucket, &outcome, &name, work.path()).await;
    let restored = format!("{db_name}_bench");
    run(Command::new("createdb")
        .args(["-h", "127.0.0.1", "-U", "postgres"])
        .arg(&restored));
    let mut gunzip = Command::new("gunzip")
        .arg("-c")
        .arg(work.path().join(&name))
        .stdout(Stdio::piped())
        .spawn()
        .expect("gunzip starts");
    let stdout = gunzip.stdout.take().expect("its output");
    run(Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg("-d")
        .arg(&restored)
        .stdin(stdout));
    assert!(gunzip.wait().expect("gunzip ends").success());
    assert_eq!(
        Server::Postgres.fingerprint(&restored),
        Server::Postgres.fingerprint(&db_name)
    );
}
