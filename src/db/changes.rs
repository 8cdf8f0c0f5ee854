//! The audit trail of saved changes: who changed which fields of which page, and when.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Change {
    pub changed_at: DateTime<Utc>,
    pub username: String,
    pub page: String,
    pub fields: String,
}

impl Change {
    pub fn when(&self) -> String {
        self.changed_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Records a change of `fields` (names only, never values).
pub async fn record<'e, E>(
    executor: E,
    username: &str,
    page: &str,
    fields: &[&str],
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(
        "INSERT INTO setting_changes (changed_at, username, page, fields) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(Utc::now())
    .bind(username)
    .bind(page)
    .bind(fields.join(", "))
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn latest(pool: &SqlitePool, page: &str, limit: i64) -> Result<Vec<Change>, sqlx::Error> {
    sqlx::query_as::<_, Change>(
        "SELECT changed_at, username, page, fields FROM setting_changes
         WHERE page = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .bind(page)
    .bind(limit)
    .fetch_all(pool)
    .await
}
