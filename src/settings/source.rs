//! What a source is called and where it lives: a file, a directory, or a connection URL.

use std::io::Read;
use std::path::{Path, PathBuf};

use url::Url;

use super::input::required;
use super::{Invalid, SourceKind};

/// A source's name, which also names its object in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName(String);

impl SourceName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = required(input)?;
        if name.len() > 64 {
            return Err(Invalid::new("invalid.source_name_length"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(Invalid::new("invalid.source_name_chars"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a source is: a checked path, or a database URL of the right scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    Path(PathBuf),
    Url(Url),
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

impl SourceLocation {
    pub fn parse(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        match kind {
            SourceKind::Sqlite => sqlite_file(text).map(Self::Path),
            SourceKind::Directory => directory(text).map(Self::Path),
            SourceKind::Postgres => database_url(text, &["postgres", "postgresql"]).map(Self::Url),
            SourceKind::Mysql => database_url(text, &["mysql", "mariadb"]).map(Self::Url),
        }
    }

    /// The location as stored or passed to tools (a URL with its password, if any).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Path(path) => path.to_str().unwrap_or_default(),
            Self::Url(url) => url.as_str(),
        }
    }

    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Self::Path(path) => Some(path),
            Self::Url(_) => None,
        }
    }

    /// The URL's password, percent-decoded.
    pub fn password(&self) -> Option<String> {
        match self {
            Self::Url(url) => url.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            }),
            Self::Path(_) => None,
        }
    }

    /// The location without any password.
    pub fn without_password(&self) -> String {
        match self {
            Self::Url(url) => {
                let mut url = url.clone();
                // A URL that has a host can always lose its password.
                let _ = url.set_password(None);
                url.to_string()
            }
            Self::Path(_) => self.as_str().to_owned(),
        }
    }

    /// The location with any password shown as `***`.
    pub fn masked(&self) -> String {
        match self {
            Self::Url(url) if url.password().is_some() => {
                let mut url = url.clone();
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.as_str().to_owned(),
        }
    }

    /// The same location with `password` set (a URL stored without it, put back together).
    pub fn with_password(&self, password: &str) -> Self {
        match self {
            Self::Url(url) => {
                let mut url = url.clone();
                let encoded: String =
                    url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
                let _ = url.set_password(Some(&encoded.replace('+', "%20")));
                Self::Url(url)
            }
            Self::Path(_) => self.clone(),
        }
    }
}

fn absolute(text: &str) -> Result<PathBuf, Invalid> {
    let path = PathBuf::from(text);
    if !path.is_absolute() {
        return Err(Invalid::new("invalid.path_relative"));
    }
    Ok(path)
}

fn sqlite_file(text: &str) -> Result<PathBuf, Invalid> {
    let path = absolute(text)?;
    let meta = std::fs::metadata(&path).map_err(|_| Invalid::new("invalid.path_missing"))?;
    if !meta.is_file() {
        return Err(Invalid::new("invalid.sqlite_not_file"));
    }
    let mut header = [0u8; 16];
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => Invalid::new("invalid.path_unreadable"),
            _ => Invalid::new("invalid.sqlite_not_database"),
        })?;
    if &header != SQLITE_HEADER {
        return Err(Invalid::new("invalid.sqlite_not_database"));
    }
    Ok(path)
}

fn directory(text: &str) -> Result<PathBuf, Invalid> {
    let path = absolute(text)?;
    let meta = std::fs::metadata(&path).map_err(|_| Invalid::new("invalid.path_missing"))?;
    if !meta.is_dir() {
        return Err(Invalid::new("invalid.not_directory"));
    }
    std::fs::read_dir(&path).map_err(|_| Invalid::new("invalid.path_unreadable"))?;
    Ok(path)
}

fn database_url(text: &str, schemes: &[&str]) -> Result<Url, Invalid> {
    let expected = format!("{}://", schemes[0]);
    let url =
        Url::parse(text).map_err(|_| Invalid::with_detail("invalid.db_url", expected.clone()))?;
    if !schemes.contains(&url.scheme()) {
        return Err(Invalid::with_detail("invalid.db_url_scheme", expected));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::new("invalid.db_url_host"));
    }
    if url.path().trim_matches('/').is_empty() {
        return Err(Invalid::new("invalid.db_url_database"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_lowercase_slugs() {
        assert!(SourceName::parse("erp_db-1").is_ok());
        assert_eq!(
            SourceName::parse("ERP").unwrap_err().key,
            "invalid.source_name_chars"
        );
        assert_eq!(
            SourceName::parse("a/b").unwrap_err().key,
            "invalid.source_name_chars"
        );
        assert_eq!(SourceName::parse("").unwrap_err().key, "invalid.required");
    }

    #[test]
    fn paths_are_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path().to_str().expect("utf-8");
        assert!(SourceLocation::parse(SourceKind::Directory, d).is_ok());
        let key = |k, p: &str| SourceLocation::parse(k, p).unwrap_err().key;
        assert_eq!(
            key(SourceKind::Directory, "relative/dir"),
            "invalid.path_relative"
        );
        assert_eq!(
            key(SourceKind::Directory, "/no/such/dir"),
            "invalid.path_missing"
        );
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello, this is not a database").expect("write");
        let t = text.to_str().expect("utf-8");
        assert_eq!(key(SourceKind::Directory, t), "invalid.not_directory");
        assert_eq!(key(SourceKind::Sqlite, t), "invalid.sqlite_not_database");
        assert_eq!(key(SourceKind::Sqlite, d), "invalid.sqlite_not_file");
        let db = dir.path().join("app.sqlite3");
        let mut bytes = SQLITE_HEADER.to_vec();
        bytes.extend([0u8; 84]);
        std::fs::write(&db, bytes).expect("write");
        assert!(SourceLocation::parse(SourceKind::Sqlite, db.to_str().expect("utf-8")).is_ok());
    }

    #[test]
    fn urls_need_the_right_scheme_a_host_and_a_database() {
        let key = |k, p: &str| SourceLocation::parse(k, p).unwrap_err().key;
        assert_eq!(
            key(SourceKind::Postgres, "mysql://h/db"),
            "invalid.db_url_scheme"
        );
        assert_eq!(key(SourceKind::Mysql, "not a url"), "invalid.db_url");
        assert_eq!(
            key(SourceKind::Postgres, "postgres://host"),
            "invalid.db_url_database"
        );
        assert!(
            SourceLocation::parse(SourceKind::Mysql, "mariadb://root@127.0.0.1:3306/crm").is_ok()
        );
    }

    #[test]
    fn passwords_are_split_masked_and_put_back() {
        let loc = SourceLocation::parse(SourceKind::Postgres, "postgres://u:p%40ss@db:5432/erp")
            .expect("url");
        assert_eq!(loc.password().as_deref(), Some("p@ss"));
        assert_eq!(loc.masked(), "postgres://u:***@db:5432/erp");
        let bare = loc.without_password();
        assert_eq!(bare, "postgres://u@db:5432/erp");
        let back = SourceLocation::parse(SourceKind::Postgres, &bare)
            .expect("url")
            .with_password("p@ss");
        assert_eq!(back.password().as_deref(), Some("p@ss"));
    }

    proptest! {
        #[test]
        fn any_password_survives_the_round_trip(p in "[ -~]{1,24}") {
            let bare = SourceLocation::parse(SourceKind::Mysql, "mysql://u@h/db").expect("url");
            let full = bare.with_password(&p);
            prop_assert_eq!(full.password(), Some(p.clone()));
            let shown = full.masked();
            prop_assert!(shown.contains(":***@"));
        }
    }
}
