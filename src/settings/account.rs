//! Administrator accounts: the user name, and the rules a new password must meet.

use std::collections::HashSet;
use std::fmt;

use super::Invalid;
use super::input::required;

const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
const MIN_DISTINCT_CHARS: usize = 5;

/// Very common passwords long enough to pass the length rule, compared in lowercase.
const COMMON_PASSWORDS: [&str; 32] = [
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789abc",
    "1q2w3e4r5t6y",
    "abc123456789",
    "abcd12345678",
    "administrateur",
    "administrator",
    "azerty123456",
    "azertyuiop12",
    "azertyuiop123",
    "azertyuiop1234",
    "azertyuiopqsdf",
    "changeme1234",
    "iloveyou1234",
    "letmein12345",
    "motdepasse12",
    "motdepasse123",
    "motdepasse1234",
    "p@ssw0rd1234",
    "passw0rd1234",
    "password1234",
    "password12345",
    "password123456",
    "qwerty123456",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiop1234",
    "qwertyuiopasdf",
    "welcome12345",
    "welcome123456",
];

/// An account's login name: 1 to 64 letters, digits and `.`, `_`, `@`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = required(input)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._@-".contains(c);
        if !name.chars().all(allowed) {
            return Err(Invalid::new("invalid.username.character"));
        }
        if name.len() > 64 {
            return Err(Invalid::new("invalid.username.length"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password chosen for an account, strong enough to be accepted. It is taken exactly as
/// typed (spaces count), and `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(password: &str, username: &str) -> Result<Self, Invalid> {
        if password.is_empty() {
            return Err(Invalid::new("invalid.required"));
        }
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(Invalid::new("invalid.password.too_short"));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(Invalid::new("invalid.password.too_long"));
        }
        let lowercase = password.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowercase.as_str()) {
            return Err(Invalid::new("invalid.password.common"));
        }
        let username = username.trim().to_lowercase();
        if !username.is_empty() && lowercase.contains(&username) {
            return Err(Invalid::new("invalid.password.contains_username"));
        }
        if password.chars().collect::<HashSet<_>>().len() < MIN_DISTINCT_CHARS {
            return Err(Invalid::new("invalid.password.too_simple"));
        }
        Ok(Self(password.to_owned()))
    }

    /// The password itself, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn refusal(password: &str, username: &str) -> &'static str {
        NewPassword::parse(password, username).unwrap_err().key
    }

    #[test]
    fn usernames_allow_email_like_names() {
        assert_eq!(
            Username::parse(" jean.dupont@example.fr ")
                .unwrap()
                .as_str(),
            "jean.dupont@example.fr"
        );
        assert_eq!(Username::parse("Admin_2").unwrap().to_string(), "Admin_2");
        assert_eq!(Username::parse("").unwrap_err().key, "invalid.required");
        for input in ["jean dupont", "jean/dupont", "jéan", "a:b"] {
            assert_eq!(
                Username::parse(input).unwrap_err().key,
                "invalid.username.character",
                "{input}"
            );
        }
        assert_eq!(
            Username::parse(&"a".repeat(65)).unwrap_err().key,
            "invalid.username.length"
        );
    }

    #[test]
    fn a_strong_password_is_kept_exactly_as_typed() {
        let password = NewPassword::parse(" correct horse battery ", "admin").unwrap();
        assert_eq!(password.expose(), " correct horse battery ");
    }

    #[test]
    fn each_weakness_has_its_own_reason() {
        assert_eq!(refusal("", "admin"), "invalid.required");
        assert_eq!(
            refusal("Tr0ub4dor&3", "admin"),
            "invalid.password.too_short"
        );
        assert_eq!(
            refusal(&"xY7!".repeat(257), "admin"),
            "invalid.password.too_long"
        );
        assert_eq!(refusal("Password1234", "admin"), "invalid.password.common");
        assert_eq!(refusal("AZERTYUIOP12", "admin"), "invalid.password.common");
        assert_eq!(refusal("motdepasse123", "admin"), "invalid.password.common");
        assert_eq!(
            refusal("my-JeanDupont-2024", "jeandupont"),
            "invalid.password.contains_username"
        );
        assert_eq!(
            refusal("abababababababab", "admin"),
            "invalid.password.too_simple"
        );
        assert_eq!(
            refusal("111122223333", "admin"),
            "invalid.password.too_simple"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(
            refusal("éèàçùéèàçùé", "admin"),
            "invalid.password.too_short"
        );
        assert!(NewPassword::parse("éèàçùéèàçùéè", "admin").is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        let password = NewPassword::parse("correct horse battery", "admin").unwrap();
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
    }

    proptest! {
        #[test]
        fn accepted_passwords_meet_every_rule(password in "\\PC{0,20}", username in "[a-z]{1,6}") {
            if let Ok(accepted) = NewPassword::parse(&password, &username) {
                let password = accepted.expose();
                prop_assert!(password.chars().count() >= MIN_PASSWORD_CHARS);
                prop_assert!(!password.to_lowercase().contains(&username));
                prop_assert!(password.chars().collect::<HashSet<_>>().len() >= MIN_DISTINCT_CHARS);
            }
        }
    }
}
