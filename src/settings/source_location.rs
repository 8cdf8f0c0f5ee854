//! Where a backup source is: a SQLite file, a directory, a database server's URL, or a
//! Frappe site folder.
//! Paths are checked on disk when the form is saved, so a typo shows at once.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use super::input::required;
use super::{DatabaseUrl, Invalid, SiteFolder, SourceKind};

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    /// An existing, readable SQLite database file.
    Sqlite(PathBuf),
    /// An existing, readable directory.
    Directory(PathBuf),
    Postgres(DatabaseUrl),
    Mysql(DatabaseUrl),
    /// A Frappe or Dokos site folder whose configuration names its database.
    Frappe(SiteFolder),
}

impl SourceLocation {
    pub fn parse(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        match kind {
            SourceKind::Sqlite => check_sqlite_file(text).map(Self::Sqlite),
            SourceKind::Directory => check_directory(text).map(Self::Directory),
            SourceKind::Postgres => DatabaseUrl::parse(kind, text).map(Self::Postgres),
            SourceKind::Mysql => DatabaseUrl::parse(kind, text).map(Self::Mysql),
            SourceKind::Frappe => SiteFolder::parse(text).map(Self::Frappe),
        }
    }

    /// A location read back from the store: its form is checked again, but not the disk,
    /// so that a file gone missing fails that source's backup rather than every load.
    pub fn from_stored(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        match kind {
            SourceKind::Sqlite => absolute(text).map(Self::Sqlite),
            SourceKind::Directory => absolute(text).map(Self::Directory),
            SourceKind::Postgres => DatabaseUrl::from_stored(kind, text).map(Self::Postgres),
            SourceKind::Mysql => DatabaseUrl::from_stored(kind, text).map(Self::Mysql),
            SourceKind::Frappe => SiteFolder::from_stored(text).map(Self::Frappe),
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Self::Sqlite(_) => SourceKind::Sqlite,
            Self::Directory(_) => SourceKind::Directory,
            Self::Postgres(_) => SourceKind::Postgres,
            Self::Mysql(_) => SourceKind::Mysql,
            Self::Frappe(_) => SourceKind::Frappe,
        }
    }

    /// The file or directory, for path sources (a site's folder).
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(path) | Self::Directory(path) => Some(path),
            Self::Frappe(site) => Some(site.path()),
            Self::Postgres(_) | Self::Mysql(_) => None,
        }
    }

    /// The site, for a Frappe source.
    pub fn site(&self) -> Option<&SiteFolder> {
        match self {
            Self::Frappe(site) => Some(site),
            _ => None,
        }
    }

    /// The same location, a site's files backed up or not; other kinds are unchanged.
    pub fn including_site_files(self, with_files: bool) -> Self {
        match self {
            Self::Frappe(site) => Self::Frappe(site.including_files(with_files)),
            other => other,
        }
    }

    /// The connection URL, for database servers (a site's is read from its folder).
    pub fn database_url(&self) -> Option<&DatabaseUrl> {
        match self {
            Self::Postgres(url) | Self::Mysql(url) => Some(url),
            Self::Sqlite(_) | Self::Directory(_) | Self::Frappe(_) => None,
        }
    }

    /// The password of a connection URL, percent-decoded.
    pub fn password(&self) -> Option<&str> {
        self.database_url().and_then(DatabaseUrl::password)
    }

    /// What is stored in clear: a URL without its password, or the path.
    pub fn without_password(&self) -> String {
        match self {
            Self::Postgres(url) | Self::Mysql(url) => url.without_password(),
            Self::Sqlite(path) | Self::Directory(path) => path.display().to_string(),
            Self::Frappe(site) => site.path().display().to_string(),
        }
    }

    /// What can be shown or logged: the password, if any, replaced by `***`.
    pub fn masked(&self) -> String {
        match self {
            Self::Postgres(url) | Self::Mysql(url) => url.masked(),
            Self::Sqlite(path) | Self::Directory(path) => path.display().to_string(),
            Self::Frappe(site) => site.path().display().to_string(),
        }
    }

    /// Whether this is a directory that holds `dir` (or is it), symbolic links resolved.
    pub fn holds(&self, dir: &Path) -> bool {
        let resolved = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
        match self {
            Self::Directory(path) => resolved(dir).starts_with(resolved(path)),
            Self::Sqlite(_) | Self::Postgres(_) | Self::Mysql(_) | Self::Frappe(_) => false,
        }
    }

    /// The location with the password stored apart put back into its URL; paths are
    /// returned unchanged.
    pub fn with_password(&self, password: &str) -> Self {
        match self {
            Self::Postgres(url) => Self::Postgres(url.with_password(password)),
            Self::Mysql(url) => Self::Mysql(url.with_password(password)),
            Self::Sqlite(_) | Self::Directory(_) | Self::Frappe(_) => self.clone(),
        }
    }
}

