//! The S3 Backup Settings as one value: every field a domain type. The store reads it, the
//! form builds it, and the rules that span fields (what is required when automatic backup
//! is on, which fields make the schedule) live here.

use chrono::{DateTime, Utc};

use super::{
    AccessKeyId, BackupLimit, BucketName, CronExpr, EmailList, Endpoint, Frequency, KeyPrefix,
    LockDays, LockMode, MissingPart, MonthDay, ObjectLock, Recipients, Region, Schedule,
    SealedScratchServer, ServerSideEncryption, StorageClass, TimeOfDay, TimeZone, VerifySchedule,
    Weekday,
};
use crate::lang::Lang;

/// A field of the settings form, by its Frappe name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Enabled,
    AccessKeyId,
    SecretAccessKey,
    NotifyEmail,
    SendEmailForSuccessfulBackup,
    Bucket,
    EndpointUrl,
    Region,
    PathStyle,
    BackupPath,
    StorageClass,
    ServerSideEncryption,
    SseKmsKeyId,
    ObjectLockDays,
    ObjectLockMode,
    EncryptBackups,
    AgeRecipients,
    Frequency,
    BackupTime,
    BackupWeekday,
    BackupMonthday,
    Cron,
    Timezone,
    BackupFiles,
    BackupLimit,
    VerifySchedule,
    ScratchServer,
}

impl Field {
    /// In the form's order.
    pub const ALL: [Field; 27] = [
        Self::Enabled,
        Self::AccessKeyId,
        Self::SecretAccessKey,
        Self::NotifyEmail,
        Self::SendEmailForSuccessfulBackup,
        Self::Bucket,
        Self::EndpointUrl,
        Self::Region,
        Self::PathStyle,
        Self::BackupPath,
        Self::StorageClass,
        Self::ServerSideEncryption,
        Self::SseKmsKeyId,
        Self::ObjectLockDays,
        Self::ObjectLockMode,
        Self::EncryptBackups,
        Self::AgeRecipients,
        Self::Frequency,
        Self::BackupTime,
        Self::BackupWeekday,
        Self::BackupMonthday,
        Self::Cron,
        Self::Timezone,
        Self::BackupFiles,
        Self::BackupLimit,
        Self::VerifySchedule,
        Self::ScratchServer,
    ];

    /// The form field's (and the column's) name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::AccessKeyId => "access_key_id",
            Self::SecretAccessKey => "secret_access_key",
            Self::NotifyEmail => "notify_email",
            Self::SendEmailForSuccessfulBackup => "send_email_for_successful_backup",
            Self::Bucket => "bucket",
            Self::EndpointUrl => "endpoint_url",
            Self::Region => "region",
            Self::PathStyle => "path_style",
            Self::BackupPath => "backup_path",
            Self::StorageClass => "storage_class",
            Self::ServerSideEncryption => "server_side_encryption",
            Self::SseKmsKeyId => "sse_kms_key_id",
            Self::ObjectLockDays => "object_lock_days",
            Self::ObjectLockMode => "object_lock_mode",
            Self::EncryptBackups => "encrypt_backups",
            Self::AgeRecipients => "age_recipients",
            Self::Frequency => "frequency",
            Self::BackupTime => "backup_time",
            Self::BackupWeekday => "backup_weekday",
            Self::BackupMonthday => "backup_monthday",
            Self::Cron => "cron",
            Self::Timezone => "timezone",
            Self::BackupFiles => "backup_files",
            Self::BackupLimit => "backup_limit",
            Self::VerifySchedule => "verify_schedule",
            Self::ScratchServer => "scratch_server",
        }
    }

    /// The catalog key of the field's label.
    pub fn label_key(self) -> String {
        format!("settings.{}", self.name())
    }

    pub fn label(self, lang: Lang) -> String {
        lang.t(&self.label_key())
    }

    /// The catalog key of the message beside this field when it is required and empty.
    pub fn missing_key(self) -> &'static str {
        match self {
            Self::AgeRecipients => "invalid.age.encrypt_without_recipient",
            _ => "invalid.required",
        }
    }

    /// Whether the field decides when automatic backups run.
    pub fn is_schedule(self) -> bool {
        matches!(
            self,
            Self::Enabled
                | Self::Frequency
                | Self::BackupTime
                | Self::BackupWeekday
                | Self::BackupMonthday
                | Self::Cron
                | Self::Timezone
        )
    }

    /// Whether the schedule of `frequency` reads this field; fields it does not read may be
    /// left out of a form and keep their stored value.
    pub fn used_by(self, frequency: Frequency) -> bool {
        match self {
            Self::BackupTime => !matches!(frequency, Frequency::None | Frequency::Cron),
            Self::BackupWeekday => frequency == Frequency::Weekly,
            Self::BackupMonthday => frequency == Frequency::Monthly,
            Self::Cron => frequency == Frequency::Cron,
            _ => true,
        }
    }

    fn from_missing(part: MissingPart) -> Field {
        match part {
            MissingPart::Time => Self::BackupTime,
            MissingPart::Weekday => Self::BackupWeekday,
            MissingPart::MonthDay => Self::BackupMonthday,
            MissingPart::Cron => Self::Cron,
        }
    }
}

