//! The connection URL of a PostgreSQL or MariaDB/MySQL source, whose password is kept
//! apart (encrypted) from the rest of the URL.

use std::fmt;

use url::Url;

use super::{Invalid, SecretDestination, SourceKind};

/// A `postgresql://` or `mysql://` URL with a host and a database name. `Debug` masks
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: Url,
    /// The password, percent-decoded.
    password: Option<String>,
}

/// Query options that leave where the connection goes, and how it is protected, as it was:
/// left out when deciding whether a stored password may go with the URL.
const HARMLESS_OPTIONS: &[&str] = &["connect_timeout", "application_name"];

/// Whether the query option `key` is accepted in a URL of `kind` as typed. Anything else
/// is refused: an option may send the connection (and its password) elsewhere, or read a
/// password from a file (`passfile`, `service`).
fn check_option(kind: SourceKind, key: &str, value: &str) -> Result<(), Invalid> {
    match (kind, key) {
        (SourceKind::Postgres, "sslmode" | "sslrootcert")
        | (SourceKind::Postgres, "connect_timeout" | "application_name") => Ok(()),
        // A local socket: a directory (PostgreSQL) or a file (MariaDB), never a server name
        // or a list of them.
        (SourceKind::Postgres, "host") | (SourceKind::Mysql, "socket") => {
            if value.starts_with('/') && !value.contains(',') {
                Ok(())
            } else {
                Err(Invalid::with_detail("invalid.db_url.socket_path", key))
            }
        }
        (SourceKind::Postgres, _) => {
            Err(Invalid::with_detail("invalid.db_url.option_postgres", key))
        }
        _ => Err(Invalid::with_detail("invalid.db_url.option_mysql", key)),
    }
}

impl DatabaseUrl {
    /// `kind` must be `Postgres` or `Mysql`. Only a few query options are accepted (see
    /// `check_option`).
    pub fn parse(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        let url = Self::parse_with_any_options(kind, input)?;
        for (key, value) in url.url.query_pairs() {
            check_option(kind, &key, &value)?;
        }
        Ok(url)
    }

    /// A URL read back from the store: its form is checked as typed, but query options
    /// saved before they were limited stay readable (they count in `destination`).
    pub fn from_stored(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        Self::parse_with_any_options(kind, input)
    }

