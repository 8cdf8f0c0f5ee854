//! A Frappe or Dokos site folder (`…/frappe-bench/sites/<site>`) and what its configuration
//! says of its database: `site_config.json` read over `../common_site_config.json`, as
//! Frappe itself reads them. The password stays in those files: it is read at each run,
//! never stored by this app.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::database_url::percent_encode;
use super::{DatabaseUrl, Invalid, SourceKind};

/// The site's own configuration file, inside the site folder.
pub const SITE_CONFIG: &str = "site_config.json";
/// The bench's configuration shared by its sites, beside the site folders.
pub const COMMON_SITE_CONFIG: &str = "common_site_config.json";

/// A site folder, and whether its public and private files are backed up with its database
/// ("Backup files", on by default as in Dokos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFolder {
    path: PathBuf,
    with_files: bool,
}

/// The database a site's configuration names, its password included (masked by `Debug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteDatabase {
    /// `Mysql` (Frappe's `mariadb`) or `Postgres`.
    pub kind: SourceKind,
    pub url: DatabaseUrl,
}

impl SiteDatabase {
    /// Frappe's name of the database type: `mariadb` or `postgres`.
    pub fn db_type(&self) -> &'static str {
        match self.kind {
            SourceKind::Postgres => "postgres",
            _ => "mariadb",
        }
    }
}

impl SiteFolder {
    /// A folder typed in the form: absolute, a directory, with a configuration that names
    /// its database.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let site = Self::from_stored(text)?;
        match std::fs::metadata(&site.path) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(Invalid::with_detail(
                    "invalid.path.not_directory",
                    site.shown(),
                ));
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(Invalid::with_detail("invalid.path.not_found", site.shown()));
            }
            Err(_) => {
                return Err(Invalid::with_detail(
                    "invalid.path.not_readable",
                    site.shown(),
                ));
            }
        }
        site.database()?;
        Ok(site)
    }

    /// A folder read back from the store: only its form is checked, so that a site gone
    /// missing fails its backup rather than every load.
    pub fn from_stored(text: &str) -> Result<Self, Invalid> {
        let path = PathBuf::from(text.trim().trim_end_matches('/'));
        if !path.is_absolute() || path.file_name().is_none() {
            return Err(Invalid::with_detail("invalid.path.absolute", text.trim()));
        }
        Ok(Self {
            path,
            with_files: true,
        })
    }

    /// The same site, its files backed up or not.
    pub fn including_files(self, with_files: bool) -> Self {
        Self { with_files, ..self }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn with_files(&self) -> bool {
        self.with_files
    }

    /// The site's name, as `bench --site` takes it: the folder's name.
    pub fn site(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Why this site cannot be backed up beside another of the same name: their objects
    /// would have the same names.
    pub fn same_name_as_another(&self) -> Invalid {
        Invalid::with_detail("invalid.site.same_name", self.site())
    }

    /// The site's name as bench writes it in backup file names: dots become underscores.
    pub fn slug(&self) -> String {
        site_slug(&self.site())
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The database the site's configuration names, read now from its files.
    pub fn database(&self) -> Result<SiteDatabase, Invalid> {
        let own = read_config(&self.path.join(SITE_CONFIG), true)?;
        let common = match self.path.parent() {
            Some(bench_sites) => read_config(&bench_sites.join(COMMON_SITE_CONFIG), false)?,
            None => Map::new(),
        };
        database_of(&own, &common)
    }
}

/// `site` with its dots replaced by underscores, as bench names its backup files.
pub fn site_slug(site: &str) -> String {
    site.replace('.', "_")
}

/// The JSON object in `path`; a missing file is an error only when `required`.
fn read_config(path: &Path, required: bool) -> Result<Map<String, Value>, Invalid> {
    let shown = || path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound && !required => return Ok(Map::new()),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            let folder = path.parent().unwrap_or(path).display().to_string();
            return Err(Invalid::with_detail("invalid.site.no_config", folder));
        }
        Err(_) => return Err(Invalid::with_detail("invalid.site.unreadable", shown())),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Invalid::with_detail("invalid.site.not_json", shown())),
    }
}

