//! The sources to back up. A connection URL is stored without its password; the password
//! is sealed in its own column.

use chrono::Utc;
use sqlx::SqlitePool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSource {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub password: Option<Vec<u8>>,
}

/// A source to insert or update.
pub struct SourceRow<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub location: &'a str,
    pub password: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceWriteError {
    #[error("a source with this name already exists")]
    DuplicateName,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn classify(error: sqlx::Error) -> SourceWriteError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => SourceWriteError::DuplicateName,
        _ => SourceWriteError::Db(error),
    }
}

pub async fn list(pool: &SqlitePool) -> Result<Vec<StoredSource>, sqlx::Error> {
    sqlx::query_as::<_, StoredSource>(
        "SELECT id, name, kind, location, password FROM sources ORDER BY name",
    )
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<StoredSource>, sqlx::Error> {
    sqlx::query_as::<_, StoredSource>(
        "SELECT id, name, kind, location, password FROM sources WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn insert(
    pool: &SqlitePool,
    row: &SourceRow<'_>,
    username: &str,
) -> Result<i64, SourceWriteError> {
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO sources (name, kind, location, password, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )
    .bind(row.name)
    .bind(row.kind)
    .bind(row.location)
    .bind(&row.password)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await
    .map_err(classify)?;
    let what = format!("added {}", row.name);
    crate::db::changes::record(&mut *tx, username, "sources", &[what.as_str()]).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(
    pool: &SqlitePool,
    id: i64,
    row: &SourceRow<'_>,
    username: &str,
) -> Result<bool, SourceWriteError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE sources SET name = ?1, kind = ?2, location = ?3, password = ?4 WHERE id = ?5",
    )
    .bind(row.name)
    .bind(row.kind)
    .bind(row.location)
    .bind(&row.password)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let what = format!("changed {}", row.name);
    crate::db::changes::record(&mut *tx, username, "sources", &[what.as_str()]).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn delete(pool: &SqlitePool, id: i64, username: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let name = sqlx::query_scalar::<_, String>("DELETE FROM sources WHERE id = ?1 RETURNING name")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(name) = name else {
        return Ok(false);
    };
    let what = format!("removed {name}");
    crate::db::changes::record(&mut *tx, username, "sources", &[what.as_str()]).await?;
    tx.commit().await?;
    Ok(true)
}
