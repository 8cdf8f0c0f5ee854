//! The `api_tokens` table: each token's name, scope, identifier and the hash of its secret
//! (never the secret), when it was made and last used, and whether it was revoked. Making
//! and revoking a token are written in the change log.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::lang::Message;
use crate::tokens::{Scope, Secret, TokenName};

/// The page of the change log the tokens' changes are listed under.
pub const CHANGES_PAGE: &str = "tokens";
/// A use is recorded at most this often per token, so requests are not each a write.
pub const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a live token is already named so")]
    DuplicateName,
    #[error("api tokens: {step}: {source}")]
    Db {
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

fn failed(step: &'static str) -> impl FnOnce(sqlx::Error) -> TokenError {
    move |source| TokenError::Db { step, source }
}

/// A token as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub identifier: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    scope: String,
    identifier: String,
    created_at: DateTime<Utc>,
    created_by: String,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for Token {
    fn from(row: TokenRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            // The column only holds the scopes its CHECK allows; the narrower one otherwise.
            scope: Scope::parse(&row.scope).unwrap_or(Scope::Read),
            identifier: row.identifier,
            created_at: row.created_at,
            created_by: row.created_by,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A token that may be the one presented, with the hash that decides.
#[derive(FromRow)]
struct CandidateRow {
    #[sqlx(flatten)]
    token: TokenRow,
    secret_hash: Vec<u8>,
}

const COLUMNS: &str =
    "id, name, scope, identifier, created_at, created_by, last_used_at, revoked_at";

/// Stores a new token made by `username`; returns its id.
pub async fn create(
    pool: &SqlitePool,
    name: &TokenName,
    scope: Scope,
    secret: &Secret,
    username: &str,
) -> Result<i64, TokenError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed("creating a token"))?;
    let inserted = sqlx::query_scalar(
        "INSERT INTO api_tokens (name, scope, identifier, secret_hash, created_at, created_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
    )
    .bind(name.as_str())
    .bind(scope.as_str())
    .bind(secret.identifier())
    .bind(secret.hash())
    .bind(Utc::now())
    .bind(username)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(TokenError::DuplicateName);
        }
        Err(e) => return Err(failed("creating a token")(e)),
    };
    let what = Message::new("changes.token_created")
        .with("name", name.as_str())
        .with("scope", scope.as_str());
    crate::db::changes::record(&mut *tx, username, CHANGES_PAGE, &[what])
        .await
        .map_err(failed("recording a token's creation"))?;
    tx.commit().await.map_err(failed("creating a token"))?;
    Ok(id)
}

/// Every token, live ones first, newest first.
pub async fn list(pool: &SqlitePool) -> Result<Vec<Token>, TokenError> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, id DESC"
    ))
    .fetch_all(pool)
    .await
    .map_err(failed("listing tokens"))?;
    Ok(rows.into_iter().map(Token::from).collect())
}

/// Revokes token `id`: it is refused from now on. False when there is no live token `id`.
pub async fn revoke(pool: &SqlitePool, id: i64, username: &str) -> Result<bool, TokenError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed("revoking a token"))?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL \
         RETURNING name",
    )
    .bind(Utc::now())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed("revoking a token"))?;
    let Some(name) = name else {
        return Ok(false);
    };
    let what = Message::new("changes.token_revoked").with("name", &name);
    crate::db::changes::record(&mut *tx, username, CHANGES_PAGE, &[what])
        .await
        .map_err(failed("recording a token's revocation"))?;
    tx.commit().await.map_err(failed("revoking a token"))?;
    Ok(true)
}

/// The live token whose secret was presented, if any; its use is recorded (at most once
/// per `LAST_USED_RESOLUTION`).
pub async fn authenticate(
    pool: &SqlitePool,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<Option<Token>, TokenError> {
    // The identifier narrows the search; the hash decides, compared in constant time.
    let rows: Vec<CandidateRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, secret_hash FROM api_tokens \
         WHERE identifier = ?1 AND revoked_at IS NULL"
    ))
    .bind(secret.identifier())
    .fetch_all(pool)
    .await
    .map_err(failed("looking up a token"))?;
    let row = rows
        .into_iter()
        .find(|candidate| secret.matches(&candidate.secret_hash))
        .map(|candidate| candidate.token);
    let Some(mut token) = row.map(Token::from) else {
        return Ok(None);
    };
    if token
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
    {
        sqlx::query("UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2")
            .bind(now)
            .bind(token.id)
            .execute(pool)
            .await
            .map_err(failed("recording a token's use"))?;
        token.last_used_at = Some(now);
    }
    Ok(Some(token))
}
