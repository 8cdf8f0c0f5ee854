//! The checks of the first-run checklist that passed: "Test connection" on the settings
//! page and "Send test e-mail" on the e-mail account page, each kept with a fingerprint of
//! the settings it passed with.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// A check the checklist asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Bucket,
    EmailAccount,
}

impl Check {
    fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "bucket",
            Self::EmailAccount => "email_account",
        }
    }
}

/// A check that passed, with what it passed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    pub fingerprint: String,
    pub at: DateTime<Utc>,
}

/// Records that `check` passed now with the settings of `fingerprint`.
pub async fn record_passed(
    pool: &SqlitePool,
    check: Check,
    fingerprint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO setup_checks (name, fingerprint, passed_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, \
         passed_at = excluded.passed_at",
    )
    .bind(check.as_str())
    .bind(fingerprint)
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

/// When `check` last passed, and with what.
pub async fn passed(
    db: impl sqlx::SqliteExecutor<'_>,
    check: Check,
) -> Result<Option<Passed>, sqlx::Error> {
    let row: Option<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT fingerprint, passed_at FROM setup_checks WHERE name = ?1")
            .bind(check.as_str())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(fingerprint, at)| Passed { fingerprint, at }))
}