/// The settings as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub access_key_id: Option<AccessKeyId>,
    /// The secret access key, sealed with the master key; never in clear here.
    pub sealed_secret: Option<Vec<u8>>,
    pub notify_email: EmailList,
    pub send_email_for_successful_backup: bool,
    pub bucket: Option<BucketName>,
    pub endpoint: Endpoint,
    pub region: Region,
    pub path_style: bool,
    pub prefix: KeyPrefix,
    /// `None`: the bucket's default class.
    pub storage_class: Option<StorageClass>,
    pub server_side_encryption: ServerSideEncryption,
    /// How long each backup stays immutable; `None`: Object Lock off.
    pub object_lock_days: Option<LockDays>,
    /// Kept while Object Lock is off, so turning it on again does not lose it.
    pub object_lock_mode: LockMode,
    /// Client-side encryption: every object encrypted with age for `age_recipients`.
    pub encrypt_backups: bool,
    /// Kept when encryption is turned off, so turning it back on does not lose them.
    pub age_recipients: Option<Recipients>,
    /// The key pairs this app generated (an age identity file, newest first), sealed: they
    /// decrypt its backups without asking. Never shown again once confirmed.
    pub sealed_age_identity: Option<Vec<u8>>,
    /// A key pair generated and shown to the admin, not yet confirmed as saved, sealed.
    pub sealed_pending_age_identity: Option<Vec<u8>>,
    pub frequency: Frequency,
    pub time: TimeOfDay,
    pub weekday: Weekday,
    pub monthday: MonthDay,
    /// Kept when another frequency is chosen, so switching back does not lose it.
    pub cron: Option<CronExpr>,
    pub timezone: TimeZone,
    pub backup_files: bool,
    pub backup_limit: BackupLimit,
    /// When the latest complete backup is verified on its own.
    pub verify_schedule: VerifySchedule,
    /// Where verifications test-restore dumps whose source is not configured here.
    pub scratch_server: Option<SealedScratchServer>,
    /// The language notifications are written in: that of whoever saved last.
    pub language: Lang,
    pub updated_at: Option<DateTime<Utc>>,
    /// When a field of the schedule last changed: the overdue alert and catch-up count
    /// from it.
    pub schedule_saved_at: Option<DateTime<Utc>>,
}

