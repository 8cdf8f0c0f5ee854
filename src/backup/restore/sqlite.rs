//! A SQLite database restored into a file: written beside the target under a temporary name,
//! checked with `PRAGMA integrity_check`, then renamed into place. A replaced database is kept
//! under another name (a second link to it) and the new one renamed over it atomically.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::AsyncRead;

use super::RestoreError;
use super::stream::{Origin, PumpError, pump};
use super::target::{Existing, parent, staging_prefix, sync_directory};

pub async fn restore(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    origin: &Origin,
    path: &Path,
    existing: &Existing,
    permissions_of: Option<&Path>,
) -> Result<(), RestoreError> {
    let dir = parent(path);
    let temp = tempfile::Builder::new()
        .prefix(&staging_prefix(path))
        .tempfile_in(dir)
        .map_err(RestoreError::write("creating a temporary file in", dir))?;
    let written = temp
        .as_file()
        .try_clone()
        .map_err(RestoreError::write("opening", temp.path()))?;
    fill_checked(
        reader,
        origin,
        tokio::fs::File::from_std(written),
        temp.path(),
    )
    .await?;
    if let Some(permissions) = permissions_of.and_then(|like| std::fs::metadata(like).ok()) {
        std::fs::set_permissions(temp.path(), permissions.permissions())
            .map_err(RestoreError::write("setting the mode of", temp.path()))?;
    }
    match existing {
        Existing::Replaced { kept } => {
            std::fs::hard_link(path, kept).map_err(RestoreError::write("keeping", path))?;
            if let Err(failed) = temp.persist(path) {
                let _ = std::fs::remove_file(kept);
                return Err(RestoreError::write("renaming into", path)(failed.error));
            }
        }
        Existing::Nothing | Existing::EmptyDirectory => {
            temp.persist_noclobber(path)
                .map_err(|failed| RestoreError::write("renaming into", path)(failed.error))?;
        }
    }
    sync_directory(dir)
}

/// Writes the database `reader` holds into the new file `path` and checks it with
/// `PRAGMA integrity_check` (a test restore: `path` is in a temporary directory).
pub async fn write_checked(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    origin: &Origin,
    path: &Path,
) -> Result<(), RestoreError> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(RestoreError::write("creating", path))?;
    fill_checked(reader, origin, file, path).await
}

/// Writes what `reader` holds into `file` (at `path`), syncs it, and checks it is a database
/// SQLite finds sound.
async fn fill_checked(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    origin: &Origin,
    mut file: tokio::fs::File,
    path: &Path,
) -> Result<(), RestoreError> {
    match pump(reader, &mut file).await {
        Ok(_) => {}
        Err(PumpError::Read(cause)) => return Err(origin.read(cause)),
        Err(PumpError::Write(cause)) => return Err(RestoreError::write("writing", path)(cause)),
    }
    file.sync_all()
        .await
        .map_err(RestoreError::write("syncing", path))?;
    drop(file);
    check_integrity(path).await
}

/// The file is a database SQLite finds sound. Opened immutable: the check leaves no journal.
async fn check_integrity(path: &Path) -> Result<(), RestoreError> {
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await?;
    connection.close().await?;
    if verdict == ["ok"] {
        Ok(())
    } else {
        Err(RestoreError::Integrity(verdict.join("; ")))
    }
}
