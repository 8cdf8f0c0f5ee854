//! MariaDB/MySQL through the `mariadb` client (or `mysql`): the dump's own `CREATE DATABASE`
//! and `USE` are left out, so it loads into the database the restore names.

use tokio::io::AsyncRead;

use super::RestoreError;
use super::stream::Origin;
use super::tool::Tool;
use crate::backup::connect;
use crate::settings::DatabaseUrl;

fn client(url: &DatabaseUrl) -> Tool {
    let (connection, envs) = connect::mysql(url);
    let mut args = vec![
        "--batch".to_owned(),
        "--skip-column-names".to_owned(),
        "--default-character-set=utf8mb4".to_owned(),
    ];
    args.extend(connection);
    Tool {
        program: "mariadb",
        args,
        envs,
    }
}

fn identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

async fn admin(url: &DatabaseUrl, step: &str, sql: String) -> Result<String, RestoreError> {
    client(url).output(step, &["-e".to_owned(), sql]).await
}

pub async fn exists(url: &DatabaseUrl, name: &str) -> Result<bool, RestoreError> {
    let sql = format!(
        "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
        literal(name)
    );
    let found = admin(url, "checking whether the database exists", sql).await?;
    Ok(found.trim() == "1")
}

pub async fn create(url: &DatabaseUrl, name: &str) -> Result<(), RestoreError> {
    let sql = format!("CREATE DATABASE {} CHARACTER SET utf8mb4", identifier(name));
    admin(url, "creating the database", sql).await.map(|_| ())
}

pub async fn drop(url: &DatabaseUrl, name: &str) -> Result<(), RestoreError> {
    let sql = format!("DROP DATABASE IF EXISTS {}", identifier(name));
    admin(url, "removing the database it created", sql)
        .await
        .map(|_| ())
}

pub async fn load(
    url: &DatabaseUrl,
    name: &str,
    origin: &Origin,
    reader: &mut (dyn AsyncRead + Send + Unpin),
) -> Result<(), RestoreError> {
    client(url)
        .feed(
            "loading the dump",
            &["--".to_owned(), name.to_owned()],
            origin,
            reader,
            true,
        )
        .await
}

/// Every table of database `name` with its exact row count.
pub async fn row_counts(url: &DatabaseUrl, name: &str) -> Result<Vec<(String, u64)>, RestoreError> {
    let sql = format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} \
         AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
        literal(name)
    );
    let tables = admin(url, "listing the tables", sql).await?;
    let tables: Vec<&str> = tables.lines().filter(|line| !line.is_empty()).collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = tables
        .iter()
        .map(|table| {
            format!(
                "SELECT {}, COUNT(*) FROM {}.{}",
                literal(table),
                identifier(name),
                identifier(table)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let counts = admin(url, "counting the rows", sql).await?;
    Ok(super::parse_counts(&counts))
}

/// The databases on the server of `url` whose name starts with `prefix`.
pub async fn named_like(url: &DatabaseUrl, prefix: &str) -> Result<Vec<String>, RestoreError> {
    let sql = format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, {}) = {} \
         ORDER BY 1",
        prefix.chars().count(),
        literal(prefix)
    );
    let names = admin(url, "listing databases", sql).await?;
    Ok(names
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