fn absolute(text: &str) -> Result<PathBuf, Invalid> {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Invalid::with_detail("invalid.path.absolute", text))
    }
}

/// The refusal for an I/O error on `path`.
fn io_refusal(path: &Path, error: &std::io::Error) -> Invalid {
    let key = match error.kind() {
        ErrorKind::NotFound => "invalid.path.not_found",
        _ => "invalid.path.not_readable",
    };
    Invalid::with_detail(key, path.display().to_string())
}

fn check_sqlite_file(text: &str) -> Result<PathBuf, Invalid> {
    let path = absolute(text)?;
    let shown = || path.display().to_string();
    let metadata = std::fs::metadata(&path).map_err(|e| io_refusal(&path, &e))?;
    if !metadata.is_file() {
        return Err(Invalid::with_detail("invalid.path.not_file", shown()));
    }
    let mut header = [0u8; 16];
    File::open(&path)
        .and_then(|mut file| file.read_exact(&mut header))
        .map_err(|error| match error.kind() {
            ErrorKind::UnexpectedEof => Invalid::with_detail("invalid.path.not_sqlite", shown()),
            _ => io_refusal(&path, &error),
        })?;
    if &header != SQLITE_HEADER {
        return Err(Invalid::with_detail("invalid.path.not_sqlite", shown()));
    }
    Ok(path)
}

/// The kernel's own filesystems: what they hold is no file to back up, and reading some of
/// it has effects or never ends.
const VIRTUAL_FILESYSTEMS: [&str; 3] = ["/proc", "/sys", "/dev"];

