//! When the latest complete backup is verified on its own: never, after every backup, or
//! once a week or a month (at the backup time, on the backup's weekday or day of the month,
//! in the settings' time zone).

use std::fmt;

use super::Invalid;
use super::input::required;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifySchedule {
    Never,
    AfterBackup,
    Weekly,
    Monthly,
}

impl VerifySchedule {
    pub const ALL: [VerifySchedule; 4] =
        [Self::Never, Self::AfterBackup, Self::Weekly, Self::Monthly];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|schedule| schedule.as_str() == text)
            .ok_or_else(|| Invalid::new("invalid.verify_schedule"))
    }

    /// The form value: `never`, `after_backup`, `weekly` or `monthly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::AfterBackup => "after_backup",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }
}

impl fmt::Display for VerifySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_and_others_are_refused() {
        for schedule in VerifySchedule::ALL {
            assert_eq!(VerifySchedule::parse(schedule.as_str()), Ok(schedule));
        }
        assert!(VerifySchedule::parse("daily").is_err());
        assert!(VerifySchedule::parse("").is_err());
    }
}
