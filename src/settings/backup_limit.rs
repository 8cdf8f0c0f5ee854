//! How many complete backups retention keeps.

use std::fmt;

use super::Invalid;
use super::input::{required, whole_number};

const MAX: u32 = 100_000;

/// The number of newest complete backups to keep, 0 to 100,000; 0 keeps them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackupLimit(u32);

impl BackupLimit {
    pub const KEEP_ALL: BackupLimit = BackupLimit(0);

    pub fn new(limit: u32) -> Option<Self> {
        (limit <= MAX).then_some(Self(limit))
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        whole_number(text)
            .and_then(|n| u32::try_from(n).ok())
            .and_then(Self::new)
            .ok_or_else(|| Invalid::new("invalid.backup_limit"))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether retention is off (the limit is 0).
    pub fn keeps_all(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for BackupLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_keeps_every_backup() {
        let limit = BackupLimit::parse("0").unwrap();
        assert!(limit.keeps_all());
        assert_eq!(limit, BackupLimit::KEEP_ALL);
    }

    #[test]
    fn limits_go_up_to_one_hundred_thousand() {
        assert_eq!(BackupLimit::parse(" 7 ").unwrap().get(), 7);
        assert!(!BackupLimit::parse("7").unwrap().keeps_all());
        assert_eq!(BackupLimit::parse("100000").unwrap().to_string(), "100000");
        for input in ["100001", "-1", "7.5", "seven", "99999999999999999999"] {
            assert_eq!(
                BackupLimit::parse(input).unwrap_err().key,
                "invalid.backup_limit",
                "{input}"
            );
        }
        assert_eq!(BackupLimit::parse("").unwrap_err().key, "invalid.required");
    }
}
