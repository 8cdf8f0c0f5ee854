//! The runs: the history (in `history`), one run's page with its objects, its log, what to
//! fix and "Run again" when it failed, its live progress (in `live`); "Backup now".

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::app::AppState;
use crate::backup::StartError;
use crate::backup::restore::StoredRequest;
use crate::db::runs::{self, Run, RunDetail, RunKind, RunStatus, Trigger, Verification};
use crate::format;
use crate::lang::Lang;
use crate::web::error::WebError;
use crate::web::fixes::{Fix, KnownSource, fixes};
use crate::web::live::{LiveLogLine, LiveProgress, live};
use crate::web::page::Page;
use crate::web::restore::VerificationView;
use crate::web::run_again::{self, Again};
use crate::web::session;
use std::collections::HashMap;

/// The most log lines a run's page shows (a verification of many objects writes a few each).
const LOG_LINES_SHOWN: u32 = 5_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups", get(crate::web::history::history))
        .route("/backups/run", post(backup_now))
        .route("/backups/{id}", get(detail))
        .route("/backups/{id}/progress", get(crate::web::live::progress))
        .route("/backups/{id}/cancel", post(cancel))
        .route("/backups/{id}/again", post(run_again::run_again))
}

/// A run as a row of the history table.
pub struct RunView {
    pub id: i64,
    /// `backup`, `restore` or `verify`.
    pub kind: &'static str,
    pub started: String,
    pub trigger: &'static str,
    pub status: &'static str,
    pub duration: String,
    pub size: String,
    pub objects: i64,
    pub folder: String,
    /// The whole error, for the run's page.
    pub error: String,
    /// Its first sentence alone, for the history.
    pub error_line: String,
    pub warning: String,
    /// For a backup: the latest verification of what it stored.
    pub verification: Option<VerificationView>,
}

