//! The rule that a stored password only ever goes back to the server it was typed for:
//! each kind of server says what decides where a connection goes, and a stored password
//! is reused only while all of it stays the same.

/// Everything that decides where a password would be sent: server, port, account, and any
/// option that can redirect the connection or weaken its protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDestination(Vec<(&'static str, String)>);

impl SecretDestination {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn part(mut self, name: &'static str, value: impl ToString) -> Self {
        self.0.push((name, value.to_string()));
        self
    }

    /// Whether a password stored for `stored` may be sent to `self` without being typed
    /// again.
    pub fn may_receive_password_of(&self, stored: &SecretDestination) -> bool {
        self == stored
    }
}

impl Default for SecretDestination {
    fn default() -> Self {
        Self::new()
    }
}

/// What to do with a stored secret when a form is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredSecret<T> {
    /// Nothing was typed: keep the stored one (if its destination still allows it).
    Keep,
    /// A new secret was typed.
    Replace(T),
    /// "Remove" was ticked.
    Remove,
}

/// Decides what a form's blank, new or removed secret becomes. `Err(())` when a stored
/// secret would go to another destination than the one it was typed for: the user must
/// type it again.
pub fn resolve<T: Clone>(
    change: StoredSecret<T>,
    stored: Option<&T>,
    stored_for: Option<&SecretDestination>,
    now_for: &SecretDestination,
) -> Result<Option<T>, RetypeSecret> {
    match change {
        StoredSecret::Replace(secret) => Ok(Some(secret)),
        StoredSecret::Remove => Ok(None),
        StoredSecret::Keep => match (stored, stored_for) {
            (None, _) => Ok(None),
            (Some(secret), Some(before)) if now_for.may_receive_password_of(before) => {
                Ok(Some(secret.clone()))
            }
            (Some(_), _) => Err(RetypeSecret),
        },
    }
}

/// A stored secret may not follow a change of server: it must be typed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetypeSecret;

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16) -> SecretDestination {
        SecretDestination::new()
            .part("host", host)
            .part("port", port)
    }

    #[test]
    fn a_stored_secret_stays_with_its_server_only() {
        let stored = b"pw".to_vec();
        let here = server("db", 5432);
        assert_eq!(
            resolve(StoredSecret::Keep, Some(&stored), Some(&here), &here),
            Ok(Some(stored.clone()))
        );
        assert_eq!(
            resolve(
                StoredSecret::Keep,
                Some(&stored),
                Some(&here),
                &server("db", 18933)
            ),
            Err(RetypeSecret)
        );
        assert_eq!(
            resolve(
                StoredSecret::Replace(b"new".to_vec()),
                Some(&stored),
                Some(&here),
                &server("x", 1)
            ),
            Ok(Some(b"new".to_vec()))
        );
        assert_eq!(
            resolve(StoredSecret::Remove, Some(&stored), Some(&here), &here),
            Ok(None)
        );
        assert_eq!(
            resolve::<Vec<u8>>(StoredSecret::Keep, None, None, &here),
            Ok(None)
        );
    }
}
