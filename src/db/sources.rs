//! The sources to back up. A connection URL is stored without its password; the password
//! is sealed in its own column.

use chrono::Utc;
use sqlx::SqlitePool;

use crate::crypto::CryptoError;
use crate::lang::Message;
use crate::settings::{Invalid, SourceKind, SourceLocation, SourceName};

/// A source as stored: its location parsed again (form only, not the disk), its password
/// still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: i64,
    pub name: SourceName,
    pub location: SourceLocation,
    pub sealed_password: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("sources: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the stored source \"{name}\" is not valid any more: {invalid}")]
    Corrupt { name: String, invalid: Invalid },
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    kind: String,
    location: String,
    password: Option<Vec<u8>>,
    site_files: bool,
}

impl Row {
    fn parse(self) -> Result<Source, SourcesError> {
        let corrupt = |invalid| SourcesError::Corrupt {
            name: self.name.clone(),
            invalid,
        };
        let kind = SourceKind::parse(&self.kind).map_err(corrupt)?;
        Ok(Source {
            id: self.id,
            name: SourceName::parse(&self.name).map_err(corrupt)?,
            location: SourceLocation::from_stored(kind, &self.location)
                .map_err(corrupt)?
                .including_site_files(self.site_files),
            sealed_password: self.password,
        })
    }
}

/// A source to insert or update.
pub struct SourceRow<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub location: &'a str,
    /// For a site: whether its files are backed up with its database.
    pub site_files: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceWriteError {
    #[error("a source with this name already exists")]
    DuplicateName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Secret(#[from] CryptoError),
}

fn classify(error: sqlx::Error) -> SourceWriteError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => SourceWriteError::DuplicateName,
        _ => SourceWriteError::Db(error),
    }
}

pub async fn list(db: impl sqlx::SqliteExecutor<'_>) -> Result<Vec<Source>, SourcesError> {
    sqlx::query_as::<_, Row>(
        "SELECT id, name, kind, location, password, site_files FROM sources ORDER BY name",
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(Row::parse)
    .collect()
}

pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<Source>, SourcesError> {
    sqlx::query_as::<_, Row>(
        "SELECT id, name, kind, location, password, site_files FROM sources WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(Row::parse)
    .transpose()
}

/// The sources' names, even of rows that no longer parse (for mail subjects).
pub async fn names(pool: &SqlitePool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM sources ORDER BY name")
        .fetch_all(pool)
        .await
}

/// Inserts a source; its password, sealed for the new row by `password`, is written in
/// the same transaction.
pub async fn insert(
    pool: &SqlitePool,
    row: &SourceRow<'_>,
    password: impl FnOnce(i64) -> Result<Option<Vec<u8>>, CryptoError>,
    username: &str,
) -> Result<i64, SourceWriteError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO sources (name, kind, location, created_at, site_files)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )
    .bind(row.name)
    .bind(row.kind)
    .bind(row.location)
    .bind(Utc::now())
    .bind(row.site_files)
    .fetch_one(&mut *tx)
    .await
    .map_err(classify)?;
    sqlx::query("UPDATE sources SET password = ?1 WHERE id = ?2")
        .bind(password(id)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let what = Message::new("changes.source_added").with("name", row.name);
    crate::db::changes::record(&mut *tx, username, "sources", &[what]).await?;
    tx.commit().await?;
    Ok(id)
}

/// Updates a source; `password` seals its password for the row (see `insert`).
pub async fn update(
    pool: &SqlitePool,
    id: i64,
    row: &SourceRow<'_>,
    password: impl FnOnce(i64) -> Result<Option<Vec<u8>>, CryptoError>,
    username: &str,
) -> Result<bool, SourceWriteError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let done = sqlx::query(
        "UPDATE sources SET name = ?1, kind = ?2, location = ?3, password = ?4, site_files = ?5
         WHERE id = ?6",
    )
    .bind(row.name)
    .bind(row.kind)
    .bind(row.location)
    .bind(password(id)?)
    .bind(row.site_files)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let what = Message::new("changes.source_changed").with("name", row.name);
    crate::db::changes::record(&mut *tx, username, "sources", &[what]).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn delete(pool: &SqlitePool, id: i64, username: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let name = sqlx::query_scalar::<_, String>("DELETE FROM sources WHERE id = ?1 RETURNING name")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(name) = name else {
        return Ok(false);
    };
    let what = Message::new("changes.source_removed").with("name", name);
    crate::db::changes::record(&mut *tx, username, "sources", &[what]).await?;
    tx.commit().await?;
    Ok(true)
}
