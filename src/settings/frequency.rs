//! How often automatic backups run, as chosen in the form's Frequency field.

use std::fmt;

use super::Invalid;
use super::input::required;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Manual backups only.
    None,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Cron,
}

impl Frequency {
    pub const ALL: [Frequency; 6] = [
        Self::None,
        Self::Hourly,
        Self::Daily,
        Self::Weekly,
        Self::Monthly,
        Self::Cron,
    ];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|frequency| frequency.as_str() == text)
            .ok_or_else(|| Invalid::new("invalid.frequency"))
    }

    /// The form value: `none`, `hourly`, `daily`, `weekly`, `monthly` or `cron`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Cron => "cron",
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_value_parses_back() {
        for frequency in Frequency::ALL {
            assert_eq!(Frequency::parse(frequency.as_str()).unwrap(), frequency);
        }
        assert_eq!(Frequency::parse(" daily ").unwrap().to_string(), "daily");
    }

    #[test]
    fn unknown_values_are_refused() {
        assert_eq!(Frequency::parse("").unwrap_err().key, "invalid.required");
        assert_eq!(
            Frequency::parse("yearly").unwrap_err().key,
            "invalid.frequency"
        );
    }
}
