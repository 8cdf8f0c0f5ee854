//! What the stored settings ask of the scheduler, and the pure decisions taken from it:
//! run now, wait, or alert, given the time and what already happened.

use chrono::{DateTime, Duration, Utc};

use crate::settings::{Schedule, Settings, TimeZone};

/// Automatic backups as saved: when they fire, in which zone, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub schedule: Schedule,
    pub tz: TimeZone,
    /// When the settings were saved: firings before it were not asked for.
    pub saved_at: DateTime<Utc>,
}

impl Plan {
    /// `None` when automatic backup is off or the frequency is "none".
    pub fn from_settings(settings: &Settings) -> Option<Plan> {
        Some(Plan {
            schedule: settings.automatic_schedule()?,
            tz: settings.timezone,
            saved_at: settings.schedule_saved_at.unwrap_or(DateTime::UNIX_EPOCH),
        })
    }

    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.next_after(&self.tz, after)
    }
}

/// What the scheduler should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing is scheduled.
    Idle,
    /// Start the run of this firing now (on time, or caught up after downtime).
    Run { slot: DateTime<Utc> },
    /// Nothing to do before this firing.
    Wait { until: DateTime<Utc> },
}

/// Whether a run is due at `now`. `handled` is the moment up to which firings are taken
/// care of: the newest firing already recorded (run, skipped or failed to start), the
/// time the settings were saved, or the start of the last successful backup, whichever is
/// latest. Only the most recent firing is ever due, so downtime over many firings gives
/// one catch-up run, not one per firing missed.
pub fn due(
    schedule: &Schedule,
    tz: &TimeZone,
    handled: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Decision {
    match schedule.last_at_or_before(tz, now) {
        Some(slot) if handled.is_none_or(|handled| slot > handled) => Decision::Run { slot },
        _ => match schedule.next_after(tz, now) {
            Some(until) => Decision::Wait { until },
            None => Decision::Idle,
        },
    }
}

/// How late a backup may be before the admin hears of it: a tenth of the expected
/// interval, at least an hour (a backup takes time).
pub fn grace(expected_interval: Duration) -> Duration {
    (expected_interval / 10).max(Duration::hours(1))
}

/// By when a successful backup is expected, counting from `since` (the last success, or
/// when the settings were saved): the first firing after it, plus the grace period.
pub fn expected_by(
    schedule: &Schedule,
    tz: &TimeZone,
    since: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let interval = schedule.expected_interval()?;
    Some(schedule.next_after(tz, since)? + grace(interval))
}