/// The value of `key`, the site's own over the bench's.
fn lookup<'a>(
    own: &'a Map<String, Value>,
    common: &'a Map<String, Value>,
    key: &str,
) -> Option<&'a Value> {
    own.get(key)
        .or_else(|| common.get(key))
        .filter(|value| !value.is_null())
}

/// A text setting; a number is taken as its digits (ports are written both ways).
fn text(
    own: &Map<String, Value>,
    common: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, Invalid> {
    match lookup(own, common, key) {
        None => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Invalid::with_detail("invalid.site.not_text", key)),
    }
}

fn database_of(
    own: &Map<String, Value>,
    common: &Map<String, Value>,
) -> Result<SiteDatabase, Invalid> {
    let kind = match text(own, common, "db_type")?.as_deref() {
        None | Some("mariadb" | "mysql") => SourceKind::Mysql,
        Some("postgres" | "postgresql") => SourceKind::Postgres,
        Some(other) => return Err(Invalid::with_detail("invalid.site.db_type", other)),
    };
    let name =
        text(own, common, "db_name")?.ok_or_else(|| Invalid::new("invalid.site.no_db_name"))?;
    if name.starts_with('-') || name.contains('/') {
        return Err(Invalid::with_detail("invalid.site.db_name", name));
    }
    let user = text(own, common, "db_user")?.unwrap_or_else(|| name.clone());
    let password = text(own, common, "db_password")?;
    let socket = text(own, common, "db_socket")?;
    let host = text(own, common, "db_host")?;
    let port = match text(own, common, "db_port")? {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| Invalid::with_detail("invalid.site.db_port", port))?,
        ),
    };
    let (scheme, default_port) = match kind {
        SourceKind::Postgres => ("postgresql", 5432),
        _ => ("mysql", 3306),
    };
    let mut url = match (&socket, &host) {
        // A local socket: the host is only a placeholder the URL needs.
        (Some(_), None) => format!("{scheme}://{}@localhost", percent_encode(&user)),
        _ => {
            let host = host.as_deref().unwrap_or("127.0.0.1");
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            format!(
                "{scheme}://{}@{host}:{}",
                percent_encode(&user),
                port.unwrap_or(default_port)
            )
        }
    };
    url.push('/');
    url.push_str(&percent_encode(&name));
    if let (Some(socket), None) = (&socket, &host) {
        let option = match kind {
            SourceKind::Postgres => "host",
            _ => "socket",
        };
        url.push_str(&format!("?{option}={}", percent_encode(socket)));
    }
    let parsed = DatabaseUrl::parse(kind, &url).map_err(|invalid| {
        Invalid::with_detail("invalid.site.db_settings", invalid.message("en"))
    })?;
    Ok(SiteDatabase {
        kind,
        url: match password {
            Some(password) => parsed.with_password(&password),
            None => parsed,
        },
    })
}

