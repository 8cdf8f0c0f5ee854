//! Restoring a backup's objects from the bucket: which backup and which objects, where each
//! goes, and the promise that a restore never overwrites what the user did not name, checks
//! the object before touching an existing target, and never writes outside its target.

pub(crate) mod database;
mod directory;
mod error;
mod extract;
mod filter;
mod mariadb;
mod postgres;
mod site;
pub(crate) mod sqlite;
pub(crate) mod stream;
mod target;
mod tool;

use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::Client;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

pub use error::RestoreError;
use stream::{Origin, drain};
pub use target::Existing;

use super::progress::{LogLevel, Progress, Reporter};
use crate::lang::Message;

use super::catalogue::{self, Backup};
use super::download::{self, Form};
use super::encryption;
use super::job::S3Target;
use super::manifest::{FailedSource, SitePartKind, StoredObject};
use crate::backup::job::SourceSpec;
use crate::settings::{Identity, SourceKind};

/// Which backup to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupChoice {
    /// The newest complete backup.
    Latest,
    /// A folder by name: `2026-11-24T020000Z`.
    Folder(String),
}

impl BackupChoice {
    pub fn parse(input: &str) -> Self {
        match input {
            "latest" => Self::Latest,
            name => Self::Folder(name.trim_end_matches('/').to_owned()),
        }
    }
}

/// Which of its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceChoice {
    All,
    Named(String),
}

impl SourceChoice {
    pub fn parse(input: &str) -> Self {
        match input {
            "all" => Self::All,
            name => Self::Named(name.to_owned()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub backup: BackupChoice,
    pub source: SourceChoice,
    /// Where to restore one source; with `all`, the directory that receives each of them.
    pub to: Option<PathBuf>,
    pub replace: bool,
}

impl Request {
    /// The request as the history keeps it (JSON), a database URL's password left out.
    pub fn to_stored(&self) -> String {
        serde_json::json!({
            "backup": match &self.backup {
                BackupChoice::Latest => "latest",
                BackupChoice::Folder(name) => name.as_str(),
            },
            "source": match &self.source {
                SourceChoice::All => "all",
                SourceChoice::Named(name) => name.as_str(),
            },
            "to": self.to.as_ref().map(|to| without_password(&to.to_string_lossy())),
            "replace": self.replace,
        })
        .to_string()
    }
}

/// What the history recorded of a restore's request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StoredRequest {
    pub backup: String,
    pub source: String,
    pub to: Option<String>,
    #[serde(default)]
    pub replace: bool,
}

impl StoredRequest {
    pub fn from_stored(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}

/// `to` with the password of a URL left out.
pub fn without_password(to: &str) -> String {
    match url::Url::parse(to) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => to.to_owned(),
    }
}

/// The kinds this module restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Directory,
}

/// One object of the backup, restored or not.
#[derive(Debug)]
pub struct Outcome {
    pub source: String,
    pub kind: String,
    /// The stored object's size.
    pub size: u64,
    pub result: Result<Restored, RestoreError>,
}

/// Where an object was restored (a path, or a database URL without its password), and
/// where the version it replaced was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub target: String,
    pub kept: Option<PathBuf>,
}

/// The chosen backup and what became of each chosen object.
#[derive(Debug)]
pub struct Report {
    pub folder: String,
    /// The folder's key in the bucket (prefix included).
    pub folder_key: String,
    pub outcomes: Vec<Outcome>,
}

/// Everything a restore needs: the bucket, the sources of this machine (passwords
/// included: their paths and servers give the default targets) and what was asked.
#[derive(Debug, Clone)]
pub struct RestoreJob {
    pub target: S3Target,
    pub configured: Vec<SourceSpec>,
    pub request: Request,
    /// The age identities that decrypt an encrypted backup; none for one in clear.
    pub identities: Vec<Identity>,
}

