//! The database server verifications test-restore dumps on when their source is not
//! configured on this machine (a new installation given only the bucket): a PostgreSQL or
//! MariaDB URL, its password stored sealed and never shown.

use super::{DatabaseUrl, Invalid, SourceKind};

/// A scratch server as typed: its kind (from the URL's scheme) and URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScratchServer {
    pub kind: SourceKind,
    pub url: DatabaseUrl,
}

impl ScratchServer {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = input.trim();
        let kind = typed_kind(text).ok_or_else(|| Invalid::new("invalid.scratch_server"))?;
        // A URL of the right shape keeps its own reason (a refused option, a name a tool
        // would read as an option); a malformed one gets this field's example.
        let url = DatabaseUrl::parse(kind, text).map_err(|invalid| match invalid.key {
            "invalid.db_url.format" => Invalid::new("invalid.scratch_server"),
            _ => invalid,
        })?;
        Ok(Self { kind, url })
    }

    /// A server read back from the store: query options saved before they were limited
    /// stay readable.
    pub fn from_stored(input: &str) -> Result<Self, Invalid> {
        let text = input.trim();
        let kind = typed_kind(text).ok_or_else(|| Invalid::new("invalid.scratch_server"))?;
        let url = DatabaseUrl::from_stored(kind, text)?;
        Ok(Self { kind, url })
    }

    /// As a page shows it: the password masked.
    pub fn shown(&self) -> String {
        self.url.masked()
    }
}

/// The kind of server a URL's scheme names.
fn typed_kind(text: &str) -> Option<SourceKind> {
    match text.split_once("://").map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => Some(SourceKind::Postgres),
        Some("mysql" | "mariadb") => Some(SourceKind::Mysql),
        _ => None,
    }
}

/// The scratch server as stored: sealed whole, and as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedScratchServer {
    pub sealed: Vec<u8>,
    pub shown: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_says_the_kind_and_the_password_is_never_shown() {
        let server =
            ScratchServer::parse("postgresql://verify:s3cret@db.example.com:5432/postgres")
                .expect("a PostgreSQL URL");
        assert_eq!(server.kind, SourceKind::Postgres);
        assert!(!server.shown().contains("s3cret"));
        let server = ScratchServer::parse("mysql://root@127.0.0.1:3306/mysql").expect("MariaDB");
        assert_eq!(server.kind, SourceKind::Mysql);
        for bad in ["", "db.example.com", "sqlite:///x", "postgresql://"] {
            assert!(ScratchServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_database_name_a_tool_would_read_as_an_option_is_refused_with_its_reason() {
        assert_eq!(
            ScratchServer::parse("mysql://root@localhost/--result-file%3D%2Ftmp%2Fx.sql"),
            Err(Invalid::new("invalid.db_url.database_dash"))
        );
    }
}
