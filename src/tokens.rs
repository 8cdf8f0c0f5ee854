//! API tokens: what a token may do, its name, and its secret — made from 32 random bytes,
//! shown once, and kept only as a SHA-256 hash (random secrets need no slow hash).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::settings::Invalid;

/// What every token starts with, so a leaked one is recognised (and found by scanners).
pub const PREFIX: &str = "s3b_";
/// Characters after the prefix that identify a token in the list; not enough to use it.
pub const IDENTIFIER_LEN: usize = 8;
/// Longest token name, in characters.
pub const NAME_MAX: usize = 64;
/// Random bytes of a secret.
const SECRET_BYTES: usize = 32;
/// Characters of the base64url encoding of the random bytes.
const ENCODED_LEN: usize = 43;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read the status and the history.
    Read,
    /// Also start backups and verifications.
    Operate,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Read, Scope::Operate];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input.trim() {
            "read" => Ok(Self::Read),
            "operate" => Ok(Self::Operate),
            "" => Err(Invalid::new("invalid.required")),
            _ => Err(Invalid::new("tokens.invalid.scope")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Operate => "operate",
        }
    }

    /// Whether the token may change something (start a run), not only read.
    pub fn may_operate(self) -> bool {
        self == Self::Operate
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the admin calls a token ("monitoring", "nightly cron"): 1 to 64 printable
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid::new("invalid.required"));
        }
        if name.chars().count() > NAME_MAX {
            return Err(Invalid::with_detail(
                "tokens.invalid.name_length",
                NAME_MAX.to_string(),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("tokens.invalid.name_character"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token's secret, as given once to the admin. Never logged: `Debug` hides it.
pub struct Secret(String);

impl Secret {
    /// A new secret of 256 random bits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A secret as sent by a client; `None` when it cannot be one of ours.
    pub fn from_presented(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(PREFIX)?;
        let valid = encoded.len() == ENCODED_LEN
            && encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(text.to_owned()))
    }

    /// The whole token, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The short identifier the list shows and lookups use.
    pub fn identifier(&self) -> &str {
        let start = PREFIX.len();
        self.0.get(start..start + IDENTIFIER_LEN).unwrap_or("")
    }

    /// What is stored: the SHA-256 of the whole token.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// Whether `stored` is this secret's hash, compared in constant time.
    pub fn matches(&self, stored: &[u8]) -> bool {
        crate::web::csrf::same(&self.hash(), stored)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({PREFIX}{}…)", self.identifier())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_secret_is_recognisable_random_and_matches_only_its_hash() {
        let secret = Secret::generate();
        let text = secret.expose();
        assert!(text.starts_with(PREFIX));
        assert_eq!(text.len(), PREFIX.len() + ENCODED_LEN);
        assert_eq!(secret.identifier(), &text[4..12]);
        let presented = Secret::from_presented(text).expect("our own format");
        assert!(presented.matches(&secret.hash()));
        assert!(!Secret::generate().matches(&secret.hash()));
        assert!(
            !format!("{secret:?}").contains(&text[12..]),
            "Debug hides it"
        );
    }

    #[test]
    fn only_our_format_is_taken_from_a_client() {
        let secret = Secret::generate();
        let text = secret.expose();
        assert!(Secret::from_presented(&text[4..]).is_none(), "no prefix");
        assert!(Secret::from_presented(&text[..text.len() - 1]).is_none());
        assert!(Secret::from_presented(&format!("{text}x")).is_none());
        assert!(Secret::from_presented(&format!("s3b_{}", "é".repeat(21))).is_none());
        assert!(Secret::from_presented("").is_none());
    }

    #[test]
    fn names_and_scopes_are_parsed_with_a_message() {
        assert_eq!(
            TokenName::parse("  nightly cron ").unwrap().as_str(),
            "nightly cron"
        );
        assert_eq!(TokenName::parse(" ").unwrap_err().key, "invalid.required");
        assert_eq!(
            TokenName::parse(&"é".repeat(NAME_MAX + 1)).unwrap_err().key,
            "tokens.invalid.name_length"
        );
        assert!(TokenName::parse(&"é".repeat(NAME_MAX)).is_ok());
        assert_eq!(
            TokenName::parse("a\u{7}b").unwrap_err().key,
            "tokens.invalid.name_character"
        );
        assert_eq!(Scope::parse("read"), Ok(Scope::Read));
        assert_eq!(Scope::parse("operate"), Ok(Scope::Operate));
        assert_eq!(
            Scope::parse("admin").unwrap_err().key,
            "tokens.invalid.scope"
        );
        assert_eq!(Scope::parse("").unwrap_err().key, "invalid.required");
    }

    /// Keys of `locales/tokens.yml`, each with the languages it is written in.
    fn catalog() -> Vec<(String, BTreeSet<String>)> {
        let mut entries: Vec<(String, BTreeSet<String>)> = Vec::new();
        for line in include_str!("../locales/tokens.yml").lines() {
            if line.starts_with("_version") || line.trim().is_empty() {
                continue;
            }
            if let Some(key) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
                entries.push((key.to_owned(), BTreeSet::new()));
            } else if let (Some(entry), Some((locale, _))) =
                (entries.last_mut(), line.trim_start().split_once(':'))
            {
                entry.1.insert(locale.to_owned());
            }
        }
        entries
    }

    #[test]
    fn every_token_and_api_text_is_in_english_and_french() {
        let both: BTreeSet<String> = ["en", "fr"].map(String::from).into();
        let entries = catalog();
        assert!(entries.len() > 20, "the catalog is read");
        for (key, locales) in entries {
            assert_eq!(locales, both, "{key} must have exactly en and fr");
        }
    }

    proptest! {
        #[test]
        fn accepted_names_are_short_and_printable(input in "\\PC{0,80}") {
            if let Ok(name) = TokenName::parse(&input) {
                prop_assert!((1..=NAME_MAX).contains(&name.as_str().chars().count()));
                prop_assert!(!name.as_str().chars().any(char::is_control));
            }
        }
    }
}
