//! The parts of a backup time: time of day, day of the week, day of the month.

use std::fmt;

use chrono::NaiveTime;

use super::Invalid;
use super::input::{required, whole_number};

/// A wall-clock time, `00:00` to `23:59`, typed as `HH:MM` or `H:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    hour: u32,
    minute: u32,
}

impl TimeOfDay {
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { hour: 0, minute: 0 };

    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(Self { hour, minute })
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        let format = || Invalid::new("invalid.time.format");
        let (hour, minute) = text.split_once(':').ok_or_else(format)?;
        if !(1..=2).contains(&hour.len()) || minute.len() != 2 {
            return Err(format());
        }
        let hour = whole_number(hour).ok_or_else(format)?;
        let minute = whole_number(minute).ok_or_else(format)?;
        match (u32::try_from(hour), u32::try_from(minute)) {
            (Ok(hour), Ok(minute)) => {
                Self::new(hour, minute).ok_or_else(|| Invalid::new("invalid.time.range"))
            }
            _ => Err(Invalid::new("invalid.time.range")),
        }
    }

    pub fn hour(self) -> u32 {
        self.hour
    }

    pub fn minute(self) -> u32 {
        self.minute
    }

    pub fn to_naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, 0).unwrap_or(NaiveTime::MIN)
    }
}

/// `HH:MM`, as an `<input type="time">` expects.
impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A day of the week, as the form sends it: `monday` … `sunday`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekday(chrono::Weekday);

impl Weekday {
    pub const MONDAY: Weekday = Weekday(chrono::Weekday::Mon);

    pub const ALL: [Weekday; 7] = [
        Self(chrono::Weekday::Mon),
        Self(chrono::Weekday::Tue),
        Self(chrono::Weekday::Wed),
        Self(chrono::Weekday::Thu),
        Self(chrono::Weekday::Fri),
        Self(chrono::Weekday::Sat),
        Self(chrono::Weekday::Sun),
    ];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|day| day.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| Invalid::new("invalid.weekday"))
    }

    pub fn as_str(self) -> &'static str {
        match self.0 {
            chrono::Weekday::Mon => "monday",
            chrono::Weekday::Tue => "tuesday",
            chrono::Weekday::Wed => "wednesday",
            chrono::Weekday::Thu => "thursday",
            chrono::Weekday::Fri => "friday",
            chrono::Weekday::Sat => "saturday",
            chrono::Weekday::Sun => "sunday",
        }
    }

    pub fn to_chrono(self) -> chrono::Weekday {
        self.0
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        Self(day)
    }
}

impl From<Weekday> for chrono::Weekday {
    fn from(day: Weekday) -> Self {
        day.0
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day of the month, 1 to 31. In a shorter month, a day past its end means its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay(u32);

impl MonthDay {
    pub const FIRST: MonthDay = MonthDay(1);

    pub fn new(day: u32) -> Option<Self> {
        (1..=31).contains(&day).then_some(Self(day))
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        whole_number(text)
            .and_then(|day| u32::try_from(day).ok())
            .and_then(Self::new)
            .ok_or_else(|| Invalid::new("invalid.month_day"))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn times_are_read_as_hh_mm_or_h_mm() {
        assert_eq!(
            TimeOfDay::parse("02:30").unwrap(),
            TimeOfDay::new(2, 30).unwrap()
        );
        assert_eq!(TimeOfDay::parse(" 2:30 ").unwrap().to_string(), "02:30");
        assert_eq!(
            TimeOfDay::parse("00:00").unwrap().to_naive(),
            NaiveTime::MIN
        );
        assert_eq!(TimeOfDay::parse("23:59").unwrap().hour(), 23);
        assert_eq!(TimeOfDay::parse("23:59").unwrap().minute(), 59);
    }

    #[test]
    fn malformed_or_out_of_range_times_are_refused() {
        assert_eq!(TimeOfDay::parse("").unwrap_err().key, "invalid.required");
        for input in [
            "2", "230", "2:3", "02:300", "002:30", "02h30", "-1:30", "+2:30", "02:30:00", "a:bc",
        ] {
            assert_eq!(
                TimeOfDay::parse(input).unwrap_err().key,
                "invalid.time.format",
                "{input}"
            );
        }
        for input in ["24:00", "23:60", "99:99"] {
            assert_eq!(
                TimeOfDay::parse(input).unwrap_err().key,
                "invalid.time.range",
                "{input}"
            );
        }
    }

    #[test]
    fn weekdays_use_the_form_values() {
        assert_eq!(
            Weekday::parse("monday").unwrap().to_chrono(),
            chrono::Weekday::Mon
        );
        assert_eq!(
            Weekday::parse(" Sunday ").unwrap(),
            Weekday::from(chrono::Weekday::Sun)
        );
        assert_eq!(Weekday::parse("lundi").unwrap_err().key, "invalid.weekday");
        assert_eq!(Weekday::parse("").unwrap_err().key, "invalid.required");
        for day in Weekday::ALL {
            assert_eq!(Weekday::parse(day.as_str()).unwrap(), day);
            assert_eq!(Weekday::from(chrono::Weekday::from(day)), day);
        }
    }

    #[test]
    fn month_days_go_from_1_to_31() {
        assert_eq!(MonthDay::parse("1").unwrap().get(), 1);
        assert_eq!(MonthDay::parse(" 31 ").unwrap().to_string(), "31");
        for input in ["0", "32", "-1", "1.5", "first"] {
            assert_eq!(
                MonthDay::parse(input).unwrap_err().key,
                "invalid.month_day",
                "{input}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_time_shown_back_parses_to_itself(hour in 0u32..24, minute in 0u32..60) {
            let time = TimeOfDay::new(hour, minute).unwrap();
            prop_assert_eq!(TimeOfDay::parse(&time.to_string()).unwrap(), time);
        }

        #[test]
        fn parsed_times_are_in_range(input in "\\PC{0,8}") {
            if let Ok(time) = TimeOfDay::parse(&input) {
                prop_assert!(time.hour() < 24 && time.minute() < 60);
            }
        }
    }
}