/// The site folders of a bench: each folder of `<bench>/sites` (or of `bench` itself, when
/// it is the sites folder) that holds a `site_config.json`, sorted by name.
pub fn sites_of_bench(bench: &Path) -> Vec<PathBuf> {
    let sites = if bench.join(COMMON_SITE_CONFIG).is_file() || !bench.join("sites").is_dir() {
        bench.to_owned()
    } else {
        bench.join("sites")
    };
    let Ok(entries) = std::fs::read_dir(&sites) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join(SITE_CONFIG).is_file())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A bench with one site whose configuration is `own`, the bench's being `common`.
    fn bench(own: &str, common: Option<&str>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sites = dir.path().join("frappe-bench").join("sites");
        let site = sites.join("erp.example.com");
        fs::create_dir_all(&site).expect("the site folder");
        fs::write(site.join(SITE_CONFIG), own).expect("site_config.json");
        if let Some(common) = common {
            fs::write(sites.join(COMMON_SITE_CONFIG), common).expect("common_site_config.json");
        }
        (dir, site)
    }

    fn refusal(site: &Path) -> Invalid {
        SiteFolder::parse(&site.display().to_string()).expect_err("refused")
    }

    #[test]
    fn the_site_config_is_read_over_the_common_one() {
        let (_dir, site) = bench(
            r#"{"db_name": "_1bd3e0294da19198", "db_password": "p@ss/word"}"#,
            Some(r#"{"db_host": "10.0.0.5", "db_port": "3307", "db_name": "other"}"#),
        );

        let folder = SiteFolder::parse(&site.display().to_string()).expect("a site");
        let database = folder.database().expect("its database");

        assert_eq!(folder.site(), "erp.example.com");
        assert_eq!(folder.slug(), "erp_example_com");
        assert!(folder.with_files());
        assert_eq!(database.kind, SourceKind::Mysql);
        assert_eq!(database.db_type(), "mariadb");
        assert_eq!(database.url.host(), "10.0.0.5");
        assert_eq!(database.url.port(), Some(3307));
        assert_eq!(database.url.database(), "_1bd3e0294da19198");
        assert_eq!(
            database.url.username().as_deref(),
            Some("_1bd3e0294da19198")
        );
        assert_eq!(database.url.password(), Some("p@ss/word"));
        assert!(!format!("{database:?}").contains("p@ss"));
    }

    #[test]
    fn postgres_and_sockets_and_users_are_read() {
        let (_dir, site) = bench(
            r#"{"db_type": "postgres", "db_name": "erp", "db_user": "erp_owner", "db_port": 5433}"#,
            None,
        );
        let database = SiteFolder::parse(&site.display().to_string())
            .and_then(|site| site.database())
            .expect("a postgres site");
        assert_eq!(database.kind, SourceKind::Postgres);
        assert_eq!(database.url.port(), Some(5433));
        assert_eq!(database.url.username().as_deref(), Some("erp_owner"));
        assert_eq!(database.url.password(), None);

        let (_dir, site) = bench(
            r#"{"db_name": "erp", "db_socket": "/run/mysqld/mysqld.sock"}"#,
            None,
        );
        let database = SiteFolder::parse(&site.display().to_string())
            .and_then(|site| site.database())
            .expect("a site on a socket");
        assert_eq!(
            database.url.query("socket").as_deref(),
            Some("/run/mysqld/mysqld.sock")
        );
    }

    #[test]
    fn each_problem_of_a_site_folder_has_its_message() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        assert_eq!(refusal(dir.path()).key, "invalid.site.no_config");
        assert_eq!(
            refusal(&dir.path().join("gone")).key,
            "invalid.path.not_found"
        );
        assert_eq!(
            SiteFolder::parse("sites/erp").expect_err("relative").key,
            "invalid.path.absolute"
        );

        let (_dir, site) = bench(r#"{"db_password": "x"}"#, None);
        assert_eq!(refusal(&site).key, "invalid.site.no_db_name");
        let (_dir, site) = bench("{ not json", None);
        assert_eq!(refusal(&site).key, "invalid.site.not_json");
        let (_dir, site) = bench(r#"{"db_name": "erp", "db_type": "oracle"}"#, None);
        assert_eq!(refusal(&site).key, "invalid.site.db_type");
        let (_dir, site) = bench(r#"{"db_name": "erp", "db_port": "lots"}"#, None);
        assert_eq!(refusal(&site).key, "invalid.site.db_port");
        let (_dir, site) = bench(r#"{"db_name": "--help"}"#, None);
        assert_eq!(refusal(&site).key, "invalid.site.db_name");
        let (_dir, site) = bench(r#"{"db_name": "erp"}"#, Some("[1, 2]"));
        assert_eq!(refusal(&site).key, "invalid.site.not_json");
    }

    #[test]
    fn the_sites_of_a_bench_are_found_from_the_bench_or_its_sites_folder() {
        let (dir, site) = bench(r#"{"db_name": "erp"}"#, Some("{}"));
        let sites = site.parent().expect("the sites folder");
        fs::create_dir(sites.join("assets")).expect("a folder that is no site");
        let bench_folder = dir.path().join("frappe-bench");

        assert_eq!(sites_of_bench(&bench_folder), vec![site.clone()]);
        assert_eq!(sites_of_bench(sites), vec![site]);
        assert!(sites_of_bench(&dir.path().join("nothing")).is_empty());
    }
}
