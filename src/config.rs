//! Runtime configuration of a server process: where it listens and where it keeps its data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How one process of the app is set up, from flags or the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a notification channel may take, and how often it is tried.
    pub channels: crate::notify::channels::ChannelOptions,
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
    /// How many connections are served at once, and when a slow or idle one is closed.
    pub connections: ConnectionLimits,
    /// How long a login lasts however active it is (it also ends after 12 idle hours).
    pub session_lifetime: Duration,
    /// The reverse proxy in front of the app: for requests from it, the client's address
    /// (which failed logins are counted by) is the one it adds to `X-Forwarded-For`.
    pub trusted_proxy: Option<std::net::IpAddr>,
}

/// Limits that keep slow or idle clients from holding the server. Every timeout is on
/// waiting for the client, never on the length of a transfer: a download that keeps
/// moving runs as long as it needs, and backups never run inside a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's headers must have arrived this long after the connection was ready for
    /// it: after connecting, or after the previous response. So it is also how long an
    /// idle keep-alive connection stays open.
    pub header_read: Duration,
    /// The longest wait for the next part of a request body.
    pub body_inactivity: Duration,
    /// A whole request body must have arrived within this (bodies are forms of at most
    /// 256 KiB): a body sent a byte at a time is cut too.
    pub body_deadline: Duration,
    /// The longest a client may take none of a response it is sent.
    pub send_inactivity: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(20),
            body_inactivity: Duration::from_secs(30),
            body_deadline: Duration::from_secs(120),
            send_inactivity: Duration::from_secs(60),
            max_connections: 256,
        }
    }
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
            connections: ConnectionLimits::default(),
            session_lifetime: Duration::from_secs(24 * 3600),
            trusted_proxy: None,
            channels: crate::notify::channels::ChannelOptions::default(),
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
