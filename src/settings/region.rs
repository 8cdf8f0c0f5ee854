//! The S3 region: free text because every provider names its own (`fr-par`, `auto`,
//! `garage`), always passed to the client.

use std::fmt;

use super::Invalid;

/// The region used when the field is left empty, as the AWS tools do.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A region name: lowercase letters, digits and hyphens, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    /// Empty input means the default region, `us-east-1`.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let region = input.trim();
        if region.is_empty() {
            return Ok(Self::default());
        }
        for c in region.chars() {
            match c {
                'a'..='z' | '0'..='9' | '-' => {}
                'A'..='Z' => return Err(Invalid::new("invalid.region.uppercase")),
                c if c.is_whitespace() => return Err(Invalid::new("invalid.region.whitespace")),
                c => return Err(Invalid::with_detail("invalid.region.character", c)),
            }
        }
        if region.len() > 64 {
            return Err(Invalid::new("invalid.region.length"));
        }
        Ok(Self(region.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Region {
    fn default() -> Self {
        Self(DEFAULT_REGION.to_owned())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn empty_means_us_east_1() {
        assert_eq!(Region::parse("").unwrap().as_str(), "us-east-1");
        assert_eq!(Region::parse("  ").unwrap(), Region::default());
    }

    #[test]
    fn provider_regions_are_accepted() {
        for region in [
            "eu-west-3",
            "fr-par",
            "auto",
            "garage",
            "us-east-005",
            "nl-ams",
        ] {
            assert_eq!(Region::parse(region).unwrap().as_str(), region);
        }
        assert_eq!(
            Region::parse(" eu-west-3 ").unwrap().to_string(),
            "eu-west-3"
        );
    }

    #[test]
    fn uppercase_spaces_and_other_characters_are_refused() {
        assert_eq!(
            Region::parse("EU-WEST-3").unwrap_err().key,
            "invalid.region.uppercase"
        );
        assert_eq!(
            Region::parse("eu west 3").unwrap_err().key,
            "invalid.region.whitespace"
        );
        let invalid = Region::parse("eu_west_3").unwrap_err();
        assert_eq!(invalid.key, "invalid.region.character");
        assert_eq!(invalid.detail.as_deref(), Some("_"));
        assert_eq!(
            Region::parse(&"a".repeat(65)).unwrap_err().key,
            "invalid.region.length"
        );
        assert!(Region::parse(&"a".repeat(64)).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_regions_use_only_the_allowed_characters(input in "\\PC{0,70}") {
            if let Ok(region) = Region::parse(&input) {
                prop_assert!((1..=64).contains(&region.as_str().len()));
                prop_assert!(region.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
    }
}
