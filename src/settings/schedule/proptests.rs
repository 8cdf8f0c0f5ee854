//! Properties of firing times, and a check against a simple clock-watching simulation.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use proptest::prelude::*;

use super::*;

/// Zones with ordinary and unusual clock changes: half-hour shifts (Lord Howe), two-hour
/// shifts (Troll), a skipped day (Apia, 2011), winter time as the exception (Dublin),
/// frequent changes (Casablanca), offsets off the hour (Kolkata, St John's, Chatham).
const ZONES: [&str; 14] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Antarctica/Troll",
    "Europe/Dublin",
    "America/St_Johns",
    "Africa/Casablanca",
    "Asia/Tehran",
];

const CRONS: [&str; 8] = [
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "0 9-17 * * 1-5",
    "45 1,2,3 * * 0",
    "0 3 1 * *",
    "0 0 L * *",
    "5 4 * 2,3,10,11 6",
];

fn zone() -> impl Strategy<Value = TimeZone> {
    proptest::sample::select(&ZONES[..]).prop_map(|name| TimeZone::parse(name).unwrap())
}

/// An instant between 1990 and 2090, often on a whole minute as firings are.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000];
    (631_152_000i64..3_786_912_000, nanos)
        .prop_map(|(seconds, nanos)| DateTime::from_timestamp(seconds, nanos).unwrap())
}

/// The instants in `year` at which the zone's UTC offset changes.
fn offset_changes(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
    let offset = |instant: DateTime<Utc>| instant.with_timezone(&tz).offset().fix();
    let mut changes = Vec::new();
    let mut day = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    while day.year() == year {
        let next_day = day + Duration::days(1);
        if offset(day) != offset(next_day) {
            let (mut before, mut after) = (day.timestamp(), next_day.timestamp());
            while after - before > 1 {
                let middle = (before + after) / 2;
                let at = |seconds| DateTime::from_timestamp(seconds, 0).unwrap();
                if offset(at(middle)) == offset(at(before)) {
                    before = middle
                } else {
                    after = middle
                }
            }
            changes.extend(DateTime::from_timestamp(after, 0));
        }
        day = next_day;
    }
    changes
}

/// A zone and an instant: half of the time anywhere, half within 30 hours of a change of
/// the zone's UTC offset, where schedules are most likely to go wrong.
fn zone_and_instant() -> impl Strategy<Value = (TimeZone, DateTime<Utc>)> {
    let near_a_change = (
        zone(),
        1990i32..2090,
        any::<proptest::sample::Index>(),
        -1800i64..1800,
    )
        .prop_map(|(tz, year, which, minutes)| {
            let changes = offset_changes(tz.tz(), year);
            let base = if changes.is_empty() {
                Utc.with_ymd_and_hms(year, 6, 1, 0, 0, 0).unwrap()
            } else {
                changes[which.index(changes.len())]
            };
            (tz, base + Duration::minutes(minutes))
        });
    prop_oneof![(zone(), instant()), near_a_change]
}

fn time_of_day() -> impl Strategy<Value = TimeOfDay> {
    (0u32..24, 0u32..60).prop_map(|(hour, minute)| TimeOfDay::new(hour, minute).unwrap())
}

fn schedule() -> impl Strategy<Value = Schedule> {
    prop_oneof![
        (0u32..60).prop_map(|minute| Schedule::Hourly { minute }),
        time_of_day().prop_map(|at| Schedule::Daily { at }),
        (0usize..7, time_of_day()).prop_map(|(day, at)| Schedule::Weekly {
            day: Weekday::ALL[day],
            at
        }),
        (1u32..=31, time_of_day()).prop_map(|(day, at)| Schedule::Monthly {
            day: MonthDay::new(day).unwrap(),
            at
        }),
        proptest::sample::select(&CRONS[..])
            .prop_map(|expr| Schedule::Cron(CronExpr::parse(expr).unwrap())),
    ]
}

fn wall_clock_schedule() -> impl Strategy<Value = Schedule> {
    schedule().prop_filter("a wall-clock schedule", |s| {
        !matches!(s, Schedule::Hourly { .. })
    })
}

/// Decides whether a wall-clock time is one the schedule names, without the code under
/// test: plain field comparisons, and croner's own matcher for cron.
fn namer(schedule: &Schedule) -> impl Fn(NaiveDateTime) -> bool {
    let schedule = schedule.clone();
    let cron = match &schedule {
        Schedule::Cron(expr) => Cron::from_str(expr.as_str()).ok(),
        _ => None,
    };
    move |local: NaiveDateTime| {
        let time_is = |at: &TimeOfDay| local.hour() == at.hour() && local.minute() == at.minute();
        match &schedule {
            Schedule::Daily { at } => time_is(at),
            Schedule::Weekly { day, at } => local.weekday() == day.to_chrono() && time_is(at),
            Schedule::Monthly { day, at } => {
                let last = u32::from(local.date().num_days_in_month());
                local.day() == day.get().min(last) && time_is(at)
            }
            Schedule::Cron(_) => cron.as_ref().is_some_and(|cron| {
                cron.is_time_matching(&Utc.from_utc_datetime(&local))
                    .unwrap()
            }),
            Schedule::Manual | Schedule::Hourly { .. } => false,
        }
    }
}

