//! A Frappe site's objects restored into a site folder: the database into a new database on
//! the site's server (its own database only when asked to replace it, restoring into the
//! site itself), the public and private files into `<folder>/public/files` and
//! `<folder>/private/files`, as `bench restore --with-public-files --with-private-files`
//! does. The configuration, which holds the site's secrets, is never written.

use std::io;
use std::path::{Path, PathBuf};

use super::database::{self, Server, Target};
use super::stream::Origin;
use super::target::{self, Existing};
use super::{Kind, Reading, RestoreError, Restored, directory};
use crate::backup::download::Form;
use crate::backup::manifest::{SitePart, SitePartKind, StoredObject};
use crate::settings::{SiteFolder, SourceKind};

/// Names bench's tars put before a file's path under `files/`: `.`, the site, `public`
/// (or `private`) and `files`; `.` is no name of its own.
const STRIPPED: usize = 3;

/// Where a site's objects go: the folder, and the site configured on this machine the
/// backup was made of, when it is.
pub struct SiteTarget<'a> {
    pub folder: PathBuf,
    pub configured: Option<&'a SiteFolder>,
    pub replace: bool,
    pub stamp: &'a str,
}

impl SiteTarget<'_> {
    /// Whether the folder is the configured site itself.
    fn is_the_site(&self) -> bool {
        let resolved = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
        self.configured
            .is_some_and(|site| resolved(site.path()) == resolved(&self.folder))
    }
}

/// Restores `object`, the `part` of a site, into `to`.
pub async fn restore(
    reading: &Reading<'_>,
    object: &StoredObject,
    part: &SitePart,
    to: &SiteTarget<'_>,
) -> Result<Restored, RestoreError> {
    match part.part {
        SitePartKind::Database => restore_database(reading, object, part, to).await,
        SitePartKind::PublicFiles => restore_files(reading, object, "public", to).await,
        SitePartKind::PrivateFiles => restore_files(reading, object, "private", to).await,
        SitePartKind::SiteConfig => Err(RestoreError::SiteConfigKept {
            key: object.key.clone(),
        }),
    }
}

/// The server of the configured site, else of the site folder restored into.
fn server_of(part: &SitePart, to: &SiteTarget<'_>) -> Result<Target, RestoreError> {
    let site = match to.configured {
        Some(site) => site.clone(),
        None => SiteFolder::from_stored(&to.folder.to_string_lossy()).map_err(|problem| {
            RestoreError::SiteServer {
                site: part.site.clone(),
                problem,
            }
        })?,
    };
    let database = site
        .database()
        .map_err(|problem| RestoreError::SiteServer {
            site: part.site.clone(),
            problem,
        })?;
    let server = match database.kind {
        SourceKind::Postgres => Server::Postgres,
        _ => Server::Mariadb,
    };
    Ok(Target {
        server,
        url: database.url,
    })
}

async fn restore_database(
    reading: &Reading<'_>,
    object: &StoredObject,
    part: &SitePart,
    to: &SiteTarget<'_>,
) -> Result<Restored, RestoreError> {
    let site = server_of(part, to)?;
    let kind = match site.server {
        Server::Postgres => SourceKind::Postgres,
        Server::Mariadb => SourceKind::Mysql,
    };
    // The site's own database only when restoring into the site itself, replacing it.
    let target = if to.replace && to.is_the_site() {
        site
    } else {
        Target::choose(kind, Some(&site.url), None, &object.source, to.stamp)?
    };
    let shown = database::restore(reading, object, &target, to.replace).await?;
    Ok(Restored {
        target: shown,
        kept: None,
    })
}

async fn restore_files(
    reading: &Reading<'_>,
    object: &StoredObject,
    folder: &str,
    to: &SiteTarget<'_>,
) -> Result<Restored, RestoreError> {
    let holder = to.folder.join(folder);
    for dir in [&to.folder, &holder] {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(cause) if cause.kind() == io::ErrorKind::AlreadyExists => {}
            Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
                return Err(RestoreError::target(
                    target::parent(dir),
                    "does not exist: create it first",
                ));
            }
            Err(cause) => return Err(RestoreError::write("creating", dir.as_path())(cause)),
        }
    }
    let path = holder.join("files");
    let existing = target::inspect(&path, Kind::Directory, to.replace, to.stamp)?;
    let origin = Origin::of(reading.s3, object);
    let work = async {
        if matches!(existing, Existing::Replaced { .. }) {
            // Nothing of the target is touched before the object is known to be as stored.
            reading.check(object).await?;
        }
        let mut reader = reading.open(object, Form::Plain).await?;
        directory::restore(&mut reader, &origin, &path, &existing, STRIPPED).await
    };
    reading.unless_cancelled(work).await?;
    Ok(Restored {
        target: path.display().to_string(),
        kept: match existing {
            Existing::Replaced { kept } => Some(kept),
            _ => None,
        },
    })
}
