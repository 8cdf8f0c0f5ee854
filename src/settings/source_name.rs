//! The name of a backup source, which also names its object in each backup folder.

use std::fmt;

use super::Invalid;
use super::input::required;

/// 1 to 64 lowercase letters, digits, hyphens and underscores, such as `erp-db`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceName(String);

impl SourceName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = required(input)?;
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if !name.chars().all(allowed) {
            return Err(Invalid::new("invalid.source_name.character"));
        }
        if name.len() > 64 {
            return Err(Invalid::new("invalid.source_name.length"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_use_lowercase_letters_digits_hyphens_and_underscores() {
        assert_eq!(
            SourceName::parse(" erp_db-2 ").unwrap().as_str(),
            "erp_db-2"
        );
        assert_eq!(SourceName::parse("").unwrap_err().key, "invalid.required");
        for input in ["ERP", "erp db", "erp.db", "erp/db", "café"] {
            assert_eq!(
                SourceName::parse(input).unwrap_err().key,
                "invalid.source_name.character",
                "{input}"
            );
        }
        assert_eq!(
            SourceName::parse(&"a".repeat(65)).unwrap_err().key,
            "invalid.source_name.length"
        );
        assert!(SourceName::parse(&"a".repeat(64)).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_names_are_safe_in_object_keys(input in "\\PC{0,70}") {
            if let Ok(name) = SourceName::parse(&input) {
                prop_assert!(!name.as_str().contains(['/', '.', ' ']));
                prop_assert!((1..=64).contains(&name.as_str().len()));
            }
        }
    }
}