/// A message's sentence up to its first line break, without the quoted detail.
fn one_line(message: &crate::lang::Message, lang: Lang) -> String {
    let sentence = message.sentence(lang);
    sentence
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl RunView {
    pub fn new(run: &Run, lang: Lang) -> Self {
        let end = run.finished_at.unwrap_or_else(chrono::Utc::now);
        RunView {
            id: run.id,
            kind: run.kind.as_str(),
            started: run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            trigger: run.trigger.as_str(),
            status: run.status.as_str(),
            duration: format::duration(end - run.started_at),
            size: format::size_i64(run.total_bytes, lang),
            objects: run.object_count,
            folder: run.folder.clone().unwrap_or_default(),
            error: run
                .error
                .as_ref()
                .map(|e| e.render(lang))
                .unwrap_or_default(),
            error_line: run
                .error
                .as_ref()
                .map(|e| one_line(e, lang))
                .unwrap_or_default(),
            warning: run
                .warning
                .as_ref()
                .map(|w| w.render(lang))
                .unwrap_or_default(),
            verification: None,
        }
    }

    pub fn verified(mut self, run: &Run, verifications: &HashMap<String, Verification>) -> Self {
        if run.kind == RunKind::Backup
            && let Some(folder) = &run.folder
        {
            self.verification = VerificationView::of(folder, verifications);
        }
        self
    }
}

async fn backup_now(
    State(state): State<AppState>,
    session: Session,
    page: Page,
) -> Result<Response, WebError> {
    let job = match crate::jobs::load(&state.pool, &state.key, state.config.data_dir()).await {
        Ok(job) => job,
        Err(e) => {
            tracing::warn!(error = %e, "backup not started");
            session::set_error(&session, e.message().render(page.lang)).await?;
            return Ok(Redirect::to("/backups").into_response());
        }
    };
    match state.runner.start(Trigger::Manual, job).await {
        Ok(id) => {
            tracing::info!(run = id, user = ?page.user, "backup started from the browser");
            session::set_notice(&session, page.t("backups.started")).await?;
            Ok(Redirect::to(&format!("/backups/{id}")).into_response())
        }
        Err(StartError::AlreadyRunning(current)) => {
            session::set_error(&session, page.t("backup.runner.already_running")).await?;
            let target =
                current.map_or_else(|| "/backups".to_owned(), |id| format!("/backups/{id}"));
            Ok(Redirect::to(&target).into_response())
        }
        Err(e @ (StartError::History(_) | StartError::Lock { .. })) => {
            Err(WebError::internal("starting a backup", e))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "backup_detail.html")]
struct DetailPage {
    page: Page,
    run: RunView,
    /// What a restore was asked to do.
    request: Option<RequestView>,
    live: Option<LiveProgress>,
    /// Offered while the run is in progress in this process.
    cancel: Option<CancelView>,
    objects: Vec<ObjectView>,
    failed: Vec<FailedView>,
    /// Where to fix what made the run fail.
    fixes: Vec<Fix>,
    /// How to run it again, when it did not succeed.
    again: Option<AgainView>,
    logs: Vec<LiveLogLine>,
    /// The number of the last log line shown: the script asks for those after it.
    last_log: i64,
    deliveries: Vec<String>,
    /// Each channel delivery, with its attempts.
    channel_deliveries: Vec<(String, Vec<String>)>,
}

/// What a restore was asked to restore, and where.
struct RequestView {
    backup: String,
    source: String,
    to: String,
    replace: bool,
}

/// "Run again": a button, or a link to the backup's page for a restore confirmed there.
enum AgainView {
    Button(String),
    OnBackupPage { backup: String, why: String },
}

/// The cancel button, with what to know before pressing it.
struct CancelView {
    warning: String,
}

struct ObjectView {
    source: String,
    key: String,
    size: String,
    sha256: String,
}

/// A source the run could not back up, and why.
struct FailedView {
    source: String,
    kind: String,
    reason: String,
}

async fn load_run(state: &AppState, id: i64) -> Result<RunDetail, WebError> {
    runs::get(&state.pool, id)
        .await
        .map_err(|e| WebError::internal("reading a run", e))?
        .ok_or(WebError::NotFound)
}

async fn detail(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<DetailPage, WebError> {
    let id = crate::web::error::id(&id)?;
    let detail = load_run(&state, id).await?;
    let deliveries = crate::db::notifications::deliveries_for_run(&state.pool, id)
        .await
        .map_err(|e| WebError::internal("reading the run's e-mails", e))?
        .iter()
        .map(|d| d.summary(page.lang))
        .collect();
    let channel_deliveries = crate::db::channels::deliveries_for_run(&state.pool, id)
        .await?
        .iter()
        .map(|d| channel_delivery(d, page.lang))
        .collect();
    let lang = page.lang;
    let request = detail
        .run
        .request
        .as_deref()
        .and_then(StoredRequest::from_stored)
        .map(|request| RequestView {
            backup: request.backup,
            source: request.source,
            to: request.to.unwrap_or_default(),
            replace: request.replace,
        });
    let logs: Vec<LiveLogLine> = crate::db::history::log_after(&state.pool, id, 0, LOG_LINES_SHOWN)
        .await
        .map_err(|e| WebError::internal("reading a run's log", e))?
        .iter()
        .map(|line| LiveLogLine::new(line, lang))
        .collect();
    let last_log = logs.last().map_or(0, |line| line.id);
    let known = crate::db::sources::list(&state.pool)
        .await
        .map_err(|e| WebError::internal("listing the sources", e))?;
    let known: Vec<KnownSource> = known
        .iter()
        .map(|source| KnownSource {
            id: source.id,
            name: source.name.as_str(),
        })
        .collect();
    let fixes = fixes(&detail.run, &detail.failed, &known, lang);
    let again = run_again::offer(&detail.run).map(|again| match again {
        Again::Button(key) => AgainView::Button(page.t(key)),
        Again::OnBackupPage(backup) => AgainView::OnBackupPage {
            backup,
            why: page.t("again.restore_on_page"),
        },
    });
    let live = match detail.run.status {
        RunStatus::Running => Some(live(&state, &detail.run, None, lang).await?),
        _ => None,
    };
    let running_here =
        detail.run.status == RunStatus::Running && state.runner.current() == Some(id);
    let cancel = running_here.then(|| CancelView {
        warning: match (&request, detail.run.kind) {
            (Some(request), RunKind::Restore) if request.replace => {
                page.td("backups.cancel_warning_replace", &request.to)
            }
            (_, RunKind::Restore) => page.t("backups.cancel_warning_restore"),
            _ => page.t("backups.cancel_warning_backup"),
        },
    });
    Ok(DetailPage {
        deliveries,
        channel_deliveries,
        request,
        cancel,
        page: page.in_section("backups"),
        live,
        fixes,
        again,
        last_log,
        run: RunView::new(&detail.run, lang),
        objects: detail
            .objects
            .iter()
            .map(|o| ObjectView {
                source: o.source.clone(),
                key: o.key.clone(),
                size: format::size_i64(o.size, lang),
                sha256: o.sha256.clone(),
            })
            .collect(),
        failed: detail
            .failed
            .iter()
            .map(|f| FailedView {
                source: f.source.clone(),
                kind: f.kind.clone(),
                reason: f.error.render(lang),
            })
            .collect(),
        logs,
    })
}

async fn cancel(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let detail = load_run(&state, id).await?;
    if state.runner.cancel(id) {
        tracing::info!(run = id, user = ?page.user, "cancel asked from the browser");
        session::set_notice(&session, page.t("backups.cancelling")).await?;
    } else if detail.run.status == RunStatus::Running {
        session::set_error(&session, page.t("backups.cancel_elsewhere")).await?;
    } else {
        session::set_error(&session, page.t("backups.cancel_ended")).await?;
    }
    Ok(Redirect::to(&format!("/backups/{id}")).into_response())
}

/// "ops-hook (webhook), backup failed: sent" and a line per attempt.
fn channel_delivery(
    delivery: &crate::db::channels::ChannelDelivery,
    lang: Lang,
) -> (String, Vec<String>) {
    use crate::lang::Message;
    let state = match (delivery.sent_at, delivery.finished_at) {
        (Some(_), _) => "sent",
        (None, None) => "trying",
        (None, Some(_)) => "failed",
    };
    let line = Message::new("channels.delivery")
        .with("channel", &delivery.channel_name)
        .with(
            "kind",
            lang.t(&format!("channels.kind_name.{}", delivery.channel_kind)),
        )
        .with(
            "event",
            lang.t(&format!("channels.event.{}", delivery.event)),
        )
        .with("state", lang.t(&format!("channels.delivery_state.{state}")))
        .render(lang);
    let attempts = delivery
        .tries
        .iter()
        .map(|attempt| {
            Message::new("channels.attempt")
                .with("attempt", attempt.attempt)
                .with("at", attempt.at.format("%H:%M:%S"))
                .with("outcome", attempt.outcome().render(lang))
                .render(lang)
        })
        .collect();
    (line, attempts)
}
