//! Restoring a backup's objects from the bucket: which backup and which objects, where each
//! goes, and the promise that a restore never overwrites what the user did not name, checks
//! the object before touching an existing target, and never writes outside its target.

mod database;
mod directory;
mod error;
mod extract;
mod filter;
mod mariadb;
mod postgres;
mod sqlite;
mod stream;
mod target;
mod tool;

use std::path::PathBuf;

use aws_sdk_s3::Client;
use chrono::Utc;

pub use error::RestoreError;
use stream::{Origin, drain};
pub use target::Existing;

use super::catalogue::{self, Backup};
use super::download::{self, Form};
use super::job::S3Target;
use super::manifest::StoredObject;
use crate::backup::job::SourceSpec;
use crate::settings::SourceKind;

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
    pub outcomes: Vec<Outcome>,
}

/// Restores the objects `request` names; `configured` are the sources of this machine
/// (passwords included), whose paths and servers give the default targets.
pub async fn restore(
    client: &Client,
    s3: &S3Target,
    configured: &[SourceSpec],
    request: &Request,
) -> Result<Report, RestoreError> {
    let backups = catalogue::list(client, s3)
        .await
        .map_err(|failure| RestoreError::List {
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
            failure: Box::new(failure),
        })?;
    let backup = choose(&backups, &request.backup)?;
    let manifest = download::manifest(client, s3, &backup.key).await?;
    let objects: Vec<&StoredObject> = match &request.source {
        SourceChoice::All => manifest.objects.iter().collect(),
        SourceChoice::Named(name) => {
            let object = manifest
                .objects
                .iter()
                .find(|object| &object.source == name)
                .ok_or_else(|| RestoreError::UnknownSource {
                    folder: backup.name.clone(),
                    source_name: name.clone(),
                    held: manifest
                        .objects
                        .iter()
                        .map(|object| object.source.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            vec![object]
        }
    };
    let stamp = Utc::now().format("%Y%m%d%H%M").to_string();
    let all = request.source == SourceChoice::All;
    let mut outcomes = Vec::new();
    for object in objects {
        let result = restore_object(client, s3, configured, request, all, object, &stamp).await;
        outcomes.push(Outcome {
            source: object.source.clone(),
            kind: object.kind.clone(),
            result,
        });
    }
    Ok(Report {
        folder: backup.name.clone(),
        outcomes,
    })
}

fn choose<'a>(backups: &'a [Backup], choice: &BackupChoice) -> Result<&'a Backup, RestoreError> {
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
    client: &Client,
    s3: &S3Target,
    configured: &[SourceSpec],
    request: &Request,
    all: bool,
    object: &StoredObject,
    stamp: &str,
) -> Result<Restored, RestoreError> {
    let kind = match SourceKind::parse(&object.kind) {
        Ok(SourceKind::Sqlite) => Kind::Sqlite,
        Ok(SourceKind::Directory) => Kind::Directory,
        Ok(kind @ (SourceKind::Postgres | SourceKind::Mysql)) => {
            let url = configured_source(configured, object)
                .and_then(|source| source.location.database_url());
            // With `all`, `--to` is the directory for files: databases go beside their sources.
            let to = request.to.as_ref().filter(|_| !all);
            let to = to.map(|to| to.to_string_lossy());
            let target = database::Target::choose(kind, url, to.as_deref(), &object.source, stamp)?;
            let target = database::restore(client, s3, object, &target, request.replace).await?;
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
    let origin = Origin {
        bucket: s3.bucket.clone(),
        key: object.key.clone(),
    };
    if matches!(existing, Existing::Replaced { .. }) {
        // Nothing of the target is touched before the object is known to be as stored.
        let mut stored = download::open(client, s3, object, Form::Stored).await?;
        drain(&mut stored)
            .await
            .map_err(|cause| origin.read(cause))?;
    }
    let mut reader = download::open(client, s3, object, Form::Plain).await?;
    match kind {
        Kind::Sqlite => {
            let like = match &existing {
                Existing::Replaced { .. } => Some(path.as_path()),
                _ => here.filter(|_| request.to.is_none()),
            };
            sqlite::restore(&mut reader, &origin, &path, &existing, like).await?;
        }
        Kind::Directory => directory::restore(&mut reader, &origin, &path, &existing).await?,
    }
    Ok(Restored {
        target: path.display().to_string(),
        kept: match existing {
            Existing::Replaced { kept } => Some(kept),
            _ => None,
        },
    })
}

/// The source of this machine the object was made from, if it is still configured.
fn configured_source<'a>(
    configured: &'a [SourceSpec],
    object: &StoredObject,
) -> Option<&'a SourceSpec> {
    configured
        .iter()
        .find(|source| source.name == object.source)
        .filter(|source| source.location.kind().as_str() == object.kind)
}
