//! The running application: shared state, router assembly, and the server loop.

use std::net::SocketAddr;
use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::net::TcpListener;

use crate::backup::{DebrisReport, Runner};
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::notify::{MailOptions, Notifier};
use crate::schedule::{Scheduler, SchedulerParts, SystemClock, Verifier, VerifierParts};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] crate::data_dir::DataDirError),
    #[error("cannot read the SMTP certificate file {path}: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the scheduler: {0}")]
    Scheduler(String),
    #[error(transparent)]
    Key(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Secrets(#[from] crate::db::secrets::SecretsError),
    #[error("cannot check for accounts: {0}")]
    Accounts(#[from] crate::accounts::AccountError),
    #[error("cannot prepare the session store: {0}")]
    Sessions(sqlx::Error),
    #[error("cannot update the backup history: {0}")]
    Runs(crate::backup::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Everything a request handler may need, cloned cheaply into each one.
#[derive(Clone)]
pub struct AppState {
    pub pool: SqlitePool,
    pub key: MasterKey,
    pub config: Arc<Config>,
    /// Starts backups, one at a time.
    pub runner: Runner,
    /// Mails the outcome of runs and the overdue alert.
    pub notifier: Notifier,
    /// Starts runs at the stored schedule's times; reloaded when settings are saved.
    pub scheduler: Scheduler,
    /// Starts verifications on their own schedule, once the server runs.
    pub verifier: VerifierSlot,
    pub mail_options: MailOptions,
    /// What the pages show of the state of the backups, kept until the database changes.
    pub snapshots: crate::web::snapshot::Snapshots,
    /// The pages of the history read lately, kept until it changes.
    pub history: Arc<crate::web::history::KeptPages>,
}

/// The verification scheduler: prepared with the state, started with the server (the
/// command line never starts it).
#[derive(Clone)]
pub struct VerifierSlot {
    parts: Arc<std::sync::Mutex<Option<VerifierParts>>>,
    running: Arc<std::sync::OnceLock<Verifier>>,
}

impl VerifierSlot {
    fn new(parts: VerifierParts) -> Self {
        Self {
            parts: Arc::new(std::sync::Mutex::new(Some(parts))),
            running: Arc::new(std::sync::OnceLock::new()),
        }
    }

    fn start(&self) {
        let parts = self.parts.lock().ok().and_then(|mut parts| parts.take());
        if let Some(parts) = parts {
            let _ = self.running.set(Verifier::spawn(parts));
        }
    }

    /// The settings were saved.
    pub fn reload(&self) {
        if let Some(verifier) = self.running.get() {
            verifier.reload();
        }
    }
}

/// Opens the data directory: creates it, loads (or makes) the master key, migrates the db.
pub async fn open_state(config: Config) -> Result<AppState, StartError> {
    // Private: the database holds password hashes and sealed secrets next to their key.
    crate::data_dir::prepare(&config.data_dir)?;
    let key = MasterKey::load_or_create(&config.master_key_path())?;
    let pool = crate::db::open(&config.database_path()).await?;
    crate::data_dir::protect_database(&config.data_dir)?;
    let bound = crate::db::secrets::bind_to_rows(&pool, &key).await?;
    if bound > 0 {
        tracing::info!(
            secrets = bound,
            "stored secrets sealed again for their rows"
        );
    }
    let runner = Runner::with_lock_file(pool.clone(), config.data_dir.join("run.lock"));
    let mut mail_options = MailOptions::default();
    if let Some(path) = &config.smtp_ca_file {
        let pem = std::fs::read(path).map_err(|source| StartError::CaFile {
            path: path.display().to_string(),
            source,
        })?;
        mail_options.extra_root_certificates.push(pem);
    }
    let notifier = Notifier::with_channels(
        pool.clone(),
        key.clone(),
        config.public_url.clone(),
        mail_options.clone(),
        config.channels.clone(),
    );
    let jobs = {
        let (pool, key, data_dir) = (pool.clone(), key.clone(), config.data_dir.clone());
        move || {
            let (pool, key, data_dir) = (pool.clone(), key.clone(), data_dir.clone());
            async move {
                crate::jobs::load(&pool, &key, &data_dir)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    };
    let clock: Arc<dyn crate::schedule::Clock> = Arc::new(
        SystemClock::start()
            .await
            .map_err(|e| StartError::Scheduler(e.to_string()))?,
    );
    let scheduler = Scheduler::new(SchedulerParts {
        pool: pool.clone(),
        runner: runner.clone(),
        jobs: Arc::new(jobs),
        clock: clock.clone(),
        notifier: Some(notifier.clone()),
    });
    let verifier = VerifierSlot::new(VerifierParts {
        pool: pool.clone(),
        key: key.clone(),
        runner: runner.clone(),
        clock,
    });
    Ok(AppState {
        runner,
        notifier,
        scheduler,
        verifier,
        mail_options,
        snapshots: Default::default(),
        history: Arc::new(crate::web::snapshot::Kept::new(
            crate::web::history::KEPT_PAGES,
        )),
        pool,
        key,
        config: Arc::new(config),
    })
}

/// What dead runs left in the bucket of the stored settings, cleaned at start-up (see
/// `backup::debris`). `None` when there is no S3 target yet, or a backup is in progress.
pub async fn clean_debris(state: &AppState) -> Option<DebrisReport> {
    let settings = match crate::db::settings::load(&state.pool).await {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(%error, "cannot read the settings to clean what stopped backups left");
            return None;
        }
    };
    let target = match crate::jobs::target(&settings, &state.key) {
        Ok(target) => target,
        Err(error) => {
            tracing::debug!(%error, "no S3 target to clean at start-up");
            return None;
        }
    };
    let report = state.runner.clean_debris(&target).await?;
    if report.uploads_aborted > 0 || !report.folders_removed.is_empty() {
        tracing::info!(
            uploads_aborted = report.uploads_aborted,
            folders_removed = report.folders_removed.len(),
            "cleaned what stopped backups left in s3://{}/{}",
            target.bucket,
            target.folder_prefix()
        );
    }
    Some(report)
}

/// Scratch databases a killed verification left, dropped at start-up. Returns their names.
pub async fn drop_scratch_databases(state: &AppState) -> Vec<String> {
    use crate::backup::restore::BackupChoice;
    // Built like a verification's: the servers it may have used, the names it gives.
    let job = match crate::jobs::verify_job(&state.pool, &state.key, BackupChoice::Latest).await {
        Ok(job) => job,
        Err(error) => {
            tracing::debug!(%error, "no verification possible, so no scratch database to drop");
            return Vec::new();
        }
    };
    if job.servers().is_empty() {
        return Vec::new();
    }
    let dropped = state
        .runner
        .drop_scratch_databases(&job)
        .await
        .unwrap_or_default();
    if !dropped.is_empty() {
        tracing::warn!(
            ?dropped,
            "dropped scratch databases a stopped verification left"
        );
    }
    dropped
}

/// A server bound to its port and ready to accept connections.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Binds the listening socket; runs a crash left "running" are marked interrupted.
    pub async fn bind(state: AppState) -> Result<Self, StartError> {
        let interrupted = state
            .runner
            .settle_interrupted()
            .await
            .map_err(StartError::Runs)?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "backups left running by a stopped process were marked interrupted"
            );
        }
        let addr = state.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        Ok(Self { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Mail for runs a stopped process left unreported, the notifier, then the scheduler
    /// (which may start a catch-up run at once).
    fn start_background_work(&self) {
        let state = &self.state;
        state.notifier.spawn(&state.runner);
        // In the background: start-up does not wait for S3, and a run started meanwhile
        // waits for the cleaning.
        let cleaning = state.clone();
        tokio::spawn(async move {
            clean_debris(&cleaning).await;
            drop_scratch_databases(&cleaning).await;
        });
        let resume = state.notifier.clone();
        tokio::spawn(async move {
            let since = chrono::Utc::now() - chrono::Duration::days(1);
            if let Err(error) = resume.resume(since).await {
                tracing::error!(%error, "cannot resume unsent notifications");
            }
        });
        // Not after resuming: resending old mail may take minutes of retries, and scheduled
        // backups must not wait for it.
        state.scheduler.start();
        state.verifier.start();
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        self.start_background_work();
        let has_account = crate::accounts::any_exists(&self.state.pool).await?;
        let setup = crate::web::auth::SetupToken::for_server(&self.state.config, has_account);
        let router = crate::web::router(self.state.clone(), setup)
            .await
            .map_err(StartError::Sessions)?;
        let addr = self.local_addr();
        tracing::info!(?addr, "listening");
        let limits = self.state.config.connections;
        crate::web::connections::serve(self.listener, router, limits, shutdown).await;
        // A backup in progress is cancelled cleanly: recorded, mailed, uploads aborted.
        self.state
            .runner
            .shutdown(self.state.config.shutdown_grace)
            .await;
        Ok(())
    }
}
