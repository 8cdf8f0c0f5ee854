//! Server-side encryption asked of the provider for every object: none (the bucket's
//! default applies), SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`, with the bucket's or the
//! account's default key unless a key is named).

use std::fmt;

use super::Invalid;
use super::input::required;

const MAX_KEY_CHARS: usize = 2048;

/// The choice of the form, without its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SseMode {
    None,
    Aes256,
    Kms,
}

impl SseMode {
    pub const ALL: [SseMode; 3] = [Self::None, Self::Aes256, Self::Kms];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| Invalid::new("invalid.server_side_encryption"))
    }

    /// The form and stored value, as S3 names it (`none` for none).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Aes256 => "AES256",
            Self::Kms => "aws:kms",
        }
    }
}

/// A KMS key: its id, its ARN, or an alias (`alias/backups`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsKeyId(String);

impl KmsKeyId {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let key = required(input)?;
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(Invalid::new("invalid.kms_key_id.length"));
        }
        if let Some(bad) = key
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-' | '.')))
        {
            return Err(Invalid::with_detail(
                "invalid.kms_key_id.character",
                bad.to_string(),
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The encryption every upload asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ServerSideEncryption {
    #[default]
    None,
    Aes256,
    Kms(Option<KmsKeyId>),
}

impl ServerSideEncryption {
    /// A key is named only with SSE-KMS; the refusal belongs beside the key.
    pub fn new(mode: SseMode, key: Option<KmsKeyId>) -> Result<Self, Invalid> {
        match (mode, key) {
            (SseMode::Kms, key) => Ok(Self::Kms(key)),
            (_, Some(_)) => Err(Invalid::new("invalid.kms_key_id.without_kms")),
            (SseMode::None, None) => Ok(Self::None),
            (SseMode::Aes256, None) => Ok(Self::Aes256),
        }
    }

    pub fn mode(&self) -> SseMode {
        match self {
            Self::None => SseMode::None,
            Self::Aes256 => SseMode::Aes256,
            Self::Kms(_) => SseMode::Kms,
        }
    }

    pub fn kms_key(&self) -> Option<&KmsKeyId> {
        match self {
            Self::Kms(key) => key.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for ServerSideEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mode().as_str())?;
        if let Some(key) = self.kms_key() {
            write!(f, " ({})", key.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_reads_back_and_others_are_refused() {
        for mode in SseMode::ALL {
            assert_eq!(SseMode::parse(mode.as_str()), Ok(mode));
        }
        for bad in ["aes256", "kms", "SSE-C", ""] {
            assert!(SseMode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kms_takes_an_optional_key() {
        let arn = "arn:aws:kms:eu-west-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let key = KmsKeyId::parse(arn).unwrap();
        assert_eq!(
            ServerSideEncryption::new(SseMode::Kms, Some(key.clone())),
            Ok(ServerSideEncryption::Kms(Some(key)))
        );
        assert_eq!(
            ServerSideEncryption::new(SseMode::Kms, None),
            Ok(ServerSideEncryption::Kms(None))
        );
        assert!(KmsKeyId::parse("alias/backups").is_ok());
    }

    #[test]
    fn a_key_without_kms_or_a_malformed_key_is_refused() {
        let key = KmsKeyId::parse("alias/backups").ok();
        assert_eq!(
            ServerSideEncryption::new(SseMode::Aes256, key)
                .unwrap_err()
                .key,
            "invalid.kms_key_id.without_kms"
        );
        assert_eq!(
            KmsKeyId::parse("alias/my key").unwrap_err().key,
            "invalid.kms_key_id.character"
        );
        assert_eq!(
            KmsKeyId::parse(&"a".repeat(2049)).unwrap_err().key,
            "invalid.kms_key_id.length"
        );
    }
}
