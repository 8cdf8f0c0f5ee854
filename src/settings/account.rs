//! Administrator accounts: user names and the rules a new password must meet.

use std::collections::HashSet;
use std::fmt;

use super::Invalid;
use super::input::required;

/// The name an administrator logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = required(input)?;
        if name.chars().count() > 64 {
            return Err(Invalid::new("invalid.username_length"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
        {
            return Err(Invalid::new("invalid.username_chars"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const MIN_LENGTH: usize = 12;
const MIN_DISTINCT: usize = 5;
/// Passwords that meet the length rule but are among the first any attacker tries.
const COMMON: [&str; 14] = [
    "password1234",
    "password12345",
    "passwordpassword",
    "azertyuiop12",
    "azertyuiop123",
    "qwertyuiop12",
    "qwertyuiop123",
    "123456789012",
    "1234567890123",
    "motdepasse123",
    "motdepasse1234",
    "administrator1",
    "letmeinletmein",
    "iloveyou1234",
];

/// A password chosen for an account, checked for strength. Never shown by `Debug`.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `password` (kept exactly as typed) for the account `username`.
    pub fn parse(password: &str, username: &str) -> Result<Self, Invalid> {
        if password.is_empty() {
            return Err(Invalid::new("invalid.required"));
        }
        if password.chars().count() < MIN_LENGTH {
            return Err(Invalid::with_detail(
                "invalid.password_short",
                MIN_LENGTH.to_string(),
            ));
        }
        let lower = password.to_lowercase();
        let user = username.trim().to_lowercase();
        if !user.is_empty() && lower.contains(&user) {
            return Err(Invalid::new("invalid.password_has_username"));
        }
        if password.chars().collect::<HashSet<_>>().len() < MIN_DISTINCT {
            return Err(Invalid::new("invalid.password_repetitive"));
        }
        if COMMON.contains(&lower.as_str()) {
            return Err(Invalid::new("invalid.password_common"));
        }
        Ok(Self(password.to_owned()))
    }

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
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weak_passwords_are_refused_with_their_reason() {
        let key = |p: &str, u: &str| NewPassword::parse(p, u).map(|_| ()).unwrap_err().key;
        assert_eq!(key("short", "admin"), "invalid.password_short");
        assert_eq!(
            key("my-admin-password", "admin"),
            "invalid.password_has_username"
        );
        assert_eq!(key("aaaabbbbaaaa", "x"), "invalid.password_repetitive");
        assert_eq!(key("Password1234", "x"), "invalid.password_common");
        assert_eq!(key("", "x"), "invalid.required");
        assert!(NewPassword::parse("correct horse battery staple", "admin").is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        let p = NewPassword::parse("correct horse battery staple", "admin").expect("strong");
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn user_names_are_simple() {
        assert!(Username::parse("admin").is_ok());
        assert!(Username::parse("ops.team@acme-1").is_ok());
        assert_eq!(
            Username::parse("a b").unwrap_err().key,
            "invalid.username_chars"
        );
        assert_eq!(Username::parse(" ").unwrap_err().key, "invalid.required");
        assert_eq!(
            Username::parse(&"a".repeat(65)).unwrap_err().key,
            "invalid.username_length"
        );
    }

    proptest! {
        #[test]
        fn accepted_passwords_meet_every_rule(p in "\\PC{0,30}", u in "[a-z]{1,8}") {
            if let Ok(ok) = NewPassword::parse(&p, &u) {
                prop_assert!(ok.expose().chars().count() >= MIN_LENGTH);
                prop_assert!(!ok.expose().to_lowercase().contains(&u));
            }
        }
    }
}
