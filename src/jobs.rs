//! Turns what the admin stored (settings, sources, sealed secrets) into the engine's job:
//! the one place the S3 target is derived from the settings.

use std::path::Path;

use sqlx::SqlitePool;

use crate::backup::restore::{BackupChoice, Request, RestoreJob, SourceChoice};
use crate::backup::verify::VerifyJob;
use crate::backup::{Job, S3Target, SourceSpec, StorageOptions};
use crate::crypto::{MasterKey, Slot, purpose};
use crate::db::settings::SettingsError;
use crate::db::sources::Source;
use crate::lang::Message;
use crate::settings::{Field, Identity, ScratchServer, Settings, SourceKind};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the S3 settings are incomplete: {} missing", names(.0))]
    Incomplete(Vec<Field>),
    #[error("no source to back up: add one on the Sources page")]
    NoSources,
    #[error("cannot read a stored secret: {0}")]
    Secret(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot read the sources: {0}")]
    Sources(#[from] crate::db::sources::SourcesError),
}

fn names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|field| field.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl JobError {
    /// What to tell the reader, in their language.
    pub fn message(&self) -> Message {
        match self {
            Self::Incomplete(fields) => Message::new("backups.not_configured")
                .with_labels("fields", fields.iter().map(|field| field.label_key())),
            Self::NoSources => Message::new("backups.no_sources"),
            other => Message::new("backups.job_error").detail(other.to_string()),
        }
    }
}

/// The S3 target of `settings`, with the secret opened.
pub fn target(settings: &Settings, key: &MasterKey) -> Result<S3Target, JobError> {
    let (Some(bucket), Some(access_key_id), Some(sealed)) = (
        &settings.bucket,
        &settings.access_key_id,
        &settings.sealed_secret,
    ) else {
        let mut missing = Vec::new();
        if settings.access_key_id.is_none() {
            missing.push(Field::AccessKeyId);
        }
        if settings.sealed_secret.is_none() {
            missing.push(Field::SecretAccessKey);
        }
        if settings.bucket.is_none() {
            missing.push(Field::Bucket);
        }
        return Err(JobError::Incomplete(missing));
    };
    Ok(S3Target {
        endpoint: settings.endpoint.url().cloned(),
        region: settings.region.as_str().to_owned(),
        bucket: bucket.as_str().to_owned(),
        access_key_id: access_key_id.as_str().to_owned(),
        secret_access_key: key.open(&Slot::single(purpose::S3_SECRET_KEY), sealed)?,
        path_style: settings.path_style,
        prefix: settings.prefix.as_str().to_owned(),
        max_parts: S3Target::DEFAULT_MAX_PARTS,
        storage: StorageOptions {
            storage_class: settings.storage_class.clone(),
            encryption: settings.server_side_encryption.clone(),
            object_lock: settings.object_lock(),
        },
    })
}

/// The recipients of an encrypted backup; encryption asked without any is incomplete.
fn encryption(settings: &Settings) -> Result<Option<crate::settings::Recipients>, JobError> {
    match (settings.encrypt_backups, settings.encryption()) {
        (true, None) => Err(JobError::Incomplete(vec![Field::AgeRecipients])),
        (_, recipients) => Ok(recipients.cloned()),
    }
}

/// The age key pairs this app generated, opened: they decrypt its backups without asking.
pub fn app_identity(settings: &Settings, key: &MasterKey) -> Result<Option<Identity>, JobError> {
    let Some(sealed) = &settings.sealed_age_identity else {
        return Ok(None);
    };
    let text = key.open(&Slot::single(purpose::AGE_IDENTITY), sealed)?;
    // Stored only once parsed: a value that no longer parses is as if corrupt.
    Identity::parse(&text).map(Some).map_err(|invalid| {
        JobError::Settings(SettingsError::Corrupt {
            field: Field::AgeRecipients,
            invalid,
        })
    })
}

/// A source as the engine needs it: the connection URL with its password put back.
pub fn source_spec(source: &Source, key: &MasterKey) -> Result<SourceSpec, JobError> {
    let location = match &source.sealed_password {
        Some(sealed) => source
            .location
            .with_password(&key.open(&Slot::new(purpose::SOURCE_PASSWORD, source.id), sealed)?),
        None => source.location.clone(),
    };
    Ok(SourceSpec {
        name: source.name.as_str().to_owned(),
        location,
    })
}

/// The job a backup run performs now: directories only when "Backup files" is checked, and
/// never the application's `data_dir` inside them.
pub async fn load(pool: &SqlitePool, key: &MasterKey, data_dir: &Path) -> Result<Job, JobError> {
    let settings = crate::db::settings::load(pool).await?;
    let target = target(&settings, key)?;
    let sources = crate::db::sources::list(pool)
        .await?
        .iter()
        .filter(|s| settings.backup_files || s.location.kind() != SourceKind::Directory)
        .map(|s| source_spec(s, key))
        .collect::<Result<Vec<_>, _>>()?;
    if sources.is_empty() {
        return Err(JobError::NoSources);
    }
    Ok(Job {
        target,
        sources,
        backup_limit: settings.backup_limit.get(),
        leave_out: vec![data_dir.to_owned()],
        encryption: encryption(&settings)?,
    })
}

/// The verification of `backup`: the bucket of the settings, and every source of this
/// machine (whose servers take the scratch databases).
pub async fn verify_job(
    pool: &SqlitePool,
    key: &MasterKey,
    backup: BackupChoice,
) -> Result<VerifyJob, JobError> {
    let RestoreJob {
        target, configured, ..
    } = restore_job(
        pool,
        key,
        Request {
            backup: backup.clone(),
            source: SourceChoice::All,
            to: None,
            replace: false,
        },
    )
    .await?;
    let settings = crate::db::settings::load(pool).await?;
    let scratch = match &settings.scratch_server {
        Some(stored) => {
            let url = key.open(&Slot::single(purpose::SCRATCH_SERVER), &stored.sealed)?;
            // Stored only once parsed: a value that no longer parses is as if corrupt.
            Some(
                ScratchServer::from_stored(&url).map_err(|invalid| SettingsError::Corrupt {
                    field: Field::ScratchServer,
                    invalid,
                })?,
            )
        }
        None => None,
    };
    Ok(VerifyJob {
        target,
        configured,
        backup,
        instance: key.instance().to_owned(),
        scratch,
        identities: app_identity(&settings, key)?.into_iter().collect(),
    })
}

/// The restore `request` performs now: the bucket of the settings and every source of this
/// machine (whose paths and servers give the default targets).
pub async fn restore_job(
    pool: &SqlitePool,
    key: &MasterKey,
    request: Request,
) -> Result<RestoreJob, JobError> {
    let settings = crate::db::settings::load(pool).await?;
    let target = target(&settings, key)?;
    let configured = crate::db::sources::list(pool)
        .await?
        .iter()
        .map(|source| source_spec(source, key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RestoreJob {
        target,
        configured,
        request,
        identities: app_identity(&settings, key)?.into_iter().collect(),
    })
}
