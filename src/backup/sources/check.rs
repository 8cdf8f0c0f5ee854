//! A source tried without backing it up, for the sources page's "Test" button and the check
//! made when a source is saved: a database server is connected to and its version matched
//! against the installed dump tool's, a SQLite file is opened, a directory is read. The
//! outcome is one message for the admin; nothing is written anywhere.

use std::io;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::facts::{Client, ask, first_line};
use crate::backup::connect;
use crate::backup::job::SourceSpec;
use crate::lang::Message;
use crate::settings::{DatabaseUrl, SourceKind};

/// How long a database server may take to accept a connection.
const CONNECT_TIMEOUT_SECONDS: u32 = 10;
/// Entries of a directory counted at most: enough to show it can be read.
const ENTRIES_COUNTED: usize = 10_000;

/// What trying a source found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheck {
    /// Whether a backup can read the source as things stand.
    pub passed: bool,
    pub message: Message,
}

/// Tries `spec` as a backup would read it.
pub async fn check(spec: &SourceSpec) -> SourceCheck {
    let outcome = match (spec.location.database_url(), spec.location.as_path()) {
        _ if spec.location.site().is_some() => site(spec).await,
        (Some(url), _) if spec.kind() == SourceKind::Postgres => postgres(url).await,
        (Some(url), _) => mysql(url).await,
        (None, Some(path)) if spec.kind() == SourceKind::Sqlite => sqlite(path).await,
        (None, Some(path)) => directory(path).await,
        (None, None) => Err(Message::new("sources.check.failed")),
    };
    match outcome {
        Ok(message) => SourceCheck {
            passed: true,
            message,
        },
        Err(message) => SourceCheck {
            passed: false,
            message,
        },
    }
}

/// A Frappe site: its configuration names its database, whose server is tried as a
/// database source's, and its files folders can be read when they are backed up.
async fn site(spec: &SourceSpec) -> Result<Message, Message> {
    let Some(site) = spec.location.site() else {
        return Err(Message::new("sources.check.failed"));
    };
    let database = site.database().map_err(Message::from)?;
    let server = match database.kind {
        SourceKind::Postgres => postgres(&database.url).await?,
        _ => mysql(&database.url).await?,
    };
    if site.with_files() {
        for folder in ["public", "private"] {
            directory(&site.path().join(folder).join("files")).await?;
        }
    }
    // The server's own sentence names it and the dump tool: its parameters go along.
    let mut message = Message::new("sources.check.site_ok")
        .with("site", site.site())
        .with("database", database.url.database());
    message.params.extend(server.params);
    Ok(message)
}

