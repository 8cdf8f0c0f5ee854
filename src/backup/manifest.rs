//! `manifest.json`, written last in a run's folder: its presence marks the backup complete,
//! and it lists what the folder holds so a restore can be checked with standard tools.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lang::Message;

/// The file name that marks a folder complete.
pub const MANIFEST_NAME: &str = "manifest.json";

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
    /// `sqlite`, `postgres`, `mysql` or `directory`.
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
}

impl Manifest {
    pub fn new(
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        objects: Vec<StoredObject>,
        failed: Vec<FailedSource>,
    ) -> Self {
        Self {
            format: 1,
            app: env!("CARGO_PKG_NAME").to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            finished_at,
            compression: "zstd".to_owned(),
            objects,
            failed,
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec_pretty(self)
    }
}
