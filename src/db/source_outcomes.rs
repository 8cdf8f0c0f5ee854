//! What the latest backup that reached each source made of it, for the sources page: read
//! from `run_sources` (through `run_sources_source_run_id`, newest first, one row per
//! source) and the sizes of the objects still recorded in `run_objects`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

/// How a source fared in the latest finished backup that tried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Stored in a complete backup.
    Stored,
    /// Stored, in a backup where other sources failed.
    StoredInPartial,
    /// The source failed, or the whole run did (and removed what it had stored).
    Failed,
}

impl SourceOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::StoredInPartial => "stored_in_partial",
            Self::Failed => "failed",
        }
    }
}

/// The latest finished backup of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastBackup {
    pub run: i64,
    pub started_at: DateTime<Utc>,
    pub outcome: SourceOutcome,
    /// Bytes of its objects still recorded; `None` when none are.
    pub size: Option<i64>,
}

#[derive(FromRow)]
struct Row {
    run: i64,
    started_at: DateTime<Utc>,
    status: String,
    outcome: String,
    size: Option<i64>,
}

/// The latest finished backup that tried the source named `source`, if any.
pub async fn last_backup(
    pool: &SqlitePool,
    source: &str,
) -> Result<Option<LastBackup>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT r.id AS run, r.started_at, r.status, rs.outcome, \
                (SELECT SUM(o.size) FROM run_objects o \
                 WHERE o.run_id = rs.run_id AND o.source = rs.source) AS size \
         FROM run_sources rs INDEXED BY run_sources_source_run_id \
         JOIN runs r ON r.id = rs.run_id \
         WHERE rs.source = ?1 AND r.kind = 'backup' AND r.status <> 'running' \
         ORDER BY rs.run_id DESC LIMIT 1",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LastBackup {
        run: row.run,
        started_at: row.started_at,
        outcome: match (row.outcome.as_str(), row.status.as_str()) {
            ("stored", "success") => SourceOutcome::Stored,
            ("stored", "partial") => SourceOutcome::StoredInPartial,
            _ => SourceOutcome::Failed,
        },
        size: row.size.filter(|size| *size > 0),
    }))
}
