//! PostgreSQL through `psql`: the database is created and dropped from the server's
//! `postgres` maintenance database, and the plain dump loaded in one transaction.

use tokio::io::AsyncRead;

use super::RestoreError;
use super::stream::Origin;
use super::tool::Tool;
use crate::backup::connect;
use crate::settings::DatabaseUrl;

/// `psql` connected to `database` on the server of `url`, stopping at the first error.
fn psql(url: &DatabaseUrl, database: &str) -> Tool {
    let envs = connect::postgres(url);
    Tool {
        program: "psql",
        args: vec![
            "-X".to_owned(),
            "-q".to_owned(),
            "-v".to_owned(),
            "ON_ERROR_STOP=1".to_owned(),
            "-d".to_owned(),
            url.with_database(database)
                .url_without_password()
                .to_string(),
        ],
        envs,
    }
}

fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn admin(url: &DatabaseUrl, step: &str, sql: String) -> Result<String, RestoreError> {
    psql(url, "postgres")
        .output(step, &["-At".to_owned(), "-c".to_owned(), sql])
        .await
}

pub async fn exists(url: &DatabaseUrl, name: &str) -> Result<bool, RestoreError> {
    let sql = format!(
        "SELECT 1 FROM pg_database WHERE datname = {}",
        literal(name)
    );
    let found = admin(url, "checking whether the database exists", sql).await?;
    Ok(found.trim() == "1")
}

pub async fn create(url: &DatabaseUrl, name: &str) -> Result<(), RestoreError> {
    let sql = format!("CREATE DATABASE {}", identifier(name));
    admin(url, "creating the database", sql).await.map(|_| ())
}

pub async fn drop(url: &DatabaseUrl, name: &str) -> Result<(), RestoreError> {
    // FORCE: the session of a client killed a moment ago (a cancelled load) may linger.
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", identifier(name));
    admin(url, "removing the database it created", sql)
        .await
        .map(|_| ())
}

/// Loads the dump into `name` in one transaction. Into an existing database (`replace`),
/// its schemas are dropped first in that same transaction, so the database holds exactly
/// the dump's content afterwards, or, if anything fails, exactly what it held before.
pub async fn load(
    url: &DatabaseUrl,
    name: &str,
    origin: &Origin,
    reader: &mut (dyn AsyncRead + Send + Unpin),
    replace: bool,
) -> Result<(), RestoreError> {
    let prelude = if replace {
        clearing(url, name).await?
    } else {
        String::new()
    };
    let mut input = tokio::io::AsyncReadExt::chain(std::io::Cursor::new(prelude), reader);
    psql(url, name)
        .feed(
            "loading the dump",
            &["--single-transaction".to_owned()],
            origin,
            &mut input,
            false,
        )
        .await
}

/// SQL that empties database `name`: every schema of its own dropped with what it holds,
/// and an empty `public` made again (a plain dump expects it and does not create it).
async fn clearing(url: &DatabaseUrl, name: &str) -> Result<String, RestoreError> {
    let schemas = psql(url, name)
        .output(
            "listing the schemas of the database it replaces",
            &[
                "-At".to_owned(),
                "-c".to_owned(),
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' \
                 AND nspname <> 'information_schema' ORDER BY 1"
                    .to_owned(),
            ],
        )
        .await?;
    let mut sql = String::new();
    for schema in schemas.lines().filter(|line| !line.is_empty()) {
        sql.push_str(&format!("DROP SCHEMA {} CASCADE;\n", identifier(schema)));
    }
    sql.push_str("CREATE SCHEMA IF NOT EXISTS public;\n");
    Ok(sql)
}

/// Every table of database `name` with its exact row count, by `schema.table`.
pub async fn row_counts(url: &DatabaseUrl, name: &str) -> Result<Vec<(String, u64)>, RestoreError> {
    let tables = psql(url, name)
        .output(
            "listing the tables",
            &[
                "-At".to_owned(),
                "-c".to_owned(),
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
                 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                    .to_owned(),
            ],
        )
        .await?;
    let tables: Vec<&str> = tables.lines().filter(|line| !line.is_empty()).collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = tables
        .iter()
        .map(|table| format!("SELECT {}, count(*) FROM {table}", literal(table)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let counts = psql(url, name)
        .output(
            "counting the rows",
            &[
                "-At".to_owned(),
                "-F".to_owned(),
                "\t".to_owned(),
                "-c".to_owned(),
                sql,
            ],
        )
        .await?;
    Ok(super::parse_counts(&counts))
}

/// The databases on the server of `url` whose name starts with `prefix`.
pub async fn named_like(url: &DatabaseUrl, prefix: &str) -> Result<Vec<String>, RestoreError> {
    let sql = format!(
        "SELECT datname FROM pg_database WHERE starts_with(datname, {}) ORDER BY 1",
        literal(prefix)
    );
    let names = admin(url, "listing databases", sql).await?;
    Ok(names
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
