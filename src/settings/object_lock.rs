//! Object Lock: how many days each backup stays immutable (WORM) after it is written, and
//! in which of S3's two modes. Empty or 0 days turns it off.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::Invalid;
use super::input::{required, whole_number};

/// A hundred years: the longest S3 providers accept, and more than any backup needs.
const MAX_DAYS: u32 = 36_500;

/// Days an object stays locked after it is written: 1 to 36,500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockDays(u32);

impl LockDays {
    pub fn new(days: u32) -> Option<Self> {
        (1..=MAX_DAYS).contains(&days).then_some(Self(days))
    }

    /// The form's value: empty or 0 is `None` (off); anything else a number of days.
    pub fn parse(input: &str) -> Result<Option<Self>, Invalid> {
        let text = input.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let too_many = || Invalid::new("invalid.object_lock_days.too_many");
        let Some(days) = whole_number(text) else {
            // Digits alone, too many for a number: too many days.
            return Err(if text.bytes().all(|b| b.is_ascii_digit()) {
                too_many()
            } else {
                Invalid::new("invalid.object_lock_days")
            });
        };
        if days == 0 {
            return Ok(None);
        }
        u32::try_from(days)
            .ok()
            .and_then(Self::new)
            .map(Some)
            .ok_or_else(too_many)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for LockDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// S3's retention modes. Governance: an account allowed to bypass it
/// (`s3:BypassGovernanceRetention`) may still delete; compliance: nobody can, not even the
/// root account, until the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LockMode {
    #[default]
    Governance,
    Compliance,
}

impl LockMode {
    pub const ALL: [LockMode; 2] = [Self::Governance, Self::Compliance];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text.to_ascii_lowercase())
            .ok_or_else(|| Invalid::new("invalid.object_lock_mode"))
    }

    /// The form and stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "governance",
            Self::Compliance => "compliance",
        }
    }

    /// As S3 writes it: `GOVERNANCE`, `COMPLIANCE`.
    pub fn s3_name(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }

    /// From S3's name, in any case.
    pub fn from_s3(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.s3_name().eq_ignore_ascii_case(name))
    }
}

/// Object Lock turned on: every object of a backup is locked in `mode` for `days` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectLock {
    pub mode: LockMode,
    pub days: LockDays,
}

impl ObjectLock {
    /// The date an object written at `written` stays locked until (to the second).
    pub fn until(&self, written: DateTime<Utc>) -> DateTime<Utc> {
        let until = written + Duration::days(i64::from(self.days.get()));
        DateTime::from_timestamp(until.timestamp(), 0).unwrap_or(until)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn empty_or_zero_is_off() {
        assert_eq!(LockDays::parse("").unwrap(), None);
        assert_eq!(LockDays::parse("  ").unwrap(), None);
        assert_eq!(LockDays::parse("0").unwrap(), None);
        assert_eq!(LockDays::parse("000").unwrap(), None);
    }

    #[test]
    fn days_go_from_one_to_a_hundred_years() {
        assert_eq!(LockDays::parse(" 1 ").unwrap().map(LockDays::get), Some(1));
        assert_eq!(
            LockDays::parse("36500").unwrap().map(LockDays::get),
            Some(36_500)
        );
        for input in ["36501", "100000", "99999999999999999999999"] {
            assert_eq!(
                LockDays::parse(input).unwrap_err().key,
                "invalid.object_lock_days.too_many",
                "{input}"
            );
        }
        for input in ["seven", "-1", "7.5", "1e3", "30 days"] {
            assert_eq!(
                LockDays::parse(input).unwrap_err().key,
                "invalid.object_lock_days",
                "{input}"
            );
        }
    }

    #[test]
    fn modes_read_back_and_others_are_refused() {
        for mode in LockMode::ALL {
            assert_eq!(LockMode::parse(mode.as_str()).unwrap(), mode);
            assert_eq!(LockMode::from_s3(mode.s3_name()), Some(mode));
        }
        assert_eq!(LockMode::parse("COMPLIANCE").unwrap(), LockMode::Compliance);
        assert_eq!(
            LockMode::parse("legal-hold").unwrap_err().key,
            "invalid.object_lock_mode"
        );
        assert_eq!(LockMode::parse("").unwrap_err().key, "invalid.required");
    }

    #[test]
    fn the_lock_ends_days_after_the_write_to_the_second() {
        let lock = ObjectLock {
            mode: LockMode::Compliance,
            days: LockDays::new(30).unwrap(),
        };
        let written = DateTime::parse_from_rfc3339("2026-11-02T03:00:00.750Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            lock.until(written).to_rfc3339(),
            "2026-12-02T03:00:00+00:00"
        );
    }

    proptest! {
        #[test]
        fn a_parsed_number_of_days_reads_back(days in 0u32..40_000) {
            match LockDays::parse(&days.to_string()) {
                Ok(None) => prop_assert_eq!(days, 0),
                Ok(Some(parsed)) => {
                    prop_assert_eq!(parsed.get(), days);
                    prop_assert!((1..=MAX_DAYS).contains(&days));
                }
                Err(invalid) => {
                    prop_assert!(days > MAX_DAYS);
                    prop_assert_eq!(invalid.key, "invalid.object_lock_days.too_many");
                }
            }
        }
    }
}
