//! When automatic backups run: the timing rule chosen in the form, and its firing times.
//! Every computation is pure and takes the current time, so the scheduler's catch-up and
//! overdue checks can be tested across daylight saving changes.

mod wall_clock;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use chrono::{
    DateTime, Datelike, Duration, DurationRound, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone as _, Utc,
};
use chrono_tz::{OffsetComponents, Tz};

use super::{CronExpr, Frequency, Invalid, MonthDay, TimeOfDay, TimeZone, Weekday};
use wall_clock::WallClockRule;

/// How much a daylight saving change can lengthen the wait between two firings of a
/// wall-clock rule: two hours, the largest shift in use (Antarctica/Troll).
const DST_ALLOWANCE: Duration = Duration::hours(2);

/// The timing rule of automatic backups. Wall-clock rules (daily, weekly, monthly, cron)
/// are read in the time zone passed to each method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Backups run only when asked for.
    Manual,
    /// Every hour at this minute (0–59) of the zone's standard time.
    Hourly {
        minute: u32,
    },
    Daily {
        at: TimeOfDay,
    },
    Weekly {
        day: Weekday,
        at: TimeOfDay,
    },
    /// On this day of each month; past a month's end, on its last day.
    Monthly {
        day: MonthDay,
        at: TimeOfDay,
    },
    Cron(CronExpr),
}

/// A part the chosen frequency needs but the form left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingPart {
    Time,
    Weekday,
    MonthDay,
    Cron,
}

impl MissingPart {
    /// The form field to show the message next to.
    pub fn field(self) -> &'static str {
        match self {
            Self::Time => "backup_time",
            Self::Weekday => "backup_weekday",
            Self::MonthDay => "backup_monthday",
            Self::Cron => "cron",
        }
    }

    pub fn invalid(self) -> Invalid {
        Invalid::new("invalid.required")
    }
}

impl Schedule {
    /// Builds the rule from parts already parsed; only the parts the frequency uses are
    /// needed. Hourly uses the minute of `time` (0 when there is none).
    pub fn from_parts(
        frequency: Frequency,
        time: Option<TimeOfDay>,
        weekday: Option<Weekday>,
        monthday: Option<MonthDay>,
        cron: Option<CronExpr>,
    ) -> Result<Self, MissingPart> {
        let at = || time.ok_or(MissingPart::Time);
        Ok(match frequency {
            Frequency::None => Self::Manual,
            Frequency::Hourly => Self::Hourly {
                minute: time.map_or(0, TimeOfDay::minute),
            },
            Frequency::Daily => Self::Daily { at: at()? },
            Frequency::Weekly => Self::Weekly {
                day: weekday.ok_or(MissingPart::Weekday)?,
                at: at()?,
            },
            Frequency::Monthly => Self::Monthly {
                day: monthday.ok_or(MissingPart::MonthDay)?,
                at: at()?,
            },
            Frequency::Cron => Self::Cron(cron.ok_or(MissingPart::Cron)?),
        })
    }

    pub fn frequency(&self) -> Frequency {
        match self {
            Self::Manual => Frequency::None,
            Self::Hourly { .. } => Frequency::Hourly,
            Self::Daily { .. } => Frequency::Daily,
            Self::Weekly { .. } => Frequency::Weekly,
            Self::Monthly { .. } => Frequency::Monthly,
            Self::Cron(_) => Frequency::Cron,
        }
    }

    /// The first firing strictly after `after`; `None` for manual backups.
    pub fn next_after(&self, tz: &TimeZone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Manual => None,
            Self::Hourly { minute } => {
                let hour = after.duration_trunc(Duration::hours(1)).ok()?;
                let here = hourly_firing(*minute, tz.tz(), hour)?;
                if here > after {
                    Some(here)
                } else {
                    hourly_firing(
                        *minute,
                        tz.tz(),
                        hour.checked_add_signed(Duration::hours(1))?,
                    )
                }
            }
            _ => wall_clock::next_after(&Rule::of(self)?, tz.tz(), after),
        }
    }

    /// The most recent firing at or before `now`, to catch up on a run missed while the
    /// server was down; `None` for manual backups.
    pub fn last_at_or_before(&self, tz: &TimeZone, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Manual => None,
            Self::Hourly { minute } => {
                let hour = now.duration_trunc(Duration::hours(1)).ok()?;
                let here = hourly_firing(*minute, tz.tz(), hour)?;
                if here <= now {
                    Some(here)
                } else {
                    hourly_firing(
                        *minute,
                        tz.tz(),
                        hour.checked_sub_signed(Duration::hours(1))?,
                    )
                }
            }
            _ => wall_clock::last_at_or_before(&Rule::of(self)?, tz.tz(), now),
        }
    }

    /// The longest wait between two consecutive firings, in any time zone: past it without
    /// a successful backup, the backups are overdue. `None` for manual backups.
    pub fn expected_interval(&self) -> Option<Duration> {
        match self {
            Self::Manual => None,
            Self::Hourly { .. } => Some(Duration::hours(1)),
            Self::Daily { .. } => Some(Duration::days(1) + DST_ALLOWANCE),
            Self::Weekly { .. } => Some(Duration::weeks(1) + DST_ALLOWANCE),
            Self::Monthly { .. } => Some(Duration::days(31) + DST_ALLOWANCE),
            Self::Cron(expr) => Some(expr.longest_gap() + DST_ALLOWANCE),
        }
    }
}

