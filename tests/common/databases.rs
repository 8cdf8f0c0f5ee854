//! The PostgreSQL and MariaDB servers of this machine, for tests: databases with a unique
//! prefix, filled with two tables (non-ASCII text included), fingerprinted, and dropped when
//! the test ends however it ends.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use s3_backup::settings::SourceKind;

pub const POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432";
pub const MARIADB: &str = "mysql://root@127.0.0.1:3306";

/// A database name no other test run uses.
pub fn unique(prefix: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = Utc::now().timestamp_subsec_nanos();
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{count}", std::process::id())
}

#[derive(Clone, Copy)]
pub enum Server {
    Postgres,
    Mariadb,
}

impl Server {
    pub fn url(self, database: &str) -> String {
        match self {
            Self::Postgres => format!("{POSTGRES}/{database}"),
            Self::Mariadb => format!("{MARIADB}/{database}"),
        }
    }

    pub fn kind(self) -> SourceKind {
        match self {
            Self::Postgres => SourceKind::Postgres,
            Self::Mariadb => SourceKind::Mysql,
        }
    }

    /// Runs `sql` in `database` and returns its rows, tab-separated.
    pub fn sql(self, database: &str, sql: &str) -> String {
        let output = match self {
            Self::Postgres => Command::new("psql")
                .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "\t"])
                .arg("-d")
                .arg(self.url(database))
                .arg("-c")
                .arg(sql)
                .output(),
            Self::Mariadb => Command::new("mariadb")
                .args([
                    "--batch",
                    "--skip-column-names",
                    "--default-character-set=utf8mb4",
                ])
                .args([
                    "-h",
                    "127.0.0.1",
                    "-P",
                    "3306",
                    "-u",
                    "root",
                    "-e",
                    sql,
                    "--",
                ])
                .arg(database)
                .output(),
        }
        .expect("the client runs");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    pub fn admin_database(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mariadb => "information_schema",
        }
    }

    /// The databases whose name starts with `prefix`.
    pub fn databases(self, prefix: &str) -> Vec<String> {
        let sql = match self {
            Self::Postgres => format!(
                "SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
            ),
            Self::Mariadb => format!(
                "SELECT SCHEMA_NAME FROM SCHEMATA WHERE LEFT(SCHEMA_NAME, {}) = '{prefix}' ORDER BY 1",
                prefix.len()
            ),
        };
        self.sql(self.admin_database(), &sql)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn drop_database(self, name: &str) {
        let sql = match self {
            Self::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            Self::Mariadb => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        self.sql(self.admin_database(), &sql);
    }

    /// Row count and a checksum of the table `items`.
    pub fn fingerprint(self, database: &str) -> String {
        let sql = match self {
            Self::Postgres => {
                "SELECT count(*), md5(string_agg(i::text, '|' ORDER BY id)) FROM items i; \
                 SELECT count(*), md5(string_agg(n::text, '|' ORDER BY id)) FROM notes n"
            }
            Self::Mariadb => {
                "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', id, name, price) ORDER BY id SEPARATOR '|')) FROM items; \
                 SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', id, body) ORDER BY id SEPARATOR '|')) FROM notes"
            }
        };
        self.sql(database, sql)
    }
}

/// The databases of one test, named `<prefix>…`, dropped when the test ends however it ends.
pub struct Databases {
    pub server: Server,
    pub prefix: String,
}

impl Databases {
    pub fn new(server: Server) -> Self {
        Self {
            server,
            prefix: unique("s3b"),
        }
    }

    /// Creates the source database with two tables, non-ASCII text included.
    pub fn create_source(&self) -> String {
        let name = self.prefix.clone();
        let create = match self.server {
            Server::Postgres => format!("CREATE DATABASE \"{name}\""),
            Server::Mariadb => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        };
        self.server.sql(self.server.admin_database(), &create);
        let tables = match self.server {
            Server::Postgres => {
                "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2)); \
                 CREATE TABLE notes (id int PRIMARY KEY, body text); \
                 INSERT INTO items (name, price) VALUES ('Käse', 3.50), ('naïve café', 2.00), ('日本語', 10.25), ('quote '' and \\ backslash', NULL); \
                 INSERT INTO notes VALUES (1, E'two\\nlines'), (2, 'Grüße 🎉');"
            }
            Server::Mariadb => {
                "CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, price decimal(10,2)); \
                 CREATE TABLE notes (id int PRIMARY KEY, body text); \
                 INSERT INTO items (name, price) VALUES ('Käse', 3.50), ('naïve café', 2.00), ('日本語', 10.25), ('quote '' and \\\\ backslash', NULL); \
                 INSERT INTO notes VALUES (1, 'two\\nlines'), (2, 'Grüße 🎉');"
            }
        };
        self.server.sql(&name, tables);
        name
    }

    pub fn all(&self) -> Vec<String> {
        self.server.databases(&self.prefix)
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        for name in self.server.databases(&self.prefix) {
            self.server.drop_database(&name);
        }
    }
}
