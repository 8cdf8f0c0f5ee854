//! A password typed into a URL field, kept while its form comes back with an error: the page
//! shows the URL with the mask in its place and carries the password sealed in a hidden
//! `pending_password` field. It opens only for the same session, the same field and the very
//! URL shown, so it can be neither read from the page nor sent to another server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{CryptoError, MasterKey, Slot};
use crate::web::form::FormState;

/// What a URL's password is replaced with when shown.
pub const MASK: &str = "***";

/// The hidden field that carries the sealed password.
pub const FIELD: &str = "pending_password";

pub struct PendingPassword<'a> {
    key: &'a MasterKey,
    /// Which field's password: one sealed for a field does not open for another.
    purpose: &'static str,
    /// The session's form token: one sealed for a session does not open in another.
    csrf: &'a str,
}

impl<'a> PendingPassword<'a> {
    pub fn new(key: &'a MasterKey, purpose: &'static str, csrf: &'a str) -> Self {
        Self { key, purpose, csrf }
    }

    fn slot(&self, shown: &str) -> Slot {
        Slot::new(self.purpose, format!("{} {shown}", self.csrf))
    }

    /// The URL as the user meant it: the mask replaced by the pending password when it was
    /// sealed for this very text; otherwise as posted.
    pub fn restore(&self, posted: &str, pending: &str) -> String {
        let posted = posted.trim();
        let opened = URL_SAFE_NO_PAD
            .decode(pending.trim())
            .ok()
            .and_then(|sealed| self.key.open(&self.slot(posted), &sealed).ok());
        match (url::Url::parse(posted), opened) {
            (Ok(mut url), Some(password)) if url.password() == Some(MASK) => {
                match url.set_password(Some(&password)) {
                    Ok(()) => url.to_string(),
                    Err(()) => posted.to_owned(),
                }
            }
            _ => posted.to_owned(),
        }
    }

    /// Puts `url` into the form's `field` as it comes back: masked, its password sealed
    /// apart in the hidden field.
    pub fn echo(&self, form: &mut FormState, field: &str, url: &str) -> Result<(), CryptoError> {
        match url::Url::parse(url) {
            Ok(mut parsed) if parsed.password().is_some_and(|p| p != MASK) => {
                // As the URL holds it, percent-encoded: put back as it was.
                let password = parsed.password().unwrap_or_default().to_owned();
                let _ = parsed.set_password(Some(MASK));
                let shown = parsed.to_string();
                let sealed = self.key.seal(&self.slot(&shown), &password)?;
                form.set(FIELD, URL_SAFE_NO_PAD.encode(sealed));
                form.set(field, shown);
            }
            _ => form.set(field, url),
        }
        Ok(())
    }
}
