//! The audit trail of saved changes: who changed what on which page, and when. What changed
//! is stored as messages (a field's label, "source erp added"), shown in the reader's
//! language; never values.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::lang::{Lang, Message};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Change {
    pub changed_at: DateTime<Utc>,
    pub username: String,
    pub page: String,
    fields: String,
}

impl Change {
    pub fn when(&self) -> String {
        self.changed_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    /// What changed, in `lang`: "Bucket name, Region".
    pub fn what(&self, lang: &Lang) -> String {
        let lang = *lang;
        match serde_json::from_str::<Vec<Message>>(&self.fields) {
            Ok(messages) => messages
                .iter()
                .map(|message| message.render(lang))
                .collect::<Vec<_>>()
                .join(", "),
            // Rows written before changes were messages: column names.
            Err(_) => self
                .fields
                .split(", ")
                .map(|name| legacy_label(&self.page, name, lang))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn legacy_label(page: &str, name: &str, lang: Lang) -> String {
    let prefix = match page {
        "settings" => "settings",
        "email_account" => "email",
        _ => return name.to_owned(),
    };
    let key = format!("{prefix}.{name}");
    let label = lang.t(&key);
    if label == key || label.ends_with(&key) {
        name.to_owned()
    } else {
        label
    }
}

/// Records a change (labels or events, never values).
pub async fn record<'e, E>(
    executor: E,
    username: &str,
    page: &str,
    what: &[Message],
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
    .bind(serde_json::to_string(what).unwrap_or_else(|_| "[]".to_owned()))
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