impl Default for Settings {
    /// What a new installation starts with.
    fn default() -> Self {
        Self {
            enabled: false,
            access_key_id: None,
            sealed_secret: None,
            notify_email: EmailList::default(),
            send_email_for_successful_backup: false,
            bucket: None,
            endpoint: Endpoint::aws(),
            region: Region::default(),
            path_style: false,
            prefix: KeyPrefix::default(),
            storage_class: None,
            server_side_encryption: ServerSideEncryption::None,
            object_lock_days: None,
            object_lock_mode: LockMode::Governance,
            encrypt_backups: false,
            age_recipients: None,
            sealed_age_identity: None,
            sealed_pending_age_identity: None,
            frequency: Frequency::None,
            time: TimeOfDay::new(2, 0).unwrap_or(TimeOfDay::MIDNIGHT),
            weekday: Weekday::MONDAY,
            monthday: MonthDay::FIRST,
            cron: None,
            timezone: TimeZone::default(),
            backup_files: true,
            backup_limit: BackupLimit::new(7).unwrap_or(BackupLimit::KEEP_ALL),
            verify_schedule: VerifySchedule::Never,
            scratch_server: None,
            language: Lang::EN,
            updated_at: None,
            schedule_saved_at: None,
        }
    }
}

impl Settings {
    pub fn has_secret(&self) -> bool {
        self.sealed_secret.is_some()
    }

    /// The lock every object of a backup is written with, when Object Lock is on.
    pub fn object_lock(&self) -> Option<ObjectLock> {
        self.object_lock_days.map(|days| ObjectLock {
            mode: self.object_lock_mode,
            days,
        })
    }

    /// Whether the settings name another bucket, or reach it another way, than `other`'s.
    pub fn bucket_differs(&self, other: &Settings) -> bool {
        self.bucket != other.bucket
            || self.endpoint != other.endpoint
            || self.region != other.region
            || self.path_style != other.path_style
            || self.access_key_id != other.access_key_id
            || self.sealed_secret != other.sealed_secret
    }

    /// The recipients every new object is encrypted for; `None` when backups go in clear.
    pub fn encryption(&self) -> Option<&Recipients> {
        self.age_recipients
            .as_ref()
            .filter(|_| self.encrypt_backups)
    }

    /// The timing rule of the chosen frequency (manual for "none"), or the field it lacks.
    pub fn schedule(&self) -> Result<Schedule, Field> {
        Schedule::from_parts(
            self.frequency,
            Some(self.time),
            Some(self.weekday),
            Some(self.monthday),
            self.cron.clone(),
        )
        .map_err(Field::from_missing)
    }

    /// The schedule automatic backups follow; `None` when they are off or manual.
    pub fn automatic_schedule(&self) -> Option<Schedule> {
        if !self.enabled {
            return None;
        }
        self.schedule()
            .ok()
            .filter(|schedule| *schedule != Schedule::Manual)
    }

    /// Fields that must be filled while automatic backup is on and are not, in the form's
    /// order. Manual mode (frequency "None") needs the same: "Backup now" uses them.
    /// Encryption without a recipient is missing one whether backups are on or not.
    pub fn missing_when_enabled(&self) -> Vec<Field> {
        let no_recipient = self.encrypt_backups && self.age_recipients.is_none();
        if !self.enabled {
            return if no_recipient {
                vec![Field::AgeRecipients]
            } else {
                Vec::new()
            };
        }
        let mut missing = Vec::new();
        if self.access_key_id.is_none() {
            missing.push(Field::AccessKeyId);
        }
        if self.sealed_secret.is_none() {
            missing.push(Field::SecretAccessKey);
        }
        if self.notify_email.is_empty() {
            missing.push(Field::NotifyEmail);
        }
        if self.bucket.is_none() {
            missing.push(Field::Bucket);
        }
        if no_recipient {
            missing.push(Field::AgeRecipients);
        }
        if let Err(field) = self.schedule() {
            missing.push(field);
        }
        missing
    }

