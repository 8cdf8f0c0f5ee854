//! The stored S3 Backup Settings (one row). Each column holds the normalised text of its
//! domain type, the secret access key a sealed blob; loading parses the row back into
//! `Settings`, and a value that no longer parses is an error naming its field.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::lang::Lang;
use crate::settings::{
    AccessKeyId, BackupLimit, BucketName, CronExpr, EmailList, Endpoint, Field, Frequency, Invalid,
    KeyPrefix, KmsKeyId, LockDays, LockMode, MonthDay, Recipients, Region, SealedScratchServer,
    ServerSideEncryption, Settings, SseMode, StorageClass, TimeOfDay, TimeZone, VerifySchedule,
    Weekday, optional,
};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings: {step}: {source}")]
    Db {
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A stored value that the current rules refuse (edited by hand, or from an older
    /// version).
    #[error("the stored value of the setting \"{}\" is not valid any more: {invalid}", .field.name())]
    Corrupt { field: Field, invalid: Invalid },
}

impl SettingsError {
    fn db(step: &'static str) -> impl FnOnce(sqlx::Error) -> SettingsError {
        move |source| SettingsError::Db { step, source }
    }
}

/// The row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    enabled: bool,
    access_key_id: String,
    secret_access_key: Option<Vec<u8>>,
    notify_email: String,
    send_email_for_successful_backup: bool,
    bucket: String,
    endpoint_url: String,
    region: String,
    path_style: bool,
    backup_path: String,
    storage_class: String,
    server_side_encryption: String,
    sse_kms_key_id: String,
    object_lock_days: i64,
    object_lock_mode: String,
    encrypt_backups: bool,
    age_recipients: String,
    age_identity: Option<Vec<u8>>,
    pending_age_identity: Option<Vec<u8>>,
    frequency: String,
    backup_time: String,
    backup_weekday: String,
    backup_monthday: i64,
    cron: String,
    timezone: String,
    backup_files: bool,
    backup_limit: i64,
    verify_schedule: String,
    scratch_server: Option<Vec<u8>>,
    scratch_server_shown: Option<String>,
    notify_language: String,
    updated_at: Option<DateTime<Utc>>,
    schedule_saved_at: Option<DateTime<Utc>>,
}

fn field<T>(field: Field, parsed: Result<T, Invalid>) -> Result<T, SettingsError> {
    parsed.map_err(|invalid| SettingsError::Corrupt { field, invalid })
}

fn whole(value: i64, invalid: &'static str) -> Result<u32, Invalid> {
    u32::try_from(value).map_err(|_| Invalid::new(invalid))
}

