//! Turns what the admin stored (settings, sources, sealed secrets) into the engine's job.

use sqlx::SqlitePool;

use crate::backup::{Job, S3Target, SourceSpec};
use crate::crypto::MasterKey;
use crate::crypto::purpose;
use crate::db::settings::StoredSettings;
use crate::db::sources::StoredSource;
use crate::settings::{Endpoint, SourceKind, SourceLocation};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the S3 settings are incomplete: {0} is missing")]
    Incomplete(&'static str),
    #[error("no source to back up: add one on the Sources page")]
    NoSources,
    #[error("the stored value of {field} is not valid any more: {reason}")]
    Stored { field: String, reason: String },
    #[error("cannot read a stored secret: {0}")]
    Secret(#[from] crate::crypto::CryptoError),
    #[error("cannot read the settings: {0}")]
    Db(#[from] sqlx::Error),
}

impl JobError {
    /// What fills the message's `%{detail}`: the missing field, or the whole reason.
    pub fn detail(&self) -> String {
        match self {
            Self::Incomplete(field) => (*field).to_owned(),
            other => other.to_string(),
        }
    }

    /// Translation key of the message shown on a page.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Incomplete(_) => "backups.not_configured",
            Self::NoSources => "backups.no_sources",
            _ => "backups.job_error",
        }
    }
}

/// The S3 target described by stored settings, with the secret opened.
pub fn target(settings: &StoredSettings, key: &MasterKey) -> Result<S3Target, JobError> {
    if settings.bucket.is_empty() {
        return Err(JobError::Incomplete("bucket"));
    }
    if settings.access_key_id.is_empty() {
        return Err(JobError::Incomplete("access_key_id"));
    }
    let sealed = settings
        .secret_access_key
        .as_deref()
        .ok_or(JobError::Incomplete("secret_access_key"))?;
    let endpoint = Endpoint::parse(&settings.endpoint_url).map_err(|e| JobError::Stored {
        field: "endpoint_url".into(),
        reason: e.to_string(),
    })?;
    Ok(S3Target {
        endpoint: endpoint.url().cloned(),
        region: settings.region.clone(),
        bucket: settings.bucket.clone(),
        access_key_id: settings.access_key_id.clone(),
        secret_access_key: key.open(purpose::S3_SECRET_KEY, sealed)?,
        path_style: settings.path_style,
        prefix: settings.backup_path.clone(),
        max_parts: S3Target::DEFAULT_MAX_PARTS,
    })
}

/// A source as the engine needs it: the connection URL with its password put back.
pub fn source_spec(source: &StoredSource, key: &MasterKey) -> Result<SourceSpec, JobError> {
    let stored = |reason: String| JobError::Stored {
        field: format!("source {}", source.name),
        reason,
    };
    let kind = SourceKind::parse(&source.kind).map_err(|e| stored(e.to_string()))?;
    let location = match (&source.password, kind) {
        (Some(sealed), SourceKind::Postgres | SourceKind::Mysql) => {
            let password = key.open(purpose::SOURCE_PASSWORD, sealed)?;
            SourceLocation::parse(kind, &source.location)
                .map_err(|e| stored(e.to_string()))?
                .with_password(&password)
                .database_url()
                .map(|url| url.expose().to_string())
                .ok_or_else(|| stored("not a connection URL".to_owned()))?
        }
        _ => source.location.clone(),
    };
    Ok(SourceSpec {
        name: source.name.clone(),
        kind,
        location,
    })
}

/// The job a backup run performs now: directories only when "Backup files" is checked.
pub async fn load(pool: &SqlitePool, key: &MasterKey) -> Result<Job, JobError> {
    let settings = crate::db::settings::load(pool).await?;
    let target = target(&settings, key)?;
    let sources = crate::db::sources::list(pool)
        .await?
        .iter()
        .filter(|s| settings.backup_files || s.kind != SourceKind::Directory.as_str())
        .map(|s| source_spec(s, key))
        .collect::<Result<Vec<_>, _>>()?;
    if sources.is_empty() {
        return Err(JobError::NoSources);
    }
    Ok(Job {
        target,
        sources,
        backup_limit: u32::try_from(settings.backup_limit).unwrap_or(0),
    })
}
