//! Automatic backups: a task that starts runs at the saved schedule's firings (computed
//! by `settings::Schedule`, the source of truth, across daylight saving changes), catches
//! up once on a firing missed while the app was down, never starts two runs at once, and
//! alerts the admin when no backup succeeded in time.

mod clock;
mod history;
mod overdue;
mod plan;
mod scheduler;
mod verification;

pub use clock::{Clock, ManualClock, SystemClock};
pub use overdue::{Overdue, check as check_overdue, check_idle as check_overdue_idle, overdue};
pub use plan::{Decision, Plan, due, expected_by, grace};
pub use scheduler::{JobSource, Scheduler, SchedulerEvent, SchedulerParts};
pub use verification::{Verifier, VerifierParts};

use crate::db::notifications::NotificationsError;
use crate::db::runs::RunsError;
use crate::notify::NotifyError;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("scheduler: {0}")]
    Runs(#[from] RunsError),
    #[error("scheduler: {0}")]
    Settings(#[from] crate::db::settings::SettingsError),
    #[error("scheduler: {0}")]
    Notify(#[from] NotifyError),
    #[error("scheduler: {0}")]
    Notifications(#[from] NotificationsError),
    #[error("scheduler: cannot start a backup: {0}")]
    Start(String),
}
