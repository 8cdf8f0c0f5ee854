//! age identities on a backup's page: the app's own key pairs, an identity pasted for one
//! operation (never stored, never sent back), and whether they open a backup's objects.

use serde::Deserialize;

use crate::app::AppState;
use crate::backup::manifest::{Manifest, StoredObject};
use crate::lang::Lang;
use crate::settings::Identity;
use crate::web::error::WebError;

/// The public keys a backup's objects are encrypted for, once each, when it is encrypted.
pub(super) fn recipients_of(manifest: &Manifest) -> Option<String> {
    let mut keys: Vec<&str> = Vec::new();
    for encryption in manifest
        .objects
        .iter()
        .filter_map(|o| o.encryption.as_ref())
    {
        for key in &encryption.recipients {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    (!keys.is_empty()).then(|| keys.join(", "))
}

/// The key pairs this app generated, which decrypt its encrypted backups.
pub(super) async fn app_identity(state: &AppState) -> Result<Option<Identity>, WebError> {
    let settings = crate::db::settings::load(&state.pool).await?;
    crate::jobs::app_identity(&settings, &state.key)
        .map_err(|e| WebError::internal("opening the app's key pairs", e))
}

/// Whether every encrypted one of `objects` opens with one of `identities`; if not, why,
/// before anything is downloaded.
/// With nothing pasted, the app's own keys not fitting asks for the identity.
pub(super) fn decryptable<'a>(
    objects: impl IntoIterator<Item = &'a StoredObject>,
    identities: &[Identity],
    pasted: bool,
    lang: Lang,
) -> Result<(), String> {
    use crate::backup::encryption::{DecryptError, check_identities};
    for object in objects {
        if let Some(encryption) = &object.encryption {
            check_identities(encryption, &object.key, identities).map_err(|error| {
                match error {
                    DecryptError::WrongIdentity {
                        key, recipients, ..
                    } if !pasted => DecryptError::NoIdentity { key, recipients },
                    error => error,
                }
                .to_message()
                .render(lang)
            })?;
        }
    }
    Ok(())
}

/// The identity pasted in a form, if any; a refusal says which line (never its text).
pub(super) fn pasted_identity(text: &str, lang: Lang) -> Result<Option<Identity>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Identity::parse(text)
        .map(Some)
        .map_err(|invalid| invalid.message(lang.code()))
}

/// A form that only carries an identity (verification, a decrypted download).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct IdentityForm {
    pub(super) identity: String,
}
