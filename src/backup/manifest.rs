//! `manifest.json`, written last in a run's folder: its presence marks the backup complete,
//! and it lists what the folder holds so a restore can be checked with standard tools.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lang::Message;

/// The file name that marks a folder complete.
pub const MANIFEST_NAME: &str = "manifest.json";

/// The manifest format written: 2 records each object's `contents`, 3 an object's
/// `encoding` and `site` when it is not a zstd stream of one source. Format 1 manifests,
/// without contents, read as objects whose contents are not known; formats 1 and 2 as
/// zstd objects.
pub const FORMAT: u32 = 3;

/// Written beside the manifest of a partial run (some sources failed): the failed sources,
/// so that whoever lists the folder's keys (retention) knows it is not a complete backup.
pub const PARTIAL_NAME: &str = "partial.json";

/// A source a run could not back up, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSource {
    pub source: String,
    pub kind: String,
    /// Why, in English, for whoever reads the manifest with standard tools.
    pub reason: String,
    /// Why, as a message the app shows in the reader's language.
    pub message: Message,
}

/// One object a run uploaded and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// The source's name.
    pub source: String,
    /// `sqlite`, `postgres`, `mysql`, `directory` or `frappe`.
    pub kind: String,
    pub key: String,
    /// Bytes stored (compressed).
    pub size: u64,
    /// SHA-256 of the stored (compressed) bytes, hex.
    pub sha256: String,
    /// Bytes read from the source before compression.
    pub source_bytes: u64,
    /// What a verification can check later (manifest format 2; absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<Contents>,
    /// How the stored bytes are encrypted (after compression); absent when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// How the bytes are compressed before any encryption; absent means zstd.
    #[serde(default, skip_serializing_if = "Encoding::is_zstd")]
    pub encoding: Encoding,
    /// Which part of a Frappe site the object is; absent for other sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SitePart>,
}

/// How an object's bytes are compressed (under any encryption).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// A zstd stream (`.zst`), what every source but a site's parts makes.
    #[default]
    Zstd,
    /// A gzip stream (`.gz`), as bench writes a site's database.
    Gzip,
    /// Stored as it is (a site's `.tar` and its configuration).
    None,
}

impl Encoding {
    pub fn is_zstd(&self) -> bool {
        *self == Self::Zstd
    }
}

/// One of the objects a Frappe site is backed up as, named as `bench backup` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePart {
    /// The site's name, as `bench --site` takes it.
    pub site: String,
    pub part: SitePartKind,
    /// For the database: Frappe's `db_type`, `mariadb` or `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SitePartKind {
    /// `<stamp>-<site>-database.sql.gz`.
    Database,
    /// `<stamp>-<site>-files.tar`, members `./<site>/public/files/…`.
    PublicFiles,
    /// `<stamp>-<site>-private-files.tar`, members `./<site>/private/files/…`.
    PrivateFiles,
    /// `<stamp>-<site>-site_config_backup.json`, only ever stored encrypted.
    SiteConfig,
}

impl StoredObject {
    /// The kind of thing this object restores as: a site's database is a dump of its
    /// server's kind, its files a directory; `None` for what only age and a human restore
    /// (a site's configuration) and for kinds this app does not know.
    pub fn restores_as(&self) -> Option<crate::settings::SourceKind> {
        use crate::settings::SourceKind;
        let kind = SourceKind::parse(&self.kind).ok()?;
        match (kind, &self.site) {
            (SourceKind::Frappe, Some(part)) => match part.part {
                SitePartKind::Database => Some(match part.db_type.as_deref() {
                    Some("postgres") => SourceKind::Postgres,
                    _ => SourceKind::Mysql,
                }),
                SitePartKind::PublicFiles | SitePartKind::PrivateFiles => {
                    Some(SourceKind::Directory)
                }
                SitePartKind::SiteConfig => None,
            },
            (SourceKind::Frappe, None) => None,
            (kind, _) => Some(kind),
        }
    }
}

/// An object's encryption: the format (`age`) and the public keys it was encrypted for.
/// Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub format: String,
    pub recipients: Vec<String>,
}

/// What an object held when it was made, recorded so a verification can compare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    /// Entries of a directory's archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// Bytes of file content in a directory's archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_bytes: Option<u64>,
    /// Tables of a database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<u64>,
    /// Pages of a SQLite database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u64>,
    /// The dump tool's version (`pg_dump (PostgreSQL) 16.4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// The database server's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub app: String,
    pub app_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub compression: String,
    pub objects: Vec<StoredObject>,
    /// Sources of the run that are not in this folder (a partial run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedSource>,
    /// The Object Lock the run wrote every object with; absent when it wrote none (and in
    /// manifests from before Object Lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<LockRecord>,
}

/// How a backup's objects are locked: the mode, and the date the last of them (the
/// manifest) is locked until.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// `GOVERNANCE` or `COMPLIANCE`, as S3 names it.
    pub mode: String,
    pub retain_until: DateTime<Utc>,
}

impl LockRecord {
    /// The record of a manifest's bytes, reading nothing else: `None` when it has none,
    /// whatever its format, or when it is not a manifest at all.
    pub fn read(manifest: &[u8]) -> Option<LockRecord> {
        #[derive(Deserialize)]
        struct OnlyTheLock {
            #[serde(default)]
            object_lock: Option<LockRecord>,
        }
        serde_json::from_slice::<OnlyTheLock>(manifest)
            .ok()?
            .object_lock
    }
}

