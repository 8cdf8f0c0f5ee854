//! MariaDB/MySQL: `mariadb-dump` (or `mysqldump`) in one transaction with routines and
//! triggers, and `--databases` so that `mariadb < dump` recreates the same database.
//! The password travels in MYSQL_PWD, never on the command line.

use super::{SourceStream, command};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;

pub fn open(spec: &SourceSpec) -> Result<SourceStream, BackupError> {
    let Some(url) = spec.location.database_url() else {
        return Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        });
    };
    let mut args = vec![
        "--single-transaction".to_owned(),
        "--routines".to_owned(),
        "--triggers".to_owned(),
        "--hex-blob".to_owned(),
        "--default-character-set=utf8mb4".to_owned(),
    ];
    if !url.host().is_empty() {
        args.push(format!("--host={}", url.host()));
    }
    if let Some(port) = url.port() {
        args.push(format!("--port={port}"));
    }
    if let Some(socket) = url.query("socket") {
        args.push(format!("--socket={socket}"));
    }
    if let Some(user) = url.username() {
        args.push(format!("--user={user}"));
    }
    args.push("--databases".to_owned());
    // A name is never read as an option: the URL's parser refuses names starting with `-`.
    args.push(url.database());
    let mut envs = Vec::new();
    if let Some(password) = url.password() {
        envs.push(("MYSQL_PWD", password.to_owned()));
    }
    command::spawn(&spec.name, &["mariadb-dump", "mysqldump"], &args, &envs)
}
