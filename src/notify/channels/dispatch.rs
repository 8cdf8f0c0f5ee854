//! Delivers reports to the channels that chose their event: each delivery in a task of
//! its own (a channel that hangs delays no run and no other channel), each request bounded
//! by a timeout, retried with backoff, and each attempt recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tokio::task::JoinHandle;

use super::hook_url::HookUrl;
use super::http::{self, HookProblem};
use super::kind::{ChannelEvent, ChannelKind, EventSet};
use super::payload::{self, Report, Target};
use crate::crypto::MasterKey;
use crate::db::channels::{self, ChannelsError, StoredChannel};
use crate::db::runs::{self, RunId};
use crate::lang::{Lang, Message};

/// How long a channel may take, and how often it is tried.
#[derive(Debug, Clone)]
pub struct ChannelOptions {
    /// Longest wait for one request.
    pub timeout: Duration,
    /// Waits before each retry; one attempt more than there are delays.
    pub retry_delays: Vec<Duration>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_delays: vec![Duration::from_secs(1), Duration::from_secs(4)],
        }
    }
}

/// Sends to the channels. Cheap to clone.
#[derive(Clone)]
pub struct Channels {
    inner: Arc<Inner>,
}

struct Inner {
    pool: SqlitePool,
    key: MasterKey,
    public_url: Option<url::Url>,
    options: ChannelOptions,
    client: reqwest::Client,
}

impl Channels {
    pub fn new(
        pool: SqlitePool,
        key: MasterKey,
        public_url: Option<url::Url>,
        options: ChannelOptions,
    ) -> Self {
        let client = http::client(options.timeout);
        Self {
            inner: Arc::new(Inner {
                pool,
                key,
                public_url,
                options,
                client,
            }),
        }
    }

    async fn lang(&self) -> Lang {
        crate::db::settings::load(&self.inner.pool)
            .await
            .map(|settings| settings.language)
            .unwrap_or_default()
    }

    /// The report of run `run_id` for `event`, in `lang`.
    async fn run_report(
        &self,
        run_id: RunId,
        event: ChannelEvent,
        lang: Lang,
    ) -> Result<Option<Report>, ChannelsError> {
        let detail = runs::get(&self.inner.pool, run_id)
            .await
            .map_err(|e| ChannelsError::Run(e.to_string()))?;
        let Some(detail) = detail else {
            return Ok(None);
        };
        let run = &detail.run;
        let url = self
            .inner
            .public_url
            .as_ref()
            .and_then(|base| base.join(&format!("backups/{}", run.id)).ok())
            .map(|url| url.to_string());
        let error = run.error.as_ref().map(|message| message.render(lang));
        let label = lang.t(&format!("channels.event.{event}"));
        let mut text = format!(
            "s3-backup: {label} — #{} {} {}",
            run.id,
            run.kind.as_str(),
            run.status.as_str()
        );
        if let Some(error) = &error {
            text.push_str(": ");
            text.push_str(error);
        }
        Ok(Some(Report {
            event,
            run_id: Some(run.id),
            kind: Some(run.kind.as_str().to_owned()),
            status: Some(run.status.as_str().to_owned()),
            started_at: Some(run.started_at),
            finished_at: run.finished_at,
            error,
            url,
            title: format!("s3-backup: {label}"),
            text,
        }))
    }

    /// Tells the channels that run `run_id` ended, if its outcome is an event; returns
    /// the delivery tasks started.
    pub async fn report_run(&self, run_id: RunId) -> Result<Vec<JoinHandle<()>>, ChannelsError> {
        let detail = runs::get(&self.inner.pool, run_id)
            .await
            .map_err(|e| ChannelsError::Run(e.to_string()))?;
        let Some(event) = detail.as_ref().and_then(|d| super::event_for(&d.run)) else {
            return Ok(Vec::new());
        };
        self.report_run_event(run_id, event).await
    }

    /// Tells the pings that backup `run_id` began (their `/start`).
    pub async fn report_start(&self, run_id: RunId) -> Result<Vec<JoinHandle<()>>, ChannelsError> {
        self.report_run_event(run_id, ChannelEvent::BackupStarted)
            .await
    }

    /// At start-up: delivers again what a stopped process left unfinished, and tells the
    /// channels of `ended` runs (interrupted ones) not told yet. Overdue alerts left
    /// unfinished are dropped: the scheduler raises them again while still due.
    pub async fn resume(&self, ended: &[RunId]) -> Result<(), ChannelsError> {
        for (run_id, event) in channels::take_back_unfinished(&self.inner.pool).await? {
            if let (Some(run_id), Some(event)) = (run_id, ChannelEvent::named(&event)) {
                self.report_run_event(run_id, event).await?;
            }
        }
        for run_id in ended {
            self.report_run(*run_id).await?;
        }
        Ok(())
    }

