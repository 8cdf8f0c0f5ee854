//! Secrets sealed before they were bound to their row (to their column only) are sealed
//! again for their row at start-up, so that from then on none opens in another row.

use sqlx::SqlitePool;

use crate::crypto::{CryptoError, MasterKey, Slot, purpose};

/// Every column that holds a sealed secret: table, column, purpose.
const SEALED_COLUMNS: [(&str, &str, &str); 4] = [
    ("settings", "secret_access_key", purpose::S3_SECRET_KEY),
    ("settings", "scratch_server", purpose::SCRATCH_SERVER),
    ("email_account", "smtp_password", purpose::SMTP_PASSWORD),
    ("sources", "password", purpose::SOURCE_PASSWORD),
];

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("binding the stored secrets to their rows: {0}")]
    Db(#[from] sqlx::Error),
    #[error("binding the stored secrets to their rows: {0}")]
    Seal(#[from] CryptoError),
}

/// Seals again for its row every secret that opens only as an unbound one; returns how many.
/// A secret that opens neither way is left as it is: using it says it does not open.
pub async fn bind_to_rows(pool: &SqlitePool, key: &MasterKey) -> Result<usize, SecretsError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut bound = 0;
    for (table, column, purpose) in SEALED_COLUMNS {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(&format!(
            "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
        ))
        .fetch_all(&mut *tx)
        .await?;
        for (id, sealed) in rows {
            let slot = Slot::new(purpose, id);
            if key.open(&slot, &sealed).is_ok() {
                continue;
            }
            let Some(secret) = key.open_unbound(purpose, &sealed) else {
                continue;
            };
            sqlx::query(&format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"))
                .bind(key.seal(&slot, &secret)?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            bound += 1;
        }
    }
    tx.commit().await?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn secrets_sealed_for_their_column_only_are_sealed_again_for_their_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = crate::db::open(&dir.path().join("db.sqlite3"))
            .await
            .expect("database");
        let key = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        let old = |purpose, secret| key.seal_unbound(purpose, secret);
        sqlx::query("UPDATE settings SET secret_access_key = ?1 WHERE id = 1")
            .bind(old(purpose::S3_SECRET_KEY, "s3-secret"))
            .execute(&pool)
            .await
            .expect("settings");
        sqlx::query("UPDATE email_account SET smtp_password = ?1 WHERE id = 1")
            .bind(old(purpose::SMTP_PASSWORD, "smtp-secret"))
            .execute(&pool)
            .await
            .expect("account");
        for (id, secret) in [(1, "erp-secret"), (2, "crm-secret")] {
            sqlx::query(
                "INSERT INTO sources (id, name, kind, location, password, created_at)
                 VALUES (?1, ?2, 'postgres', 'postgresql://u@db/x', ?3, '2026-01-01T00:00:00Z')",
            )
            .bind(id)
            .bind(format!("db{id}"))
            .bind(old(purpose::SOURCE_PASSWORD, secret))
            .execute(&pool)
            .await
            .expect("source");
        }

        assert_eq!(bind_to_rows(&pool, &key).await.expect("bound"), 4);
        assert_eq!(bind_to_rows(&pool, &key).await.expect("again"), 0, "once");

        let sealed = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, Vec<u8>>(sql)
                    .fetch_one(&pool)
                    .await
                    .expect(sql)
            }
        };
        let s3 = sealed("SELECT secret_access_key FROM settings").await;
        assert_eq!(
            key.open(&Slot::single(purpose::S3_SECRET_KEY), &s3)
                .expect("opens"),
            "s3-secret"
        );
        let smtp = sealed("SELECT smtp_password FROM email_account").await;
        assert_eq!(
            key.open(&Slot::single(purpose::SMTP_PASSWORD), &smtp)
                .expect("opens"),
            "smtp-secret"
        );
        let crm = sealed("SELECT password FROM sources WHERE id = 2").await;
        assert_eq!(
            key.open(&Slot::new(purpose::SOURCE_PASSWORD, 2), &crm)
                .expect("opens"),
            "crm-secret"
        );
        assert!(key.open_unbound(purpose::SOURCE_PASSWORD, &crm).is_none());
        assert!(
            key.open(&Slot::new(purpose::SOURCE_PASSWORD, 1), &crm)
                .is_err()
        );
    }
}
