//! Proof that a backup restores: every object downloaded and checked against the manifest
//! (size, SHA-256, the zstd stream decoded to its end), then test-restored: a database dump
//! into a scratch database on its source's server (tables and rows counted, then dropped), a
//! SQLite file into a temporary file (`PRAGMA integrity_check`, rows counted), a directory
//! archive read entry by entry. The sources themselves are never touched.

use std::path::Path;

use futures::StreamExt;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio_tar::{Archive, EntryType};
use tokio_util::sync::CancellationToken;

use super::catalogue;
use super::download::{self, Form};
use super::job::{S3Target, SourceSpec};
use super::manifest::{FailedSource, StoredObject};
use super::progress::{LogLevel, Reporter};
use super::restore::database::{self, Target};
use super::restore::stream::{Origin, drain};
use super::restore::{BackupChoice, Reading, RestoreError, configured_source};
use crate::lang::Message;
use crate::settings::{DatabaseUrl, Identity, ScratchServer, SourceKind};

/// Scratch databases are named `s3backup_verify_<instance>_<run>_<n>`: recognisable, never
/// a source's, and never another installation's.
pub const SCRATCH_PREFIX: &str = "s3backup_verify_";

/// What a verification needs: the bucket, the sources of this machine (whose servers take
/// the scratch databases) and which backup.
#[derive(Debug, Clone)]
pub struct VerifyJob {
    pub target: S3Target,
    pub configured: Vec<SourceSpec>,
    pub backup: BackupChoice,
    /// This installation's short name, in the scratch databases' names.
    pub instance: String,
    /// Where dumps whose source is not configured here are test-restored.
    pub scratch: Option<ScratchServer>,
    /// The age identities that decrypt an encrypted backup; none for one in clear.
    pub identities: Vec<Identity>,
}

impl VerifyJob {
    /// Every server a scratch database may be made on: the database sources' and the
    /// scratch server's.
    pub fn servers(&self) -> Vec<(SourceKind, DatabaseUrl)> {
        let mut servers: Vec<(SourceKind, DatabaseUrl)> = self
            .configured
            .iter()
            .filter_map(|source| {
                let url = source.location.database_url()?;
                Some((source.location.kind(), url.clone()))
            })
            .collect();
        if let Some(scratch) = &self.scratch {
            servers.push((scratch.kind, scratch.url.clone()));
        }
        servers
    }

    /// The start of the names of this installation's scratch databases.
    pub fn scratch_prefix(&self) -> String {
        scratch_prefix(&self.instance)
    }
}

pub fn scratch_prefix(instance: &str) -> String {
    format!("{SCRATCH_PREFIX}{instance}_")
}

/// What the test restore of one object found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Tables with their row counts (databases, SQLite).
    pub tables: Vec<(String, u64)>,
    /// Archive entries and bytes of file content (directories).
    pub entries: u64,
    pub content_bytes: u64,
    /// Pages of a SQLite database.
    pub pages: Option<u64>,
    /// Why the object was only checked, not test-restored (no server to restore it on).
    pub not_restored: Option<Message>,
    /// Only its bytes were checked: nothing of it is restored by this app (a site's
    /// configuration).
    pub checked_only: bool,
}

impl Findings {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// One object and what became of its verification.
#[derive(Debug)]
pub struct ObjectCheck {
    pub object: StoredObject,
    pub result: Result<Findings, RestoreError>,
}

/// The verified backup and each object's verdict.
#[derive(Debug)]
pub struct VerifyReport {
    pub folder: String,
    pub folder_key: String,
    pub checks: Vec<ObjectCheck>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.result.is_ok())
    }
}

