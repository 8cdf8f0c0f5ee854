//! The time zone backup times are read in: an IANA name such as `Europe/Paris`.

use std::fmt;

use chrono_tz::{TZ_VARIANTS, Tz};

use super::Invalid;

/// An IANA time zone. Empty input means UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Letter case is forgiven (`europe/paris`); the canonical spelling is kept.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Ok(Self::default());
        }
        if let Ok(tz) = name.parse::<Tz>() {
            return Ok(Self(tz));
        }
        TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name))
            .map(|tz| Self(*tz))
            .ok_or_else(|| Invalid::with_detail("invalid.time_zone", name))
    }

    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> Tz {
        self.0
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl From<Tz> for TimeZone {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_utc() {
        assert_eq!(TimeZone::parse(" ").unwrap().as_str(), "UTC");
        assert_eq!(TimeZone::parse("").unwrap(), TimeZone::default());
    }

    #[test]
    fn iana_names_are_accepted_in_any_letter_case() {
        assert_eq!(
            TimeZone::parse("Europe/Paris").unwrap().tz(),
            Tz::Europe__Paris
        );
        assert_eq!(
            TimeZone::parse(" america/new_york ").unwrap().to_string(),
            "America/New_York"
        );
        assert_eq!(TimeZone::parse("utc").unwrap().as_str(), "UTC");
    }

    #[test]
    fn unknown_names_are_refused_and_shown() {
        let invalid = TimeZone::parse("Europe/Lyon").unwrap_err();
        assert_eq!(invalid.key, "invalid.time_zone");
        assert_eq!(invalid.detail.as_deref(), Some("Europe/Lyon"));
        assert!(invalid.message("fr").contains("Europe/Lyon"));
        assert_eq!(
            TimeZone::parse("CEST").unwrap_err().key,
            "invalid.time_zone"
        );
    }
}
