//! age keys: the public recipients backups are encrypted for, and the secret identities
//! that decrypt them, each parsed from the text of a form or of a key file.

use std::fmt;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;

use super::Invalid;

/// The public keys (`age1…`) every object of a backup is encrypted for: one or more, one a
/// line, `#` comments and blank lines allowed; kept in the order typed, each once.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipients(Vec<x25519::Recipient>);

impl Recipients {
    /// A refusal names the first line that is not a public key, with its text (public).
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let mut keys: Vec<x25519::Recipient> = Vec::new();
        for (number, line) in key_lines(input) {
            let key: x25519::Recipient = line.parse().map_err(|_| {
                Invalid::with_detail("invalid.age.recipient", format!("{number}: {line}"))
            })?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(Invalid::new("invalid.age.no_recipient"));
        }
        Ok(Self(keys))
    }

    /// The public keys as text, as the manifest records them.
    pub fn keys(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// These keys, less those of `others`, in order: what stays of a list when a key pair
    /// is replaced.
    pub fn without(&self, others: &Recipients) -> Option<Recipients> {
        let kept: Vec<x25519::Recipient> = self
            .0
            .iter()
            .filter(|key| !others.0.contains(key))
            .cloned()
            .collect();
        (!kept.is_empty()).then_some(Self(kept))
    }

    /// `first`, then these keys that are not already in it.
    pub fn after(&self, first: &Recipients) -> Recipients {
        let mut keys = first.0.clone();
        keys.extend(self.0.iter().filter(|key| !first.0.contains(key)).cloned());
        Self(keys)
    }

    /// For the age encryptor.
    pub fn as_age(&self) -> impl Iterator<Item = &dyn age::Recipient> {
        self.0.iter().map(|key| key as &dyn age::Recipient)
    }
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Recipients").field(&self.keys()).finish()
    }
}

/// One line a key file, as typed.
impl fmt::Display for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keys().join("\n"))
    }
}

/// The secret keys (`AGE-SECRET-KEY-1…`) of an identity file, as `age-keygen` writes it:
/// one or more, `#` comments and blank lines allowed. Never shown: its `Debug` gives the
/// public keys only.
#[derive(Clone)]
pub struct Identity(Vec<x25519::Identity>);

