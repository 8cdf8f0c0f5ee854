//! What the engine is asked to do: plain, already validated data built by the caller
//! from the stored settings.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::object_lock::ObjectRetention;
use crate::settings::{
    Invalid, ObjectLock, Recipients, ServerSideEncryption, SourceKind, SourceLocation, StorageClass,
};

/// Where backups go.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Target {
    /// Custom endpoint (MinIO, Scaleway, R2, ...); `None` means AWS.
    pub endpoint: Option<url::Url>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub path_style: bool,
    /// Key prefix: "" or "a/b", without leading or trailing slash.
    pub prefix: String,
    /// Most parts one multipart upload may have (10,000 on AWS, less on some providers).
    pub max_parts: u32,
    pub storage: StorageOptions,
}

/// How every object is stored: its class, the encryption asked of the server, and how long
/// it stays immutable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageOptions {
    /// `None`: the bucket's default class.
    pub storage_class: Option<StorageClass>,
    pub encryption: ServerSideEncryption,
    /// `None`: objects are written without a lock of their own.
    pub object_lock: Option<ObjectLock>,
}

impl StorageOptions {
    /// The `x-amz-storage-class` of every upload, if any.
    pub fn s3_storage_class(&self) -> Option<aws_sdk_s3::types::StorageClass> {
        self.storage_class
            .as_ref()
            .map(|class| aws_sdk_s3::types::StorageClass::from(class.as_str()))
    }

    /// The `x-amz-server-side-encryption` of every upload, if any.
    pub fn s3_encryption(&self) -> Option<aws_sdk_s3::types::ServerSideEncryption> {
        use aws_sdk_s3::types::ServerSideEncryption as Sse;
        match self.encryption {
            ServerSideEncryption::None => None,
            ServerSideEncryption::Aes256 => Some(Sse::Aes256),
            ServerSideEncryption::Kms(_) => Some(Sse::AwsKms),
        }
    }

    /// The KMS key of every upload, if one is named.
    pub fn kms_key_id(&self) -> Option<String> {
        self.encryption.kms_key().map(|key| key.as_str().to_owned())
    }

    /// The lock of an object written at `written`, when Object Lock is on.
    pub fn retention_at(&self, written: DateTime<Utc>) -> Option<ObjectRetention> {
        self.object_lock.map(|lock| ObjectRetention {
            mode: lock.mode,
            until: lock.until(written),
        })
    }
}

impl S3Target {
    pub const DEFAULT_MAX_PARTS: u32 = 10_000;

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{}", self.prefix, name)
        }
    }

    /// The prefix as a folder for listing: "" or "a/b/".
    pub fn folder_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

// The secret never reaches a log line, even through `{:?}`.
impl fmt::Debug for S3Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Target")
            .field("endpoint", &self.endpoint.as_ref().map(url::Url::as_str))
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("max_parts", &self.max_parts)
            .field("storage", &self.storage)
            .finish()
    }
}

/// One thing to back up.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Unique among the job's sources; becomes the object's file name.
    pub name: String,
    /// Where it is, parsed: a path, or the connection URL with its password put back.
    pub location: SourceLocation,
}

impl SourceSpec {
    /// A source from its stored text (checked for form, not on disk).
    pub fn parse(name: &str, kind: SourceKind, location: &str) -> Result<Self, Invalid> {
        Ok(Self {
            name: name.to_owned(),
            location: SourceLocation::from_stored(kind, location)?,
        })
    }

    pub fn kind(&self) -> SourceKind {
        self.location.kind()
    }

    /// The object's file name inside the run's folder, e.g. `main.sql.zst`.
    pub fn object_name(&self) -> String {
        format!("{}.{}.zst", self.name, self.kind().extension())
    }
}

// A connection URL carries a password: show it without.
impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceSpec")
            .field("name", &self.name)
            .field("location", &self.location.masked())
            .finish()
    }
}

/// A whole backup: every source into one folder of the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub target: S3Target,
    pub sources: Vec<SourceSpec>,
    /// Keep this many newest complete backups; 0 keeps all.
    pub backup_limit: u32,
    /// Paths a directory source never archives, wherever it meets them: the application's
    /// data directory, whose master key must not travel beside the secrets it decrypts.
    pub leave_out: Vec<PathBuf>,
    /// The age public keys every object is encrypted for; `None` stores them unencrypted.
    pub encryption: Option<Recipients>,
}

impl Job {
    /// The object's file name for `spec` in this job: `main.sql.zst`, or `main.sql.zst.age`
    /// when encrypted.
    pub fn object_name(&self, spec: &SourceSpec) -> String {
        match self.encryption {
            Some(_) => format!("{}{}", spec.object_name(), super::encryption::SUFFIX),
            None => spec.object_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let target = S3Target {
            endpoint: None,
            region: "eu-west-3".into(),
            bucket: "b".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
            path_style: false,
            prefix: String::new(),
            max_parts: 10_000,
            storage: Default::default(),
        };
        assert!(!format!("{target:?}").contains("very-secret"));
        let source = SourceSpec::parse(
            "db",
            SourceKind::Postgres,
            "postgres://u:hunter2@localhost/db",
        )
        .expect("a valid URL");
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn keys_respect_the_prefix() {
        let mut target = S3Target {
            endpoint: None,
            region: "r".into(),
            bucket: "b".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: false,
            prefix: String::new(),
            max_parts: 10_000,
            storage: Default::default(),
        };
        assert_eq!(target.key("x"), "x");
        assert_eq!(target.folder_prefix(), "");
        target.prefix = "a/b".into();
        assert_eq!(target.key("x"), "a/b/x");
        assert_eq!(target.folder_prefix(), "a/b/");
    }
}