impl Row {
    fn parse(self) -> Result<Settings, SettingsError> {
        let sse_mode = field(
            Field::ServerSideEncryption,
            SseMode::parse(&self.server_side_encryption),
        )?;
        let kms_key = field(
            Field::SseKmsKeyId,
            optional(&self.sse_kms_key_id, KmsKeyId::parse),
        )?;
        let server_side_encryption = field(
            Field::SseKmsKeyId,
            ServerSideEncryption::new(sse_mode, kms_key),
        )?;
        Ok(Settings {
            enabled: self.enabled,
            access_key_id: field(
                Field::AccessKeyId,
                optional(&self.access_key_id, AccessKeyId::parse),
            )?,
            sealed_secret: self.secret_access_key,
            notify_email: field(Field::NotifyEmail, EmailList::parse(&self.notify_email))?,
            send_email_for_successful_backup: self.send_email_for_successful_backup,
            bucket: field(Field::Bucket, optional(&self.bucket, BucketName::parse))?,
            endpoint: field(Field::EndpointUrl, Endpoint::parse(&self.endpoint_url))?,
            region: field(Field::Region, Region::parse(&self.region))?,
            path_style: self.path_style,
            prefix: field(Field::BackupPath, KeyPrefix::parse(&self.backup_path))?,
            storage_class: field(
                Field::StorageClass,
                optional(&self.storage_class, StorageClass::parse),
            )?,
            server_side_encryption,
            object_lock_days: field(
                Field::ObjectLockDays,
                LockDays::parse(&self.object_lock_days.to_string()),
            )?,
            object_lock_mode: field(
                Field::ObjectLockMode,
                LockMode::parse(&self.object_lock_mode),
            )?,
            encrypt_backups: self.encrypt_backups,
            age_recipients: field(
                Field::AgeRecipients,
                optional(&self.age_recipients, Recipients::parse),
            )?,
            sealed_age_identity: self.age_identity,
            sealed_pending_age_identity: self.pending_age_identity,
            frequency: field(Field::Frequency, Frequency::parse(&self.frequency))?,
            time: field(Field::BackupTime, TimeOfDay::parse(&self.backup_time))?,
            weekday: field(Field::BackupWeekday, Weekday::parse(&self.backup_weekday))?,
            monthday: field(
                Field::BackupMonthday,
                whole(self.backup_monthday, "invalid.month_day").and_then(|day| {
                    MonthDay::new(day).ok_or_else(|| Invalid::new("invalid.month_day"))
                }),
            )?,
            // An expression kept for another frequency does not stop the settings loading.
            cron: match optional(&self.cron, CronExpr::parse) {
                Ok(cron) => cron,
                Err(_) if self.frequency != Frequency::Cron.as_str() => None,
                Err(invalid) => {
                    return Err(SettingsError::Corrupt {
                        field: Field::Cron,
                        invalid,
                    });
                }
            },
            timezone: field(Field::Timezone, TimeZone::parse(&self.timezone))?,
            backup_files: self.backup_files,
            backup_limit: field(
                Field::BackupLimit,
                whole(self.backup_limit, "invalid.backup_limit").and_then(|limit| {
                    BackupLimit::new(limit).ok_or_else(|| Invalid::new("invalid.backup_limit"))
                }),
            )?,
            verify_schedule: field(
                Field::VerifySchedule,
                VerifySchedule::parse(&self.verify_schedule),
            )?,
            scratch_server: match (self.scratch_server, self.scratch_server_shown) {
                (Some(sealed), Some(shown)) => Some(SealedScratchServer { sealed, shown }),
                _ => None,
            },
            language: Lang::from_code_or_default(&self.notify_language),
            updated_at: self.updated_at,
            schedule_saved_at: self.schedule_saved_at,
        })
    }
}

const SELECT_ROW: &str = "SELECT enabled, access_key_id, secret_access_key, notify_email,
    send_email_for_successful_backup, bucket, endpoint_url, region, path_style, backup_path,
    storage_class, server_side_encryption, sse_kms_key_id, object_lock_days, object_lock_mode,
    encrypt_backups, age_recipients, age_identity, pending_age_identity,
    frequency, backup_time, backup_weekday, backup_monthday, cron, timezone, backup_files,
    backup_limit, verify_schedule, scratch_server, scratch_server_shown, notify_language,
    updated_at, schedule_saved_at
    FROM settings WHERE id = 1";

