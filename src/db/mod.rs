//! The SQLite database: opening, migrating, and the queries of each table in its own module.

pub mod runs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// Opens (creating if needed) and migrates the database file.
pub async fn open(path: &Path) -> Result<SqlitePool, DbError> {
    let shown = path.display().to_string();
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|source| DbError::Open {
            path: shown.clone(),
            source,
        })?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Open {
            path: shown.clone(),
            source,
        })?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|source| DbError::Migrate {
            path: shown,
            source,
        })?;
    Ok(pool)
}

pub mod changes;
pub mod email_account;
pub mod login_failures;
pub mod notifications;
pub mod settings;
pub mod sources;
pub mod stats;
pub mod users;
