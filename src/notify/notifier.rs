//! Sends what is due when a run ends (failures always, successes when asked) and the
//! overdue alert, retrying a mail that cannot be sent and recording each outcome. Nothing
//! here touches a run's status: a mail that fails is only a mail that failed.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::NotifyError;
use super::account::{MailOptions, SmtpAccount};
use super::channels::{ChannelOptions, Channels};
use super::mail::{self, Mail, MailContext};
use super::problem::MailProblem;
use super::smtp::{self, Outgoing};
use crate::backup::Runner;
use crate::backup::restore::StoredRequest;
use crate::crypto::MasterKey;
use crate::db::notifications::{self, Attempt, Delivery, Kind};
use crate::db::runs::{self, Run, RunId, RunKind};
use crate::settings::EmailList;

/// The notification settings of the settings row.
struct Preferences {
    recipients: EmailList,
    on_success: bool,
    ctx: MailContext,
}

/// Sends notifications. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    channels: Channels,
    pool: SqlitePool,
    key: MasterKey,
    public_url: Option<url::Url>,
    options: MailOptions,
}

impl Notifier {
    pub fn new(
        pool: SqlitePool,
        key: MasterKey,
        public_url: Option<url::Url>,
        options: MailOptions,
    ) -> Self {
        Self::with_channels(pool, key, public_url, options, ChannelOptions::default())
    }

    /// A notifier that also sends to the channels, with `channel_options`.
    pub fn with_channels(
        pool: SqlitePool,
        key: MasterKey,
        public_url: Option<url::Url>,
        options: MailOptions,
        channel_options: ChannelOptions,
    ) -> Self {
        let channels = Channels::new(
            pool.clone(),
            key.clone(),
            public_url.clone(),
            channel_options,
        );
        Self {
            inner: Arc::new(Inner {
                channels,
                pool,
                key,
                public_url,
                options,
            }),
        }
    }

