//! Overdue backups: no success within what the schedule expects, whatever the reason (the
//! process was killed, the schedule broke, every run fails). Shown as a banner on every
//! page and mailed once until a backup succeeds.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::ScheduleError;
use super::plan::{Plan, expected_by};
use crate::db::runs;

/// Backups are late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    /// The end of the last successful backup, if there ever was one.
    pub last_success: Option<DateTime<Utc>>,
    /// When a successful backup was expected at the latest.
    pub expected_by: DateTime<Utc>,
    /// Counting started here: the last success, or the settings' saving if later. One
    /// alert is sent per value of it.
    pub since: DateTime<Utc>,
}

impl Overdue {
    /// The banner's text in `locale`, times shown in `tz`.
    pub fn banner(&self, locale: &str, tz: chrono_tz::Tz) -> String {
        match self.last_success {
            Some(at) => {
                let at = at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string();
                rust_i18n::t!("notify.overdue.banner", locale = locale, detail = at).into_owned()
            }
            None => rust_i18n::t!("notify.overdue.banner_never", locale = locale).into_owned(),
        }
    }
}

/// Pure: whether backups under `plan` are overdue at `now`, given the last success.
pub fn check(
    plan: &Plan,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Overdue> {
    let since = last_success.map_or(plan.saved_at, |at| at.max(plan.saved_at));
    let expected_by = expected_by(&plan.schedule, &plan.tz, since)?;
    (now > expected_by).then_some(Overdue {
        last_success,
        expected_by,
        since,
    })
}

/// Whether backups are overdue at `now`, as the database says. Not while a run is in progress:
/// it may be the one that is late.
pub async fn overdue(
    pool: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<Option<Overdue>, ScheduleError> {
    let settings = crate::db::settings::load(pool).await?;
    let Some(plan) = Plan::from_settings(&settings) else {
        return Ok(None);
    };
    overdue_under(pool, &plan, now).await
}

pub(super) async fn overdue_under(
    pool: &SqlitePool,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Option<Overdue>, ScheduleError> {
    let running = runs::running(pool).await?.is_some();
    let last_success = runs::latest_success(pool)
        .await?
        .map(|run| run.finished_at.unwrap_or(run.started_at));
    Ok(check_idle(plan, running, last_success, now))
}

/// Pure: `check`, except while a run is in progress (`running`): it may be the one that
/// is late.
pub fn check_idle(
    plan: &Plan,
    running: bool,
    last_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Overdue> {
    (!running).then(|| check(plan, last_success, now)).flatten()
}