/// The first firing after `after`, found by watching the zone's clock minute by minute
/// the way a person would: a named time fires when the clock first shows it, and one the
/// clock jumps over fires right after the jump.
fn simulated_next_after(schedule: &Schedule, tz: Tz, after: DateTime<Utc>) -> DateTime<Utc> {
    let names = namer(schedule);
    let local = |instant: DateTime<Utc>| instant.with_timezone(&tz).naive_local();
    // Start a day early so times already shown once (before a fall back) are known.
    let mut instant = (after - Duration::days(1))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let mut latest_shown = local(instant);
    loop {
        instant += Duration::minutes(1);
        let shown = local(instant);
        let fires = if shown > latest_shown + Duration::minutes(1) {
            // The clock jumped: any named time it skipped, or the one it shows, fires now.
            let mut skipped = latest_shown + Duration::minutes(1);
            let mut any = false;
            while skipped <= shown {
                any |= names(skipped);
                skipped += Duration::minutes(1);
            }
            any
        } else {
            shown > latest_shown && names(shown)
        };
        latest_shown = latest_shown.max(shown);
        if fires && instant > after {
            return instant;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn next_after_is_strictly_after_and_within_the_interval(
        schedule in schedule(), (tz, after) in zone_and_instant()
    ) {
        let next = schedule.next_after(&tz, after).unwrap();
        prop_assert!(next > after);
        prop_assert!(next - after <= schedule.expected_interval().unwrap(), "{next} after {after}");
    }

    #[test]
    fn last_at_or_before_is_the_firing_that_precedes_the_next(
        schedule in schedule(), (tz, now) in zone_and_instant()
    ) {
        let last = schedule.last_at_or_before(&tz, now).unwrap();
        prop_assert!(last <= now);
        prop_assert!(now - last < schedule.expected_interval().unwrap());
        let next = schedule.next_after(&tz, now).unwrap();
        prop_assert_eq!(schedule.next_after(&tz, last), Some(next), "nothing fires between {} and {}", last, now);
    }

    #[test]
    fn a_firing_is_found_from_just_before_it_and_from_itself(
        schedule in schedule(), (tz, after) in zone_and_instant()
    ) {
        let next = schedule.next_after(&tz, after).unwrap();
        prop_assert_eq!(schedule.next_after(&tz, next - Duration::seconds(1)), Some(next));
        prop_assert_eq!(schedule.last_at_or_before(&tz, next), Some(next));
        prop_assert_eq!(schedule.last_at_or_before(&tz, next - Duration::seconds(1)).map(|last| last < next), Some(true));
    }

    #[test]
    fn hourly_firings_are_exactly_an_hour_apart(minute in 0u32..60, (tz, after) in zone_and_instant()) {
        let schedule = Schedule::Hourly { minute };
        let next = schedule.next_after(&tz, after).unwrap();
        prop_assert_eq!(schedule.next_after(&tz, next), Some(next + Duration::hours(1)));
        prop_assert!(next - after <= Duration::hours(1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn next_after_matches_a_clock_watching_simulation(
        schedule in wall_clock_schedule(), (tz, after) in zone_and_instant()
    ) {
        let expected = simulated_next_after(&schedule, tz.tz(), after);
        prop_assert_eq!(schedule.next_after(&tz, after), Some(expected));
    }
}

#[test]
fn the_simulation_agrees_around_every_change_of_a_year_in_paris_and_new_york() {
    let schedules = [
        Schedule::Daily {
            at: TimeOfDay::new(2, 30).unwrap(),
        },
        Schedule::Daily {
            at: TimeOfDay::new(1, 30).unwrap(),
        },
        Schedule::Cron(CronExpr::parse("*/30 * * * *").unwrap()),
    ];
    for name in ["Europe/Paris", "America/New_York"] {
        let tz = TimeZone::parse(name).unwrap();
        // Start a little before each 2024 change and step through it every 20 minutes.
        for start in [
            "2024-03-09T22:00:00Z",
            "2024-03-30T22:00:00Z",
            "2024-10-26T22:00:00Z",
            "2024-11-02T22:00:00Z",
        ] {
            let mut after = DateTime::parse_from_rfc3339(start)
                .unwrap()
                .with_timezone(&Utc);
            for _ in 0..36 {
                for schedule in &schedules {
                    let expected = simulated_next_after(schedule, tz.tz(), after);
                    assert_eq!(
                        schedule.next_after(&tz, after),
                        Some(expected),
                        "{schedule:?} in {name} after {after}"
                    );
                }
                after += Duration::minutes(20);
            }
        }
    }
}
