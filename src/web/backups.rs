//! The history: every run, newest first; one run's objects and log; "Backup now".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::app::AppState;
use crate::backup::StartError;
use crate::backup::restore::StoredRequest;
use crate::db::runs::{self, Run, RunDetail, RunKind, RunStatus, Trigger, Verification};
use crate::format;
use crate::lang::Lang;
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::restore::VerificationView;
use crate::web::session;
use std::collections::HashMap;

const PER_PAGE: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups", get(history))
        .route("/backups/run", post(backup_now))
        .route("/backups/{id}", get(detail))
        .route("/backups/{id}/progress", get(progress))
        .route("/backups/{id}/cancel", post(cancel))
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
    pub error: String,
    pub warning: String,
    /// For a backup: the latest verification of what it stored.
    pub verification: Option<VerificationView>,
}

impl RunView {
    fn new(run: &Run, lang: Lang) -> Self {
        let end = run.finished_at.unwrap_or_else(chrono::Utc::now);
        RunView {
            id: run.id,
            kind: run.kind.as_str(),
            started: run.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            trigger: match (run.kind, run.trigger) {
                (RunKind::Restore, Trigger::Manual) => "restore_page",
                (_, trigger) => trigger.as_str(),
            },
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
            warning: run
                .warning
                .as_ref()
                .map(|w| w.render(lang))
                .unwrap_or_default(),
            verification: None,
        }
    }

    fn verified(mut self, run: &Run, verifications: &HashMap<String, Verification>) -> Self {
        if run.kind == RunKind::Backup
            && let Some(folder) = &run.folder
        {
            self.verification = VerificationView::of(folder, verifications);
        }
        self
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "backups.html")]
struct HistoryPage {
    page: Page,
    runs: Vec<RunView>,
    page_number: u32,
    pages: u32,
    running: Option<i64>,
    next_run: Option<String>,
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

async fn history(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<PageQuery>,
) -> Result<HistoryPage, WebError> {
    let mut number = query.page.unwrap_or(1).max(1);
    let mut listed = runs::list(&state.pool, number, PER_PAGE)
        .await
        .map_err(|e| WebError::internal("listing runs", e))?;
    let total = u32::try_from(listed.total).unwrap_or(u32::MAX);
    let pages = total.div_ceil(PER_PAGE).max(1);
    // A page past the end (an old link) shows the last one.
    if number > pages {
        number = pages;
        listed = runs::list(&state.pool, number, PER_PAGE)
            .await
            .map_err(|e| WebError::internal("listing runs", e))?;
    }
    let folders: Vec<&str> = listed
        .runs
        .iter()
        .filter(|run| run.kind == RunKind::Backup)
        .filter_map(|run| run.folder.as_deref())
        .collect();
    let verifications = runs::verifications_of(&state.pool, &folders)
        .await
        .map_err(|e| WebError::internal("reading the verifications", e))?;
    let lang = page.lang;
    Ok(HistoryPage {
        page: page.in_section("backups"),
        runs: listed
            .runs
            .iter()
            .map(|run| RunView::new(run, lang).verified(run, &verifications))
            .collect(),
        page_number: number,
        pages,
        running: state.runner.current(),
        next_run: crate::web::settings::next_run_text(
            &state,
            &crate::db::settings::load(&state.pool).await?,
        ),
    })
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
    logs: Vec<LogView>,
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

struct LogView {
    at: String,
    level: String,
    message: String,
}

/// What a running backup shows, refreshed by the page's script.
#[derive(Serialize)]
struct LiveProgress {
    status: &'static str,
    source: String,
    read: String,
    uploaded: String,
    /// The bytes the run will read in all, when known (a restore), else empty.
    total: String,
    /// `42 %` when the total is known, else empty.
    percent: String,
    /// The same as a number for a progress bar; absent when unknown.
    percent_value: Option<u64>,
}

fn live(run: &Run, lang: Lang) -> LiveProgress {
    let snapshot = run.progress.clone().unwrap_or_default();
    let percent = snapshot.percent();
    LiveProgress {
        status: run.status.as_str(),
        read: format::size(snapshot.bytes_read, lang),
        uploaded: format::size(snapshot.bytes_uploaded, lang),
        total: if snapshot.bytes_total > 0 {
            format::size(snapshot.bytes_total, lang)
        } else {
            String::new()
        },
        percent: percent.map(|p| format!("{p} %")).unwrap_or_default(),
        percent_value: percent,
        source: snapshot.current_source.unwrap_or_default(),
    }
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
        live: (detail.run.status == RunStatus::Running).then(|| live(&detail.run, lang)),
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
        logs: detail
            .logs
            .iter()
            .map(|l| LogView {
                at: l.at.format("%H:%M:%S").to_string(),
                level: l.level.clone(),
                message: l.message.render(lang),
            })
            .collect(),
    })
}

async fn progress(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let detail = load_run(&state, id).await?;
    Ok(Json(live(&detail.run, lang)).into_response())
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
