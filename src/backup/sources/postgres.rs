//! PostgreSQL: `pg_dump` as plain SQL without owners or privileges, so `psql -f` restores it
//! into any database. The password travels in PGPASSWORD, never on the command line. Before
//! the dump, `psql` tells the server's version and table count for the manifest.

use super::facts::{self, Client, Facts};
use super::{SourceStream, command};
use crate::backup::connect;
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;
use crate::backup::progress::Reporter;
use crate::settings::DatabaseUrl;

/// The tables a plain dump holds: those of every schema but the system's.
const TABLES: &str = "SELECT count(*) FROM pg_tables \
                      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')";

pub async fn open(spec: &SourceSpec, reporter: &Reporter) -> Result<SourceStream, BackupError> {
    let Some(url) = spec.location.database_url() else {
        return Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        });
    };
    dump(&spec.name, url, reporter).await
}

/// Dumps the database of `url` for the source `name`.
pub async fn dump(
    name: &str,
    url: &DatabaseUrl,
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    let envs = connect::postgres(url);
    let dbname = format!("--dbname={}", url.url_without_password());
    let server = Client {
        programs: &["psql"],
        args: ["-X", "-q", "-A", "-t", "--no-password"]
            .map(str::to_owned)
            .into_iter()
            .chain([dbname.clone()])
            .chain(["-c", "SHOW server_version", "-c", TABLES].map(str::to_owned))
            .collect(),
        envs: &envs,
    };
    let contents = facts::of_database(name, reporter, &server, &["pg_dump"]).await;
    let args = vec![
        "--format=plain".to_owned(),
        "--no-owner".to_owned(),
        "--no-privileges".to_owned(),
        dbname,
    ];
    let mut stream = command::spawn(name, &["pg_dump"], &args, &envs)?;
    stream.facts = Facts::from(contents);
    Ok(stream)
}
