//! What a valid setting is: every value a user types is parsed here into a domain type,
//! and past this edge no code checks it again.

use std::fmt;

mod account;
mod age;
mod backup_limit;
mod bucket;
mod calendar;
#[cfg(test)]
mod catalog_tests;
mod credentials;
mod cron;
mod database_url;
mod email;
mod endpoint;
mod frappe_site;
mod frequency;
mod input;
mod key_prefix;
mod model;
mod object_lock;
mod region;
mod schedule;
mod scratch_server;
mod secret_destination;
mod server_side_encryption;
mod smtp;
mod source_location;
mod source_name;
mod storage_class;
mod time_zone;
mod verify_schedule;

pub use account::{NewPassword, Username};
pub use age::{Identity, Recipients};
pub use backup_limit::BackupLimit;
pub use bucket::BucketName;
pub use calendar::{MonthDay, TimeOfDay, Weekday};
pub use credentials::{AccessKeyId, SecretKey};
pub use cron::CronExpr;
pub use database_url::DatabaseUrl;
pub use email::{EmailAddress, EmailList};
pub use endpoint::Endpoint;
pub use frappe_site::{SITE_CONFIG, SiteDatabase, SiteFolder, site_slug, sites_of_bench};
pub use frequency::Frequency;
pub use input::optional;
pub use key_prefix::KeyPrefix;
pub use model::{Field, Settings};
pub use object_lock::{LockDays, LockMode, ObjectLock};
pub use region::{DEFAULT_REGION, Region};
pub use schedule::{MissingPart, Schedule};
pub use scratch_server::{ScratchServer, SealedScratchServer};
pub use secret_destination::{
    RetypeSecret, SecretDestination, StoredSecret, resolve as resolve_secret,
};
pub use server_side_encryption::{KmsKeyId, ServerSideEncryption, SseMode};
pub use smtp::{Sender, SmtpHost, SmtpPort, SmtpSecurity};
pub use source_location::SourceLocation;
pub use source_name::SourceName;
pub use storage_class::{SUGGESTED_STORAGE_CLASSES, StorageClass};
pub use time_zone::TimeZone;
pub use verify_schedule::VerifySchedule;

/// Why a value was refused. `key` names a message in the translation catalogs
/// (`locales/validation.yml`); `detail`, when present, fills its `%{detail}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub detail: Option<String>,
}

impl Invalid {
    pub fn new(key: &'static str) -> Self {
        Self { key, detail: None }
    }

    pub fn with_detail(key: &'static str, detail: impl Into<String>) -> Self {
        Self {
            key,
            detail: Some(detail.into()),
        }
    }

    /// The message in the given language ("en" or "fr").
    pub fn message(&self, locale: &str) -> String {
        let detail = self.detail.as_deref().unwrap_or("");
        rust_i18n::t!(self.key, locale = locale, detail = detail).into_owned()
    }
}

impl From<Invalid> for crate::lang::Message {
    /// The refusal as a message shown later, in the reader's language.
    fn from(invalid: Invalid) -> Self {
        crate::lang::Message::new(invalid.key).with("detail", invalid.detail.unwrap_or_default())
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("en"))
    }
}

impl std::error::Error for Invalid {}

/// What kind of thing a source is, which decides how it is dumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Sqlite,
    Postgres,
    Mysql,
    Directory,
    /// A Frappe or Dokos site: its database and files, as `bench backup` writes them.
    Frappe,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        Self::Sqlite,
        Self::Postgres,
        Self::Mysql,
        Self::Directory,
        Self::Frappe,
    ];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input.trim() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            "mysql" => Ok(Self::Mysql),
            "directory" => Ok(Self::Directory),
            "frappe" => Ok(Self::Frappe),
            _ => Err(Invalid::new("invalid.source_kind")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Directory => "directory",
            Self::Frappe => "frappe",
        }
    }

    /// Whether this source is a database (as opposed to a file directory); a site holds
    /// one.
    pub fn is_database(self) -> bool {
        !matches!(self, Self::Directory)
    }

    /// File name extension of the object a source of this kind produces, before `.zst`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite3",
            Self::Postgres | Self::Mysql => "sql",
            Self::Directory => "tar",
            // A site's objects are named as bench names them (see `backup::site`).
            Self::Frappe => "site",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
