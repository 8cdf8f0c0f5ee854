//! "Run again" on the page of a run that did not succeed: the same backup, the same
//! verification, or the same restore (unless it replaced a target or wrote to a database
//! URL: that one is started again from its backup's page, where the target is confirmed).

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::app::AppState;
use crate::backup::StartError;
use crate::backup::restore::{BackupChoice, Request, SourceChoice, StoredRequest};
use crate::db::runs::{Run, RunId, RunKind, RunStatus, Trigger};
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::session;

/// How a run's page offers to run it again.
pub enum Again {
    /// A button that posts to `/backups/{id}/again`; its label's key.
    Button(&'static str),
    /// A restore to start again from its backup's page.
    OnBackupPage(String),
}

/// What the page of `run` offers to run it again, if anything.
pub fn offer(run: &Run) -> Option<Again> {
    if !matches!(
        run.status,
        RunStatus::Failed | RunStatus::Partial | RunStatus::Interrupted
    ) {
        return None;
    }
    match run.kind {
        RunKind::Backup => Some(Again::Button("again.backup")),
        RunKind::Verify => Some(Again::Button("again.verify")),
        RunKind::Restore => {
            let request = StoredRequest::from_stored(run.request.as_deref()?)?;
            Some(if repeatable(&request) {
                Again::Button("again.restore")
            } else {
                Again::OnBackupPage(request.backup)
            })
        }
    }
}

/// A restore that wrote nothing over anything and needs no password the history left out.
fn repeatable(request: &StoredRequest) -> bool {
    !request.replace && request.to.as_deref().is_none_or(|to| !to.contains("://"))
}

fn backup_choice(name: &str) -> BackupChoice {
    match name {
        "latest" => BackupChoice::Latest,
        name => BackupChoice::Folder(name.to_owned()),
    }
}

/// Why a run cannot start again, said on the page it was asked from.
enum Refusal {
    Said(String),
    Failed(WebError),
}

impl From<WebError> for Refusal {
    fn from(error: WebError) -> Self {
        Self::Failed(error)
    }
}

pub async fn run_again(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let run = crate::db::runs::run(&state.pool, id)
        .await
        .map_err(|e| WebError::internal("reading a run", e))?
        .ok_or(WebError::NotFound)?;
    let here = format!("/backups/{id}");
    match start(&state, &page, &run).await {
        Ok(new) => {
            tracing::info!(run = new, again = id, user = ?page.user, "run started again from its page");
            session::set_notice(&session, page.t("again.started")).await?;
            Ok(Redirect::to(&format!("/backups/{new}")).into_response())
        }
        Err(Refusal::Said(message)) => {
            session::set_error(&session, message).await?;
            Ok(Redirect::to(&here).into_response())
        }
        Err(Refusal::Failed(error)) => Err(error),
    }
}

async fn start(state: &AppState, page: &Page, run: &Run) -> Result<RunId, Refusal> {
    let said = |key: &str| Refusal::Said(page.t(key));
    let started = match offer(run) {
        None if run.status == RunStatus::Running => return Err(said("again.still_running")),
        None => return Err(Refusal::Failed(WebError::NotFound)),
        Some(Again::OnBackupPage(_)) => return Err(said("again.restore_on_page")),
        Some(Again::Button(_)) => match run.kind {
            RunKind::Backup => {
                let job = crate::jobs::load(&state.pool, &state.key, state.config.data_dir())
                    .await
                    .map_err(|e| Refusal::Said(e.message().render(page.lang)))?;
                state.runner.start(Trigger::Manual, job).await
            }
            RunKind::Verify => {
                let request = run.request.as_deref().and_then(StoredRequest::from_stored);
                let backup = match (request, run.folder.as_deref()) {
                    (Some(request), _) => backup_choice(&request.backup),
                    (None, Some(key)) => backup_choice(key.rsplit('/').next().unwrap_or(key)),
                    (None, None) => BackupChoice::Latest,
                };
                let job = crate::jobs::verify_job(&state.pool, &state.key, backup)
                    .await
                    .map_err(|e| Refusal::Said(e.message().render(page.lang)))?;
                state.runner.start_verify(Trigger::Manual, job).await
            }
            RunKind::Restore => {
                let stored = run
                    .request
                    .as_deref()
                    .and_then(StoredRequest::from_stored)
                    .ok_or(Refusal::Failed(WebError::NotFound))?;
                let request = Request {
                    backup: backup_choice(&stored.backup),
                    source: SourceChoice::parse(&stored.source),
                    to: stored.to.map(PathBuf::from),
                    replace: false,
                };
                let job = crate::jobs::restore_job(&state.pool, &state.key, request)
                    .await
                    .map_err(|e| Refusal::Said(e.message().render(page.lang)))?;
                state.runner.start_restore(Trigger::Manual, job).await
            }
        },
    };
    match started {
        Ok(id) => Ok(id),
        Err(StartError::AlreadyRunning(_)) => Err(said("again.busy")),
        Err(e @ (StartError::History(_) | StartError::Lock { .. })) => Err(Refusal::Failed(
            WebError::internal("starting a run again", e),
        )),
    }
}