/// The hourly firing within the UTC hour starting at `hour`. The minute is read on the
/// zone's standard time, which does not move with daylight saving, so firings are exactly
/// an hour apart all year (in a zone half an hour off UTC, minute 0 is half past in UTC).
fn hourly_firing(minute: u32, tz: Tz, hour: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let standard = tz
        .offset_from_utc_datetime(&hour.naive_utc())
        .base_utc_offset();
    let offset_minutes = standard.num_minutes().rem_euclid(60);
    let utc_minute = (i64::from(minute) - offset_minutes).rem_euclid(60);
    hour.checked_add_signed(Duration::minutes(utc_minute))
}

/// The wall-clock rules, with their times ready for date arithmetic.
enum Rule<'a> {
    Daily(NaiveTime),
    Weekly(chrono::Weekday, NaiveTime),
    Monthly(u32, NaiveTime),
    Cron(&'a CronExpr),
}

impl<'a> Rule<'a> {
    fn of(schedule: &'a Schedule) -> Option<Self> {
        match schedule {
            Schedule::Daily { at } => Some(Self::Daily(at.to_naive())),
            Schedule::Weekly { day, at } => Some(Self::Weekly(day.to_chrono(), at.to_naive())),
            Schedule::Monthly { day, at } => Some(Self::Monthly(day.get(), at.to_naive())),
            Schedule::Cron(expr) => Some(Self::Cron(expr)),
            Schedule::Manual | Schedule::Hourly { .. } => None,
        }
    }
}

impl WallClockRule for Rule<'_> {
    fn first_at_or_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = local.date();
        let candidate = match self {
            Self::Daily(at) => day.and_time(*at),
            Self::Weekly(weekday, at) => {
                let ahead =
                    (7 + weekday.num_days_from_monday() - day.weekday().num_days_from_monday()) % 7;
                day.checked_add_signed(Duration::days(i64::from(ahead)))?
                    .and_time(*at)
            }
            Self::Monthly(day_of_month, at) => in_month(day, *day_of_month)?.and_time(*at),
            Self::Cron(expr) => return expr.first_at_or_after(local),
        };
        if candidate >= local {
            return Some(candidate);
        }
        match self {
            Self::Daily(_) => candidate.checked_add_signed(Duration::days(1)),
            Self::Weekly(..) => candidate.checked_add_signed(Duration::weeks(1)),
            Self::Monthly(day_of_month, at) => {
                let next_month = first_of_month(day)?.checked_add_months(Months::new(1))?;
                Some(in_month(next_month, *day_of_month)?.and_time(*at))
            }
            Self::Cron(_) => None,
        }
    }

    fn last_at_or_before(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = local.date();
        let candidate = match self {
            Self::Daily(at) => day.and_time(*at),
            Self::Weekly(weekday, at) => {
                let back =
                    (7 + day.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
                day.checked_sub_signed(Duration::days(i64::from(back)))?
                    .and_time(*at)
            }
            Self::Monthly(day_of_month, at) => in_month(day, *day_of_month)?.and_time(*at),
            Self::Cron(expr) => return expr.last_at_or_before(local),
        };
        if candidate <= local {
            return Some(candidate);
        }
        match self {
            Self::Daily(_) => candidate.checked_sub_signed(Duration::days(1)),
            Self::Weekly(..) => candidate.checked_sub_signed(Duration::weeks(1)),
            Self::Monthly(day_of_month, at) => {
                let previous_month = first_of_month(day)?.checked_sub_months(Months::new(1))?;
                Some(in_month(previous_month, *day_of_month)?.and_time(*at))
            }
            Self::Cron(_) => None,
        }
    }
}

fn first_of_month(day: NaiveDate) -> Option<NaiveDate> {
    day.with_day(1)
}

/// The given day of `day`'s month, or the month's last day when the month is shorter.
fn in_month(day: NaiveDate, day_of_month: u32) -> Option<NaiveDate> {
    let last = u32::from(day.num_days_in_month());
    day.with_day(day_of_month.min(last))
}
