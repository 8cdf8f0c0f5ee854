//! The stored S3 Backup Settings (one row). Values are stored as the normalised text of
//! their domain types; the secret access key as a sealed blob.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// The settings row as stored, secret still sealed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSettings {
    pub enabled: bool,
    pub access_key_id: String,
    pub secret_access_key: Option<Vec<u8>>,
    pub notify_email: String,
    pub send_email_for_successful_backup: bool,
    pub bucket: String,
    pub endpoint_url: String,
    pub region: String,
    pub path_style: bool,
    pub backup_path: String,
    pub frequency: String,
    pub backup_time: String,
    pub backup_weekday: String,
    pub backup_monthday: i64,
    pub cron: String,
    pub timezone: String,
    pub backup_files: bool,
    pub backup_limit: i64,
    pub updated_at: Option<DateTime<Utc>>,
    /// When a field of the schedule last changed (see `SCHEDULE_FIELDS`).
    pub schedule_saved_at: Option<DateTime<Utc>>,
}

/// The fields that decide when automatic backups run.
pub const SCHEDULE_FIELDS: [&str; 7] = [
    "enabled",
    "frequency",
    "backup_time",
    "backup_weekday",
    "backup_monthday",
    "cron",
    "timezone",
];

impl StoredSettings {
    pub fn has_secret(&self) -> bool {
        self.secret_access_key.is_some()
    }

    /// Names of the fields that differ from `other` (the secret compares by presence and
    /// ciphertext, never by value).
    pub fn changed_fields(&self, other: &StoredSettings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut diff = |name: &'static str, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        diff("enabled", self.enabled != other.enabled);
        diff("access_key_id", self.access_key_id != other.access_key_id);
        diff(
            "secret_access_key",
            self.secret_access_key != other.secret_access_key,
        );
        diff("notify_email", self.notify_email != other.notify_email);
        diff(
            "send_email_for_successful_backup",
            self.send_email_for_successful_backup != other.send_email_for_successful_backup,
        );
        diff("bucket", self.bucket != other.bucket);
        diff("endpoint_url", self.endpoint_url != other.endpoint_url);
        diff("region", self.region != other.region);
        diff("path_style", self.path_style != other.path_style);
        diff("backup_path", self.backup_path != other.backup_path);
        diff("frequency", self.frequency != other.frequency);
        diff("backup_time", self.backup_time != other.backup_time);
        diff(
            "backup_weekday",
            self.backup_weekday != other.backup_weekday,
        );
        diff(
            "backup_monthday",
            self.backup_monthday != other.backup_monthday,
        );
        diff("cron", self.cron != other.cron);
        diff("timezone", self.timezone != other.timezone);
        diff("backup_files", self.backup_files != other.backup_files);
        diff("backup_limit", self.backup_limit != other.backup_limit);
        changed
    }
}

const SELECT_ROW: &str = "SELECT enabled, access_key_id, secret_access_key, notify_email,
    send_email_for_successful_backup, bucket, endpoint_url, region, path_style, backup_path,
    frequency, backup_time, backup_weekday, backup_monthday, cron, timezone, backup_files,
    backup_limit, updated_at, schedule_saved_at
    FROM settings WHERE id = 1";

pub async fn load(pool: &SqlitePool) -> Result<StoredSettings, sqlx::Error> {
    sqlx::query_as::<_, StoredSettings>(SELECT_ROW)
        .fetch_one(pool)
        .await
}

/// Saves `new` and records which fields changed, in one transaction. Returns those fields.
pub async fn save(
    pool: &SqlitePool,
    new: &StoredSettings,
    username: &str,
) -> Result<Vec<&'static str>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let old = sqlx::query_as::<_, StoredSettings>(SELECT_ROW)
        .fetch_one(&mut *tx)
        .await?;
    let changed = new.changed_fields(&old);
    if changed.is_empty() {
        return Ok(changed);
    }
    sqlx::query(
        "UPDATE settings SET enabled = ?1, access_key_id = ?2, secret_access_key = ?3,
            notify_email = ?4, send_email_for_successful_backup = ?5, bucket = ?6,
            endpoint_url = ?7, region = ?8, path_style = ?9, backup_path = ?10,
            frequency = ?11, backup_time = ?12, backup_weekday = ?13, backup_monthday = ?14,
            cron = ?15, timezone = ?16, backup_files = ?17, backup_limit = ?18, updated_at = ?19,
            schedule_saved_at = ?20
         WHERE id = 1",
    )
    .bind(new.enabled)
    .bind(&new.access_key_id)
    .bind(&new.secret_access_key)
    .bind(&new.notify_email)
    .bind(new.send_email_for_successful_backup)
    .bind(&new.bucket)
    .bind(&new.endpoint_url)
    .bind(&new.region)
    .bind(new.path_style)
    .bind(&new.backup_path)
    .bind(&new.frequency)
    .bind(&new.backup_time)
    .bind(&new.backup_weekday)
    .bind(new.backup_monthday)
    .bind(&new.cron)
    .bind(&new.timezone)
    .bind(new.backup_files)
    .bind(new.backup_limit)
    .bind(Utc::now())
    .bind(
        if changed.iter().any(|field| SCHEDULE_FIELDS.contains(field)) {
            Some(Utc::now())
        } else {
            old.schedule_saved_at
        },
    )
    .execute(&mut *tx)
    .await?;
    crate::db::changes::record(&mut *tx, username, "settings", &changed).await?;
    tx.commit().await?;
    Ok(changed)
}
