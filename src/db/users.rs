//! The `users` table: administrator accounts and their password hashes; and ending every
//! session (`tower_sessions`) when a password changes.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

#[derive(Debug, thiserror::Error)]
#[error("database error while {step}: {source}")]
pub struct UsersError {
    step: &'static str,
    #[source]
    source: sqlx::Error,
}

fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> UsersError {
    move |source| UsersError { step, source }
}

/// What a login is checked against.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StoredPassword {
    pub id: i64,
    pub password_hash: String,
}

pub async fn any_exists(db: impl sqlx::SqliteExecutor<'_>) -> Result<bool, UsersError> {
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(db)
        .await
        .map_err(failed("checking for accounts"))
}

/// Adds the first account and returns its id; `None` once any account exists.
pub async fn insert_first(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, UsersError> {
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, created_at)
         SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(failed("creating the first account"))
}

/// Adds an account and returns its id; `None` when the name is taken.
pub async fn insert(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, UsersError> {
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(failed("creating an account"))
}

/// Replaces a user's password hash. Returns false when no user has that name.
pub async fn set_password_hash(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
) -> Result<bool, UsersError> {
    let done = sqlx::query("UPDATE users SET password_hash = ?1 WHERE username = ?2")
        .bind(password_hash)
        .bind(username)
        .execute(pool)
        .await
        .map_err(failed("changing a password"))?;
    Ok(done.rows_affected() > 0)
}

pub async fn stored_password(
    pool: &SqlitePool,
    username: &str,
) -> Result<Option<StoredPassword>, UsersError> {
    sqlx::query_as("SELECT id, password_hash FROM users WHERE username = ?1")
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(failed("looking up an account"))
}

/// Logs everyone out. The session table exists once the server has run.
pub async fn end_all_sessions(pool: &SqlitePool) -> Result<(), UsersError> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tower_sessions')",
    )
    .fetch_one(pool)
    .await
    .map_err(failed("looking for sessions"))?;
    if exists {
        sqlx::query("DELETE FROM tower_sessions")
            .execute(pool)
            .await
            .map_err(failed("ending sessions"))?;
    }
    Ok(())
}
