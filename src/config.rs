//! Runtime configuration of a server process: where it listens and where it keeps its data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How one process of the app is set up, from flags or the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Set when a reverse proxy terminates HTTPS in front of the app: cookies get `Secure`.
    pub behind_https: bool,
    /// The address users reach the app at, used for links in e-mails.
    pub public_url: Option<url::Url>,
    /// A bearer token that lets a scraper read /metrics without a login.
    pub metrics_token: Option<String>,
    /// A PEM file of certificates to trust for the SMTP server besides the public roots.
    pub smtp_ca_file: Option<PathBuf>,
    /// How long stopping waits for a cancelled backup to be recorded and its uploads aborted.
    pub shutdown_grace: std::time::Duration,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            behind_https: false,
            public_url: None,
            metrics_token: None,
            smtp_ca_file: None,
            shutdown_grace: std::time::Duration::from_secs(20),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("s3-backup.sqlite3")
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}