    fn parse_with_any_options(kind: SourceKind, input: &str) -> Result<Self, Invalid> {
        let (schemes, scheme_key, example) = match kind {
            SourceKind::Postgres => (
                &["postgresql", "postgres"][..],
                "invalid.db_url.scheme_postgres",
                "postgresql://user@localhost:5432/database",
            ),
            SourceKind::Mysql => (
                &["mysql", "mariadb"][..],
                "invalid.db_url.scheme_mysql",
                "mysql://user@localhost:3306/database",
            ),
            SourceKind::Sqlite | SourceKind::Directory | SourceKind::Frappe => {
                return Err(Invalid::new("invalid.source_kind"));
            }
        };
        let format = || Invalid::with_detail("invalid.db_url.format", example);
        if !input.contains("://") {
            return Err(format());
        }
        let url = Url::parse(input).map_err(|_| format())?;
        if !schemes.contains(&url.scheme()) {
            return Err(Invalid::new(scheme_key));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new("invalid.db_url.host"));
        }
        if url.fragment().is_some() {
            return Err(format());
        }
        // A password in the query would be stored and shown in clear: it goes after the
        // user name, where it is split off and sealed.
        if url
            .query_pairs()
            .any(|(key, _)| matches!(key.as_ref(), "password" | "sslpassword"))
        {
            return Err(Invalid::new("invalid.db_url.query_password"));
        }
        let database = url.path().strip_prefix('/').unwrap_or(url.path());
        if database.is_empty() || database.contains('/') {
            return Err(Invalid::new("invalid.db_url.database"));
        }
        let encoding = || Invalid::new("invalid.db_url.encoding");
        // A name a dump tool would read as an option (`--result-file=…`) is refused.
        if percent_decode(database)
            .ok_or_else(encoding)?
            .starts_with('-')
        {
            return Err(Invalid::new("invalid.db_url.database_dash"));
        }
        percent_decode(url.username()).ok_or_else(encoding)?;
        let password = match url.password() {
            Some(encoded) => Some(percent_decode(encoded).ok_or_else(encoding)?),
            None => None,
        };
        Ok(Self { url, password })
    }

    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    pub fn port(&self) -> Option<u16> {
        self.url.port()
    }

    /// The user name, percent-decoded; `None` when the URL has none.
    pub fn username(&self) -> Option<String> {
        Some(self.url.username())
            .filter(|user| !user.is_empty())
            .and_then(percent_decode)
    }

    /// The database name, percent-decoded.
    pub fn database(&self) -> String {
        let path = self.url.path();
        percent_decode(path.strip_prefix('/').unwrap_or(path)).unwrap_or_default()
    }

    /// The password, percent-decoded.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The URL without its password: what is stored in clear and shown in the form.
    pub fn without_password(&self) -> String {
        let mut url = self.url.clone();
        // Only fails for URLs that cannot have a password, which a parsed one can.
        let _ = url.set_password(None);
        url.to_string()
    }

    /// The URL with `***` in place of a password, for logs and pages.
    pub fn masked(&self) -> String {
        let mut url = self.url.clone();
        if self.password.is_some() {
            let _ = url.set_password(Some("***"));
        }
        url.to_string()
    }

    /// This URL with `password` put in, as stored apart; an empty one removes it.
    pub fn with_password(&self, password: &str) -> Self {
        let mut url = self.url.clone();
        let password = Some(password).filter(|p| !p.is_empty());
        // `set_password` leaves `%` as it is, so encode everything beforehand.
        let _ = url.set_password(password.map(percent_encode).as_deref());
        Self {
            url,
            password: password.map(str::to_owned),
        }
    }

    /// Where a password given with this URL would go: scheme, server, port, user, and every
    /// query option but the harmless ones (libpq reads `host`, `hostaddr` and `port` there,
    /// MariaDB `socket`; `sslmode` decides whether the password travels in clear).
    pub fn destination(&self) -> SecretDestination {
        let mut query: Vec<(String, String)> = self
            .url
            .query_pairs()
            .filter(|(key, _)| !HARMLESS_OPTIONS.contains(&key.as_ref()))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        query.sort();
        let mut destination = SecretDestination::new()
            .part("scheme", self.url.scheme())
            .part("host", self.host())
            .part(
                "port",
                self.port().map(|p| p.to_string()).unwrap_or_default(),
            )
            .part("user", self.username().unwrap_or_default());
        for (key, value) in query {
            destination = destination.part("query", format!("{key}={value}"));
        }
        destination
    }

    /// The URL without its password, for a tool that takes the password apart.
    pub fn url_without_password(&self) -> Url {
        let mut url = self.url.clone();
        let _ = url.set_password(None);
        url
    }

    /// This URL naming the database `name` on the same server, as the same user.
    pub fn with_database(&self, name: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{}", percent_encode(name)));
        Self {
            url,
            password: self.password.clone(),
        }
    }

    /// The query option `name`, if given.
    pub fn query(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The full URL, password included: only for the dump tool's connection.
    pub fn expose(&self) -> &Url {
        &self.url
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.masked()).finish()
    }
}

