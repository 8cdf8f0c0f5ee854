//! The storage class every object is written with: one of Amazon S3's, or the name another
//! provider gives its own (e.g. Scaleway's ONEZONE_IA, OVH's HIGH_PERF).

use std::fmt;

use super::Invalid;

const MAX_CHARS: usize = 64;

/// Suggested in the form; any well-formed name is accepted.
pub const SUGGESTED_STORAGE_CLASSES: [&str; 5] = [
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
];

/// A storage class name: capital letters, digits and underscores, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageClass(String);

impl StorageClass {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid::new("invalid.required"));
        }
        if name.chars().count() > MAX_CHARS {
            return Err(Invalid::new("invalid.storage_class.length"));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(Invalid::new("invalid.storage_class.whitespace"));
        }
        if name.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(Invalid::with_detail(
                "invalid.storage_class.lowercase",
                name.to_ascii_uppercase(),
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(Invalid::with_detail(
                "invalid.storage_class.character",
                bad.to_string(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key_of(input: &str) -> &'static str {
        StorageClass::parse(input).unwrap_err().key
    }

    #[test]
    fn amazon_classes_and_other_providers_names_are_accepted() {
        for name in SUGGESTED_STORAGE_CLASSES {
            assert_eq!(StorageClass::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(
            StorageClass::parse("  HIGH_PERF ").unwrap().as_str(),
            "HIGH_PERF"
        );
        assert!(StorageClass::parse("GLACIER2").is_ok());
    }

    #[test]
    fn malformed_names_are_refused_with_a_reason() {
        assert_eq!(key_of("standard_ia"), "invalid.storage_class.lowercase");
        assert_eq!(
            StorageClass::parse("standard_ia")
                .unwrap_err()
                .detail
                .as_deref(),
            Some("STANDARD_IA")
        );
        assert_eq!(key_of("STANDARD IA"), "invalid.storage_class.whitespace");
        assert_eq!(key_of("STANDARD-IA"), "invalid.storage_class.character");
        assert_eq!(key_of("GLACIER;IR"), "invalid.storage_class.character");
        assert_eq!(key_of("ÉCO"), "invalid.storage_class.character");
        assert_eq!(key_of(&"A".repeat(65)), "invalid.storage_class.length");
        assert!(StorageClass::parse(&"A".repeat(64)).is_ok());
    }

    proptest! {
        #[test]
        fn a_parsed_name_is_a_safe_header_value(input in "\\PC{0,80}") {
            if let Ok(class) = StorageClass::parse(&input) {
                prop_assert!(class.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
                prop_assert_eq!(StorageClass::parse(class.as_str()).unwrap(), class);
            }
        }
    }
}
