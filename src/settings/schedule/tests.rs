//! Firing times of each kind of schedule, at month ends and across daylight saving changes.

use chrono::{DateTime, Duration, Utc};

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap()
}

fn time(text: &str) -> TimeOfDay {
    TimeOfDay::parse(text).unwrap()
}

fn daily(at: &str) -> Schedule {
    Schedule::Daily { at: time(at) }
}

fn monthly(day: u32, at: &str) -> Schedule {
    Schedule::Monthly {
        day: MonthDay::new(day).unwrap(),
        at: time(at),
    }
}

fn cron(expr: &str) -> Schedule {
    Schedule::Cron(CronExpr::parse(expr).unwrap())
}

/// The first `count` firings strictly after `after`.
fn firings(schedule: &Schedule, tz: &TimeZone, after: &str, count: usize) -> Vec<DateTime<Utc>> {
    let mut at = utc(after);
    let mut found = Vec::new();
    for _ in 0..count {
        at = schedule.next_after(tz, at).unwrap();
        found.push(at);
    }
    found
}

fn all_utc(texts: &[&str]) -> Vec<DateTime<Utc>> {
    texts.iter().map(|text| utc(text)).collect()
}

#[test]
fn manual_backups_never_fire() {
    let now = utc("2024-06-01T12:00:00Z");
    assert_eq!(Schedule::Manual.next_after(&TimeZone::default(), now), None);
    assert_eq!(
        Schedule::Manual.last_at_or_before(&TimeZone::default(), now),
        None
    );
    assert_eq!(Schedule::Manual.expected_interval(), None);
}

#[test]
fn from_parts_takes_what_the_frequency_needs() {
    let at = Some(time("02:30"));
    let monday = Weekday::parse("monday").ok();
    let first = MonthDay::new(1);
    let expr = CronExpr::parse("0 3 * * *").ok();
    let build = |frequency| Schedule::from_parts(frequency, at, monday, first, expr.clone());
    assert_eq!(build(Frequency::None), Ok(Schedule::Manual));
    assert_eq!(
        build(Frequency::Hourly),
        Ok(Schedule::Hourly { minute: 30 })
    );
    assert_eq!(build(Frequency::Daily), Ok(daily("02:30")));
    assert_eq!(
        build(Frequency::Weekly),
        Ok(Schedule::Weekly {
            day: monday.unwrap(),
            at: time("02:30")
        })
    );
    assert_eq!(build(Frequency::Monthly), Ok(monthly(1, "02:30")));
    assert_eq!(build(Frequency::Cron), Ok(cron("0 3 * * *")));
    for frequency in Frequency::ALL {
        assert_eq!(build(frequency).unwrap().frequency(), frequency);
    }
}

#[test]
fn from_parts_names_the_missing_field() {
    let missing = |frequency| Schedule::from_parts(frequency, None, None, None, None).unwrap_err();
    assert_eq!(missing(Frequency::Daily).field(), "backup_time");
    assert_eq!(missing(Frequency::Weekly), MissingPart::Weekday);
    assert_eq!(missing(Frequency::Weekly).field(), "backup_weekday");
    assert_eq!(missing(Frequency::Monthly).field(), "backup_monthday");
    assert_eq!(missing(Frequency::Cron).field(), "cron");
    assert_eq!(missing(Frequency::Cron).invalid().key, "invalid.required");
    assert_eq!(
        Schedule::from_parts(Frequency::None, None, None, None, None),
        Ok(Schedule::Manual)
    );
    assert_eq!(
        Schedule::from_parts(Frequency::Hourly, None, None, None, None),
        Ok(Schedule::Hourly { minute: 0 })
    );
}

#[test]
fn daily_fires_at_the_local_time_and_strictly_after() {
    let paris = zone("Europe/Paris");
    let schedule = daily("02:30");
    assert_eq!(
        firings(&schedule, &paris, "2024-06-01T00:00:00Z", 2),
        all_utc(&["2024-06-01T00:30:00Z", "2024-06-02T00:30:00Z"])
    );
    let at_firing = utc("2024-06-01T00:30:00Z");
    assert_eq!(
        schedule.next_after(&paris, at_firing),
        Some(utc("2024-06-02T00:30:00Z"))
    );
    let winter = firings(&schedule, &paris, "2024-01-10T12:00:00Z", 1);
    assert_eq!(winter, all_utc(&["2024-01-11T01:30:00Z"]));
}

#[test]
fn daily_in_the_spring_gap_fires_when_the_clocks_have_jumped() {
    // Europe/Paris, 2024-03-31: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist.
    let paris = zone("Europe/Paris");
    assert_eq!(
        firings(&daily("02:30"), &paris, "2024-03-29T12:00:00Z", 3),
        all_utc(&[
            "2024-03-30T01:30:00Z",
            "2024-03-31T01:00:00Z",
            "2024-04-01T00:30:00Z"
        ])
    );
    // America/New_York, 2024-03-10: 02:00 EST jumps to 03:00 EDT.
    let new_york = zone("America/New_York");
    assert_eq!(
        firings(&daily("02:30"), &new_york, "2024-03-09T12:00:00Z", 3),
        all_utc(&[
            "2024-03-10T07:00:00Z",
            "2024-03-11T06:30:00Z",
            "2024-03-12T06:30:00Z"
        ])
    );
}

