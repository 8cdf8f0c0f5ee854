//! A Frappe site folder for tests, as a bench lays it out: `frappe-bench/sites/<site>` with
//! its `site_config.json` (database name and password), the bench's
//! `common_site_config.json` (server address), and public and private files with unicode
//! names, backed by a real MariaDB database of its own user, dropped when the test ends.

use std::path::{Path, PathBuf};

use super::databases::{Databases, Server};

/// The site's name, a domain as Frappe sites usually are.
pub const SITE: &str = "erp.example.com";
/// The site's database password: characters a URL or a shell would mangle.
pub const PASSWORD: &str = "Sésame:ouvre-toi/42@x";

pub struct Site {
    /// Holds the bench.
    pub dir: tempfile::TempDir,
    /// `…/frappe-bench/sites/erp.example.com`.
    pub folder: PathBuf,
    pub databases: Databases,
    /// The site's database, also its user's name (as Frappe makes them).
    pub db_name: String,
}

impl Site {
    /// A site whose database holds the two tables of `Databases::create_source`.
    pub fn new() -> Site {
        let databases = Databases::new(Server::Mariadb);
        let db_name = databases.create_source();
        for host in ["%", "localhost"] {
            Server::Mariadb.sql(
                "information_schema",
                &format!(
                    "CREATE USER '{db_name}'@'{host}' IDENTIFIED BY '{PASSWORD}'; \
                     GRANT ALL PRIVILEGES ON *.* TO '{db_name}'@'{host}'"
                ),
            );
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sites = dir.path().join("frappe-bench").join("sites");
        let folder = sites.join(SITE);
        std::fs::create_dir_all(folder.join("public/files/photos")).expect("public files");
        std::fs::create_dir_all(folder.join("private/files/scans")).expect("private files");
        std::fs::create_dir_all(sites.join("assets")).expect("the bench's assets");
        std::fs::write(
            sites.join("common_site_config.json"),
            r#"{"db_host": "127.0.0.1", "db_port": 3306, "redis_cache": "redis://127.0.0.1:13000"}"#,
        )
        .expect("common_site_config.json");
        let site = Site {
            dir,
            folder,
            databases,
            db_name,
        };
        site.write_config(&serde_json::json!({
            "db_name": site.db_name,
            "db_password": PASSWORD,
            "encryption_key": "c2VjcmV0LWVuY3J5cHRpb24ta2V5LW9mLXRoZS1zaXRl",
        }));
        let public = site.folder.join("public/files");
        std::fs::write(public.join("Facture n° 42 — été.pdf"), "%PDF-1.4 facture\n").expect("file");
        let picture: Vec<u8> = (0..200_000u32).map(|n| (n * 31 % 251) as u8).collect();
        std::fs::write(public.join("photos/日本語 🎉.png"), picture).expect("file");
        let private = site.folder.join("private/files");
        std::fs::write(
            private.join("contrat privé.txt"),
            "Clause 1 : confidentiel\n",
        )
        .expect("file");
        std::fs::write(private.join("scans/Grüße.bin"), [0u8, 1, 2, 255]).expect("file");
        site
    }

    /// The site folder, as typed in the sources form.
    pub fn location(&self) -> String {
        self.folder.display().to_string()
    }

    /// The bench folder.
    pub fn bench(&self) -> PathBuf {
        self.dir.path().join("frappe-bench")
    }

    /// Replaces the site's `site_config.json`.
    pub fn write_config(&self, config: &serde_json::Value) {
        std::fs::write(
            self.folder.join("site_config.json"),
            serde_json::to_vec_pretty(config).expect("JSON"),
        )
        .expect("site_config.json");
    }

    /// Row counts and checksums of the site's tables, or of `database` on the same server.
    pub fn fingerprint(&self, database: &str) -> String {
        Server::Mariadb.fingerprint(database)
    }

    pub fn public_files(&self) -> PathBuf {
        self.folder.join("public/files")
    }

    pub fn private_files(&self) -> PathBuf {
        self.folder.join("private/files")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for host in ["%", "localhost"] {
            Server::Mariadb.sql(
                "information_schema",
                &format!("DROP USER IF EXISTS '{}'@'{host}'", self.db_name),
            );
        }
    }
}

/// Whether two trees hold the same entries (types, modes, times and contents).
pub fn same_tree(left: &Path, right: &Path) -> bool {
    super::tree::snapshot(left) == super::tree::snapshot(right)
}
