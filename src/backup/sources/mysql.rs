//! MariaDB/MySQL: `mariadb-dump` (or `mysqldump`) in one transaction with routines and
//! triggers, and `--databases` so that `mariadb < dump` recreates the same database.
//! The password travels in MYSQL_PWD, never on the command line.

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
    let (connection, envs) = connect::mysql(url);
    let mut args = vec![
        "--single-transaction".to_owned(),
        "--routines".to_owned(),
        "--triggers".to_owned(),
        "--hex-blob".to_owned(),
        "--default-character-set=utf8mb4".to_owned(),
    ];
    args.extend(connection);
    args.push("--databases".to_owned());
    // A name is never read as an option: the URL's parser refuses names starting with `-`.
    args.push(url.database());
    command::spawn(&spec.name, &["mariadb-dump", "mysqldump"], &args, &envs)
}
