//! The command line: `serve` (the default), `backup`, `list`, `restore`, and
//! `user create|passwd`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "s3-backup",
    version,
    about = "Offsite backups of databases and directories to S3"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log format.
    #[arg(long, env = "S3BACKUP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct DataDir {
    /// Directory holding the database and the master key.
    #[arg(long, env = "S3BACKUP_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "S3BACKUP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataDir,
    /// Set when a reverse proxy serves the app over HTTPS: cookies become Secure.
    #[arg(long, env = "S3BACKUP_BEHIND_HTTPS")]
    pub behind_https: bool,
    /// The address of the reverse proxy in front of the app (e.g. 127.0.0.1): for requests
    /// from it, the client's address is taken from the X-Forwarded-For it adds, so failed
    /// logins are counted per client and not for everyone behind the proxy.
    #[arg(long, env = "S3BACKUP_TRUSTED_PROXY")]
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// The URL users open the app at, for links in e-mails (e.g. https://backup.example.com).
    #[arg(long, env = "S3BACKUP_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// A bearer token that lets a Prometheus scraper read /metrics without a login.
    #[arg(long, env = "S3BACKUP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A PEM file of extra certificates to trust for the SMTP server (e.g. a company CA).
    #[arg(long, env = "S3BACKUP_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: DataDir {
                data_dir: PathBuf::from("data"),
            },
            behind_https: false,
            trusted_proxy: None,
            public_url: None,
            metrics_token: None,
            smtp_ca_file: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web interface and the scheduler (the default).
    Serve(ServeArgs),
    /// Run one backup now with the stored settings, in the foreground.
    Backup(DataDir),
    /// List the backups found in the bucket (folder, time, size, complete, sources).
    List(DataDir),
    /// Restore databases and directories from a backup in the bucket.
    Restore(RestoreArgs),
    /// Prove a backup restores: download every object, check it against the manifest, and
    /// test-restore it (databases into a scratch database that is dropped again).
    Verify(VerifyArgs),
    /// Manage administrator accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Args, Clone)]
pub struct RestoreArgs {
    /// The backup's folder name (`2026-11-24T020000Z`), or `latest` for the newest complete one.
    pub backup: String,
    /// A source of that backup, or `all`.
    pub source: String,
    /// Where to restore (default: beside the source, `<path>.restored-<YYYYMMDDHHMM>`, or a
    /// new database `<db>_restored_<YYYYMMDDHHMM>` on its server); for a database, a
    /// postgresql:// or mysql:// URL; with `all`, an existing directory that receives each
    /// file source under its name.
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Replace an existing target, once the object is checked against the manifest: the
    /// previous file or directory is kept as `<path>.before-restore-<stamp>`; a PostgreSQL
    /// database is emptied and loaded in one transaction (a failure leaves it as it was); a
    /// MariaDB dump drops and recreates each of its tables.
    #[arg(long)]
    pub replace: bool,
    /// An age identity file (`AGE-SECRET-KEY-1…`, as `age-keygen` writes it) that decrypts
    /// an encrypted backup; may be given more than once.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// The backup's folder name (`2026-11-24T020000Z`), or `latest` for the newest complete one.
    #[arg(default_value = "latest")]
    pub backup: String,
    /// An age identity file (`AGE-SECRET-KEY-1…`, as `age-keygen` writes it) that decrypts
    /// an encrypted backup; may be given more than once.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Change an account's password, read from standard input.
    Passwd {
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
}
