//! The S3 bucket name, checked against the S3 naming rules with one message per rule.

use std::fmt;

use super::Invalid;
use super::input::required;

/// Prefixes AWS reserves for its own use.
const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes AWS reserves for access point aliases and other bucket types.
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// A bucket name that follows the S3 naming rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketName(String);

impl BucketName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = required(input)?;
        check_characters(name)?;
        if !(3..=63).contains(&name.len()) {
            return Err(Invalid::new("invalid.bucket.length"));
        }
        let is_alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !is_alphanumeric(name.chars().next()) || !is_alphanumeric(name.chars().last()) {
            return Err(Invalid::new("invalid.bucket.edges"));
        }
        if name.contains("..") {
            return Err(Invalid::new("invalid.bucket.adjacent_dots"));
        }
        if looks_like_ipv4(name) {
            return Err(Invalid::new("invalid.bucket.ip_address"));
        }
        if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
            return Err(Invalid::with_detail(
                "invalid.bucket.reserved_prefix",
                *prefix,
            ));
        }
        if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
            return Err(Invalid::with_detail(
                "invalid.bucket.reserved_suffix",
                *suffix,
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Only lowercase letters, digits, dots and hyphens; the most common mistakes get their own message.
fn check_characters(name: &str) -> Result<(), Invalid> {
    for c in name.chars() {
        match c {
            'a'..='z' | '0'..='9' | '.' | '-' => {}
            'A'..='Z' => return Err(Invalid::new("invalid.bucket.uppercase")),
            '_' => return Err(Invalid::new("invalid.bucket.underscore")),
            c if c.is_whitespace() => return Err(Invalid::new("invalid.bucket.whitespace")),
            c => return Err(Invalid::with_detail("invalid.bucket.character", c)),
        }
    }
    Ok(())
}

/// Four dot-separated numbers from 0 to 255, such as `192.168.5.4`.
fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| {
            (1..=3).contains(&part.len())
                && part.bytes().all(|b| b.is_ascii_digit())
                && part.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key_of(input: &str) -> &'static str {
        BucketName::parse(input).unwrap_err().key
    }

    #[test]
    fn valid_names_are_kept_as_typed() {
        for name in [
            "abc",
            "my-backups",
            "backups.example.com",
            "a1-b2.c3",
            &"a".repeat(63),
        ] {
            assert_eq!(BucketName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(
            BucketName::parse("  my-backups\n").unwrap().as_str(),
            "my-backups"
        );
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(key_of(""), "invalid.required");
        assert_eq!(key_of("   "), "invalid.required");
    }

    #[test]
    fn each_rule_has_its_own_message() {
        assert_eq!(key_of("My-Backups"), "invalid.bucket.uppercase");
        assert_eq!(key_of("my_backups"), "invalid.bucket.underscore");
        assert_eq!(key_of("my backups"), "invalid.bucket.whitespace");
        assert_eq!(key_of("ab"), "invalid.bucket.length");
        assert_eq!(key_of(&"a".repeat(64)), "invalid.bucket.length");
        assert_eq!(key_of("-backups"), "invalid.bucket.edges");
        assert_eq!(key_of("backups."), "invalid.bucket.edges");
        assert_eq!(key_of("my..backups"), "invalid.bucket.adjacent_dots");
        assert_eq!(key_of("192.168.5.4"), "invalid.bucket.ip_address");
        assert_eq!(key_of("xn--backups"), "invalid.bucket.reserved_prefix");
        assert_eq!(key_of("sthree-backups"), "invalid.bucket.reserved_prefix");
        assert_eq!(key_of("backups-s3alias"), "invalid.bucket.reserved_suffix");
        assert_eq!(key_of("backups--ol-s3"), "invalid.bucket.reserved_suffix");
    }

    #[test]
    fn an_unexpected_character_is_named() {
        let invalid = BucketName::parse("backups/2024").unwrap_err();
        assert_eq!(invalid.key, "invalid.bucket.character");
        assert_eq!(invalid.detail.as_deref(), Some("/"));
        let invalid = BucketName::parse("sauvegardés").unwrap_err();
        assert_eq!(invalid.detail.as_deref(), Some("é"));
    }

    #[test]
    fn reserved_affix_is_named() {
        let invalid = BucketName::parse("backups--ol-s3").unwrap_err();
        assert_eq!(invalid.detail.as_deref(), Some("--ol-s3"));
    }

    #[test]
    fn numbers_that_are_not_an_ip_address_are_allowed() {
        assert!(BucketName::parse("1.2.3").is_ok());
        assert!(BucketName::parse("1.2.3.4.5").is_ok());
        assert!(BucketName::parse("300.1.1.1").is_ok());
    }

    #[test]
    fn uppercase_message_reads_well_in_both_languages() {
        let invalid = BucketName::parse("Backups").unwrap_err();
        assert_eq!(invalid.message("en"), "Uppercase letters are not allowed.");
        assert_eq!(
            invalid.message("fr"),
            "Les majuscules ne sont pas autorisées."
        );
    }

    proptest! {
        #[test]
        fn names_built_from_the_rules_are_accepted(
            name in "[a-z0-9]([a-z0-9-]|[a-z0-9]\\.[a-z0-9]){1,30}[a-z0-9]"
        ) {
            prop_assume!(!looks_like_ipv4(&name));
            prop_assume!(!RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)));
            prop_assume!(!RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s)));
            prop_assume!(name.len() <= 63);
            let parsed = BucketName::parse(&name).unwrap();
            prop_assert_eq!(parsed.as_str(), name.as_str());
        }

        #[test]
        fn accepted_names_follow_every_rule(input in "\\PC{0,70}") {
            if let Ok(name) = BucketName::parse(&input) {
                let name = name.as_str();
                prop_assert!((3..=63).contains(&name.len()));
                prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
                prop_assert!(!name.contains(".."));
            }
        }
    }
}
