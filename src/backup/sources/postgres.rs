//! PostgreSQL: `pg_dump` as plain SQL without owners or privileges, so `psql -f` restores it
//! into any database. The password travels in PGPASSWORD, never on the command line.

use super::{SourceStream, command};
use crate::backup::connect;
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;

pub fn open(spec: &SourceSpec) -> Result<SourceStream, BackupError> {
    let Some(url) = spec.location.database_url() else {
        return Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        });
    };
    let args = vec![
        "--format=plain".to_owned(),
        "--no-owner".to_owned(),
        "--no-privileges".to_owned(),
        format!("--dbname={}", url.url_without_password()),
    ];
    command::spawn(&spec.name, &["pg_dump"], &args, &connect::postgres(url))
}
