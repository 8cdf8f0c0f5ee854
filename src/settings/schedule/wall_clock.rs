//! Turning wall-clock times in a time zone into instants, across daylight saving changes.
//!
//! A rule names wall-clock times in order. Each names one instant: a time that occurs
//! twice (clocks going back) names its first occurrence, and a time that does not exist
//! (clocks going forward) names the first instant after the gap. This mapping never goes
//! backwards, so the firings of a rule are its wall-clock times mapped, duplicates merged.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};

/// A rule that names wall-clock times.
pub(super) trait WallClockRule {
    fn first_at_or_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime>;
    fn last_at_or_before(&self, local: NaiveDateTime) -> Option<NaiveDateTime>;
}

/// More wall-clock times than a rule can name between two searches' starting points: a
/// rule firing every minute names about 1,600 in the widest window (26 hours).
const MAX_STEPS: usize = 100_000;

/// The first firing strictly after `after`.
pub(super) fn next_after(
    rule: &impl WallClockRule,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start = local(tz, after).checked_sub_signed(slack(tz, after))?;
    let mut candidate = rule.first_at_or_after(start)?;
    for _ in 0..MAX_STEPS {
        let instant = instant_of(tz, candidate)?;
        if instant > after {
            return Some(instant);
        }
        candidate = rule.first_at_or_after(candidate.checked_add_signed(Duration::seconds(1))?)?;
    }
    None
}

/// The last firing at or before `now`.
pub(super) fn last_at_or_before(
    rule: &impl WallClockRule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start = local(tz, now).checked_add_signed(slack(tz, now))?;
    let mut candidate = rule.last_at_or_before(start)?;
    for _ in 0..MAX_STEPS {
        let instant = instant_of(tz, candidate)?;
        if instant <= now {
            return Some(instant);
        }
        candidate = rule.last_at_or_before(candidate.checked_sub_signed(Duration::seconds(1))?)?;
    }
    None
}

/// The instant a wall-clock time names (see the module comment).
pub(super) fn instant_of(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => GapInfo::new(&local, &tz)?
            .end
            .map(|end| end.with_timezone(&Utc)),
    }
}

fn local(tz: Tz, instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&tz).naive_local()
}

/// How far wall-clock time around `at` can stand from its usual distance to `at`: the
/// largest change of UTC offset within two days, plus an hour of margin. A search starts
/// this far on the other side of `at`'s wall-clock time, so no firing is skipped.
fn slack(tz: Tz, at: DateTime<Utc>) -> Duration {
    let offset = |instant: DateTime<Utc>| {
        i64::from(
            tz.offset_from_utc_datetime(&instant.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    };
    let here = offset(at);
    let widest = (-2..=2)
        .filter_map(|days| at.checked_add_signed(Duration::days(days)))
        .map(|instant| (offset(instant) - here).abs())
        .max()
        .unwrap_or(0);
    Duration::seconds(widest) + Duration::hours(1)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn local_time(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local_time(y, m, d, h, min).and_utc()
    }

    #[test]
    fn a_time_in_the_spring_gap_names_the_end_of_the_gap() {
        let paris = chrono_tz::Europe::Paris;
        // 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        assert_eq!(
            instant_of(paris, local_time(2024, 3, 31, 2, 30)),
            Some(utc(2024, 3, 31, 1, 0))
        );
        assert_eq!(
            instant_of(paris, local_time(2024, 3, 31, 2, 0)),
            Some(utc(2024, 3, 31, 1, 0))
        );
        assert_eq!(
            instant_of(paris, local_time(2024, 3, 31, 3, 0)),
            Some(utc(2024, 3, 31, 1, 0))
        );
    }

    #[test]
    fn a_repeated_time_in_the_autumn_names_its_first_occurrence() {
        let paris = chrono_tz::Europe::Paris;
        // 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
        assert_eq!(
            instant_of(paris, local_time(2024, 10, 27, 2, 30)),
            Some(utc(2024, 10, 27, 0, 30))
        );
    }

    #[test]
    fn slack_grows_near_a_change_of_offset() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(slack(paris, utc(2024, 7, 1, 0, 0)), Duration::hours(1));
        assert_eq!(slack(paris, utc(2024, 3, 30, 12, 0)), Duration::hours(2));
        // Samoa skipped 2011-12-30 entirely.
        assert_eq!(
            slack(chrono_tz::Pacific::Apia, utc(2011, 12, 30, 0, 0)),
            Duration::hours(25)
        );
    }
}
