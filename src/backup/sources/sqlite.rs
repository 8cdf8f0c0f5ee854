//! SQLite: a consistent online snapshot with `VACUUM INTO` from a read-only connection, into a
//! private temporary directory that is removed once the snapshot has been streamed.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{Facts, SourceStream};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;

pub async fn open(spec: &SourceSpec) -> Result<SourceStream, BackupError> {
    let Some(path) = spec.location.as_path() else {
        return Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        });
    };
    let io_error = |step: &str, cause: std::io::Error| BackupError::Source {
        source_name: spec.name.clone(),
        step: step.to_owned(),
        cause,
    };
    let sqlite_error = |cause: sqlx::Error| BackupError::Sqlite {
        source_name: spec.name.clone(),
        path: path.display().to_string(),
        cause,
    };
    let dir = tempfile::Builder::new()
        .prefix("s3-backup-snapshot-")
        .tempdir()
        .map_err(|cause| io_error("creating a temporary directory for the snapshot", cause))?;
    let snapshot = dir.path().join("snapshot.sqlite3");

    let mut connection = SqliteConnectOptions::from_str("sqlite://")
        .map_err(sqlite_error)?
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(sqlite_error)?;
    sqlx::query("VACUUM INTO ?1")
        .bind(snapshot.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await
        .map_err(sqlite_error)?;
    connection.close().await.map_err(sqlite_error)?;

    let file = tokio::fs::File::open(&snapshot)
        .await
        .map_err(|cause| io_error("opening the snapshot", cause))?;
    Ok(SourceStream {
        reader: super::buffered(file),
        done: Box::pin(async { Ok(()) }),
        keep_alive: Some(Box::new(dir)),
        facts: Facts::default(),
    })
}