#[test]
fn daily_in_the_repeated_autumn_hour_fires_once() {
    // Europe/Paris, 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    let paris = zone("Europe/Paris");
    assert_eq!(
        firings(&daily("02:30"), &paris, "2024-10-26T12:00:00Z", 2),
        all_utc(&["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"])
    );
    // America/New_York, 2024-11-03: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    let new_york = zone("America/New_York");
    assert_eq!(
        firings(&daily("01:30"), &new_york, "2024-11-02T12:00:00Z", 2),
        all_utc(&["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"])
    );
    // Asking from within the second 01:30 does not fire it again.
    let second_pass = utc("2024-11-03T06:15:00Z");
    assert_eq!(
        daily("01:30").next_after(&new_york, second_pass),
        Some(utc("2024-11-04T06:30:00Z"))
    );
    assert_eq!(
        daily("01:30").last_at_or_before(&new_york, second_pass),
        Some(utc("2024-11-03T05:30:00Z"))
    );
}

#[test]
fn weekly_fires_on_its_day() {
    let paris = zone("Europe/Paris");
    let monday_eight = Schedule::Weekly {
        day: Weekday::parse("monday").unwrap(),
        at: time("08:00"),
    };
    // Wednesday 2024-05-15 → Monday 2024-05-20, 08:00 CEST.
    assert_eq!(
        firings(&monday_eight, &paris, "2024-05-15T10:00:00Z", 2),
        all_utc(&["2024-05-20T06:00:00Z", "2024-05-27T06:00:00Z"])
    );
    // On the Monday itself, before and after the time.
    assert_eq!(
        monday_eight.next_after(&paris, utc("2024-05-20T05:59:00Z")),
        Some(utc("2024-05-20T06:00:00Z"))
    );
    assert_eq!(
        monday_eight.next_after(&paris, utc("2024-05-20T06:00:00Z")),
        Some(utc("2024-05-27T06:00:00Z"))
    );
    assert_eq!(
        monday_eight.last_at_or_before(&paris, utc("2024-05-20T05:59:00Z")),
        Some(utc("2024-05-13T06:00:00Z"))
    );
}

#[test]
fn monthly_past_the_end_of_a_month_fires_on_its_last_day() {
    let utc_zone = TimeZone::default();
    assert_eq!(
        firings(&monthly(31, "00:00"), &utc_zone, "2024-01-01T00:00:00Z", 6),
        all_utc(&[
            "2024-01-31T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2024-03-31T00:00:00Z",
            "2024-04-30T00:00:00Z",
            "2024-05-31T00:00:00Z",
            "2024-06-30T00:00:00Z",
        ])
    );
    assert_eq!(
        firings(&monthly(29, "12:00"), &utc_zone, "2023-01-30T00:00:00Z", 2),
        all_utc(&["2023-02-28T12:00:00Z", "2023-03-29T12:00:00Z"])
    );
    assert_eq!(
        firings(&monthly(30, "12:00"), &utc_zone, "2100-02-01T00:00:00Z", 1),
        all_utc(&["2100-02-28T12:00:00Z"]),
        "2100 is not a leap year"
    );
    assert_eq!(
        monthly(31, "00:00").last_at_or_before(&utc_zone, utc("2024-03-15T00:00:00Z")),
        Some(utc("2024-02-29T00:00:00Z"))
    );
}

#[test]
fn monthly_crosses_the_year_end() {
    let paris = zone("Europe/Paris");
    assert_eq!(
        firings(&monthly(15, "23:30"), &paris, "2024-12-20T00:00:00Z", 1),
        all_utc(&["2025-01-15T22:30:00Z"])
    );
    assert_eq!(
        monthly(15, "23:30").last_at_or_before(&paris, utc("2025-01-10T00:00:00Z")),
        Some(utc("2024-12-15T22:30:00Z"))
    );
}

#[test]
fn hourly_fires_every_hour_across_daylight_saving_changes() {
    let paris = zone("Europe/Paris");
    let quarter_past = Schedule::Hourly { minute: 15 };
    assert_eq!(
        firings(&quarter_past, &paris, "2024-10-26T23:50:00Z", 4),
        all_utc(&[
            "2024-10-27T00:15:00Z",
            "2024-10-27T01:15:00Z",
            "2024-10-27T02:15:00Z",
            "2024-10-27T03:15:00Z"
        ])
    );
    assert_eq!(
        firings(&quarter_past, &paris, "2024-03-31T00:00:00Z", 3),
        all_utc(&[
            "2024-03-31T00:15:00Z",
            "2024-03-31T01:15:00Z",
            "2024-03-31T02:15:00Z"
        ])
    );
    assert_eq!(
        quarter_past.last_at_or_before(&paris, utc("2024-03-31T01:14:59Z")),
        Some(utc("2024-03-31T00:15:00Z"))
    );
}

