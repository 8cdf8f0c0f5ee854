//! `GET /api/v1/status`: one word for how backups stand, with the facts behind it — the
//! last backup and verification, the last success, the next scheduled run, and whether
//! one is in progress.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;

use crate::app::AppState;
use crate::db::runs::{self, Run, RunStatus};
use crate::lang::Lang;
use crate::schedule::{Plan, check_overdue};
use crate::settings::Settings;
use crate::web::api::error::ApiError;
use crate::web::api::runs::{RunJson, iso};

/// How backups stand, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No bucket, credentials or source: no backup can run.
    NotConfigured,
    /// The last backup failed (or was interrupted).
    Failed,
    /// The last backup stored only some sources.
    Partial,
    /// No backup succeeded within what the schedule expects.
    Overdue,
    /// The latest verification failed.
    VerificationFailed,
    /// Configured, but no backup ever ended.
    NoBackup,
    Ok,
}

/// What the state is decided from.
struct Facts<'a> {
    configured: bool,
    last_backup: Option<&'a Run>,
    overdue: bool,
    verification_failed: bool,
}

impl Health {
    fn of(facts: &Facts<'_>) -> Self {
        if !facts.configured {
            return Self::NotConfigured;
        }
        match facts.last_backup.map(|run| run.status) {
            Some(RunStatus::Failed | RunStatus::Interrupted) => Self::Failed,
            Some(RunStatus::Partial) => Self::Partial,
            _ if facts.overdue => Self::Overdue,
            _ if facts.verification_failed => Self::VerificationFailed,
            None => Self::NoBackup,
            Some(_) => Self::Ok,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct StatusJson {
    state: Health,
    in_progress: bool,
    running_run_id: Option<i64>,
    last_success_at: Option<String>,
    next_run_at: Option<String>,
    overdue: bool,
    last_backup: Option<RunJson>,
    last_verification: Option<RunJson>,
}

/// Whether a backup could run: a bucket, its credentials and something to back up.
fn configured(settings: &Settings, sources: usize) -> bool {
    settings.bucket.is_some()
        && settings.access_key_id.is_some()
        && settings.has_secret()
        && sources > 0
}

pub(super) async fn show(
    State(state): State<AppState>,
    lang: Lang,
) -> Result<Json<StatusJson>, ApiError> {
    let now = Utc::now();
    let pool = &state.pool;
    let settings = crate::db::settings::load(pool).await?;
    let sources = crate::db::sources::list(pool).await?.len();
    // The row says so for a run of another process too (the `backup` command).
    let running = match state.runner.current() {
        Some(id) => Some(id),
        None => runs::running(pool).await?,
    };
    let last_backup = runs::latest_ended_backup(pool).await?;
    let last_success_at = runs::latest_success(pool)
        .await?
        .map(|run| run.finished_at.unwrap_or(run.started_at));
    let last_verification = runs::latest_ended_verification(pool).await?;
    // As the banner and the alert decide it: never while a run is in progress.
    let overdue = running.is_none()
        && Plan::from_settings(&settings)
            .and_then(|plan| check_overdue(&plan, last_success_at, now))
            .is_some();
    let verification_failed = last_verification
        .as_ref()
        .is_some_and(|run| run.status.is_failure());
    let facts = Facts {
        configured: configured(&settings, sources),
        last_backup: last_backup.as_ref(),
        overdue,
        verification_failed,
    };
    Ok(Json(StatusJson {
        state: Health::of(&facts),
        in_progress: running.is_some(),
        running_run_id: running,
        last_success_at: last_success_at.map(iso),
        next_run_at: state.scheduler.next_run().map(iso),
        overdue,
        last_backup: last_backup.as_ref().map(|run| RunJson::new(run, lang)),
        last_verification: last_verification
            .as_ref()
            .map(|run| RunJson::new(run, lang)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::{RunKind, Trigger};

    fn backup(status: RunStatus) -> Run {
        Run {
            id: 1,
            kind: RunKind::Backup,
            trigger: Trigger::Api,
            status,
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            scheduled_for: None,
            folder: None,
            total_bytes: 0,
            object_count: 0,
            error: None,
            warning: None,
            progress: None,
            request: None,
        }
    }

    #[test]
    fn the_worst_fact_decides_the_state() {
        let ok = backup(RunStatus::Success);
        let failed = backup(RunStatus::Failed);
        let partial = backup(RunStatus::Partial);
        let facts = |configured, last_backup, overdue, verification_failed| Facts {
            configured,
            last_backup,
            overdue,
            verification_failed,
        };
        let of = |f: Facts<'_>| Health::of(&f);
        assert_eq!(
            of(facts(false, Some(&failed), true, true)),
            Health::NotConfigured
        );
        assert_eq!(of(facts(true, Some(&failed), true, true)), Health::Failed);
        assert_eq!(
            of(facts(true, Some(&partial), true, false)),
            Health::Partial
        );
        assert_eq!(of(facts(true, Some(&ok), true, true)), Health::Overdue);
        assert_eq!(of(facts(true, None, true, false)), Health::Overdue);
        assert_eq!(
            of(facts(true, Some(&ok), false, true)),
            Health::VerificationFailed
        );
        assert_eq!(of(facts(true, None, false, false)), Health::NoBackup);
        assert_eq!(of(facts(true, Some(&ok), false, false)), Health::Ok);
    }
}
