//! The data directory: created private, and kept private at every start, since it holds
//! the session ids, password hashes and sealed secrets next to the key that opens them.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Files of the database (SQLite adds `-wal` and `-shm` beside it).
const DATABASE_FILES: [&str; 3] = [
    "s3-backup.sqlite3",
    "s3-backup.sqlite3-wal",
    "s3-backup.sqlite3-shm",
];

#[derive(Debug, thiserror::Error)]
#[error("cannot make {path} private: {source}")]
pub struct DataDirError {
    path: String,
    #[source]
    source: io::Error,
}

fn failed(path: &Path) -> impl FnOnce(io::Error) -> DataDirError + '_ {
    move |source| DataDirError {
        path: path.display().to_string(),
        source,
    }
}

/// Creates `dir` (mode 0700) if needed, and makes an existing one 0700 whoever created it
/// (a `mkdir -p`, an older version).
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed(dir))
}

/// Makes the database files that exist readable by their owner only (0600).
pub fn protect_database(dir: &Path) -> Result<(), DataDirError> {
    for name in DATABASE_FILES {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(failed(&path))?;
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(failed(&path)(error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn an_open_data_directory_and_database_are_made_private() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("data");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let db = dir.join("s3-backup.sqlite3");
        std::fs::write(&db, b"").expect("db");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");

        prepare(&dir).expect("prepare");
        protect_database(&dir).expect("protect");

        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        let fresh = temp.path().join("new/nested");
        prepare(&fresh).expect("created");
        assert_eq!(mode(&fresh), 0o700);
    }
}