#[test]
fn hourly_minute_is_read_on_the_zone_clock() {
    // Asia/Kolkata is UTC+05:30: minute 0 there is half past in UTC.
    let kolkata = zone("Asia/Kolkata");
    assert_eq!(
        firings(
            &Schedule::Hourly { minute: 0 },
            &kolkata,
            "2024-06-01T10:00:00Z",
            2
        ),
        all_utc(&["2024-06-01T10:30:00Z", "2024-06-01T11:30:00Z"])
    );
}

#[test]
fn cron_is_read_in_the_time_zone() {
    let new_york = zone("America/New_York");
    // Weekdays at 09:00 in New York; Friday 2024-06-07 after 09:00 → Monday.
    assert_eq!(
        firings(&cron("0 9 * * 1-5"), &new_york, "2024-06-07T14:00:00Z", 2),
        all_utc(&["2024-06-10T13:00:00Z", "2024-06-11T13:00:00Z"])
    );
    assert_eq!(
        firings(&cron("0 9 * * 1-5"), &new_york, "2024-01-05T15:00:00Z", 1),
        all_utc(&["2024-01-08T14:00:00Z"])
    );
}

#[test]
fn cron_follows_the_same_daylight_saving_rules() {
    let paris = zone("Europe/Paris");
    // Same as daily 02:30: fires at 03:00 CEST on the spring day, once on the autumn day.
    assert_eq!(
        firings(&cron("30 2 * * *"), &paris, "2024-03-30T12:00:00Z", 2),
        all_utc(&["2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"])
    );
    assert_eq!(
        firings(&cron("30 2 * * *"), &paris, "2024-10-26T12:00:00Z", 2),
        all_utc(&["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"])
    );
    // Every half hour: the skipped times merge into one run at 03:00 CEST …
    assert_eq!(
        firings(&cron("*/30 * * * *"), &paris, "2024-03-31T00:00:00Z", 3),
        all_utc(&[
            "2024-03-31T00:30:00Z",
            "2024-03-31T01:00:00Z",
            "2024-03-31T01:30:00Z"
        ])
    );
    // … and the repeated hour runs once.
    assert_eq!(
        firings(&cron("*/30 * * * *"), &paris, "2024-10-26T23:45:00Z", 4),
        all_utc(&[
            "2024-10-27T00:00:00Z",
            "2024-10-27T00:30:00Z",
            "2024-10-27T02:00:00Z",
            "2024-10-27T02:30:00Z"
        ])
    );
}

#[test]
fn cron_on_february_29_waits_for_a_leap_year() {
    let utc_zone = TimeZone::default();
    assert_eq!(
        firings(&cron("0 0 29 2 *"), &utc_zone, "2025-01-01T00:00:00Z", 1),
        all_utc(&["2028-02-29T00:00:00Z"])
    );
}

#[test]
fn last_at_or_before_finds_the_run_missed_during_downtime() {
    let paris = zone("Europe/Paris");
    let schedule = daily("02:30");
    // Down from 01:00 to 05:00 local: the 02:30 run is the one to catch up.
    let back_up = utc("2024-06-03T03:00:00Z");
    assert_eq!(
        schedule.last_at_or_before(&paris, back_up),
        Some(utc("2024-06-03T00:30:00Z"))
    );
    // A firing time is at or before itself.
    let firing = utc("2024-06-03T00:30:00Z");
    assert_eq!(schedule.last_at_or_before(&paris, firing), Some(firing));
    assert_eq!(
        schedule.last_at_or_before(&paris, firing - Duration::seconds(1)),
        Some(utc("2024-06-02T00:30:00Z"))
    );
    // On the spring day the 02:30 run happened at 03:00 CEST.
    assert_eq!(
        schedule.last_at_or_before(&paris, utc("2024-03-31T05:00:00Z")),
        Some(utc("2024-03-31T01:00:00Z"))
    );
}

#[test]
fn expected_interval_bounds_the_wait_between_runs() {
    let hours = |n| Some(Duration::hours(n));
    assert_eq!(Schedule::Hourly { minute: 0 }.expected_interval(), hours(1));
    assert_eq!(daily("02:30").expected_interval(), hours(24 + 2));
    let weekly = Schedule::Weekly {
        day: Weekday::parse("friday").unwrap(),
        at: time("02:30"),
    };
    assert_eq!(weekly.expected_interval(), hours(7 * 24 + 2));
    assert_eq!(monthly(31, "02:30").expected_interval(), hours(31 * 24 + 2));
    assert_eq!(
        cron("*/15 * * * *").expected_interval(),
        Some(Duration::minutes(15) + Duration::hours(2))
    );
    assert_eq!(cron("0 2 * * 1-5").expected_interval(), hours(3 * 24 + 2));
}

#[test]
fn the_longest_autumn_day_fits_the_daily_interval() {
    let paris = zone("Europe/Paris");
    let first = utc("2024-10-27T00:30:00Z");
    let next = daily("02:30").next_after(&paris, first).unwrap();
    assert_eq!(next - first, Duration::hours(25));
    assert!(next - first <= daily("02:30").expected_interval().unwrap());
}
