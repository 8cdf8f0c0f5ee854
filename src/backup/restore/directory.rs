//! A directory restored from its tar: unpacked into a staging directory beside the target,
//! moved into place once the whole archive was unpacked and checked. A replaced directory is
//! kept under another name; the two are swapped in one step where the system allows it.
//! The files are written on a thread of their own while the download goes on.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::io::AsyncRead;

use super::RestoreError;
use super::extract::unpack_stripped;
use super::stream::{Fed, Origin, feed, pipe};
use super::target::{Existing, parent, staging_prefix, sync_directory};

/// The mode of a restored directory whose archive does not say (a tar of its content).
const DEFAULT_MODE: u32 = 0o755;

/// Restores the archive `reader` gives into `path`, the first `strip` names of its paths
/// left out (`tar --strip`).
pub async fn restore(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    origin: &Origin,
    path: &Path,
    existing: &Existing,
    strip: usize,
) -> Result<(), RestoreError> {
    let (sender, fed) = pipe();
    // Dropped (the restore cancelled), the feed stops and the thread removes what it wrote.
    let placing = {
        let (origin, path, existing) = (origin.clone(), path.to_owned(), existing.clone());
        tokio::task::spawn_blocking(move || place(fed, &origin, &path, &existing, strip))
    };
    feed(reader, sender).await;
    placing.await.map_err(|failure| {
        RestoreError::write("unpacking into", path)(std::io::Error::other(failure.to_string()))
    })?
}

/// Unpacks what `fed` gives into a staging directory, then moves it into place.
fn place(
    fed: Fed,
    origin: &Origin,
    path: &Path,
    existing: &Existing,
    strip: usize,
) -> Result<(), RestoreError> {
    let dir = parent(path);
    let staging = tempfile::Builder::new()
        .prefix(&staging_prefix(path))
        .tempdir_in(dir)
        .map_err(RestoreError::write(
            "creating a temporary directory in",
            dir,
        ))?;
    let mode = match existing {
        Existing::Nothing => DEFAULT_MODE,
        Existing::EmptyDirectory | Existing::Replaced { .. } => std::fs::metadata(path)
            .map(|metadata| metadata.permissions().mode() & 0o7777)
            .unwrap_or(DEFAULT_MODE),
    };
    std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(mode))
        .map_err(RestoreError::write("setting the mode of", staging.path()))?;
    unpack_stripped(fed, staging.path(), origin, strip)?;

    match existing {
        // Renaming onto an empty directory replaces it.
        Existing::Nothing | Existing::EmptyDirectory => {
            std::fs::rename(staging.path(), path).map_err(RestoreError::write(
                "moving the restored directory to",
                path,
            ))?;
            let _ = staging.keep();
        }
        Existing::Replaced { kept } => {
            swap(staging.path(), path)?;
            // The staging path now holds the previous directory.
            let previous = staging.keep();
            std::fs::rename(&previous, kept).map_err(RestoreError::write(
                "keeping the previous directory as",
                kept,
            ))?;
        }
    }
    sync_directory(dir)
}

/// Exchanges `staging` and `path` atomically; where the system cannot, moves `path` to
/// `staging`'s name first (the target is missing for that instant).
fn swap(staging: &Path, path: &Path) -> Result<(), RestoreError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, staging, CWD, path, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(errno) if errno == rustix::io::Errno::INVAL || errno == rustix::io::Errno::NOSYS => {
            let aside = super::target::sibling(staging, ".new");
            std::fs::rename(staging, &aside)
                .and_then(|()| std::fs::rename(path, staging))
                .and_then(|()| std::fs::rename(&aside, path))
                .map_err(RestoreError::write(
                    "moving the restored directory to",
                    path,
                ))
        }
        Err(errno) => Err(RestoreError::write(
            "moving the restored directory to",
            path,
        )(errno.into())),
    }
}