/// PostgreSQL: `psql` connects and tells the server's version; `pg_dump` must be of the
/// same major version or newer.
async fn postgres(url: &DatabaseUrl) -> Result<Message, Message> {
    let mut envs = connect::postgres(url);
    envs.push(("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS.to_string()));
    let server = Client {
        programs: &["psql"],
        args: vec![
            "-X".to_owned(),
            "-q".to_owned(),
            "-A".to_owned(),
            "-t".to_owned(),
            "--no-password".to_owned(),
            format!("--dbname={}", url.url_without_password()),
            "-c".to_owned(),
            "SHOW server_version".to_owned(),
            "-c".to_owned(),
            "SHOW server_version_num".to_owned(),
        ],
        envs: &envs,
    };
    let answer = ask(&server)
        .await
        .map_err(|error| connection_problem(url, "psql", &error))?;
    let mut lines = answer.lines().map(str::trim).filter(|l| !l.is_empty());
    let shown = lines.next().unwrap_or_default().to_owned();
    let number = lines.next().and_then(|n| n.parse::<u32>().ok());
    let Some(server) = number.map(PgVersion::from_number) else {
        return Err(Message::new("sources.check.failed").detail(answer));
    };
    let tool_line = tool_version("pg_dump").await?;
    let Some(tool) = PgVersion::from_tool_line(&tool_line) else {
        return Err(Message::new("sources.check.version_unknown")
            .with("tool", "pg_dump")
            .detail(tool_line));
    };
    if tool < server {
        return Err(Message::new("sources.check.tool_too_old")
            .with("tool", "pg_dump")
            .with("tool_version", tool)
            .with("server", format!("PostgreSQL {shown}"))
            .with("needed", server));
    }
    Ok(Message::new("sources.check.database_ok")
        .with("server", format!("PostgreSQL {shown}"))
        .with("tool", tool_line))
}

/// MariaDB or MySQL: the `mariadb` client connects and tells the server's version; the
/// dump tool must come from the same server family, of the same version or newer.
async fn mysql(url: &DatabaseUrl) -> Result<Message, Message> {
    const DUMP_TOOLS: &[&str] = &["mariadb-dump", "mysqldump"];
    let (connection, envs) = connect::mysql(url);
    let mut args = vec![
        "--batch".to_owned(),
        "--skip-column-names".to_owned(),
        format!("--connect-timeout={CONNECT_TIMEOUT_SECONDS}"),
    ];
    args.extend(connection);
    // The database as the client's argument: its name is never quoted into SQL.
    args.extend([
        "-e".to_owned(),
        "SELECT VERSION()".to_owned(),
        "--".to_owned(),
        url.database(),
    ]);
    let server = Client {
        programs: &["mariadb", "mysql"],
        args,
        envs: &envs,
    };
    let answer = ask(&server)
        .await
        .map_err(|error| connection_problem(url, "mariadb", &error))?;
    let shown = first_line(&answer).unwrap_or_default();
    let Some(server) = MysqlVersion::parse(&shown) else {
        return Err(Message::new("sources.check.failed").detail(answer));
    };
    let mut tool_line = None;
    for &tool in DUMP_TOOLS {
        if let Ok(line) = tool_version(tool).await {
            tool_line = Some(line);
            break;
        }
    }
    let Some(tool_line) = tool_line else {
        return Err(Message::new("sources.check.tool_missing").with("tool", "mariadb-dump"));
    };
    let Some(tool) = MysqlVersion::of_tool(&tool_line) else {
        return Err(Message::new("sources.check.version_unknown")
            .with("tool", "mariadb-dump")
            .detail(tool_line));
    };
    if tool.mariadb != server.mariadb {
        return Err(Message::new("sources.check.other_family")
            .with("tool", tool_line)
            .with("server", shown));
    }
    if (tool.major, tool.minor) < (server.major, server.minor) {
        return Err(Message::new("sources.check.tool_too_old")
            .with("tool", "mariadb-dump")
            .with("tool_version", format!("{}.{}", tool.major, tool.minor))
            .with("server", shown)
            .with("needed", format!("{}.{}", server.major, server.minor)));
    }
    Ok(Message::new("sources.check.database_ok")
        .with("server", shown)
        .with("tool", tool_line))
}

/// The first line `tool --version` prints; a tool that is missing says so.
async fn tool_version(tool: &'static str) -> Result<String, Message> {
    let client = Client {
        programs: &[tool],
        args: vec!["--version".to_owned()],
        envs: &[],
    };
    match ask(&client).await {
        Ok(answer) => first_line(&answer).ok_or_else(|| {
            Message::new("sources.check.version_unknown")
                .with("tool", tool)
                .detail(answer)
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(Message::new("sources.check.tool_missing").with("tool", tool))
        }
        Err(error) => Err(Message::new("sources.check.version_unknown")
            .with("tool", tool)
            .detail(error.to_string())),
    }
}

/// Why a database client could not talk to the server, read from what it printed.
fn connection_problem(url: &DatabaseUrl, client: &'static str, error: &io::Error) -> Message {
    let text = error.to_string();
    let lower = text.to_lowercase();
    let address = match url.port() {
        Some(port) => format!("{}:{port}", url.host()),
        None => url.host().to_owned(),
    };
    let key = if error.kind() == io::ErrorKind::NotFound {
        return Message::new("sources.check.tool_missing").with("tool", client);
    } else if error.kind() == io::ErrorKind::TimedOut {
        "sources.check.unreachable"
    } else if [
        "password authentication failed",
        "access denied",
        "no password supplied",
    ]
    .iter()
    .any(|sign| lower.contains(sign))
    {
        "sources.check.refused_login"
    } else if (lower.contains("does not exist") && lower.contains("database"))
        || lower.contains("unknown database")
    {
        "sources.check.no_database"
    } else if [
        "connection refused",
        "can't connect",
        "could not translate host name",
        "unknown server host",
        "timeout expired",
        "no route to host",
        "network is unreachable",
        "could not connect",
    ]
    .iter()
    .any(|sign| lower.contains(sign))
    {
        "sources.check.unreachable"
    } else {
        "sources.check.failed"
    };
    Message::new(key)
        .with("address", address)
        .with("database", url.database())
        .detail(text)
}

/// SQLite: the file opens read-only as a database and its tables are counted.
async fn sqlite(path: &Path) -> Result<Message, Message> {
    let shown = path.display().to_string();
    if let Err(error) = tokio::fs::metadata(path).await {
        return Err(path_problem(&shown, &error));
    }
    let failed =
        |error: sqlx::Error| Message::new("sources.check.sqlite_failed").detail(error.to_string());
    let mut connection = SqliteConnectOptions::from_str("sqlite://")
        .map_err(failed)?
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(failed)?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_schema \
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_one(&mut connection)
    .await
    .map_err(failed)?;
    let _ = connection.close().await;
    Ok(Message::new("sources.check.sqlite_ok").with("tables", tables))
}

/// A directory: it exists, is a directory, and its entries can be listed.
async fn directory(path: &Path) -> Result<Message, Message> {
    let shown = path.display().to_string();
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|error| path_problem(&shown, &error))?;
    if !metadata.is_dir() {
        return Err(Message::new("sources.check.not_a_directory").with("path", &shown));
    }
    let mut entries = tokio::fs::read_dir(path)
        .await
        .map_err(|error| path_problem(&shown, &error))?;
    let mut count = 0;
    while count < ENTRIES_COUNTED {
        match entries.next_entry().await {
            Ok(Some(_)) => count += 1,
            Ok(None) => break,
            Err(error) => return Err(path_problem(&shown, &error)),
        }
    }
    let shown_count = if count == ENTRIES_COUNTED {
        format!("{count}+")
    } else {
        count.to_string()
    };
    Ok(Message::new("sources.check.directory_ok")
        .with("path", shown)
        .with("entries", shown_count))
}

fn path_problem(shown: &str, error: &io::Error) -> Message {
    let key = match error.kind() {
        io::ErrorKind::NotFound => "sources.check.path_missing",
        io::ErrorKind::PermissionDenied => "sources.check.path_denied",
        _ => "sources.check.path_failed",
    };
    Message::new(key)
        .with("path", shown)
        .detail(error.to_string())
}

/// A PostgreSQL major version as `server_version_num` counts it: 150000 for 15.x, 90600
/// for 9.6.x (before 10, the major version had two parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PgVersion(u32);

impl PgVersion {
    fn from_number(number: u32) -> Self {
        if number >= 100_000 {
            Self(number / 10_000 * 10_000)
        } else {
            Self(number / 100 * 100)
        }
    }

    /// From `pg_dump (PostgreSQL) 16.4 (Debian 16.4-1)`: the first word that starts with
    /// a digit.
    fn from_tool_line(line: &str) -> Option<Self> {
        let version = line
            .split_whitespace()
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
        let mut parts = version
            .split(|c: char| !c.is_ascii_digit())
            .map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(Result::ok).unwrap_or(0);
        Some(if major >= 10 {
            Self(major * 10_000)
        } else {
            Self(major * 10_000 + minor * 100)
        })
    }
}

impl std::fmt::Display for PgVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >= 100_000 {
            write!(f, "{}", self.0 / 10_000)
        } else {
            write!(f, "{}.{}", self.0 / 10_000, self.0 / 100 % 100)
        }
    }
}