impl Identity {
    /// A refusal names the line that is not a secret key by its number only: the text may
    /// be a mistyped secret.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let mut keys = Vec::new();
        for (number, line) in key_lines(input) {
            let key: x25519::Identity = line
                .parse()
                .map_err(|_| Invalid::with_detail("invalid.age.identity", number.to_string()))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(Invalid::new("invalid.age.no_identity"));
        }
        Ok(Self(keys))
    }

    /// A new key pair: its identity, whose public keys are `recipients()`.
    pub fn generate() -> Self {
        Self(vec![x25519::Identity::generate()])
    }

    /// The public keys this identity decrypts for.
    pub fn recipients(&self) -> Recipients {
        Recipients(self.0.iter().map(x25519::Identity::to_public).collect())
    }

    /// Whether it decrypts what was encrypted for any of `keys` (public keys as text).
    pub fn decrypts_for(&self, keys: &[String]) -> bool {
        self.recipients()
            .keys()
            .iter()
            .any(|key| keys.contains(key))
    }

    /// These keys first, then those of `older` it does not hold: one file that decrypts
    /// what either did.
    pub fn with_older(mut self, older: &Identity) -> Identity {
        let held = self.recipients();
        self.0.extend(
            older
                .0
                .iter()
                .filter(|key| !held.0.contains(&key.to_public()))
                .cloned(),
        );
        self
    }

    /// The identity file's text (`age -d -i FILE` reads it): secret, to be saved by its
    /// owner and nowhere else.
    pub fn to_file(&self) -> SecretString {
        let mut text = String::new();
        for key in &self.0 {
            text.push_str("# public key: ");
            text.push_str(&key.to_public().to_string());
            text.push('\n');
            text.push_str(key.to_string().expose_secret());
            text.push('\n');
        }
        SecretString::from(text)
    }

    /// For the age decryptor.
    pub fn as_age(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.0.iter().map(|key| key as &dyn age::Identity)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("recipients", &self.recipients().keys())
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// The lines of a key file that hold a key, numbered from 1.
fn key_lines(input: &str) -> impl Iterator<Item = (usize, &str)> {
    input
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_take_comments_blank_lines_and_several_keys_once_each() {
        let one = Identity::generate().recipients().to_string();
        let two = Identity::generate().recipients().to_string();
        let text = format!("# the office\n{one}\n\n  {two}  \n{one}\n");

        let recipients = Recipients::parse(&text).expect("valid recipients");

        assert_eq!(recipients.keys(), vec![one, two]);
    }

    #[test]
    fn a_malformed_recipient_is_refused_naming_its_line() {
        let good = Identity::generate().recipients().to_string();
        let text = format!("{good}\n# next\nage1notakey\n");

        let refused = Recipients::parse(&text).expect_err("refused");

        assert_eq!(refused.key, "invalid.age.recipient");
        assert_eq!(refused.detail.as_deref(), Some("3: age1notakey"));
        assert!(refused.message("en").contains("3: age1notakey"));
        assert!(refused.message("fr").contains("3: age1notakey"));
    }

    #[test]
    fn no_recipient_at_all_is_refused() {
        let refused = Recipients::parse("# only a comment\n\n").expect_err("refused");
        assert_eq!(refused.key, "invalid.age.no_recipient");
    }

    #[test]
    fn an_identity_reads_back_from_its_file_and_knows_its_recipient() {
        let identity = Identity::generate();
        let file = identity.to_file();

        let read = Identity::parse(file.expose_secret()).expect("its own file");

        assert_eq!(read.recipients(), identity.recipients());
        assert!(file.expose_secret().starts_with("# public key: age1"));
    }

    #[test]
    fn a_malformed_identity_is_refused_by_line_number_without_echoing_it() {
        let refused =
            Identity::parse("# created: today\nAGE-SECRET-KEY-1NOTASECRET\n").expect_err("bad");

        assert_eq!(refused.key, "invalid.age.identity");
        assert_eq!(refused.detail.as_deref(), Some("2"));
        assert!(!refused.message("en").contains("NOTASECRET"));
        let refused = Identity::parse("").expect_err("empty");
        assert_eq!(refused.key, "invalid.age.no_identity");
    }

    #[test]
    fn a_new_key_pair_goes_first_and_the_older_ones_stay_to_decrypt_old_backups() {
        let older = Identity::generate();
        let newer = Identity::generate();

        let both = newer.clone().with_older(&older).with_older(&newer);

        assert_eq!(
            both.recipients().keys(),
            vec![
                newer.recipients().keys()[0].clone(),
                older.recipients().keys()[0].clone()
            ]
        );
        assert!(both.decrypts_for(&older.recipients().keys()));
        assert!(!newer.decrypts_for(&older.recipients().keys()));
        let read = Identity::parse(both.to_file().expose_secret()).expect("one file");
        assert_eq!(read.recipients(), both.recipients());
    }

    #[test]
    fn replacing_the_apps_key_keeps_the_other_recipients_in_their_order() {
        let (old_app, new_app) = (Identity::generate(), Identity::generate());
        let office = Identity::generate().recipients();
        let listed = office.after(&old_app.recipients());

        let kept = listed
            .without(&old_app.recipients())
            .map(|others| others.after(&new_app.recipients()))
            .unwrap_or_else(|| new_app.recipients());

        assert_eq!(
            kept.keys(),
            vec![
                new_app.recipients().keys()[0].clone(),
                office.keys()[0].clone()
            ]
        );
        assert_eq!(old_app.recipients().without(&old_app.recipients()), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let identity = Identity::generate();
        let file = identity.to_file();
        let secret = file
            .expose_secret()
            .lines()
            .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
            .expect("a secret line")
            .to_owned();

        let shown = format!("{identity:?}");

        assert!(!shown.contains(&secret), "{shown}");
        assert!(!shown.to_uppercase().contains("AGE-SECRET-KEY"), "{shown}");
        assert!(shown.contains(&identity.recipients().keys()[0]), "{shown}");
    }
}