pub async fn load(db: impl sqlx::SqliteExecutor<'_>) -> Result<Settings, SettingsError> {
    sqlx::query_as::<_, Row>(SELECT_ROW)
        .fetch_one(db)
        .await
        .map_err(SettingsError::db("reading the settings"))?
        .parse()
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved<T> {
    pub changed: Vec<Field>,
    pub value: T,
}

/// Reads the settings, lets `change` make the new ones from them, and stores the result
/// with the list of changed fields, all under the write lock (`BEGIN IMMEDIATE`), so that
/// concurrent saves wait for each other instead of failing, and the last one wins.
/// `change` may refuse, with its own error, and nothing is written.
pub async fn update<T, E>(
    pool: &SqlitePool,
    username: &str,
    change: impl FnOnce(&Settings) -> Result<(Settings, T), E>,
) -> Result<Result<Saved<T>, E>, SettingsError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(SettingsError::db("starting a save"))?;
    let old = sqlx::query_as::<_, Row>(SELECT_ROW)
        .fetch_one(&mut *tx)
        .await
        .map_err(SettingsError::db("reading the settings"))?
        .parse()?;
    let (new, value) = match change(&old) {
        Ok(changed) => changed,
        Err(refused) => return Ok(Err(refused)),
    };
    let changed = new.changed_fields(&old);
    let now = Utc::now();
    let schedule_saved_at = if changed.iter().any(|field| field.is_schedule()) {
        Some(now)
    } else {
        old.schedule_saved_at
    };
    sqlx::query(
        "UPDATE settings SET enabled = ?1, access_key_id = ?2, secret_access_key = ?3,
            notify_email = ?4, send_email_for_successful_backup = ?5, bucket = ?6,
            endpoint_url = ?7, region = ?8, path_style = ?9, backup_path = ?10,
            frequency = ?11, backup_time = ?12, backup_weekday = ?13, backup_monthday = ?14,
            cron = ?15, timezone = ?16, backup_files = ?17, backup_limit = ?18,
            notify_language = ?19, updated_at = ?20, schedule_saved_at = ?21,
            verify_schedule = ?22, scratch_server = ?23, scratch_server_shown = ?24,
            storage_class = ?25, server_side_encryption = ?26, sse_kms_key_id = ?27,
            object_lock_days = ?28, object_lock_mode = ?29,
            encrypt_backups = ?30, age_recipients = ?31, age_identity = ?32,
            pending_age_identity = ?33
         WHERE id = 1",
    )
    .bind(new.enabled)
    .bind(new.access_key_id.as_ref().map_or("", |k| k.as_str()))
    .bind(&new.sealed_secret)
    .bind(new.notify_email.to_string())
    .bind(new.send_email_for_successful_backup)
    .bind(new.bucket.as_ref().map_or("", |b| b.as_str()))
    .bind(new.endpoint.as_str())
    .bind(new.region.as_str())
    .bind(new.path_style)
    .bind(new.prefix.as_str())
    .bind(new.frequency.as_str())
    .bind(new.time.to_string())
    .bind(new.weekday.as_str())
    .bind(i64::from(new.monthday.get()))
    .bind(new.cron.as_ref().map_or("", |c| c.as_str()))
    .bind(new.timezone.as_str())
    .bind(new.backup_files)
    .bind(i64::from(new.backup_limit.get()))
    .bind(new.language.code())
    .bind(if changed.is_empty() {
        old.updated_at
    } else {
        Some(now)
    })
    .bind(schedule_saved_at)
    .bind(new.verify_schedule.as_str())
    .bind(
        new.scratch_server
            .as_ref()
            .map(|server| server.sealed.clone()),
    )
    .bind(
        new.scratch_server
            .as_ref()
            .map(|server| server.shown.clone()),
    )
    .bind(
        new.storage_class
            .as_ref()
            .map_or("", |class| class.as_str()),
    )
    .bind(new.server_side_encryption.mode().as_str())
    .bind(
        new.server_side_encryption
            .kms_key()
            .map_or("", |key| key.as_str()),
    )
    .bind(i64::from(new.object_lock_days.map_or(0, LockDays::get)))
    .bind(new.object_lock_mode.as_str())
    .bind(new.encrypt_backups)
    .bind(
        new.age_recipients
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
    .bind(&new.sealed_age_identity)
    .bind(&new.sealed_pending_age_identity)
    .execute(&mut *tx)
    .await
    .map_err(SettingsError::db("saving the settings"))?;
    if !changed.is_empty() {
        let labels: Vec<crate::lang::Message> = changed
            .iter()
            .map(|field| crate::lang::Message::new_owned(field.label_key()))
            .collect();
        crate::db::changes::record(&mut *tx, username, "settings", &labels)
            .await
            .map_err(SettingsError::db("recording the change"))?;
    }
    tx.commit()
        .await
        .map_err(SettingsError::db("saving the settings"))?;
    Ok(Ok(Saved { changed, value }))
}

/// Stores `settings` as they are (tests and the command line set them up this way).
pub async fn store(
    pool: &SqlitePool,
    settings: &Settings,
    username: &str,
) -> Result<Vec<Field>, SettingsError> {
    let saved = update(pool, username, |_| {
        Ok::<_, std::convert::Infallible>((settings.clone(), ()))
    })
    .await?;
    Ok(match saved {
        Ok(saved) => saved.changed,
        Err(never) => match never {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_field_round_trips_through_the_store() {
        let (_dir, pool) = crate::db::temporary().await;
        assert_eq!(
            load(&pool).await.expect("defaults"),
            Settings::default(),
            "a new installation reads as the defaults"
        );
        let settings = Settings {
            enabled: true,
            access_key_id: AccessKeyId::parse("AKIAROUNDTRIP").ok(),
            sealed_secret: Some(vec![9, 8, 7]),
            notify_email: EmailList::parse("a@example.com, b@example.org").unwrap_or_default(),
            send_email_for_successful_backup: true,
            bucket: BucketName::parse("round-trip").ok(),
            endpoint: Endpoint::parse("http://127.0.0.1:9000").unwrap_or_default(),
            region: Region::parse("fr-par").unwrap_or_default(),
            path_style: true,
            prefix: KeyPrefix::parse("site/db").unwrap_or_default(),
            storage_class: StorageClass::parse("STANDARD_IA").ok(),
            server_side_encryption: ServerSideEncryption::Kms(
                KmsKeyId::parse("alias/backups").ok(),
            ),
            object_lock_days: LockDays::new(36_500),
            object_lock_mode: LockMode::Compliance,
            encrypt_backups: true,
            age_recipients: Recipients::parse(&format!(
                "{}\n{}",
                crate::settings::Identity::generate().recipients(),
                crate::settings::Identity::generate().recipients()
            ))
            .ok(),
            sealed_age_identity: Some(vec![4, 5, 6]),
            sealed_pending_age_identity: Some(vec![7]),
            frequency: Frequency::Weekly,
            time: TimeOfDay::new(3, 45).unwrap_or(TimeOfDay::MIDNIGHT),
            weekday: Weekday::parse("friday").unwrap_or(Weekday::MONDAY),
            monthday: MonthDay::new(31).unwrap_or(MonthDay::FIRST),
            cron: CronExpr::parse("15 2 * * 1-5").ok(),
            timezone: TimeZone::parse("Europe/Paris").unwrap_or_default(),
            backup_files: false,
            backup_limit: BackupLimit::new(30).unwrap_or(BackupLimit::KEEP_ALL),
            verify_schedule: VerifySchedule::Weekly,
            scratch_server: Some(SealedScratchServer {
                sealed: vec![1, 2, 3],
                shown: "postgresql://verify:***@db.example.com/postgres".into(),
            }),
            language: Lang::FR,
            updated_at: None,
            schedule_saved_at: None,
        };
        let changed = store(&pool, &settings, "admin").await.expect("save");
        assert_eq!(changed.len(), Field::ALL.len(), "{changed:?}");
        let loaded = load(&pool).await.expect("load");
        assert!(loaded.updated_at.is_some() && loaded.schedule_saved_at.is_some());
        assert_eq!(
            Settings {
                updated_at: None,
                schedule_saved_at: None,
                ..loaded
            },
            settings
        );
    }

    #[tokio::test]
    async fn a_corrupted_stored_value_names_its_field() {
        let (_dir, pool) = crate::db::temporary().await;
        for (column, value, expected) in [
            ("bucket", "Not A Bucket", Field::Bucket),
            ("endpoint_url", "ftp://nope", Field::EndpointUrl),
            ("timezone", "Mars/Olympus", Field::Timezone),
            ("frequency", "fortnightly", Field::Frequency),
            ("storage_class", "glacier ir", Field::StorageClass),
            (
                "server_side_encryption",
                "SSE-C",
                Field::ServerSideEncryption,
            ),
            ("object_lock_days", "-3", Field::ObjectLockDays),
            ("object_lock_mode", "legal-hold", Field::ObjectLockMode),
            ("age_recipients", "ssh-rsa AAAA", Field::AgeRecipients),
        ] {
            let restore = sqlx::query_scalar::<_, String>(&format!(
                "SELECT CAST({column} AS TEXT) FROM settings WHERE id = 1"
            ))
            .fetch_one(&pool)
            .await
            .expect("read");
            sqlx::query(&format!("UPDATE settings SET {column} = ?1 WHERE id = 1"))
                .bind(value)
                .execute(&pool)
                .await
                .expect("corrupt");
            match load(&pool).await {
                Err(SettingsError::Corrupt { field, .. }) => assert_eq!(field, expected),
                other => panic!("{column}: expected a corrupt {expected:?}, got {other:?}"),
            }
            let error = load(&pool)
                .await
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(expected.name()), "{error}");
            sqlx::query(&format!("UPDATE settings SET {column} = ?1 WHERE id = 1"))
                .bind(restore)
                .execute(&pool)
                .await
                .expect("restore");
        }
    }

    fn arbitrary_settings() -> impl proptest::strategy::Strategy<Value = Settings> {
        use proptest::prelude::*;
        let zones = chrono_tz::TZ_VARIANTS.len();
        (
            (
                any::<bool>(),
                "AKIA[A-Z0-9]{8,16}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)),
                "[a-z]{1,8}@[a-z]{1,8}\\.(com|fr|org)",
                any::<bool>(),
                "[a-z0-9][a-z0-9-]{1,20}[a-z0-9]",
                prop_oneof![
                    Just(String::new()),
                    "https://s3\\.[a-z]{2,6}\\.example\\.com"
                ],
                "[a-z]{2}-[a-z]{3,8}-[1-9]",
                any::<bool>(),
                prop_oneof![Just(String::new()), "[a-z]{1,8}(/[a-z0-9]{1,8})?"],
            ),
            (
                0..Frequency::ALL.len(),
                (0u32..24, 0u32..60),
                0..7usize,
                1u32..=31,
                prop_oneof![
                    Just(None),
                    Just(Some("15 2 * * 1-5")),
                    Just(Some("*/30 * * * *"))
                ],
                0..zones,
                any::<bool>(),
                0u32..1000,
                any::<bool>(),
            ),
        )
            .prop_map(
                |(
                    (
                        enabled,
                        key,
                        secret,
                        email,
                        on_success,
                        bucket,
                        endpoint,
                        region,
                        path,
                        prefix,
                    ),
                    (frequency, (hour, minute), weekday, monthday, cron, zone, files, limit, fr),
                )| Settings {
                    enabled,
                    access_key_id: AccessKeyId::parse(&key).ok(),
                    sealed_secret: secret,
                    notify_email: EmailList::parse(&email).unwrap_or_default(),
                    send_email_for_successful_backup: on_success,
                    bucket: BucketName::parse(&bucket).ok(),
                    endpoint: Endpoint::parse(&endpoint).unwrap_or_default(),
                    region: Region::parse(&region).unwrap_or_default(),
                    path_style: path,
                    prefix: KeyPrefix::parse(&prefix).unwrap_or_default(),
                    storage_class: StorageClass::parse(
                        ["", "STANDARD_IA", "GLACIER_IR"][(limit % 3) as usize],
                    )
                    .ok(),
                    server_side_encryption: match (limit / 3) % 4 {
                        0 => ServerSideEncryption::None,
                        1 => ServerSideEncryption::Aes256,
                        2 => ServerSideEncryption::Kms(None),
                        _ => ServerSideEncryption::Kms(KmsKeyId::parse("alias/backups").ok()),
                    },
                    object_lock_days: LockDays::new(limit % 5 * 9_000),
                    object_lock_mode: LockMode::ALL[(limit % 2) as usize],
                    encrypt_backups: limit % 5 == 0,
                    age_recipients: (limit % 2 == 0)
                        .then(|| crate::settings::Identity::generate().recipients()),
                    sealed_age_identity: (limit % 3 == 0).then(|| vec![1; 8]),
                    sealed_pending_age_identity: None,
                    frequency: Frequency::ALL[frequency],
                    time: TimeOfDay::new(hour, minute).unwrap_or(TimeOfDay::MIDNIGHT),
                    weekday: Weekday::ALL[weekday],
                    monthday: MonthDay::new(monthday).unwrap_or(MonthDay::FIRST),
                    cron: cron.and_then(|c| CronExpr::parse(c).ok()),
                    timezone: TimeZone::parse(chrono_tz::TZ_VARIANTS[zone].name())
                        .unwrap_or_default(),
                    backup_files: files,
                    backup_limit: BackupLimit::new(limit).unwrap_or(BackupLimit::KEEP_ALL),
                    verify_schedule: VerifySchedule::ALL[(limit % 4) as usize],
                    scratch_server: None,
                    language: if fr { Lang::FR } else { Lang::EN },
                    updated_at: None,
                    schedule_saved_at: None,
                },
            )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn any_valid_settings_read_back_as_stored(settings in arbitrary_settings()) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let loaded = runtime.block_on(async {
                let (_dir, pool) = crate::db::temporary().await;
                store(&pool, &settings, "admin").await.expect("save");
                load(&pool).await.expect("load")
            });
            proptest::prop_assert_eq!(
                Settings { updated_at: None, schedule_saved_at: None, ..loaded },
                settings
            );
        }
    }
}
