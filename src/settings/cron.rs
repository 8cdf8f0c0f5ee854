//! A cron expression for custom backup times: the standard five fields, read with croner.

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::Invalid;
use super::input::required;

/// How far ahead a firing is looked for. Nine years covers the longest wait a five-field
/// expression can have in practice: February 29 around 2100, which is not a leap year.
const HORIZON_DAYS: i64 = 9 * 366;

/// The first day from which an expression is checked to fire at all.
const REFERENCE_DAY: Option<NaiveDate> = NaiveDate::from_ymd_opt(2024, 1, 1);

/// A cron expression with five fields: minute, hour, day of month, month, day of week.
/// It fires at least once in the nine years from 2024.
#[derive(Clone)]
pub struct CronExpr {
    text: String,
    // Boxed: a parsed pattern is large, and a schedule is mostly something else.
    parsed: Box<Parsed>,
}

#[derive(Clone)]
struct Parsed {
    cron: Cron,
    /// The times of day it fires at, in order; the same on every day it fires.
    times: Vec<NaiveTime>,
}

impl CronExpr {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(Invalid::with_detail(
                "invalid.cron.field_count",
                fields.len().to_string(),
            ));
        }
        let text = fields.join(" ");
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(&text).map_err(|error| {
            faulty_field(&parser, &fields)
                .unwrap_or_else(|| Invalid::with_detail("invalid.cron.syntax", error.to_string()))
        })?;
        let times = times_of_day(&cron);
        let expr = Self {
            text,
            parsed: Box::new(Parsed { cron, times }),
        };
        let fires = REFERENCE_DAY
            .and_then(|day| expr.first_at_or_after(day.and_time(NaiveTime::MIN)))
            .is_some();
        if expr.parsed.times.is_empty() || !fires {
            return Err(Invalid::new("invalid.cron.never"));
        }
        Ok(expr)
    }

    /// The expression with its fields separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first wall-clock time it names at or after `local`, within the horizon.
    pub(crate) fn first_at_or_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let whole_minute = local.with_second(0)?.with_nanosecond(0)?;
        let local = if whole_minute < local {
            whole_minute.checked_add_signed(Duration::minutes(1))?
        } else {
            whole_minute
        };
        let mut day = local.date();
        if self.fires_on(day) {
            let index = self.parsed.times.partition_point(|t| *t < local.time());
            if let Some(time) = self.parsed.times.get(index) {
                return Some(day.and_time(*time));
            }
        }
        let first = *self.parsed.times.first()?;
        for _ in 0..HORIZON_DAYS {
            day = day.succ_opt()?;
            if self.fires_on(day) {
                return Some(day.and_time(first));
            }
        }
        None
    }

    /// The last wall-clock time it names at or before `local`, within the horizon.
    pub(crate) fn last_at_or_before(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let local = local.with_second(0)?.with_nanosecond(0)?;
        let mut day = local.date();
        if self.fires_on(day) {
            let index = self.parsed.times.partition_point(|t| *t <= local.time());
            if let Some(time) = index.checked_sub(1).and_then(|i| self.parsed.times.get(i)) {
                return Some(day.and_time(*time));
            }
        }
        let last = *self.parsed.times.last()?;
        for _ in 0..HORIZON_DAYS {
            day = day.pred_opt()?;
            if self.fires_on(day) {
                return Some(day.and_time(last));
            }
        }
        None
    }

    /// The longest wait between two consecutive wall-clock times it names, over the
    /// horizon from the reference day (the calendar repeats, so this holds for any day).
    pub(crate) fn longest_gap(&self) -> Duration {
        let horizon = Duration::days(HORIZON_DAYS);
        let (Some(first), Some(last)) = (self.parsed.times.first(), self.parsed.times.last())
        else {
            return horizon;
        };
        let mut longest = self
            .parsed
            .times
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or(Duration::zero());
        let Some(mut day) = REFERENCE_DAY else {
            return horizon;
        };
        let mut previous_day: Option<NaiveDate> = None;
        let mut found_two_days = false;
        for _ in 0..HORIZON_DAYS {
            if self.fires_on(day) {
                if let Some(previous) = previous_day {
                    let gap = day.and_time(*first) - previous.and_time(*last);
                    longest = longest.max(gap);
                    found_two_days = true;
                }
                previous_day = Some(day);
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        if found_two_days { longest } else { horizon }
    }

    // croner's field matchers decide days and times; its own search is not used because
    // it walks wall-clock time with DST rules of its own, and the schedule applies one
    // rule to every kind of schedule.
    fn fires_on(&self, day: NaiveDate) -> bool {
        let pattern = &self.parsed.cron.pattern;
        pattern.month_match(day.month()).unwrap_or(false)
            && pattern
                .day_match(day.year(), day.month(), day.day())
                .unwrap_or(false)
    }
}

/// The message for the first field that is wrong on its own, naming it and what it takes.
fn faulty_field(parser: &CronParser, fields: &[&str]) -> Option<Invalid> {
    const KEYS: [&str; 5] = [
        "invalid.cron.minute",
        "invalid.cron.hour",
        "invalid.cron.day_of_month",
        "invalid.cron.month",
        "invalid.cron.day_of_week",
    ];
    KEYS.iter()
        .zip(fields)
        .enumerate()
        .find_map(|(index, (key, field))| {
            let mut alone = ["*"; 5];
            alone[index] = field;
            parser
                .parse(&alone.join(" "))
                .is_err()
                .then(|| Invalid::with_detail(key, *field))
        })
}

/// Every minute of a day the hour and minute fields accept, in order.
fn times_of_day(cron: &Cron) -> Vec<NaiveTime> {
    let pattern = &cron.pattern;
    let mut times = Vec::new();
    for hour in (0..24).filter(|h| pattern.hour_match(*h).unwrap_or(false)) {
        for minute in (0..60).filter(|m| pattern.minute_match(*m).unwrap_or(false)) {
            times.extend(NaiveTime::from_hms_opt(hour, minute, 0));
        }
    }
    times
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CronExpr {}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronExpr").field(&self.text).finish()
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn five_fields_are_accepted_and_spacing_is_normalised() {
        let expr = CronExpr::parse("  30   2 * *   1-5 ").unwrap();
        assert_eq!(expr.as_str(), "30 2 * * 1-5");
        assert_eq!(expr.to_string(), "30 2 * * 1-5");
        assert_eq!(format!("{expr:?}"), "CronExpr(\"30 2 * * 1-5\")");
        for input in [
            "*/15 * * * *",
            "0 3 1 * *",
            "0 4 * * SUN",
            "0 0 L * *",
            "0 1 * JAN,JUL MON#1",
        ] {
            assert!(CronExpr::parse(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn other_field_counts_are_refused_with_the_count() {
        assert_eq!(CronExpr::parse("").unwrap_err().key, "invalid.required");
        for (input, count) in [("0 2 * *", "4"), ("0 0 2 * * *", "6"), ("@daily", "1")] {
            let invalid = CronExpr::parse(input).unwrap_err();
            assert_eq!(invalid.key, "invalid.cron.field_count", "{input}");
            assert_eq!(invalid.detail.as_deref(), Some(count));
        }
    }

    #[test]
    fn a_wrong_field_is_named_with_what_it_takes() {
        for (input, key, field) in [
            ("61 * * * *", "invalid.cron.minute", "61"),
            ("x * * * *", "invalid.cron.minute", "x"),
            ("*/0 * * * *", "invalid.cron.minute", "*/0"),
            ("0 24 * * *", "invalid.cron.hour", "24"),
            ("0 1-2-3 * * *", "invalid.cron.hour", "1-2-3"),
            ("0 0 32 * *", "invalid.cron.day_of_month", "32"),
            ("0 0 * 13 *", "invalid.cron.month", "13"),
            ("0 0 * * 8", "invalid.cron.day_of_week", "8"),
            ("0 0 * * MONDAY", "invalid.cron.day_of_week", "MONDAY"),
        ] {
            let invalid = CronExpr::parse(input).unwrap_err();
            assert_eq!(invalid.key, key, "{input}");
            assert_eq!(invalid.detail.as_deref(), Some(field), "{input}");
        }
    }

    #[test]
    fn expressions_that_never_fire_are_refused() {
        for input in ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"] {
            assert_eq!(
                CronExpr::parse(input).unwrap_err().key,
                "invalid.cron.never",
                "{input}"
            );
        }
        assert!(
            CronExpr::parse("0 0 29 2 *").is_ok(),
            "February 29 comes every four years"
        );
    }

    #[test]
    fn first_and_last_follow_the_fields() {
        let expr = CronExpr::parse("15,45 9-10 * * 1-5").unwrap();
        // Friday 2024-03-01 10:50 → next is Monday 09:15.
        assert_eq!(
            expr.first_at_or_after(at(2024, 3, 1, 10, 50)),
            Some(at(2024, 3, 4, 9, 15))
        );
        assert_eq!(
            expr.first_at_or_after(at(2024, 3, 4, 9, 15)),
            Some(at(2024, 3, 4, 9, 15))
        );
        assert_eq!(
            expr.last_at_or_before(at(2024, 3, 4, 9, 14)),
            Some(at(2024, 3, 1, 10, 45))
        );
        assert_eq!(
            expr.last_at_or_before(at(2024, 3, 4, 10, 44)),
            Some(at(2024, 3, 4, 10, 15))
        );
        let later = at(2024, 3, 4, 9, 15) + Duration::seconds(1);
        assert_eq!(expr.first_at_or_after(later), Some(at(2024, 3, 4, 9, 45)));
    }

    #[test]
    fn february_29_is_found_years_ahead() {
        let expr = CronExpr::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            expr.first_at_or_after(at(2097, 1, 1, 0, 0)),
            Some(at(2104, 2, 29, 0, 0))
        );
        assert_eq!(
            expr.last_at_or_before(at(2103, 1, 1, 0, 0)),
            Some(at(2096, 2, 29, 0, 0))
        );
    }

    #[test]
    fn longest_gap_spans_nights_weekends_and_months() {
        let gap = |input: &str| CronExpr::parse(input).unwrap().longest_gap();
        assert_eq!(gap("*/5 * * * *"), Duration::minutes(5));
        assert_eq!(gap("0 * * * *"), Duration::hours(1));
        assert_eq!(gap("0 9-17 * * *"), Duration::hours(16));
        assert_eq!(gap("0 2 * * 1-5"), Duration::days(3));
        assert_eq!(gap("0 2 31 * *"), Duration::days(61));
        assert_eq!(gap("0 0 29 2 *"), Duration::days(4 * 365 + 1));
    }
}
