//! Where an object is restored: what is at the target path now, whether the restore may go
//! there, and the names of the files beside it (the staging copy, the previous version).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::{Kind, RestoreError};

/// What the target path holds before the restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: the restore creates it.
    Nothing,
    /// An empty directory, which a directory restore may fill.
    EmptyDirectory,
    /// A file or non-empty directory the user asked to replace; it is kept at `kept`.
    Replaced { kept: PathBuf },
}

/// `path` with `suffix` appended to its last component (names need not be UTF-8).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory holding `path`, where its staging copy is written.
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The prefix of the staging copy of `path`: hidden, beside it, named after it.
pub fn staging_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".restoring-");
    prefix
}

/// Checks that a `kind` restore may go to `path`, and says what is there now.
pub fn inspect(
    path: &Path,
    kind: Kind,
    replace: bool,
    stamp: &str,
) -> Result<Existing, RestoreError> {
    if path.file_name().is_none() {
        return Err(RestoreError::target(
            path,
            "not a name a restore can create",
        ));
    }
    let parent = parent(path);
    match std::fs::metadata(parent) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => return Err(RestoreError::target(parent, "is not a directory")),
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
            return Err(RestoreError::target(
                parent,
                "does not exist: create it first",
            ));
        }
        Err(cause) => return Err(RestoreError::write("inspecting", parent)(cause)),
    }
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(cause) => return Err(RestoreError::write("inspecting", path)(cause)),
    };
    let kept = sibling(path, &format!(".before-restore-{stamp}"));
    if metadata.file_type().is_symlink() {
        return Err(RestoreError::target(
            path,
            "is a symbolic link: name the file or directory itself",
        ));
    }
    match kind {
        Kind::Sqlite if metadata.is_dir() => {
            return Err(RestoreError::target(path, "is a directory, not a file"));
        }
        Kind::Sqlite if !replace => {
            return Err(RestoreError::Exists {
                path: path.into(),
                kept,
            });
        }
        Kind::Sqlite => refuse_live_database(path)?,
        Kind::Directory if !metadata.is_dir() => {
            return Err(RestoreError::target(path, "is a file, not a directory"));
        }
        Kind::Directory => {
            let mut entries =
                std::fs::read_dir(path).map_err(RestoreError::write("reading", path))?;
            if entries.next().is_none() {
                return Ok(Existing::EmptyDirectory);
            }
            if !replace {
                return Err(RestoreError::NotEmpty {
                    path: path.into(),
                    kept,
                });
            }
        }
    }
    if std::fs::symlink_metadata(&kept).is_ok() {
        return Err(RestoreError::target(
            &kept,
            "exists already: move it away, or retry in a minute",
        ));
    }
    Ok(Existing::Replaced { kept })
}

/// A database with a write-ahead log or a journal beside it is open or was not closed
/// cleanly: a new file under that log would be corrupted by it.
fn refuse_live_database(path: &Path) -> Result<(), RestoreError> {
    for suffix in ["-wal", "-journal"] {
        let log = sibling(path, suffix);
        if std::fs::symlink_metadata(&log).is_ok() {
            return Err(RestoreError::target(
                &log,
                "exists: the database is in use or was not closed cleanly; stop what uses it first",
            ));
        }
    }
    Ok(())
}

/// Makes the rename that just happened in `dir` durable.
pub fn sync_directory(dir: &Path) -> Result<(), RestoreError> {
    std::fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(RestoreError::write("syncing", dir))
}
