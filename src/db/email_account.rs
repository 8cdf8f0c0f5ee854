//! The stored SMTP account (one row); its password as a sealed blob.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::lang::Message;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEmailAccount {
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_security: String,
    pub smtp_username: String,
    pub smtp_password: Option<Vec<u8>>,
    pub sender: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl StoredEmailAccount {
    pub fn has_password(&self) -> bool {
        self.smtp_password.is_some()
    }

    /// Whether enough is set to send mail.
    pub fn is_configured(&self) -> bool {
        !self.smtp_host.is_empty() && !self.sender.is_empty()
    }

    pub fn changed_fields(&self, other: &StoredEmailAccount) -> Vec<&'static str> {
        [
            ("smtp_host", self.smtp_host != other.smtp_host),
            ("smtp_port", self.smtp_port != other.smtp_port),
            ("smtp_security", self.smtp_security != other.smtp_security),
            ("smtp_username", self.smtp_username != other.smtp_username),
            ("smtp_password", self.smtp_password != other.smtp_password),
            ("sender", self.sender != other.sender),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect()
    }
}

const SELECT_ROW: &str = "SELECT smtp_host, smtp_port, smtp_security, smtp_username, smtp_password,
    sender, updated_at FROM email_account WHERE id = 1";

pub async fn load(db: impl sqlx::SqliteExecutor<'_>) -> Result<StoredEmailAccount, sqlx::Error> {
    sqlx::query_as::<_, StoredEmailAccount>(SELECT_ROW)
        .fetch_one(db)
        .await
}

/// Saves `new` and records the changed fields, in one transaction.
pub async fn save(
    pool: &SqlitePool,
    new: &StoredEmailAccount,
    username: &str,
) -> Result<Vec<&'static str>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let old = sqlx::query_as::<_, StoredEmailAccount>(SELECT_ROW)
        .fetch_one(&mut *tx)
        .await?;
    let changed = new.changed_fields(&old);
    if changed.is_empty() {
        return Ok(changed);
    }
    sqlx::query(
        "UPDATE email_account SET smtp_host = ?1, smtp_port = ?2, smtp_security = ?3,
            smtp_username = ?4, smtp_password = ?5, sender = ?6, updated_at = ?7 WHERE id = 1",
    )
    .bind(&new.smtp_host)
    .bind(new.smtp_port)
    .bind(&new.smtp_security)
    .bind(&new.smtp_username)
    .bind(&new.smtp_password)
    .bind(&new.sender)
    .bind(Utc::now())
    .execute(&mut *tx)
    .await?;
    let labels: Vec<Message> = changed
        .iter()
        .map(|field| Message::new_owned(format!("email.{field}")))
        .collect();
    crate::db::changes::record(&mut *tx, username, "email_account", &labels).await?;
    tx.commit().await?;
    Ok(changed)
}