    async fn report_run_event(
        &self,
        run_id: RunId,
        event: ChannelEvent,
    ) -> Result<Vec<JoinHandle<()>>, ChannelsError> {
        let lang = self.lang().await;
        match self.run_report(run_id, event, lang).await? {
            Some(report) => self.dispatch(&report).await,
            None => Ok(Vec::new()),
        }
    }

    /// Tells the channels no backup succeeded in time.
    pub async fn report_overdue(
        &self,
        last_success: Option<DateTime<Utc>>,
    ) -> Result<Vec<JoinHandle<()>>, ChannelsError> {
        let lang = self.lang().await;
        let label = lang.t("channels.event.overdue");
        let since = last_success
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "—".to_owned());
        let report = Report {
            event: ChannelEvent::Overdue,
            run_id: None,
            kind: None,
            status: None,
            started_at: None,
            finished_at: last_success,
            error: None,
            url: self.inner.public_url.as_ref().map(|url| url.to_string()),
            title: format!("s3-backup: {label}"),
            text: format!("s3-backup: {label} ({since})"),
        };
        self.dispatch(&report).await
    }

    /// Starts one delivery per channel that chose `report`'s event and has none yet.
    pub async fn dispatch(&self, report: &Report) -> Result<Vec<JoinHandle<()>>, ChannelsError> {
        let pool = &self.inner.pool;
        let mut tasks = Vec::new();
        for channel in channels::list(pool).await? {
            if !wants(&channel, report.event) {
                continue;
            }
            let Some(id) =
                channels::begin_delivery(pool, report.run_id, &channel, report.event.as_str())
                    .await?
            else {
                continue;
            };
            let this = self.clone();
            let report = report.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(error) = this.deliver(id, &channel, &report).await {
                    tracing::error!(channel = channel.id, "channel delivery: {error}");
                }
            }));
        }
        Ok(tasks)
    }

    async fn deliver(
        &self,
        id: i64,
        channel: &StoredChannel,
        report: &Report,
    ) -> Result<(), ChannelsError> {
        let pool = &self.inner.pool;
        let delays = &self.inner.options.retry_delays;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(channel, report).await;
            let delay = delays.get(attempt as usize - 1);
            match outcome {
                Ok(status) => {
                    let message = Message::new("channels.attempt.sent").with("status", status);
                    channels::record_attempt(pool, id, attempt, &message, true, true).await?;
                    tracing::info!(channel = channel.id, event = %report.event, "channel notified");
                    return Ok(());
                }
                Err(problem) => {
                    let last = delay.is_none() || !problem.is_transient();
                    tracing::warn!(channel = channel.id, attempt, last, "channel: {problem}");
                    let message = problem.to_message();
                    channels::record_attempt(pool, id, attempt, &message, false, last).await?;
                    match delay {
                        Some(delay) if !last => tokio::time::sleep(*delay).await,
                        _ => return Ok(()),
                    }
                }
            }
        }
    }

    async fn send_once(
        &self,
        channel: &StoredChannel,
        report: &Report,
    ) -> Result<u16, HookProblem> {
        let opened = channel
            .open(&self.inner.key)
            .map_err(|_| HookProblem::Unreadable)?;
        let url = HookUrl::parse(&opened.url).map_err(|_| HookProblem::Unreadable)?;
        let kind = ChannelKind::parse(&channel.kind).map_err(|_| HookProblem::Unreadable)?;
        let target = Target {
            kind,
            url: &url,
            token: opened.token.as_deref(),
            secret: opened.secret.as_deref(),
        };
        http::send(&self.inner.client, &payload::outgoing(&target, report)).await
    }

    /// "Send test": one attempt, no retry, not recorded; the status the channel answered.
    pub async fn send_test(&self, channel: &StoredChannel, lang: Lang) -> Result<u16, HookProblem> {
        let label = lang.t("channels.event.test");
        let report = Report {
            event: ChannelEvent::Test,
            run_id: None,
            kind: None,
            status: None,
            started_at: None,
            finished_at: None,
            error: None,
            url: self.inner.public_url.as_ref().map(|url| url.to_string()),
            title: format!("s3-backup: {label}"),
            text: format!("s3-backup: {label} ({})", channel.name),
        };
        self.send_once(channel, &report).await
    }
}

/// Whether `channel` is told about `event`: what it chose, and for a ping the start of
/// the backups whose end it is told.
fn wants(channel: &StoredChannel, event: ChannelEvent) -> bool {
    let events = EventSet::from_stored(&channel.events);
    match event {
        ChannelEvent::BackupStarted => {
            channel.kind == ChannelKind::Ping.as_str()
                && (events.contains(ChannelEvent::BackupSucceeded)
                    || events.contains(ChannelEvent::BackupFailed))
        }
        event => events.contains(event),
    }
}
