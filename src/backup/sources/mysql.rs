//! MariaDB/MySQL: `mariadb-dump` (or `mysqldump`) in one transaction with routines and
//! triggers, and `--databases` so that `mariadb < dump` recreates the same database.
//! The password travels in MYSQL_PWD, never on the command line. Before the dump, the
//! `mariadb` client tells the server's version and table count for the manifest.

use super::facts::{self, Client, Facts};
use super::{SourceStream, command};
use crate::backup::connect;
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;
use crate::backup::progress::Reporter;
use crate::settings::DatabaseUrl;

/// The dump tools, in the order tried.
const DUMP_TOOLS: &[&str] = &["mariadb-dump", "mysqldump"];

/// The server's version, then the tables (views left out) of the database the client is in.
const VERSION_AND_TABLES: &str = "SELECT VERSION(); \
     SELECT COUNT(*) FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'";

/// How the dump names its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// With `--databases`: `mariadb < dump` recreates the database by name.
    Recreating,
    /// The tables alone, as `bench backup` dumps a site (`--quick`, no table locks): it
    /// loads into whichever database the client is in.
    Frappe,
}

pub async fn open(spec: &SourceSpec, reporter: &Reporter) -> Result<SourceStream, BackupError> {
    let Some(url) = spec.location.database_url() else {
        return Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        });
    };
    dump(&spec.name, url, Style::Recreating, reporter).await
}

/// Dumps the database of `url` for the source `name`.
pub async fn dump(
    name: &str,
    url: &DatabaseUrl,
    style: Style,
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    let (connection, envs) = connect::mysql(url);
    let mut asked = vec!["--batch".to_owned(), "--skip-column-names".to_owned()];
    asked.extend(connection.iter().cloned());
    // The database as the client's argument: its name is never quoted into SQL.
    asked.extend(["-e".to_owned(), VERSION_AND_TABLES.to_owned()]);
    asked.extend(["--".to_owned(), url.database()]);
    let server = Client {
        programs: &["mariadb", "mysql"],
        args: asked,
        envs: &envs,
    };
    let contents = facts::of_database(name, reporter, &server, DUMP_TOOLS).await;

    let mut args = vec![
        "--single-transaction".to_owned(),
        "--routines".to_owned(),
        "--triggers".to_owned(),
        "--hex-blob".to_owned(),
        "--default-character-set=utf8mb4".to_owned(),
    ];
    if style == Style::Frappe {
        args.extend(["--quick".to_owned(), "--lock-tables=false".to_owned()]);
    }
    args.extend(connection);
    if style == Style::Recreating {
        args.push("--databases".to_owned());
    }
    // `--` ends the options: whatever the name, it is read as a database.
    args.extend(["--".to_owned(), url.database()]);
    let mut stream = command::spawn(name, DUMP_TOOLS, &args, &envs)?;
    stream.facts = Facts::from(contents);
    Ok(stream)
}