    /// The channels beside e-mail.
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// Listens to the runner and reports each run that ends, each in its own task so a
    /// mail being retried delays no other; tells the pings each backup that begins.
    pub fn spawn(&self, runner: &Runner) -> JoinHandle<()> {
        let mut started = runner.subscribe_started();
        let channels = self.inner.channels.clone();
        tokio::spawn(async move {
            loop {
                match started.recv().await {
                    Ok((run_id, RunKind::Backup)) => {
                        if let Err(error) = channels.report_start(run_id).await {
                            tracing::error!(run_id, "channel notification: {error}");
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "start pings missed for some runs");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        let mut finished = runner.subscribe();
        let notifier = self.clone();
        tokio::spawn(async move {
            loop {
                match finished.recv().await {
                    Ok(event) => {
                        let channels = notifier.inner.channels.clone();
                        if let Err(error) = channels.report_run(event.run_id).await {
                            tracing::error!(run_id = event.run_id, "channel notification: {error}");
                        }
                        let notifier = notifier.clone();
                        tokio::spawn(async move {
                            if let Err(error) = notifier.report_run(event.run_id).await {
                                tracing::error!(run_id = event.run_id, "notification: {error}");
                            }
                        });
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "notifications missed for some runs");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// Sends the report of an ended run if one is due, and returns its record once it is
    /// sent or given up. `None` when nothing is due or it was already reported.
    pub async fn report_run(&self, run_id: RunId) -> Result<Option<Delivery>, NotifyError> {
        let pool = &self.inner.pool;
        let Some(detail) = runs::get(pool, run_id).await? else {
            return Ok(None);
        };
        let run = &detail.run;
        let prefs = self.preferences().await?;
        let Some(kind) = super::due::due(run, prefs.on_success).mail else {
            return Ok(None);
        };
        let what = match run.kind {
            RunKind::Restore | RunKind::Verify => what_is_restored(run),
            RunKind::Backup => self.what_is_backed_up().await?,
        };
        let log: Vec<String> = detail
            .logs
            .iter()
            .map(|line| {
                format!(
                    "{} {} {}",
                    line.at.format("%H:%M:%S"),
                    line.level,
                    line.message.render(prefs.ctx.tr)
                )
            })
            .collect();
        let mail = mail::run_report(&prefs.ctx, run, &what, &log)?;
        self.send(Some(run_id), kind, &prefs, &mail, Utc::now())
            .await
    }

    /// At start-up, after runs left running were marked interrupted (and before any
    /// notification is sent): sends again the run reports a stopped process left unsent,
    /// drops its unfinished overdue alert (the scheduler raises it again if still due),
    /// and reports the runs interrupted since `since`, so a process killed in the middle
    /// of a backup still gets the admin a mail. Returns how many reports were sent or
    /// recorded.
    pub async fn resume(&self, since: DateTime<Utc>) -> Result<usize, NotifyError> {
        let pool = &self.inner.pool;
        let unfinished = notifications::take_back_unfinished(pool).await?;
        let interrupted = notifications::unreported_interrupted_runs(pool, since).await?;
        let mut runs: Vec<RunId> = unfinished
            .into_iter()
            .flatten()
            .chain(interrupted)
            .collect();
        runs.sort_unstable();
        runs.dedup();
        if let Err(error) = self.inner.channels.resume(&runs).await {
            tracing::error!("channel notifications at start-up: {error}");
        }
        let mut reported = 0;
        for id in runs {
            if self.report_run(id).await?.is_some() {
                reported += 1;
            }
        }
        Ok(reported)
    }

    /// Sends the alert that no backup succeeded in time, recorded at `now`.
    pub async fn alert_overdue(
        &self,
        last_success: Option<DateTime<Utc>>,
        expected_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, NotifyError> {
        if let Err(error) = self.inner.channels.report_overdue(last_success).await {
            tracing::error!("channel notification: {error}");
        }
        let prefs = self.preferences().await?;
        let mail = mail::overdue_alert(&prefs.ctx, last_success, expected_by)?;
        self.send(None, Kind::Overdue, &prefs, &mail, now).await
    }

    async fn send(
        &self,
        run_id: Option<RunId>,
        kind: Kind,
        prefs: &Preferences,
        mail: &Mail,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, NotifyError> {
        let pool = &self.inner.pool;
        let shown = prefs.recipients.to_string();
        let Some(id) = notifications::begin(pool, run_id, kind, &shown, now).await? else {
            return Ok(None);
        };
        let prepared = self.prepare(prefs, mail).await;
        let (account, outgoing) = match prepared {
            Ok(ready) => ready,
            Err(problem) => {
                tracing::warn!(kind = kind.as_str(), "notification not sent: {problem}");
                let error = problem.to_message().to_stored();
                let failed = Attempt::Failed {
                    error: &error,
                    last: true,
                };
                notifications::record_attempt(pool, id, 0, failed).await?;
                return self.delivery(id).await;
            }
        };
        let options = &self.inner.options;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match smtp::deliver(&account, options, &outgoing).await {
                Ok(()) => {
                    notifications::record_attempt(pool, id, attempts, Attempt::Sent).await?;
                    tracing::info!(kind = kind.as_str(), to = %shown, "notification sent");
                    break;
                }
                Err(problem) => {
                    let error = problem.to_message().to_stored();
                    let delay = options.retry_delays.get(attempts as usize - 1);
                    let last = delay.is_none() || !problem.is_transient();
                    tracing::warn!(
                        kind = kind.as_str(),
                        attempts,
                        last,
                        "notification: {problem}"
                    );
                    let failed = Attempt::Failed {
                        error: &error,
                        last,
                    };
                    notifications::record_attempt(pool, id, attempts, failed).await?;
                    match delay {
                        Some(delay) if !last => tokio::time::sleep(*delay).await,
                        _ => break,
                    }
                }
            }
        }
        self.delivery(id).await
    }

    async fn prepare(
        &self,
        prefs: &Preferences,
        mail: &Mail,
    ) -> Result<(SmtpAccount, Outgoing), MailProblem> {
        let recipients = Some(&prefs.recipients)
            .filter(|list| !list.is_empty())
            .ok_or(MailProblem::NoRecipients)?;
        let stored = crate::db::email_account::load(&self.inner.pool)
            .await
            .map_err(|error| MailProblem::Protocol {
                detail: format!("reading the e-mail account: {error}"),
            })?;
        let account = SmtpAccount::from_stored(&stored, &self.inner.key)?;
        let message = mail::message(&account, recipients, mail)?;
        let outgoing = Outgoing::from_message(&message)?;
        Ok((account, outgoing))
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, NotifyError> {
        Ok(notifications::get(&self.inner.pool, id).await?)
    }

    async fn preferences(&self) -> Result<Preferences, NotifyError> {
        let pool = &self.inner.pool;
        let settings = crate::db::settings::load(pool).await?;
        Ok(Preferences {
            recipients: settings.notify_email.clone(),
            on_success: settings.send_email_for_successful_backup,
            ctx: MailContext {
                tr: settings.language,
                tz: settings.timezone.tz(),
                public_url: self.inner.public_url.clone(),
            },
        })
    }

    /// The sources' names, for subjects: "erp-db, files".
    async fn what_is_backed_up(&self) -> Result<String, NotifyError> {
        let sources = crate::db::sources::names(&self.inner.pool)
            .await
            .map_err(NotifyError::db("listing the sources"))?;
        let names: Vec<&str> = sources.iter().map(String::as_str).collect();
        Ok(match names.len() {
            0 => "s3-backup".to_owned(),
            1..=3 => names.join(", "),
            n => format!("{} +{}", names[..3].join(", "), n - 3),
        })
    }
}

/// What a restore restored, for its mail's subject: the source (or `all`) and the backup.
fn what_is_restored(run: &Run) -> String {
    let request = run
        .request
        .as_deref()
        .and_then(StoredRequest::from_stored)
        .unwrap_or_default();
    let folder = run
        .folder
        .as_deref()
        .and_then(|key| key.rsplit('/').next())
        .unwrap_or(&request.backup);
    match run.kind {
        RunKind::Verify => folder.to_owned(),
        _ => format!("{} ← {folder}", request.source),
    }
}
