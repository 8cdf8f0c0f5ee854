//! SQLite: a consistent online snapshot with `VACUUM INTO` from a read-only connection, into a
//! private temporary directory that is removed once the snapshot has been streamed. The
//! snapshot's pages and tables are counted for the manifest.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::SourceStream;
use super::facts::{self, Facts};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;
use crate::backup::manifest::Contents;
use crate::backup::progress::Reporter;

/// The tables of the database, SQLite's own left out (as a verification counts them).
const TABLES: &str = "SELECT count(*) FROM sqlite_schema \
                      WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

pub async fn open(spec: &SourceSpec, reporter: &Reporter) -> Result<SourceStream, BackupError> {
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

    let facts = match count(&snapshot).await {
        Ok(contents) => Facts::from(contents),
        Err(why) => {
            facts::left_out(reporter, &spec.name, "run.log.facts_sqlite", why);
            Facts::default()
        }
    };
    let file = tokio::fs::File::open(&snapshot)
        .await
        .map_err(|cause| io_error("opening the snapshot", cause))?;
    Ok(SourceStream {
        reader: super::buffered(file),
        done: Box::pin(async { Ok(()) }),
        keep_alive: Some(Box::new(dir)),
        facts,
    })
}

/// The pages and tables of the snapshot.
async fn count(snapshot: &Path) -> Result<Contents, sqlx::Error> {
    let mut connection = SqliteConnectOptions::new()
        .filename(snapshot)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut connection)
        .await?;
    let tables: i64 = sqlx::query_scalar(TABLES)
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    Ok(Contents {
        pages: u64::try_from(pages).ok(),
        tables: u64::try_from(tables).ok(),
        ..Contents::default()
    })
}
