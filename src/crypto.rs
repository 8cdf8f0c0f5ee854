//! Secrets at rest: a master key kept in the data directory (mode 0600) and an AEAD
//! cipher (XChaCha20-Poly1305) that seals each secret bound to the column and the row it
//! belongs to.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// What each sealed secret is for; bound to its ciphertext so a value copied into another
/// column does not open.
pub mod purpose {
    pub const S3_SECRET_KEY: &str = "settings.secret_access_key";
    pub const SMTP_PASSWORD: &str = "email_account.smtp_password";
    pub const SOURCE_PASSWORD: &str = "sources.password";
    pub const SCRATCH_SERVER: &str = "settings.scratch_server";
    /// The age key pairs the app generated, which decrypt its backups.
    pub const AGE_IDENTITY: &str = "settings.age_identity";
    /// A key pair generated and shown, until the admin confirms they saved it.
    pub const PENDING_AGE_IDENTITY: &str = "settings.pending_age_identity";
    /// A password typed in a form that came back with an error, held by the browser
    /// until the form is sent again.
    pub const PENDING_SOURCE_PASSWORD: &str = "sources.pending_password";
    pub const PENDING_SCRATCH_SERVER_PASSWORD: &str = "settings.pending_scratch_server_password";
    /// A notification channel's URL (webhook URLs embed the token that lets anyone post).
    pub const CHANNEL_URL: &str = "channels.url";
    /// A channel's access token (ntfy).
    pub const CHANNEL_TOKEN: &str = "channels.token";
    /// The secret a webhook channel's payloads are signed with.
    pub const CHANNEL_SECRET: &str = "channels.secret";
}

/// What each key derived from the master key is for; distinct from every sealing purpose.
pub mod derived {
    /// Signs the form tokens kept in a cookie for visitors without a session (login, setup).
    pub const FORM_TOKEN_SIGNING: &str = "web.form_token_signing";
}

/// Where a sealed secret belongs: its column (`purpose`) and its row. Both are
/// authenticated, so a value copied into another column or another row does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    purpose: &'static str,
    row: String,
}

impl Slot {
    pub fn new(purpose: &'static str, row: impl std::fmt::Display) -> Self {
        Self {
            purpose,
            row: row.to_string(),
        }
    }

    /// The one row of a single-row table (the settings, the e-mail account).
    pub fn single(purpose: &'static str) -> Self {
        Self::new(purpose, 1)
    }

    fn associated_data(&self) -> Vec<u8> {
        format!("{}\0row {}", self.purpose, self.row).into_bytes()
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of row {}", self.purpose, self.row)
    }
}

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read master key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create master key {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("master key {path} is {len} bytes long, expected {KEY_LEN}")]
    BadLength { path: String, len: usize },
    #[error("master key {path} is readable by other users (mode {mode:o}); run chmod 600 on it")]
    TooOpen { path: String, mode: u32 },
    #[error(
        "the stored secret {slot} does not open: it was sealed with another master key, or \
         for another row (copied from elsewhere); type it again"
    )]
    Decrypt { slot: String },
    #[error("a secret could not be encrypted")]
    Encrypt,
}

