//! `POST /api/v1/backups` and `POST /api/v1/verify`: start an operation the way the
//! browser's buttons do, and answer at once with its run (202 and `Location`).

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::backup::StartError;
use crate::backup::restore::BackupChoice;
use crate::db::runs::{RunId, Trigger};
use crate::jobs::JobError;
use crate::web::api::auth::Caller;
use crate::web::api::error::ApiError;

#[derive(Debug, Serialize)]
struct Started {
    run_id: RunId,
}

/// 202 with the run's id, and where to follow it.
fn accepted(run_id: RunId) -> Response {
    let location = format!("/api/v1/runs/{run_id}");
    let mut response = (StatusCode::ACCEPTED, Json(Started { run_id })).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Settings that do not allow the job say which; anything else is the server's fault.
fn job_refused(error: JobError) -> ApiError {
    match error {
        JobError::Incomplete(_) | JobError::NoSources => ApiError::NotConfigured(error.message()),
        other => ApiError::internal("preparing the job", other),
    }
}

fn start_refused(error: StartError) -> ApiError {
    match error {
        StartError::AlreadyRunning(_) => ApiError::Busy,
        other => ApiError::internal("starting a run", other),
    }
}

pub(super) async fn backup(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let job = crate::jobs::load(&state.pool, &state.key, state.config.data_dir())
        .await
        .map_err(job_refused)?;
    let run_id = state
        .runner
        .start(Trigger::Api, job)
        .await
        .map_err(start_refused)?;
    tracing::info!(run = run_id, token = caller.token_id, name = %caller.name, "backup started through the API");
    Ok(accepted(run_id))
}

pub(super) async fn verify(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let job = crate::jobs::verify_job(&state.pool, &state.key, BackupChoice::Latest)
        .await
        .map_err(job_refused)?;
    let run_id = state
        .runner
        .start_verify(Trigger::Api, job)
        .await
        .map_err(start_refused)?;
    tracing::info!(run = run_id, token = caller.token_id, name = %caller.name, "verification started through the API");
    Ok(accepted(run_id))
}