/// A MariaDB or MySQL version: its family and its major and minor numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MysqlVersion {
    mariadb: bool,
    major: u32,
    minor: u32,
}

impl MysqlVersion {
    /// From what `SELECT VERSION()` answers: `10.11.6-MariaDB-0+deb12u1`, `8.0.36`.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self {
            mariadb: text.to_ascii_lowercase().contains("mariadb"),
            major,
            minor,
        })
    }

    /// The server version a dump tool was built with, from its `--version` line:
    /// `mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)`,
    /// `mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd (x86_64)`,
    /// `mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`.
    fn of_tool(line: &str) -> Option<Self> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |marker: &str| {
            words
                .iter()
                .position(|word| *word == marker)
                .and_then(|at| words.get(at + 1))
        };
        let version = after("Distrib")
            .or_else(|| after("from"))
            .or_else(|| after("Ver"))?;
        let mut parsed = Self::parse(version.trim_end_matches(','))?;
        parsed.mariadb = line.to_ascii_lowercase().contains("mariadb");
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_versions_compare_by_major_version() {
        let tool = |line| PgVersion::from_tool_line(line).expect("a version");
        let server_16 = PgVersion::from_number(160_004);
        assert!(tool("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)") < server_16);
        assert!(tool("pg_dump (PostgreSQL) 16.0") >= server_16);
        assert!(tool("pg_dump (PostgreSQL) 17.2") >= server_16);
        assert!(tool("pg_dump (PostgreSQL) 9.6.24") < PgVersion::from_number(100_001));
        assert!(tool("pg_dump (PostgreSQL) 9.6.24") >= PgVersion::from_number(90_620));
        assert!(tool("pg_dump (PostgreSQL) 9.5.3") < PgVersion::from_number(90_620));
        assert_eq!(server_16.to_string(), "16");
        assert_eq!(PgVersion::from_number(90_620).to_string(), "9.6");
        assert_eq!(PgVersion::from_tool_line("pg_dump (PostgreSQL)"), None);
    }

    #[test]
    fn mariadb_tools_tell_the_server_version_they_were_built_with() {
        let distrib =
            "mariadb-dump  Ver 10.19 Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)";
        assert_eq!(
            MysqlVersion::of_tool(distrib),
            Some(MysqlVersion {
                mariadb: true,
                major: 10,
                minor: 11
            })
        );
        let from = "mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd (x86_64)";
        assert_eq!(
            MysqlVersion::of_tool(from).map(|v| (v.major, v.minor)),
            Some((11, 4))
        );
        let mysql = "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)";
        assert_eq!(
            MysqlVersion::of_tool(mysql),
            Some(MysqlVersion {
                mariadb: false,
                major: 8,
                minor: 0
            })
        );
        assert_eq!(
            MysqlVersion::parse("10.11.19-MariaDB-0+deb12u1").map(|v| v.mariadb),
            Some(true)
        );
        assert_eq!(MysqlVersion::parse("server is starting"), None);
    }

    #[tokio::test]
    async fn a_directory_that_is_gone_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let gone = dir.path().join("uploads");
        let spec = SourceSpec::parse(
            "files",
            SourceKind::Directory,
            gone.to_str().expect("utf-8"),
        )
        .expect("a directory source");

        let checked = check(&spec).await;

        assert!(!checked.passed);
        assert_eq!(checked.message.key, "sources.check.path_missing");
    }
}