    /// The fields whose values differ from `other` (the secret by its sealed bytes, never
    /// by value), in the form's order.
    pub fn changed_fields(&self, other: &Settings) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|field| self.differs(other, *field))
            .collect()
    }

    fn differs(&self, other: &Settings, field: Field) -> bool {
        match field {
            Field::Enabled => self.enabled != other.enabled,
            Field::AccessKeyId => self.access_key_id != other.access_key_id,
            Field::SecretAccessKey => self.sealed_secret != other.sealed_secret,
            Field::NotifyEmail => self.notify_email != other.notify_email,
            Field::SendEmailForSuccessfulBackup => {
                self.send_email_for_successful_backup != other.send_email_for_successful_backup
            }
            Field::Bucket => self.bucket != other.bucket,
            Field::EndpointUrl => self.endpoint != other.endpoint,
            Field::Region => self.region != other.region,
            Field::PathStyle => self.path_style != other.path_style,
            Field::BackupPath => self.prefix != other.prefix,
            Field::StorageClass => self.storage_class != other.storage_class,
            Field::ServerSideEncryption => {
                self.server_side_encryption.mode() != other.server_side_encryption.mode()
            }
            Field::SseKmsKeyId => {
                self.server_side_encryption.kms_key() != other.server_side_encryption.kms_key()
            }
            Field::ObjectLockDays => self.object_lock_days != other.object_lock_days,
            Field::ObjectLockMode => self.object_lock_mode != other.object_lock_mode,
            Field::EncryptBackups => self.encrypt_backups != other.encrypt_backups,
            // A new key pair changes the recipients too.
            Field::AgeRecipients => {
                self.age_recipients != other.age_recipients
                    || self.sealed_age_identity != other.sealed_age_identity
            }
            Field::Frequency => self.frequency != other.frequency,
            Field::BackupTime => self.time != other.time,
            Field::BackupWeekday => self.weekday != other.weekday,
            Field::BackupMonthday => self.monthday != other.monthday,
            Field::Cron => self.cron != other.cron,
            Field::Timezone => self.timezone != other.timezone,
            Field::BackupFiles => self.backup_files != other.backup_files,
            Field::BackupLimit => self.backup_limit != other.backup_limit,
            Field::VerifySchedule => self.verify_schedule != other.verify_schedule,
            Field::ScratchServer => self.scratch_server != other.scratch_server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> Settings {
        Settings {
            enabled: true,
            access_key_id: AccessKeyId::parse("AKIA1234").ok(),
            sealed_secret: Some(vec![1, 2, 3]),
            notify_email: EmailList::parse("admin@example.com").unwrap_or_default(),
            bucket: BucketName::parse("backups").ok(),
            ..Settings::default()
        }
    }

    #[test]
    fn manual_mode_is_complete_and_schedules_nothing() {
        let settings = enabled();
        assert_eq!(settings.frequency, Frequency::None);
        assert!(settings.missing_when_enabled().is_empty());
        assert_eq!(settings.automatic_schedule(), None);
    }

    #[test]
    fn enabled_settings_name_every_missing_field_in_form_order() {
        let settings = Settings {
            enabled: true,
            frequency: Frequency::Cron,
            ..Settings::default()
        };
        assert_eq!(
            settings.missing_when_enabled(),
            vec![
                Field::AccessKeyId,
                Field::SecretAccessKey,
                Field::NotifyEmail,
                Field::Bucket,
                Field::Cron
            ]
        );
        assert!(Settings::default().missing_when_enabled().is_empty());
    }

    #[test]
    fn a_daily_schedule_needs_no_weekday_or_cron() {
        let settings = Settings {
            frequency: Frequency::Daily,
            ..enabled()
        };
        assert!(matches!(
            settings.automatic_schedule(),
            Some(Schedule::Daily { .. })
        ));
    }

    #[test]
    fn changed_fields_compare_every_field_and_flag_the_schedule() {
        let before = enabled();
        let after = Settings {
            bucket: BucketName::parse("other").ok(),
            time: TimeOfDay::new(3, 30).unwrap_or(TimeOfDay::MIDNIGHT),
            ..before.clone()
        };
        let changed = after.changed_fields(&before);
        assert_eq!(changed, vec![Field::Bucket, Field::BackupTime]);
        assert!(!Field::Bucket.is_schedule());
        assert!(Field::BackupTime.is_schedule());
        assert!(before.changed_fields(&before).is_empty());
    }

    #[test]
    fn every_field_has_a_label_in_both_languages() {
        for field in Field::ALL {
            let en = field.label(Lang::EN);
            let fr = field.label(Lang::FR);
            assert!(!en.contains("settings."), "{en}");
            assert!(!fr.contains("settings."), "{fr}");
        }
    }
}
