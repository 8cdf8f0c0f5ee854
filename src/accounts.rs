//! Administrator accounts: creating them, changing their password, checking a login.
//! Passwords are hashed with Argon2id off the async threads.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sqlx::SqlitePool;

use crate::db::users::{self, StoredPassword, UsersError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the user {0} already exists")]
    Exists(String),
    #[error("no user is named {0}")]
    NoSuchUser(String),
    #[error("an account already exists; use the login page")]
    SetupDone,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] UsersError),
    #[error("cannot clear the failed logins: {source}")]
    Throttle { source: sqlx::Error },
}

/// A logged-in or stored user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
}

/// Argon2 takes about 19 MiB and a core for a moment: at most this many at once, so a flood
/// of login attempts queues up instead of starving backups of CPU and memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub async fn hash(password: &str) -> Result<String, AccountError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

async fn verify(password: &str, stored: &str) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    let password = password.to_owned();
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when the user does not exist so that
/// a login for an unknown name takes as long as one for a known name.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0jN0v1vBbvn4A3WwBrqJz3ZBE3c9H0jzXSQyWqbJ7Vg";

pub async fn any_exists(pool: &SqlitePool) -> Result<bool, AccountError> {
    Ok(users::any_exists(pool).await?)
}

/// Creates the first account; refused once any account exists (first-run setup).
pub async fn create_first(
    pool: &SqlitePool,
    username: &str,
    password: &str,
) -> Result<User, AccountError> {
    let hashed = hash(password).await?;
    let id = users::insert_first(pool, username, &hashed, chrono::Utc::now())
        .await?
        .ok_or(AccountError::SetupDone)?;
    Ok(User {
        id,
        username: username.to_owned(),
    })
}

pub async fn create(
    pool: &SqlitePool,
    username: &str,
    password: &str,
) -> Result<User, AccountError> {
    let hashed = hash(password).await?;
    let id = users::insert(pool, username, &hashed, chrono::Utc::now())
        .await?
        .ok_or_else(|| AccountError::Exists(username.to_owned()))?;
    Ok(User {
        id,
        username: username.to_owned(),
    })
}

/// Changes a password and logs everyone out: a session opened with the old password must
/// not live on.
pub async fn set_password(
    pool: &SqlitePool,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    let hashed = hash(password).await?;
    if !users::set_password_hash(pool, username, &hashed).await? {
        return Err(AccountError::NoSuchUser(username.to_owned()));
    }
    users::end_all_sessions(pool).await?;
    // Whoever was locked out by guesses gets in with the new password at once.
    crate::db::login_failures::clear_all(pool)
        .await
        .map_err(|source| AccountError::Throttle { source })
}

/// The user if the name and password match; `None` otherwise (same cost either way).
pub async fn check_login(
    pool: &SqlitePool,
    username: &str,
    password: &str,
) -> Result<Option<User>, AccountError> {
    match users::stored_password(pool, username).await? {
        Some(StoredPassword { id, password_hash }) => {
            Ok(verify(password, &password_hash).await.then(|| User {
                id,
                username: username.to_owned(),
            }))
        }
        None => {
            verify(password, DUMMY_HASH).await;
            Ok(None)
        }
    }
}
