//! MariaDB/MySQL: `mariadb-dump` (or `mysqldump`) in one transaction with routines and
//! triggers, and `--databases` so that `mariadb < dump` recreates the same database.
//! The password travels in MYSQL_PWD, never on the command line.

use super::{SourceStream, command};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;

pub fn open(spec: &SourceSpec) -> Result<SourceStream, BackupError> {
    let connection = Connection::parse(&spec.location).map_err(|detail| BackupError::Source {
        source_name: spec.name.clone(),
        step: "reading the connection URL".into(),
        cause: std::io::Error::new(std::io::ErrorKind::InvalidInput, detail),
    })?;
    let mut args = vec![
        "--single-transaction".to_owned(),
        "--routines".to_owned(),
        "--triggers".to_owned(),
        "--hex-blob".to_owned(),
        "--default-character-set=utf8mb4".to_owned(),
    ];
    if let Some(host) = &connection.host {
        args.push(format!("--host={host}"));
    }
    if let Some(port) = connection.port {
        args.push(format!("--port={port}"));
    }
    if let Some(socket) = &connection.socket {
        args.push(format!("--socket={socket}"));
    }
    if let Some(user) = &connection.user {
        args.push(format!("--user={user}"));
    }
    args.push("--databases".to_owned());
    args.push(connection.database);
    let mut envs = Vec::new();
    if let Some(password) = connection.password {
        envs.push(("MYSQL_PWD", password));
    }
    command::spawn(&spec.name, &["mariadb-dump", "mysqldump"], &args, &envs)
}

#[derive(Debug, PartialEq, Eq)]
struct Connection {
    host: Option<String>,
    port: Option<u16>,
    socket: Option<String>,
    user: Option<String>,
    password: Option<String>,
    database: String,
}

impl Connection {
    /// `mysql://user:password@host:port/database?socket=/run/mysqld/mysqld.sock`
    fn parse(location: &str) -> Result<Self, String> {
        let url = url::Url::parse(location).map_err(|err| format!("not a URL: {err}"))?;
        let decode = |raw: &str| {
            percent_encoding::percent_decode_str(raw)
                .decode_utf8_lossy()
                .into_owned()
        };
        let database = decode(url.path().trim_start_matches('/'));
        if database.is_empty() {
            return Err("the URL names no database".into());
        }
        let socket = url
            .query_pairs()
            .find(|(key, _)| key == "socket")
            .map(|(_, value)| value.into_owned());
        Ok(Self {
            host: url
                .host_str()
                .filter(|host| !host.is_empty())
                .map(str::to_owned),
            port: url.port(),
            socket,
            user: Some(decode(url.username())).filter(|user| !user.is_empty()),
            password: url.password().map(decode),
            database,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_url() {
        let connection = Connection::parse("mysql://erp:s%3Acret@127.0.0.1:3307/dokos").ok();
        assert_eq!(
            connection,
            Some(Connection {
                host: Some("127.0.0.1".into()),
                port: Some(3307),
                socket: None,
                user: Some("erp".into()),
                password: Some("s:cret".into()),
                database: "dokos".into(),
            })
        );
    }

    #[test]
    fn refuses_a_url_without_database() {
        assert!(Connection::parse("mysql://root@localhost").is_err());
    }
}
