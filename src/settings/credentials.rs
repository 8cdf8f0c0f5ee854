//! The S3 access key pair as typed in the settings form. The secret never shows in logs.

use std::fmt;

use super::Invalid;
use super::input::required;

/// The public half of an S3 key pair: 1 to 128 printable ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let id = required(input)?;
        if id.chars().any(char::is_whitespace) {
            return Err(Invalid::new("invalid.access_key.whitespace"));
        }
        if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(Invalid::with_detail("invalid.access_key.character", c));
        }
        if id.len() > 128 {
            return Err(Invalid::new("invalid.access_key.length"));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret half of an S3 key pair. It has no `Display`, and `Debug` hides it, so it
/// cannot end up in a log line or a page by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Surrounding whitespace, which comes from copy and paste, is dropped.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let secret = required(input)?;
        if secret.chars().any(char::is_control) {
            return Err(Invalid::new("invalid.secret_key.control"));
        }
        if secret.chars().count() > 256 {
            return Err(Invalid::new("invalid.secret_key.length"));
        }
        Ok(Self(secret.to_owned()))
    }

    /// The secret itself, for the S3 client and for sealing at rest only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_id_is_printable_ascii_without_spaces() {
        assert_eq!(
            AccessKeyId::parse(" AKIAIOSFODNN7EXAMPLE ")
                .unwrap()
                .as_str(),
            "AKIAIOSFODNN7EXAMPLE"
        );
        assert_eq!(AccessKeyId::parse("").unwrap_err().key, "invalid.required");
        assert_eq!(
            AccessKeyId::parse("AKIA IOSF").unwrap_err().key,
            "invalid.access_key.whitespace"
        );
        let invalid = AccessKeyId::parse("AKIAé").unwrap_err();
        assert_eq!(invalid.key, "invalid.access_key.character");
        assert_eq!(invalid.detail.as_deref(), Some("é"));
        assert_eq!(
            AccessKeyId::parse(&"A".repeat(129)).unwrap_err().key,
            "invalid.access_key.length"
        );
        assert!(AccessKeyId::parse(&"A".repeat(128)).is_ok());
    }

    #[test]
    fn secret_key_is_trimmed_and_bounded() {
        let secret = SecretKey::parse("  wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n").unwrap();
        assert_eq!(secret.expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(SecretKey::parse(" ").unwrap_err().key, "invalid.required");
        assert_eq!(
            SecretKey::parse("a\u{0}b").unwrap_err().key,
            "invalid.secret_key.control"
        );
        assert_eq!(
            SecretKey::parse(&"s".repeat(257)).unwrap_err().key,
            "invalid.secret_key.length"
        );
        assert!(SecretKey::parse(&"s".repeat(256)).is_ok());
    }

    #[test]
    fn secret_key_debug_hides_the_secret() {
        let secret = SecretKey::parse("wJalrXUtnFEMI").unwrap();
        assert_eq!(format!("{secret:?}"), "SecretKey(***)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(SecretKey(***))");
    }
}