fn check_directory(text: &str) -> Result<PathBuf, Invalid> {
    let path = absolute(text)?;
    let metadata = std::fs::metadata(&path).map_err(|e| io_refusal(&path, &e))?;
    let resolved = std::fs::canonicalize(&path).map_err(|e| io_refusal(&path, &e))?;
    if VIRTUAL_FILESYSTEMS
        .iter()
        .any(|virtual_root| resolved.starts_with(virtual_root))
    {
        return Err(Invalid::with_detail(
            "invalid.path.virtual",
            path.display().to_string(),
        ));
    }
    if !metadata.is_dir() {
        return Err(Invalid::with_detail(
            "invalid.path.not_directory",
            path.display().to_string(),
        ));
    }
    std::fs::read_dir(&path).map_err(|e| io_refusal(&path, &e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn refusal(kind: SourceKind, input: &str) -> &'static str {
        SourceLocation::parse(kind, input).unwrap_err().key
    }

    fn sqlite_file(dir: &Path) -> PathBuf {
        let path = dir.join("erp.sqlite3");
        let mut bytes = SQLITE_HEADER.to_vec();
        bytes.resize(4096, 0);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Whether this process can read files whatever their permissions (it runs as root).
    fn reads_anything(dir: &Path) -> bool {
        let probe = dir.join("probe");
        fs::write(&probe, b"x").unwrap();
        fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).unwrap();
        File::open(&probe).is_ok()
    }

    #[test]
    fn a_sqlite_database_file_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = sqlite_file(dir.path());
        let location =
            SourceLocation::parse(SourceKind::Sqlite, &format!(" {} ", path.display())).unwrap();
        assert_eq!(location.kind(), SourceKind::Sqlite);
        assert_eq!(location.as_path(), Some(path.as_path()));
        assert_eq!(location.password(), None);
        assert_eq!(location.masked(), path.display().to_string());
        assert_eq!(location.without_password(), path.display().to_string());
        assert_eq!(location.with_password("ignored"), location);
    }

    #[test]
    fn sqlite_paths_are_checked_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        fs::write(&text, "SQLite format 2, not quite").unwrap();
        let short = dir.path().join("short.db");
        fs::write(&short, "SQLite").unwrap();
        let shown = |p: &Path| p.display().to_string();
        assert_eq!(refusal(SourceKind::Sqlite, ""), "invalid.required");
        assert_eq!(
            refusal(SourceKind::Sqlite, "data/erp.sqlite3"),
            "invalid.path.absolute"
        );
        assert_eq!(
            refusal(SourceKind::Sqlite, &shown(&dir.path().join("missing.db"))),
            "invalid.path.not_found"
        );
        assert_eq!(
            refusal(SourceKind::Sqlite, &shown(dir.path())),
            "invalid.path.not_file"
        );
        assert_eq!(
            refusal(SourceKind::Sqlite, &shown(&text)),
            "invalid.path.not_sqlite"
        );
        assert_eq!(
            refusal(SourceKind::Sqlite, &shown(&short)),
            "invalid.path.not_sqlite"
        );
        let invalid = SourceLocation::parse(SourceKind::Sqlite, &shown(&text)).unwrap_err();
        assert_eq!(invalid.detail, Some(shown(&text)));
    }

    #[test]
    fn an_unreadable_sqlite_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        if reads_anything(dir.path()) {
            return;
        }
        let path = sqlite_file(dir.path());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(
            refusal(SourceKind::Sqlite, &path.display().to_string()),
            "invalid.path.not_readable"
        );
    }

    #[test]
    fn a_directory_is_accepted_and_checked_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let location =
            SourceLocation::parse(SourceKind::Directory, &dir.path().display().to_string())
                .unwrap();
        assert_eq!(location.kind(), SourceKind::Directory);
        assert_eq!(location.as_path(), Some(dir.path()));
        let file = sqlite_file(dir.path());
        assert_eq!(
            refusal(SourceKind::Directory, &file.display().to_string()),
            "invalid.path.not_directory"
        );
        assert_eq!(
            refusal(SourceKind::Directory, "files/public"),
            "invalid.path.absolute"
        );
        let missing = dir.path().join("missing");
        assert_eq!(
            refusal(SourceKind::Directory, &missing.display().to_string()),
            "invalid.path.not_found"
        );
    }

    #[test]
    fn the_kernels_own_filesystems_are_refused() {
        for path in ["/proc", "/sys/kernel", "/dev"] {
            assert_eq!(refusal(SourceKind::Directory, path), "invalid.path.virtual");
        }
    }

    #[test]
    fn a_directory_holds_itself_and_what_is_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        let parent =
            SourceLocation::parse(SourceKind::Directory, &dir.path().display().to_string())
                .unwrap();
        assert!(parent.holds(&data));
        assert!(parent.holds(dir.path()));
        let child =
            SourceLocation::parse(SourceKind::Directory, &data.display().to_string()).unwrap();
        assert!(!child.holds(dir.path()));
    }

    #[test]
    fn an_unreadable_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        if reads_anything(dir.path()) {
            return;
        }
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(
            refusal(SourceKind::Directory, &locked.display().to_string()),
            "invalid.path.not_readable"
        );
    }

    #[test]
    fn database_urls_keep_their_password_apart() {
        let location =
            SourceLocation::parse(SourceKind::Postgres, "postgresql://backup:s3cret@db/erp")
                .unwrap();
        assert_eq!(location.kind(), SourceKind::Postgres);
        assert_eq!(location.as_path(), None);
        assert_eq!(location.password(), Some("s3cret"));
        assert_eq!(location.without_password(), "postgresql://backup@db/erp");
        assert_eq!(location.masked(), "postgresql://backup:***@db/erp");
        assert!(!format!("{location:?}").contains("s3cret"));
        let stored =
            SourceLocation::parse(SourceKind::Postgres, &location.without_password()).unwrap();
        assert_eq!(stored.with_password("s3cret"), location);
        let mysql =
            SourceLocation::parse(SourceKind::Mysql, "mariadb://root:pw@127.0.0.1:3306/wiki")
                .unwrap();
        assert_eq!(mysql.kind(), SourceKind::Mysql);
        assert_eq!(
            mysql.database_url().map(DatabaseUrl::database).as_deref(),
            Some("wiki")
        );
    }
}