impl Manifest {
    pub fn new(
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        objects: Vec<StoredObject>,
        failed: Vec<FailedSource>,
    ) -> Self {
        Self {
            format: FORMAT,
            app: env!("CARGO_PKG_NAME").to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            finished_at,
            compression: "zstd".to_owned(),
            objects,
            failed,
            object_lock: None,
        }
    }

    /// The manifest of a run whose objects are locked as `record` says.
    pub fn locked(self, record: Option<LockRecord>) -> Self {
        Self {
            object_lock: record,
            ..self
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest as the first releases wrote it.
    const FORMAT_1: &str = r#"{
  "format": 1,
  "app": "s3-backup",
  "app_version": "0.1.0",
  "started_at": "2026-11-02T03:00:00Z",
  "finished_at": "2026-11-02T03:01:12.5Z",
  "compression": "zstd",
  "objects": [
    {
      "source": "erp",
      "kind": "postgres",
      "key": "company/2026-11-02T03-00-00Z/erp.sql.zst",
      "size": 1234,
      "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "source_bytes": 56789
    }
  ]
}"#;

    #[test]
    fn a_format_1_manifest_reads_with_unknown_contents() {
        let manifest: Manifest = serde_json::from_str(FORMAT_1).expect("a format 1 manifest");

        assert_eq!(manifest.format, 1);
        assert_eq!(manifest.objects.len(), 1);
        assert_eq!(manifest.objects[0].source_bytes, 56789);
        assert_eq!(manifest.objects[0].contents, None);
        assert_eq!(manifest.objects[0].encryption, None);
        assert_eq!(manifest.objects[0].encoding, Encoding::Zstd);
        assert_eq!(manifest.objects[0].site, None);
        assert_eq!(
            manifest.objects[0].restores_as(),
            Some(crate::settings::SourceKind::Postgres)
        );
        assert!(manifest.failed.is_empty());
    }

    #[test]
    fn a_new_manifest_keeps_only_the_known_contents() {
        let object = StoredObject {
            source: "files".to_owned(),
            kind: "directory".to_owned(),
            key: "f/files.tar.zst".to_owned(),
            size: 10,
            sha256: "00".to_owned(),
            source_bytes: 2048,
            contents: Some(Contents {
                entries: Some(3),
                content_bytes: Some(12),
                ..Contents::default()
            }),
            encryption: None,
            encoding: Encoding::Zstd,
            site: None,
        };
        let now = Utc::now();
        let manifest = Manifest::new(now, now, vec![object], Vec::new());

        let json: serde_json::Value =
            serde_json::from_slice(&manifest.to_json().expect("JSON")).expect("parses");

        assert_eq!(json["format"], FORMAT);
        assert!(json["objects"][0].get("encoding").is_none());
        assert_eq!(
            json["objects"][0]["contents"],
            serde_json::json!({ "entries": 3, "content_bytes": 12 })
        );
        let read: Manifest = serde_json::from_value(json).expect("reads back");
        assert_eq!(read, manifest);
        assert!(read.object_lock.is_none());
    }

    #[test]
    fn the_lock_is_recorded_and_read_from_any_manifest() {
        let until = DateTime::parse_from_rfc3339("2026-12-02T03:00:00Z")
            .expect("a date")
            .with_timezone(&Utc);
        let record = LockRecord {
            mode: "COMPLIANCE".into(),
            retain_until: until,
        };
        let now = Utc::now();
        let manifest = Manifest::new(now, now, Vec::new(), Vec::new()).locked(Some(record.clone()));
        let json = manifest.to_json().expect("JSON");

        assert_eq!(LockRecord::read(&json), Some(record));
        let read: Manifest = serde_json::from_slice(&json).expect("reads back");
        assert_eq!(read, manifest);
        // Manifests from before Object Lock, and what is not a manifest, have none.
        assert_eq!(LockRecord::read(FORMAT_1.as_bytes()), None);
        assert_eq!(LockRecord::read(b"{}"), None);
        assert_eq!(LockRecord::read(b"not json"), None);
    }

    #[test]
    fn a_site_part_records_its_encoding_and_what_it_restores_as() {
        let object = StoredObject {
            source: "erp".to_owned(),
            kind: "frappe".to_owned(),
            key: "f/20261102_030000-erp_example_com-database.sql.gz".to_owned(),
            size: 10,
            sha256: "00".to_owned(),
            source_bytes: 20,
            contents: None,
            encryption: None,
            encoding: Encoding::Gzip,
            site: Some(SitePart {
                site: "erp.example.com".to_owned(),
                part: SitePartKind::Database,
                db_type: Some("mariadb".to_owned()),
            }),
        };
        let json = serde_json::to_value(&object).expect("JSON");

        assert_eq!(json["encoding"], "gzip");
        assert_eq!(json["site"]["part"], "database");
        assert_eq!(
            object.restores_as(),
            Some(crate::settings::SourceKind::Mysql)
        );
        let config = StoredObject {
            site: Some(SitePart {
                site: "erp.example.com".to_owned(),
                part: SitePartKind::SiteConfig,
                db_type: None,
            }),
            ..object
        };
        assert_eq!(config.restores_as(), None);
    }
}
