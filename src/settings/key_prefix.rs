//! The folder (key prefix) under which backups are written in the bucket.

use std::fmt;

use super::Invalid;

const MAX_BYTES: usize = 512;

/// A key prefix such as `backups/erp`, stored without leading or trailing slashes; empty
/// means the root of the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Empty input is the root of the bucket. Slashes and spaces around the prefix are dropped.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let prefix = input.trim_matches(|c: char| c == '/' || c.is_whitespace());
        if prefix.len() > MAX_BYTES {
            return Err(Invalid::new("invalid.prefix.length"));
        }
        if prefix.contains('\\') {
            return Err(Invalid::new("invalid.prefix.backslash"));
        }
        if prefix.chars().any(char::is_control) {
            return Err(Invalid::new("invalid.prefix.control"));
        }
        if prefix.is_empty() {
            return Ok(Self::default());
        }
        for segment in prefix.split('/') {
            if segment.is_empty() {
                return Err(Invalid::new("invalid.prefix.empty_segment"));
            }
            if segment == "." || segment == ".." {
                return Err(Invalid::with_detail("invalid.prefix.dot_segment", segment));
            }
        }
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix without leading or trailing slashes ("" for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The key of `name` under this prefix: `prefix/name`, or `name` at the root.
    pub fn join(&self, name: &str) -> String {
        if self.0.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{}", self.0, name)
        }
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key_of(input: &str) -> &'static str {
        KeyPrefix::parse(input).unwrap_err().key
    }

    #[test]
    fn empty_or_slash_is_the_root() {
        for input in ["", "  ", "/", "///"] {
            let prefix = KeyPrefix::parse(input).unwrap();
            assert!(prefix.is_empty());
            assert_eq!(prefix.join("2024-01-01T000000Z"), "2024-01-01T000000Z");
        }
    }

    #[test]
    fn slashes_around_the_prefix_are_dropped() {
        let prefix = KeyPrefix::parse(" /backups/erp/ ").unwrap();
        assert_eq!(prefix.as_str(), "backups/erp");
        assert_eq!(prefix.join("x"), "backups/erp/x");
        assert_eq!(prefix.to_string(), "backups/erp");
    }

    #[test]
    fn unsafe_or_ambiguous_prefixes_are_refused() {
        assert_eq!(key_of("a//b"), "invalid.prefix.empty_segment");
        assert_eq!(key_of("a/../b"), "invalid.prefix.dot_segment");
        assert_eq!(key_of(".."), "invalid.prefix.dot_segment");
        assert_eq!(key_of("a/./b"), "invalid.prefix.dot_segment");
        assert_eq!(key_of("a\\b"), "invalid.prefix.backslash");
        assert_eq!(key_of("a\u{7}b"), "invalid.prefix.control");
        assert_eq!(key_of(&"a".repeat(513)), "invalid.prefix.length");
        assert!(KeyPrefix::parse(&"a".repeat(512)).is_ok());
    }

    #[test]
    fn dots_inside_a_name_are_fine() {
        assert_eq!(
            KeyPrefix::parse("erp.example.com/..hidden")
                .unwrap()
                .as_str(),
            "erp.example.com/..hidden"
        );
    }

    proptest! {
        #[test]
        fn joined_keys_never_start_with_a_slash_nor_double_one(input in "[a-z./ ]{0,30}", name in "[a-z0-9]{1,10}") {
            if let Ok(prefix) = KeyPrefix::parse(&input) {
                let key = prefix.join(&name);
                prop_assert!(!key.starts_with('/'));
                prop_assert!(!key.contains("//"));
                prop_assert!(key.ends_with(&name));
                prop_assert!(!key.split('/').any(|s| s == ".."));
            }
        }

        #[test]
        fn a_parsed_prefix_parses_back_to_itself(input in "\\PC{0,30}") {
            if let Ok(prefix) = KeyPrefix::parse(&input) {
                prop_assert_eq!(KeyPrefix::parse(prefix.as_str()).unwrap(), prefix);
            }
        }
    }
}
