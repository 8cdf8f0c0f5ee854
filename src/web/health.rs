//! Operations: `/healthz` for probes (no login) and `/metrics` in Prometheus text format
//! (for a logged-in user, or with the bearer token set in S3BACKUP_METRICS_TOKEN).

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_sessions::Session;

use crate::app::AppState;
use crate::db::stats;
use crate::web::error::WebError;
use crate::web::session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let database = stats::ping(&state.pool).await;
    let scheduler = state.scheduler.is_alive();
    let healthy = database.is_ok() && scheduler;
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "scheduler": if scheduler { "ok" } else { "stopped" },
        "backup_running": state.runner.current().is_some(),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        tracing::error!(error = ?database.err(), scheduler, "health check failed");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn bearer_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|sent| crate::web::csrf::same(sent.as_bytes(), expected.as_bytes()))
}

async fn metrics(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let allowed = session::user(&session).await?.is_some()
        || bearer_matches(&headers, state.config.metrics_token.as_deref());
    if !allowed {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "log in, or send the metrics token as a bearer token\n",
        )
            .into_response());
    }
    let text = render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn render(state: &AppState) -> Result<String, WebError> {
    let mut out = String::new();
    let mut line = |s: String| {
        let _ = writeln!(out, "{s}");
    };
    line(
        "# HELP s3backup_runs_total Runs recorded, by kind (backup, restore, verify) and status."
            .into(),
    );
    line("# TYPE s3backup_runs_total counter".into());
    for (kind, status, count) in stats::runs_by_kind_and_status(&state.pool).await? {
        line(format!(
            "s3backup_runs_total{{kind=\"{kind}\",status=\"{status}\"}} {count}"
        ));
    }
    line(
        "# HELP s3backup_last_success_timestamp_seconds End of the latest successful backup."
            .into(),
    );
    line("# TYPE s3backup_last_success_timestamp_seconds gauge".into());
    let last_success = stats::last_success_at(&state.pool).await?;
    line(format!(
        "s3backup_last_success_timestamp_seconds {}",
        last_success.map_or(0, |t| t.timestamp())
    ));
    line(
        "# HELP s3backup_last_verification_success_timestamp_seconds End of the latest verification that passed (0: none)."
            .into(),
    );
    line("# TYPE s3backup_last_verification_success_timestamp_seconds gauge".into());
    let verified = stats::last_verified_at(&state.pool).await?;
    line(format!(
        "s3backup_last_verification_success_timestamp_seconds {}",
        verified.map_or(0, |t| t.timestamp())
    ));
    line("# HELP s3backup_backup_running Whether an operation (backup, restore, verify) is running now.".into());
    line("# TYPE s3backup_backup_running gauge".into());
    line(format!(
        "s3backup_backup_running {}",
        u8::from(state.runner.current().is_some())
    ));
    if let Some((id, status, started, finished, bytes)) = stats::last_finished(&state.pool).await? {
        line("# HELP s3backup_last_run_success Whether the latest finished run succeeded.".into());
        line("# TYPE s3backup_last_run_success gauge".into());
        line(format!(
            "s3backup_last_run_success{{status=\"{status}\"}} {}",
            u8::from(status == "success")
        ));
        line(
            "# HELP s3backup_last_run_duration_seconds Duration of the latest finished run.".into(),
        );
        line("# TYPE s3backup_last_run_duration_seconds gauge".into());
        line(format!(
            "s3backup_last_run_duration_seconds {}",
            (finished - started).num_milliseconds() as f64 / 1000.0
        ));
        line("# HELP s3backup_last_run_bytes Bytes stored by the latest finished run.".into());
        line("# TYPE s3backup_last_run_bytes gauge".into());
        line(format!("s3backup_last_run_bytes {bytes}"));
        line("# HELP s3backup_last_run_source_bytes Bytes stored per source by the latest finished run.".into());
        line("# TYPE s3backup_last_run_source_bytes gauge".into());
        for (source, size) in stats::bytes_per_source(&state.pool, id).await? {
            let source = source.replace('\\', "\\\\").replace('"', "\\\"");
            line(format!(
                "s3backup_last_run_source_bytes{{source=\"{source}\"}} {size}"
            ));
        }
    }
    Ok(out)
}
