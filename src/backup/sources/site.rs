//! A Frappe or Dokos site as `bench backup` writes it: the database dump (gzip, after a
//! header of SQL comments naming the site and the time), the public and private files as
//! tars whose members are `./<site>/public/files/…` and `./<site>/private/files/…`, and the
//! site's configuration, which holds its secrets and so is only ever stored encrypted.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use tokio::io::AsyncReadExt;

use super::{SourceStream, buffered, directory, mysql, postgres};
use crate::backup::error::BackupError;
use crate::backup::manifest::{Encoding, SitePart, SitePartKind};
use crate::backup::progress::Reporter;
use crate::settings::{SiteDatabase, SiteFolder, SourceKind};

/// One object of a site's backup, named as bench names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: SitePartKind,
    /// The file name, before any `.age`.
    pub name: String,
    pub encoding: Encoding,
}

/// The prefix of every name of a site's backup: `<YYYYMMDD_HHMMSS>-<site_slug>`.
pub fn stem(site: &SiteFolder, at: DateTime<Utc>) -> String {
    format!("{}-{}", at.format("%Y%m%d_%H%M%S"), site.slug())
}

/// The objects a run makes of `site`: the database, the files when the site's "Backup
/// files" is on, and the configuration when the backup is encrypted.
pub fn parts(site: &SiteFolder, at: DateTime<Utc>, encrypted: bool) -> Vec<Part> {
    let stem = stem(site, at);
    let part = |kind, suffix: &str, encoding| Part {
        kind,
        name: format!("{stem}-{suffix}"),
        encoding,
    };
    let mut parts = vec![part(
        SitePartKind::Database,
        "database.sql.gz",
        Encoding::Gzip,
    )];
    if site.with_files() {
        parts.push(part(SitePartKind::PublicFiles, "files.tar", Encoding::None));
        parts.push(part(
            SitePartKind::PrivateFiles,
            "private-files.tar",
            Encoding::None,
        ));
    }
    if encrypted {
        parts.push(part(
            SitePartKind::SiteConfig,
            "site_config_backup.json",
            Encoding::None,
        ));
    }
    parts
}

/// What the manifest says of `part` of `site`.
pub fn record(site: &SiteFolder, database: &SiteDatabase, part: &Part) -> SitePart {
    SitePart {
        site: site.site(),
        part: part.kind,
        db_type: (part.kind == SitePartKind::Database).then(|| database.db_type().to_owned()),
    }
}

/// The SQL comments the database file begins with.
pub fn header(site: &SiteFolder, database: &SiteDatabase, at: DateTime<Utc>) -> String {
    format!(
        "-- Frappe site backup, made by {} {}\n\
         -- Site: {}\n\
         -- Database: {} {}\n\
         -- Backup taken at: {}\n\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        one_line(&site.site()),
        database.db_type(),
        one_line(&database.url.database()),
        at.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

/// `text` on one line, so that it stays inside its SQL comment.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Opens `part` of the site of the source `name`.
pub async fn open(
    name: &str,
    site: &SiteFolder,
    database: &SiteDatabase,
    part: &Part,
    at: DateTime<Utc>,
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    match part.kind {
        SitePartKind::Database => {
            let mut stream = match database.kind {
                SourceKind::Postgres => postgres::dump(name, &database.url, reporter).await?,
                _ => mysql::dump(name, &database.url, mysql::Style::Frappe, reporter).await?,
            };
            let header = Cursor::new(header(site, database, at).into_bytes());
            stream.reader = Box::new(header.chain(stream.reader));
            Ok(stream)
        }
        SitePartKind::PublicFiles | SitePartKind::PrivateFiles => {
            let folder = match part.kind {
                SitePartKind::PublicFiles => "public",
                _ => "private",
            };
            let root = site.path().join(folder).join("files");
            let prefix = format!("./{}/{folder}/files", site.site());
            directory::open_at(name, root, Some(prefix), &[], reporter).await
        }
        SitePartKind::SiteConfig => {
            let path = site.path().join(crate::settings::SITE_CONFIG);
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|cause| BackupError::Source {
                    source_name: name.to_owned(),
                    step: format!("reading {}", path.display()),
                    cause,
                })?;
            Ok(SourceStream {
                reader: buffered(file),
                done: Box::pin(async { Ok(()) }),
                keep_alive: None,
                facts: Default::default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(with_files: bool) -> SiteFolder {
        SiteFolder::from_stored("/home/frappe/frappe-bench/sites/erp.example.com")
            .expect("a site folder")
            .including_files(with_files)
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T03:04:05Z")
            .expect("a date")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_parts_are_named_as_bench_names_them() {
        let names = |parts: Vec<Part>| parts.into_iter().map(|p| p.name).collect::<Vec<_>>();

        assert_eq!(
            names(parts(&site(true), at(), true)),
            [
                "20261102_030405-erp_example_com-database.sql.gz",
                "20261102_030405-erp_example_com-files.tar",
                "20261102_030405-erp_example_com-private-files.tar",
                "20261102_030405-erp_example_com-site_config_backup.json",
            ]
        );
        assert_eq!(
            names(parts(&site(false), at(), false)),
            ["20261102_030405-erp_example_com-database.sql.gz"]
        );
    }
}