/// Encodes every byte but letters, digits and `-._~` as `%XX`.
pub(super) fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Decodes `%XX` sequences; `None` when the result is not UTF-8 or a `%` is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            decoded.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn postgres(input: &str) -> Result<DatabaseUrl, Invalid> {
        DatabaseUrl::parse(SourceKind::Postgres, input)
    }

    fn mysql(input: &str) -> Result<DatabaseUrl, Invalid> {
        DatabaseUrl::parse(SourceKind::Mysql, input)
    }

    #[test]
    fn a_database_name_a_tool_would_read_as_an_option_is_refused() {
        for input in [
            "mysql://root@localhost/--result-file%3D%2Ftmp%2Fx.sql",
            "mysql://root@localhost/-x",
            "postgresql://u@localhost/--help",
        ] {
            let kind = if input.starts_with("mysql") {
                SourceKind::Mysql
            } else {
                SourceKind::Postgres
            };
            assert_eq!(
                DatabaseUrl::parse(kind, input).map(|_| ()),
                Err(Invalid::new("invalid.db_url.database_dash")),
                "{input}"
            );
        }
    }

    #[test]
    fn only_a_few_query_options_are_accepted_and_a_refused_one_is_named() {
        for accepted in [
            "postgresql://u@db/erp?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem",
            "postgresql://u@db/erp?connect_timeout=5&application_name=backup",
            "postgresql://u@localhost/erp?host=/var/run/postgresql",
        ] {
            assert!(postgres(accepted).is_ok(), "{accepted}");
        }
        assert!(mysql("mysql://u@localhost/crm?socket=/run/mysqld/mysqld.sock").is_ok());
        for (input, option) in [
            ("postgresql://u@127.0.0.1:5432/db?port=18933", "port"),
            ("postgresql://u@127.0.0.1/db?hostaddr=10.0.0.9", "hostaddr"),
            (
                "postgresql://u@127.0.0.1/db?passfile=/root/.pgpass",
                "passfile",
            ),
            ("postgresql://u@127.0.0.1/db?service=prod", "service"),
        ] {
            assert_eq!(
                postgres(input).map(|_| ()),
                Err(Invalid::with_detail(
                    "invalid.db_url.option_postgres",
                    option
                )),
                "{input}"
            );
        }
        assert_eq!(
            mysql("mysql://u@127.0.0.1/crm?port=3307").map(|_| ()),
            Err(Invalid::with_detail("invalid.db_url.option_mysql", "port"))
        );
        for (input, option) in [
            (
                "postgresql://u@127.0.0.1/db?host=attacker.example.com",
                "host",
            ),
            (
                "postgresql://u@127.0.0.1/db?host=/tmp,attacker.example.com",
                "host",
            ),
        ] {
            assert_eq!(
                postgres(input).map(|_| ()),
                Err(Invalid::with_detail("invalid.db_url.socket_path", option)),
                "{input}"
            );
        }
        assert_eq!(
            mysql("mysql://u@127.0.0.1/crm?socket=db.example.com").map(|_| ()),
            Err(Invalid::with_detail("invalid.db_url.socket_path", "socket"))
        );
        let invalid = postgres("postgresql://u@h/db?port=1").unwrap_err();
        for locale in ["en", "fr"] {
            assert!(invalid.message(locale).contains("port"), "{locale}");
        }
    }

    #[test]
    fn an_option_stored_before_options_were_limited_still_reads_back() {
        let stored =
            DatabaseUrl::from_stored(SourceKind::Postgres, "postgresql://u@h/db?port=18933")
                .expect("readable");
        assert_eq!(stored.query("port").as_deref(), Some("18933"));
    }

    #[test]
    fn a_password_follows_only_options_that_keep_its_server_and_protection() {
        let plain = postgres("postgresql://u@127.0.0.1:5432/db").expect("valid");
        let named =
            postgres("postgresql://u@127.0.0.1:5432/db?application_name=b&connect_timeout=3")
                .expect("valid");
        assert!(
            named
                .destination()
                .may_receive_password_of(&plain.destination())
        );
        for other in [
            "postgresql://u@127.0.0.1:5432/db?sslmode=disable",
            "postgresql://u@127.0.0.1:5432/db?host=/tmp",
        ] {
            let other = postgres(other).expect("valid");
            assert!(
                !other
                    .destination()
                    .may_receive_password_of(&plain.destination())
            );
        }
        let moved = DatabaseUrl::from_stored(
            SourceKind::Postgres,
            "postgresql://u@127.0.0.1:5432/db?port=18933",
        )
        .expect("readable");
        assert!(
            !moved
                .destination()
                .may_receive_password_of(&plain.destination())
        );
        let socket = mysql("mysql://u@localhost/crm?socket=/tmp/other.sock").expect("valid");
        let tcp = mysql("mysql://u@localhost/crm").expect("valid");
        assert!(
            !socket
                .destination()
                .may_receive_password_of(&tcp.destination())
        );
    }

    #[test]
    fn a_postgres_url_gives_its_parts() {
        let url =
            postgres("postgresql://backup:s%40cr%C3%A9t@db.example.com:5433/erp?sslmode=require")
                .unwrap();
        assert_eq!(url.host(), "db.example.com");
        assert_eq!(url.port(), Some(5433));
        assert_eq!(url.username().as_deref(), Some("backup"));
        assert_eq!(url.database(), "erp");
        assert_eq!(url.password(), Some("s@crét"));
        assert_eq!(
            url.without_password(),
            "postgresql://backup@db.example.com:5433/erp?sslmode=require"
        );
        assert_eq!(
            url.masked(),
            "postgresql://backup:***@db.example.com:5433/erp?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s%40cr"));
        assert!(postgres("postgres://localhost/erp").is_ok());
    }

    #[test]
    fn a_mysql_or_mariadb_url_is_accepted() {
        let url = mysql("mariadb://root@127.0.0.1/wiki").unwrap();
        assert_eq!(url.database(), "wiki");
        assert_eq!(url.password(), None);
        assert_eq!(url.masked(), "mariadb://root@127.0.0.1/wiki");
        assert!(mysql("mysql://u:p@db:3306/crm").is_ok());
    }

    #[test]
    fn the_password_is_put_back_from_storage() {
        let typed = postgres("postgresql://backup:p%2Fss w0rd@db/erp").unwrap();
        let stored = postgres(&typed.without_password()).unwrap();
        assert_eq!(stored.password(), None);
        let rebuilt = stored.with_password(typed.password().unwrap());
        assert_eq!(rebuilt.password(), Some("p/ss w0rd"));
        assert_eq!(rebuilt, typed);
        let reparsed = postgres(rebuilt.expose().as_str()).unwrap();
        assert_eq!(reparsed.password(), Some("p/ss w0rd"));
        assert_eq!(stored.with_password("").password(), None);
    }

    #[test]
    fn malformed_urls_are_refused_with_an_example() {
        let invalid = postgres("localhost:5432/erp").unwrap_err();
        assert_eq!(invalid.key, "invalid.db_url.format");
        assert_eq!(
            invalid.detail.as_deref(),
            Some("postgresql://user@localhost:5432/database")
        );
        assert_eq!(
            postgres("mysql://localhost/erp").unwrap_err().key,
            "invalid.db_url.scheme_postgres"
        );
        assert_eq!(
            mysql("postgresql://localhost/erp").unwrap_err().key,
            "invalid.db_url.scheme_mysql"
        );
        assert_eq!(
            postgres("postgresql:///erp").unwrap_err().key,
            "invalid.db_url.host"
        );
        assert_eq!(
            postgres("postgresql://localhost").unwrap_err().key,
            "invalid.db_url.database"
        );
        assert_eq!(
            postgres("postgresql://localhost/").unwrap_err().key,
            "invalid.db_url.database"
        );
        assert_eq!(
            postgres("postgresql://localhost/a/b").unwrap_err().key,
            "invalid.db_url.database"
        );
        assert_eq!(
            postgres("postgresql://u:%FF@localhost/erp")
                .unwrap_err()
                .key,
            "invalid.db_url.encoding"
        );
    }

    #[test]
    fn percent_encoding_round_trips() {
        assert_eq!(percent_encode("p@ss w%rd/é"), "p%40ss%20w%25rd%2F%C3%A9");
        assert_eq!(
            percent_decode(&percent_encode("p@ss w%rd/é")).as_deref(),
            Some("p@ss w%rd/é")
        );
    }

    #[test]
    fn percent_decoding_handles_bad_sequences() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("100%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
    }

    proptest! {
        #[test]
        fn any_password_survives_storage_apart(password in "\\PC{1,30}") {
            let stored = postgres("postgresql://backup@db.example.com/erp").unwrap();
            let rebuilt = stored.with_password(&password);
            prop_assert_eq!(rebuilt.password(), Some(password.as_str()));
            let reparsed = postgres(rebuilt.expose().as_str()).unwrap();
            prop_assert_eq!(reparsed.password(), Some(password.as_str()));
            prop_assert_eq!(reparsed.without_password(), stored.without_password());
            prop_assert_eq!(reparsed.masked(), "postgresql://backup:***@db.example.com/erp");
        }
    }
}