/// Restores the objects the job's request names, one after the other, reporting progress
/// (bytes of the stored objects read) and a log line for each. Cancelling stops the object
/// in progress, removes what it created, and restores nothing more.
pub async fn restore(
    job: &RestoreJob,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Report, RestoreError> {
    let s3 = &job.target;
    let request = &job.request;
    let client = super::s3::client(s3);
    let backups = catalogue::list(&client, s3)
        .await
        .map_err(|failure| RestoreError::List {
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
            failure: Box::new(failure),
        })?;
    let backup = choose(&backups, &request.backup)?;
    let manifest = download::manifest(&client, s3, &backup.key).await?;
    let objects: Vec<&StoredObject> = match &request.source {
        SourceChoice::All => manifest.objects.iter().collect(),
        SourceChoice::Named(name) => {
            // A site is several objects of one source.
            let named: Vec<&StoredObject> = manifest
                .objects
                .iter()
                .filter(|object| &object.source == name)
                .collect();
            if named.is_empty() {
                return Err(RestoreError::UnknownSource {
                    folder: backup.name.clone(),
                    source_name: name.clone(),
                    held: manifest
                        .objects
                        .iter()
                        .map(|object| object.source.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            named
        }
    };
    // A site's configuration holds its secrets: it stays in the bucket, for its admin to
    // decrypt with age, and is no object a restore writes.
    let (kept, objects): (Vec<&StoredObject>, Vec<&StoredObject>) =
        objects.into_iter().partition(|object| {
            object
                .site
                .as_ref()
                .is_some_and(|part| part.part == SitePartKind::SiteConfig)
        });
    for object in kept {
        reporter.log(
            LogLevel::Info,
            Message::new("run.restore.site_config_kept")
                .with("source", &object.source)
                .with("key", &object.key),
        );
    }
    let progress = reporter.progress();
    progress.add_total(objects.iter().map(|object| object.size).sum());
    reporter.log(
        LogLevel::Info,
        Message::new("run.restore.begin")
            .with("folder", &backup.name)
            .with(
                "sources",
                objects
                    .iter()
                    .map(|object| object.source.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
    );
    let stamp = Utc::now().format("%Y%m%d%H%M").to_string();
    let all = request.source == SourceChoice::All;
    let reading = Reading {
        client: &client,
        s3,
        progress,
        cancel,
        identities: &job.identities,
    };
    let mut outcomes = Vec::new();
    let count = objects.len();
    for (index, object) in objects.into_iter().enumerate() {
        let result = if cancel.is_cancelled() {
            Err(RestoreError::Cancelled)
        } else {
            progress.at_source(&object.source, index, count);
            restore_object(&reading, &job.configured, request, all, object, &stamp).await
        };
        match &result {
            Ok(restored) => {
                let line = match &restored.kept {
                    Some(kept) => Message::new("run.restore.restored_kept")
                        .with("kept", kept.display().to_string()),
                    None => Message::new("run.restore.restored"),
                };
                let line = line
                    .with("source", &object.source)
                    .with("target", &restored.target);
                reporter.log(LogLevel::Info, line);
                reporter.object((*object).clone());
            }
            Err(error) => {
                let message = failure_message(&object.source, error);
                let level = match error {
                    RestoreError::OtherKind { .. } | RestoreError::SiteConfigKept { .. } => {
                        LogLevel::Warn
                    }
                    _ => LogLevel::Error,
                };
                reporter.log(level, message.clone());
                reporter.failed(FailedSource {
                    source: object.source.clone(),
                    kind: object.kind.clone(),
                    reason: error.to_string(),
                    message,
                });
            }
        }
        outcomes.push(Outcome {
            source: object.source.clone(),
            kind: object.kind.clone(),
            size: object.size,
            result,
        });
    }
    progress.set_source(None);
    Ok(Report {
        folder: backup.name.clone(),
        folder_key: backup.key.clone(),
        outcomes,
    })
}

/// The log line of an object that was not restored.
fn failure_message(source: &str, error: &RestoreError) -> Message {
    match error {
        RestoreError::Cancelled => Message::new("run.restore.cancelled").with("source", source),
        error => Message::new("run.restore.failed")
            .with("source", source)
            .detail(error.to_string()),
    }
}

/// How the objects are read: from which bucket, counted where, stopped by what.
pub(crate) struct Reading<'a> {
    pub client: &'a Client,
    pub s3: &'a S3Target,
    pub progress: &'a Arc<Progress>,
    pub cancel: &'a CancellationToken,
    pub identities: &'a [Identity],
}

impl Reading<'_> {
    /// The object as stored, read to its end: whether it matches the manifest. Its bytes
    /// count towards the progress, whose total grows by its size.
    pub async fn check(&self, object: &StoredObject) -> Result<(), RestoreError> {
        self.readable(object)?;
        self.progress.add_total(object.size);
        let origin = Origin::of(self.s3, object);
        let mut stored = self.open(object, Form::Stored).await?;
        drain(&mut stored)
            .await
            .map_err(|cause| origin.read(cause))?;
        Ok(())
    }

    /// Whether `object` can be read in clear: an encrypted one needs an identity, and its
    /// absence is known before anything is downloaded or created.
    pub fn readable(&self, object: &StoredObject) -> Result<(), RestoreError> {
        if let Some(encryption) = &object.encryption {
            encryption::require_identity(encryption, &object.key, self.identities)
                .map_err(download::DownloadError::from)?;
        }
        Ok(())
    }

    pub async fn open(
        &self,
        object: &StoredObject,
        form: Form,
    ) -> Result<Box<dyn tokio::io::AsyncRead + Send + Unpin>, RestoreError> {
        let progress = Some(self.progress);
        let identities = self.identities;
        Ok(
            download::open_counted(self.client, self.s3, object, form, progress, identities)
                .await?,
        )
    }

    /// Runs `work` unless the restore is cancelled first.
    pub async fn unless_cancelled<T>(
        &self,
        work: impl Future<Output = Result<T, RestoreError>>,
    ) -> Result<T, RestoreError> {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(RestoreError::Cancelled),
            result = work => result,
        }
    }
}

pub(crate) fn choose<'a>(
    backups: &'a [Backup],
    choice: &BackupChoice,
) -> Result<&'a Backup, RestoreError> {
    let backup = match choice {
        BackupChoice::Latest => backups
            .iter()
            .find(|backup| backup.is_complete())
            .ok_or(RestoreError::NoCompleteBackup)?,
        BackupChoice::Folder(name) => backups
            .iter()
            .find(|backup| &backup.name == name)
            .ok_or_else(|| RestoreError::UnknownFolder(name.clone()))?,
    };
    if !backup.has_manifest {
        return Err(RestoreError::NoManifest(backup.name.clone()));
    }
    Ok(backup)
}

async fn restore_object(
    reading: &Reading<'_>,
    configured: &[SourceSpec],
    request: &Request,
    all: bool,
    object: &StoredObject,
    stamp: &str,
) -> Result<Restored, RestoreError> {
    let kind = match SourceKind::parse(&object.kind) {
        Ok(SourceKind::Frappe) => {
            return restore_site_part(reading, configured, request, all, object, stamp).await;
        }
        Ok(SourceKind::Sqlite) => Kind::Sqlite,
        Ok(SourceKind::Directory) => Kind::Directory,
        Ok(kind @ (SourceKind::Postgres | SourceKind::Mysql)) => {
            let url = configured_source(configured, object)
                .and_then(|source| source.location.database_url());
            // With `all`, `--to` is the directory for files: databases go beside their sources.
            let to = request.to.as_ref().filter(|_| !all);
            let to = to.map(|to| to.to_string_lossy());
            let target = database::Target::choose(kind, url, to.as_deref(), &object.source, stamp)?;
            let target = database::restore(reading, object, &target, request.replace).await?;
            return Ok(Restored { target, kept: None });
        }
        Err(_) => {
            return Err(RestoreError::OtherKind {
                source_name: object.source.clone(),
                kind: object.kind.clone(),
            });
        }
    };
    let configured_here = configured_source(configured, object);
    let here = configured_here.and_then(|source| source.location.as_path());
    let path = match (&request.to, all) {
        (Some(to), false) => to.clone(),
        (Some(dir), true) => dir.join(match kind {
            Kind::Sqlite => format!("{}.sqlite3", object.source),
            Kind::Directory => object.source.clone(),
        }),
        (None, _) => match here {
            Some(source) => target::sibling(source, &format!(".restored-{stamp}")),
            None => return Err(RestoreError::NeedsTo(object.source.clone())),
        },
    };
    let existing = target::inspect(&path, kind, request.replace, stamp)?;
    let origin = Origin::of(reading.s3, object);
    // Files are written under a temporary name and moved into place at the end: a restore
    // stopped before then (failed, or cancelled and dropped) leaves nothing behind.
    let work = async {
        if matches!(existing, Existing::Replaced { .. }) {
            // Nothing of the target is touched before the object is known to be as stored.
            reading.check(object).await?;
        }
        let mut reader = reading.open(object, Form::Plain).await?;
        match kind {
            Kind::Sqlite => {
                let like = match &existing {
                    Existing::Replaced { .. } => Some(path.as_path()),
                    _ => here.filter(|_| request.to.is_none()),
                };
                sqlite::restore(&mut reader, &origin, &path, &existing, like).await
            }
            Kind::Directory => directory::restore(&mut reader, &origin, &path, &existing, 0).await,
        }
    };
    reading.unless_cancelled(work).await?;
    Ok(Restored {
        target: path.display().to_string(),
        kept: match existing {
            Existing::Replaced { kept } => Some(kept),
            _ => None,
        },
    })
}

/// Restores a part of a site into the site folder the request names, or else into a new
/// folder beside the configured site.
async fn restore_site_part(
    reading: &Reading<'_>,
    configured: &[SourceSpec],
    request: &Request,
    all: bool,
    object: &StoredObject,
    stamp: &str,
) -> Result<Restored, RestoreError> {
    let Some(part) = &object.site else {
        return Err(RestoreError::OtherKind {
            source_name: object.source.clone(),
            kind: object.kind.clone(),
        });
    };
    let here = configured_source(configured, object).and_then(|source| source.location.site());
    let folder = match (&request.to, all) {
        (Some(to), false) => to.clone(),
        (Some(dir), true) => dir.join(&part.site),
        (None, _) => match here {
            Some(site) => target::sibling(site.path(), &format!(".restored-{stamp}")),
            None => return Err(RestoreError::NeedsTo(object.source.clone())),
        },
    };
    let to = site::SiteTarget {
        folder,
        configured: here,
        replace: request.replace,
        stamp,
    };
    site::restore(reading, object, part, &to).await
}

/// Where `object` goes by default, for a page to show: the new file, directory or database
/// beside its source on this machine (`<YYYYMMDDHHMM>` standing for the time of the restore).
/// `None` when its source is not configured here: the user must name a target.
pub fn default_target(configured: &[SourceSpec], object: &StoredObject) -> Option<String> {
    const STAMP: &str = "<YYYYMMDDHHMM>";
    let source = configured_source(configured, object)?;
    match &source.location {
        location if location.as_path().is_some() => location
            .as_path()
            .map(|path| target::sibling(path, &format!(".restored-{STAMP}")))
            .map(|path| path.display().to_string()),
        location => location
            .database_url()
            .map(|url| url.with_database(&format!("{}_restored_{STAMP}", url.database())))
            .map(|url| url.masked()),
    }
}

/// The source itself as a target (to replace it), if it is configured here: the value of
/// `to` (a database URL carries its password: keep it off pages) and the name to type to
/// confirm.
pub fn source_target(configured: &[SourceSpec], object: &StoredObject) -> Option<(String, String)> {
    let source = configured_source(configured, object)?;
    let to = match (source.location.as_path(), source.location.database_url()) {
        (Some(path), _) => path.to_string_lossy().into_owned(),
        (None, Some(url)) => url.expose().to_string(),
        (None, None) => return None,
    };
    let name = target_name(&object.kind, &to)?;
    Some((to, name))
}

/// The name a user types to confirm replacing `to`: a database's name, a file's or
/// directory's last component.
pub fn target_name(kind: &str, to: &str) -> Option<String> {
    match SourceKind::parse(kind).ok()? {
        kind @ (SourceKind::Postgres | SourceKind::Mysql) => {
            crate::settings::DatabaseUrl::parse(kind, to)
                .ok()
                .map(|url| url.database())
        }
        SourceKind::Sqlite | SourceKind::Directory | SourceKind::Frappe => std::path::Path::new(to)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned()),
    }
}

/// `name<TAB>count` lines, as both clients print them.
fn parse_counts(output: &str) -> Vec<(String, u64)> {
    output
        .lines()
        .filter_map(|line| {
            let (name, count) = line.rsplit_once('\t')?;
            Some((name.to_owned(), count.trim().parse().ok()?))
        })
        .collect()
}

/// The source of this machine the object was made from, if it is still configured.
pub(crate) fn configured_source<'a>(
    configured: &'a [SourceSpec],
    object: &StoredObject,
) -> Option<&'a SourceSpec> {
    configured
        .iter()
        .find(|source| source.name == object.source)
        .filter(|source| source.location.kind().as_str() == object.kind)
}