/// The key that seals every secret stored in the database.
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// The key from which the others (see `derived`) are made, itself made from the master
    /// key, so that no derived key tells anything about the one that seals the secrets.
    derivation: std::sync::Arc<[u8; KEY_LEN]>,
    /// A short name of this installation derived from the key (one-way): what it leaves on
    /// shared servers (scratch databases) carries it, so installations never take another's
    /// for their own.
    instance: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Loads the key file, creating it with fresh random bytes and mode 0600 if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let shown = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(path)
                    .map_err(|source| CryptoError::Read {
                        path: shown.clone(),
                        source,
                    })?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode & 0o077 != 0 {
                    return Err(CryptoError::TooOpen { path: shown, mode });
                }
                Self::from_bytes(&bytes).ok_or(CryptoError::BadLength {
                    path: shown,
                    len: bytes.len(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|source| CryptoError::Create {
                        path: shown.clone(),
                        source,
                    })?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(|source| CryptoError::Create {
                        path: shown,
                        source,
                    })?;
                Ok(Self::with_key(&key.into()))
            }
            Err(source) => Err(CryptoError::Read {
                path: shown,
                source,
            }),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self::with_key)
    }

    fn with_key(key: &[u8; KEY_LEN]) -> Self {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"s3-backup instance name\0");
        hasher.update(key);
        Self {
            cipher: XChaCha20Poly1305::new(&(*key).into()),
            derivation: std::sync::Arc::new(hmac_sha256(key, b"s3-backup key derivation")),
            instance: hex::encode(&hasher.finalize()[..4]),
        }
    }

    /// A key for `purpose` (one of `derived`): the same as long as the master key is, and
    /// different for each purpose.
    pub fn derive(&self, purpose: &'static str) -> [u8; KEY_LEN] {
        hmac_sha256(&self.derivation, purpose.as_bytes())
    }

    /// This installation's short name: 8 hex digits, stable as long as the key is.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Seals `plaintext` for `slot`: it opens only there.
    pub fn seal(&self, slot: &Slot, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &slot.associated_data(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, slot: &Slot, sealed: &[u8]) -> Result<String, CryptoError> {
        self.open_with(&slot.associated_data(), sealed)
            .ok_or_else(|| CryptoError::Decrypt {
                slot: slot.to_string(),
            })
    }

    /// Opens a secret sealed before secrets were bound to their row (to their column
    /// only), so that it can be sealed again for its row: see `db::secrets`.
    pub fn open_unbound(&self, purpose: &str, sealed: &[u8]) -> Option<String> {
        self.open_with(purpose.as_bytes(), sealed)
    }

    /// Seals as secrets were sealed before they were bound to their row.
    #[cfg(test)]
    pub(crate) fn seal_unbound(&self, purpose: &str, plaintext: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: purpose.as_bytes(),
        };
        let body = self.cipher.encrypt(&nonce, payload).unwrap_or_default();
        [nonce.as_slice(), &body].concat()
    }

    fn open_with(&self, associated_data: &[u8], sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: associated_data,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// HMAC-SHA256 keyed by `key`, ready for the message.
pub fn hmac(key: &[u8; KEY_LEN]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::digest::KeyInit;
    // HMAC pads a key shorter than its block with zeros: padded here, the key has the size
    // the fixed-size constructor takes, which cannot fail.
    let mut block = [0u8; 64];
    block[..KEY_LEN].copy_from_slice(key);
    <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&block.into())
}

/// HMAC-SHA256 of `message` under `key`.
fn hmac_sha256(key: &[u8; KEY_LEN], message: &[u8]) -> [u8; KEY_LEN] {
    use hmac::Mac;
    let mut mac = hmac(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secret_opens_only_for_its_purpose_and_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = MasterKey::load_or_create(&dir.path().join("k")).expect("key");
        let slot = Slot::new(purpose::SOURCE_PASSWORD, 3);
        let sealed = key.seal(&slot, "hunter2-secret").expect("seal");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.open(&slot, &sealed).expect("open"), "hunter2-secret");
        assert!(
            key.open(&Slot::new(purpose::SMTP_PASSWORD, 3), &sealed)
                .is_err()
        );
        let copied = key
            .open(&Slot::new(purpose::SOURCE_PASSWORD, 4), &sealed)
            .expect_err("copied into another row");
        assert!(
            copied.to_string().contains("sources.password of row 4"),
            "{copied}"
        );
    }

    #[test]
    fn a_secret_sealed_for_its_column_only_opens_unbound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = MasterKey::load_or_create(&dir.path().join("k")).expect("key");
        let old = key.seal_unbound(purpose::SMTP_PASSWORD, "old");
        assert_eq!(
            key.open_unbound(purpose::SMTP_PASSWORD, &old).as_deref(),
            Some("old")
        );
        assert!(
            key.open(&Slot::single(purpose::SMTP_PASSWORD), &old)
                .is_err()
        );
    }

    #[test]
    fn derived_keys_are_stable_and_differ_by_purpose_and_master_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let key = MasterKey::load_or_create(&path).expect("create");
        let again = MasterKey::load_or_create(&path).expect("load");
        let other = MasterKey::load_or_create(&dir.path().join("other.key")).expect("other");
        let signing = key.derive(derived::FORM_TOKEN_SIGNING);
        assert_eq!(again.derive(derived::FORM_TOKEN_SIGNING), signing);
        assert_ne!(other.derive(derived::FORM_TOKEN_SIGNING), signing);
        assert_ne!(key.derive("another purpose"), signing);
        let file = std::fs::read(&path).expect("the key file");
        assert_ne!(file.as_slice(), signing.as_slice());
    }

    #[test]
    fn key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let slot = Slot::single(purpose::S3_SECRET_KEY);
        let sealed = first.seal(&slot, "s").expect("seal");
        let again = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(again.open(&slot, &sealed).expect("open"), "s");
    }
}