/// Verifies the backup the job names; `run` makes the scratch names unique.
pub async fn verify(
    job: &VerifyJob,
    run: i64,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<VerifyReport, RestoreError> {
    let s3 = &job.target;
    // The run holds the slot and the lock file: no other verification is running anywhere,
    // so any scratch database found now was left by one that was killed.
    for name in drop_leftovers(&job.servers(), &job.scratch_prefix()).await {
        reporter.log(
            LogLevel::Warn,
            Message::new("run.verify.leftover").with("name", name),
        );
    }
    let client = super::s3::client(s3);
    let backups = catalogue::list(&client, s3)
        .await
        .map_err(|failure| RestoreError::List {
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
            failure: Box::new(failure),
        })?;
    let backup = super::restore::choose(&backups, &job.backup)?;
    let manifest = download::manifest(&client, s3, &backup.key).await?;
    let progress = reporter.progress();
    progress.add_total(manifest.objects.iter().map(|object| object.size).sum());
    reporter.log(
        LogLevel::Info,
        Message::new("run.verify.begin")
            .with("folder", &backup.name)
            .with("count", manifest.objects.len()),
    );
    let reading = Reading {
        client: &client,
        s3,
        progress,
        cancel,
        identities: &job.identities,
    };
    let mut checks = Vec::new();
    for (index, object) in manifest.objects.iter().enumerate() {
        let result = if cancel.is_cancelled() {
            Err(RestoreError::Cancelled)
        } else {
            progress.at_source(&object.source, index, manifest.objects.len());
            let scratch = format!("{}{run}_{index}", job.scratch_prefix());
            check_object(&reading, job, object, &scratch).await
        };
        report(reporter, object, &result);
        checks.push(ObjectCheck {
            object: object.clone(),
            result,
        });
    }
    progress.set_source(None);
    Ok(VerifyReport {
        folder: backup.name.clone(),
        folder_key: backup.key.clone(),
        checks,
    })
}

fn report(reporter: &Reporter, object: &StoredObject, result: &Result<Findings, RestoreError>) {
    match result {
        Ok(findings) => {
            let line = match object.restores_as() {
                _ if findings.checked_only => Message::new("run.verify.checked_only")
                    .with("source", &object.source)
                    .with("key", &object.key),
                Some(SourceKind::Directory) => Message::new("run.verify.directory")
                    .with("source", &object.source)
                    .with("entries", findings.entries)
                    .with("bytes", findings.content_bytes),
                _ => Message::new("run.verify.tables")
                    .with("source", &object.source)
                    .with("tables", findings.tables.len())
                    .with("rows", findings.rows())
                    .with(
                        "counts",
                        findings
                            .tables
                            .iter()
                            .map(|(table, rows)| format!("{table} {rows}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
            };
            reporter.log(LogLevel::Info, line);
            if let Some(why) = &findings.not_restored {
                reporter.log(LogLevel::Warn, why.clone());
            }
            reporter.object(object.clone());
        }
        Err(error) => {
            let message = match error {
                RestoreError::Cancelled => {
                    Message::new("run.verify.cancelled").with("source", &object.source)
                }
                other => Message::new("run.verify.failed")
                    .with("source", &object.source)
                    .with("key", &object.key)
                    .detail(other.to_string()),
            };
            reporter.log(LogLevel::Error, message.clone());
            reporter.failed(FailedSource {
                source: object.source.clone(),
                kind: object.kind.clone(),
                reason: error.to_string(),
                message,
            });
        }
    }
}

async fn check_object(
    reading: &Reading<'_>,
    job: &VerifyJob,
    object: &StoredObject,
    scratch: &str,
) -> Result<Findings, RestoreError> {
    let origin = Origin::of(reading.s3, object);
    let other_kind = || RestoreError::OtherKind {
        source_name: object.source.clone(),
        kind: object.kind.clone(),
    };
    SourceKind::parse(&object.kind).map_err(|_| other_kind())?;
    let Some(kind) = object.restores_as() else {
        // A site's configuration: only age and its admin read it; its bytes are checked.
        reading.unless_cancelled(reading.check(object)).await?;
        return Ok(Findings {
            checked_only: true,
            ..Findings::default()
        });
    };
    let findings = match kind {
        SourceKind::Postgres | SourceKind::Mysql => {
            // The source's own server (a site's, from its configuration), else the scratch
            // server of the settings.
            let configured = configured_source(&job.configured, object);
            let site_server = configured
                .and_then(|source| source.location.site())
                .and_then(|site| site.database().ok())
                .map(|database| database.url);
            let server = configured
                .and_then(|source| source.location.database_url())
                .or(site_server.as_ref())
                .or_else(|| {
                    job.scratch
                        .as_ref()
                        .filter(|scratch| scratch.kind == kind)
                        .map(|scratch| &scratch.url)
                });
            match server {
                Some(server) => {
                    let target = Target::scratch(kind, server, scratch);
                    test_restore_database(reading, object, &target).await?
                }
                None => {
                    // Still downloaded, checked and decoded to its end.
                    let mut reader = reading.open(object, Form::Plain).await?;
                    reading
                        .unless_cancelled(async {
                            drain(&mut reader).await.map_err(|cause| origin.read(cause))
                        })
                        .await?;
                    Findings {
                        not_restored: Some(
                            Message::new("run.verify.no_server").with("source", &object.source),
                        ),
                        ..Findings::default()
                    }
                }
            }
        }
        SourceKind::Sqlite => {
            reading
                .unless_cancelled(test_restore_sqlite(reading, object, &origin))
                .await?
        }
        SourceKind::Directory => {
            reading
                .unless_cancelled(read_archive(reading, object, &origin))
                .await?
        }
        SourceKind::Frappe => return Err(other_kind()),
    };
    compare_with_manifest(object, &findings)?;
    Ok(findings)
}

/// What the manifest recorded at backup time, where it did, must be what came back.
fn compare_with_manifest(object: &StoredObject, findings: &Findings) -> Result<(), RestoreError> {
    let Some(expected) = &object.contents else {
        return Ok(());
    };
    let mismatch = |what: &str, recorded: u64, found: u64| RestoreError::Mismatch {
        key: object.key.clone(),
        what: what.to_owned(),
        recorded,
        found,
    };
    if let Some(entries) = expected.entries
        && entries != findings.entries
    {
        return Err(mismatch("archive entries", entries, findings.entries));
    }
    if let Some(bytes) = expected.content_bytes
        && bytes != findings.content_bytes
    {
        return Err(mismatch(
            "bytes of file content",
            bytes,
            findings.content_bytes,
        ));
    }
    if let (Some(recorded), Some(found)) = (expected.pages, findings.pages)
        && recorded != found
    {
        return Err(mismatch("SQLite pages", recorded, found));
    }
    if let Some(tables) = expected.tables
        && findings.not_restored.is_none()
        && tables != findings.tables.len() as u64
    {
        return Err(mismatch("tables", tables, findings.tables.len() as u64));
    }
    Ok(())
}

/// Loads the dump into a scratch database, counts its tables and rows, and drops it
/// whatever happened (a cancel included).
async fn test_restore_database(
    reading: &Reading<'_>,
    object: &StoredObject,
    target: &Target,
) -> Result<Findings, RestoreError> {
    let origin = Origin::of(reading.s3, object);
    target.create().await?;
    let loaded = reading
        .unless_cancelled(async {
            database::load(reading, object, target, &origin, false).await?;
            target.row_counts().await
        })
        .await;
    let dropped = target.drop().await;
    let tables = loaded?;
    dropped?;
    Ok(Findings {
        tables,
        ..Findings::default()
    })
}

/// Writes the SQLite file into a temporary directory, checks it and counts its rows.
async fn test_restore_sqlite(
    reading: &Reading<'_>,
    object: &StoredObject,
    origin: &Origin,
) -> Result<Findings, RestoreError> {
    let dir = tempfile::tempdir().map_err(RestoreError::write(
        "creating a temporary directory in",
        std::env::temp_dir(),
    ))?;
    let path = dir.path().join("verify.sqlite3");
    let mut reader = reading.open(object, Form::Plain).await?;
    super::restore::sqlite::write_checked(&mut reader, origin, &path).await?;
    let (tables, pages) = sqlite_row_counts(&path).await?;
    Ok(Findings {
        tables,
        pages: Some(pages),
        ..Findings::default()
    })
}

/// Every table with its row count, and the page count.
async fn sqlite_row_counts(path: &Path) -> Result<(Vec<(String, u64)>, u64), RestoreError> {
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY 1",
    )
    .fetch_all(&mut connection)
    .await?;
    let mut counts = Vec::new();
    for table in tables {
        let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
        let rows: i64 = sqlx::query_scalar(&sql).fetch_one(&mut connection).await?;
        counts.push((table, u64::try_from(rows).unwrap_or(0)));
    }
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    Ok((counts, u64::try_from(pages).unwrap_or(0)))
}

/// Reads every entry of a directory's archive, counting entries and file bytes, then the
/// stream to its end (where the check's verdict comes).
async fn read_archive(
    reading: &Reading<'_>,
    object: &StoredObject,
    origin: &Origin,
) -> Result<Findings, RestoreError> {
    let reader = reading.open(object, Form::Plain).await?;
    let mut archive = Archive::new(reader);
    let mut findings = Findings::default();
    {
        let mut entries = archive.entries().map_err(|cause| origin.read(cause))?;
        while let Some(entry) = entries.next().await {
            let mut entry = entry.map_err(|cause| origin.read(cause))?;
            findings.entries += 1;
            if matches!(
                entry.header().entry_type(),
                EntryType::Regular | EntryType::Continuous
            ) {
                findings.content_bytes += drain(&mut entry)
                    .await
                    .map_err(|cause| origin.read(cause))?;
            }
        }
    }
    let Ok(mut rest) = archive.into_inner() else {
        return Err(origin.read(std::io::Error::other("the archive reader is still in use")));
    };
    drain(&mut rest).await.map_err(|cause| origin.read(cause))?;
    Ok(findings)
}

/// Drops the scratch databases (named `prefix…`) a killed verification left on `servers`.
/// Returns the names dropped.
pub async fn drop_leftovers(servers: &[(SourceKind, DatabaseUrl)], prefix: &str) -> Vec<String> {
    // Each server once, however many sources it holds.
    let mut distinct: Vec<Target> = Vec::new();
    for (kind, url) in servers {
        let target = Target::scratch(*kind, url, SCRATCH_PREFIX);
        if !distinct.iter().any(|known| known.same_server(&target)) {
            distinct.push(target);
        }
    }
    let mut dropped = Vec::new();
    for server in distinct {
        let names = match server.named_like(prefix).await {
            Ok(names) => names,
            Err(error) => {
                tracing::warn!("cannot look for scratch databases left behind: {error}");
                continue;
            }
        };
        for name in names {
            match server.with_name(&name).drop().await {
                Ok(()) => dropped.push(name),
                Err(error) => tracing::warn!(name, "cannot drop a scratch database: {error}"),
            }
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::Contents;

    fn object(contents: Option<Contents>) -> StoredObject {
        StoredObject {
            source: "files".into(),
            kind: "directory".into(),
            key: "erp/2026-11-24T020000Z/files.tar.zst".into(),
            size: 10,
            sha256: "00".into(),
            source_bytes: 10,
            contents,
            encryption: None,
            encoding: Default::default(),
            site: None,
        }
    }

    #[test]
    fn what_the_manifest_recorded_must_be_what_came_back() {
        let found = Findings {
            entries: 15,
            content_bytes: 4096,
            tables: vec![("t".into(), 3)],
            pages: Some(4),
            ..Findings::default()
        };
        let recorded = Contents {
            entries: Some(15),
            content_bytes: Some(4096),
            tables: Some(1),
            pages: Some(4),
            ..Contents::default()
        };
        assert!(compare_with_manifest(&object(Some(recorded.clone())), &found).is_ok());
        assert!(
            compare_with_manifest(&object(None), &found).is_ok(),
            "format 1"
        );
        for (damaged, what) in [
            (
                Contents {
                    entries: Some(14),
                    ..recorded.clone()
                },
                "archive entries",
            ),
            (
                Contents {
                    content_bytes: Some(1),
                    ..recorded.clone()
                },
                "bytes of file content",
            ),
            (
                Contents {
                    tables: Some(2),
                    ..recorded.clone()
                },
                "tables",
            ),
            (
                Contents {
                    pages: Some(5),
                    ..recorded.clone()
                },
                "SQLite pages",
            ),
        ] {
            let error = compare_with_manifest(&object(Some(damaged)), &found)
                .expect_err("a mismatch")
                .to_string();
            assert!(
                error.contains(what) && error.contains("files.tar.zst"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_dump_not_test_restored_is_not_held_to_its_table_count() {
        let found = Findings {
            not_restored: Some(Message::new("run.verify.no_server").with("source", "shop")),
            ..Findings::default()
        };
        let recorded = Contents {
            tables: Some(2),
            ..Contents::default()
        };
        assert!(compare_with_manifest(&object(Some(recorded)), &found).is_ok());
    }
}
