//! age encryption of an object's stream, in constant memory: after zstd on the way up,
//! before zstd on the way down. The object stays readable with `age -d -i key.txt`.

use std::io;
use std::sync::{Arc, Mutex};

use age::secrecy::zeroize::Zeroizing;
use age::secrecy::{ExposeSecret, SecretBox};
use bytes::{Bytes, BytesMut};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

use super::manifest::Encryption;
use super::upload::PartSource;
use crate::settings::{Identity, Recipients};

/// The suffix of an encrypted object's name, after `.zst`.
pub const SUFFIX: &str = ".age";

/// The format name the manifest records.
pub const FORMAT: &str = "age";

/// Bytes read at once from the bucket before decrypting: a few of age's 64 KiB chunks.
const PIPE: usize = 256 * 1024;

/// How the manifest describes objects encrypted for `recipients`.
pub fn describe(recipients: &Recipients) -> Encryption {
    Encryption {
        format: FORMAT.to_owned(),
        recipients: recipients.keys(),
    }
}

/// `reader`'s bytes encrypted for `recipients`, sealed as the upload asks for its parts.
///
/// age writes the header (each recipient's stanza, the MAC and the payload nonce); the
/// payload, age's STREAM of 64 KiB ChaCha20-Poly1305 chunks, is sealed here with ring, in
/// place in a chunk the compressor wrote into, then copied once into the part: the same
/// bytes age's own writer would give (any age reader opens them), for a third of the copies
/// and ring's one-pass cipher. A failure of `reader` fails the part with that error, never
/// with a clean, truncated end.
pub fn encrypt<R>(reader: R, recipients: &Recipients) -> io::Result<Encrypted<R>>
where
    R: AsyncRead + Unpin + Send,
{
    let failed = |err: &dyn std::fmt::Display| io::Error::other(format!("age encryption: {err}"));
    let file_key = Arc::new(Mutex::new(None));
    let wrapping: Vec<KeepFileKey> = recipients
        .as_age()
        .map(|inner| KeepFileKey {
            inner,
            file_key: file_key.clone(),
        })
        .collect();
    let encryptor =
        age::Encryptor::with_recipients(wrapping.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|err| failed(&err))?;
    let mut header = Vec::new();
    // Writes age's header, then the payload's nonce; what the writer would seal is done here.
    drop(encryptor.wrap_output(&mut header)?);
    let nonce_at = header
        .len()
        .checked_sub(NONCE)
        .ok_or_else(|| failed(&"age wrote no payload nonce"))?;
    let file_key = file_key
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| failed(&"no recipient was given the file key"))?;
    // Zeroed once ring holds its own copy.
    let payload_key = Zeroizing::new(age_core::primitives::hkdf(
        &header[nonce_at..],
        PAYLOAD,
        file_key.expose_secret(),
    ));
    let key = UnboundKey::new(&CHACHA20_POLY1305, &payload_key[..])
        .map(LessSafeKey::new)
        .map_err(|_| failed(&"the payload key was refused"))?;
    Ok(Encrypted {
        reader,
        key,
        counter: 0,
        chunk: Chunk::new(),
        ahead: Chunk::new(),
        over: header,
        ended: false,
    })
}

/// age's chunk of plaintext, its tag, the payload nonce and the payload key's label.
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE: usize = 16;
const PAYLOAD: &[u8] = b"payload";

/// A recipient that, as it wraps the file key for age's header, keeps a copy of it, from
/// which the payload key is derived as age derives it.
struct KeepFileKey<'a> {
    inner: &'a dyn age::Recipient,
    file_key: Arc<Mutex<Option<SecretBox<[u8; 16]>>>>,
}

impl age::Recipient for KeepFileKey<'_> {
    fn wrap_file_key(
        &self,
        file_key: &age_core::format::FileKey,
    ) -> Result<
        (
            Vec<age_core::format::Stanza>,
            std::collections::HashSet<String>,
        ),
        age::EncryptError,
    > {
        let mut kept = self
            .file_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *kept = Some(SecretBox::new(Box::new(*file_key.expose_secret())));
        self.inner.wrap_file_key(file_key)
    }
}

/// Plaintext of one chunk, with room for its tag: the compressor writes into it, and it is
/// sealed where it is.
struct Chunk {
    bytes: Box<[u8]>,
    len: usize,
}

impl Chunk {
    fn new() -> Self {
        Self {
            bytes: vec![0; CHUNK + TAG].into_boxed_slice(),
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == CHUNK
    }

    /// Reads once into what is left of the chunk; the bytes read (0 at the end).
    async fn read_from<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<usize> {
        let read = reader.read(&mut self.bytes[self.len..CHUNK]).await?;
        self.len += read;
        Ok(read)
    }
}

/// The encrypted stream of [`encrypt`], read part by part.
pub struct Encrypted<R> {
    reader: R,
    key: LessSafeKey,
    /// The next chunk's number in the STREAM nonce.
    counter: u64,
    /// The chunk being filled, held back once full until what follows shows whether it is
    /// the last.
    chunk: Chunk,
    /// Where what follows a full chunk is read, and where a sealed chunk waits to be
    /// copied into the part.
    ahead: Chunk,
    /// Sealed bytes waiting for the next part: age's header before the first, then the end
    /// of a chunk the last part could not hold.
    over: Vec<u8>,
    /// The last chunk is sealed.
    ended: bool,
}

impl<R: AsyncRead + Unpin + Send> Encrypted<R> {
    /// Seals the chunk where it is, with the STREAM nonce (its number, and whether it is
    /// the last), appends its tag, and moves it to `ahead`, where [`Self::next_chunk`]'s
    /// caller reads it; the sealed length.
    fn seal(&mut self, last: bool) -> io::Result<usize> {
        let mut nonce = [0; 12];
        nonce[3..11].copy_from_slice(&self.counter.to_be_bytes());
        nonce[11] = u8::from(last);
        self.counter += 1;
        let len = self.chunk.len;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut self.chunk.bytes[..len],
            )
            .map_err(|_| io::Error::other("age encryption: a chunk could not be sealed"))?;
        self.chunk.bytes[len..len + TAG].copy_from_slice(tag.as_ref());
        // What was read ahead (if anything) becomes the chunk being filled.
        std::mem::swap(&mut self.chunk, &mut self.ahead);
        self.ahead.len = 0;
        Ok(len + TAG)
    }

    /// Seals the next chunk into `ahead` and returns its length, or `None` once the last
    /// was given.
    async fn next_chunk(&mut self) -> io::Result<Option<usize>> {
        if self.ended {
            return Ok(None);
        }
        while !self.chunk.is_full() {
            if self.chunk.read_from(&mut self.reader).await? == 0 {
                // The end: a short (or, for an empty stream, empty) last chunk.
                self.ended = true;
                return self.seal(true).map(Some);
            }
        }
        // Full: it is the last only if nothing follows.
        while self.ahead.len == 0 {
            if self.ahead.read_from(&mut self.reader).await? == 0 {
                self.ended = true;
                return self.seal(true).map(Some);
            }
        }
        self.seal(false).map(Some)
    }
}

impl<R: AsyncRead + Unpin + Send> PartSource for Encrypted<R> {
    async fn read_part(&mut self, mut buf: BytesMut, size: usize) -> io::Result<Bytes> {
        let moved = self.over.len().min(size);
        buf.extend_from_slice(&self.over[..moved]);
        self.over.drain(..moved);
        while buf.len() < size {
            let room = size - buf.len();
            let Some(len) = self.next_chunk().await? else {
                break;
            };
            let sealed = &self.ahead.bytes[..len];
            let fits = room.min(len);
            buf.extend_from_slice(&sealed[..fits]);
            self.over.extend_from_slice(&sealed[fits..]);
        }
        Ok(buf.freeze())
    }
}

/// Why an encrypted object could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error(
        "this backup is encrypted for {recipients}; give its identity file (AGE-SECRET-KEY-1…) to read {key}"
    )]
    NoIdentity { key: String, recipients: String },
    #[error("{key} is encrypted for {recipients}; the identity given ({given}) is not one of them")]
    WrongIdentity {
        key: String,
        recipients: String,
        given: String,
    },
    #[error("{key} is not an age file this app can read: {detail}")]
    NotAge { key: String, detail: String },
}

impl DecryptError {
    /// What to tell the reader, in their language.
    pub fn to_message(&self) -> crate::lang::Message {
        use crate::lang::Message;
        match self {
            Self::NoIdentity { key, recipients } => Message::new("restore.identity_missing")
                .with("key", key)
                .with("recipients", recipients),
            Self::WrongIdentity {
                key,
                recipients,
                given,
            } => Message::new("restore.identity_wrong")
                .with("key", key)
                .with("recipients", recipients)
                .with("given", given),
            Self::NotAge { key, detail } => Message::new("restore.not_age")
                .with("key", key)
                .detail(detail.clone()),
        }
    }
}

/// Fails at once, before anything is downloaded, when an encrypted object has no identity.
pub fn require_identity(
    encryption: &Encryption,
    key: &str,
    identities: &[Identity],
) -> Result<(), DecryptError> {
    if identities.is_empty() {
        return Err(DecryptError::NoIdentity {
            key: key.to_owned(),
            recipients: encryption.recipients.join(", "),
        });
    }
    Ok(())
}

/// Fails at once, before anything is downloaded, when none of `identities` holds a secret
/// key of the recipients `encryption` names.
pub fn check_identities(
    encryption: &Encryption,
    key: &str,
    identities: &[Identity],
) -> Result<(), DecryptError> {
    require_identity(encryption, key, identities)?;
    if identities
        .iter()
        .any(|identity| identity.decrypts_for(&encryption.recipients))
    {
        return Ok(());
    }
    Err(wrong_identity(encryption, key, identities))
}

/// `key` is encrypted for none of the keys `identities` hold.
fn wrong_identity(encryption: &Encryption, key: &str, identities: &[Identity]) -> DecryptError {
    DecryptError::WrongIdentity {
        key: key.to_owned(),
        recipients: encryption.recipients.join(", "),
        given: identities
            .iter()
            .flat_map(|identity| identity.recipients().keys())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The plaintext of the age file `reader` yields. Reading goes on to `reader`'s end, where
/// a checked stream gives its verdict.
pub async fn decrypt<R>(
    reader: R,
    encryption: &Encryption,
    key: &str,
    identities: &[Identity],
) -> Result<impl AsyncRead + Send + Unpin + use<R>, DecryptError>
where
    R: AsyncRead + Send + Unpin,
{
    require_identity(encryption, key, identities)?;
    let not_age = |detail: String| DecryptError::NotAge {
        key: key.to_owned(),
        detail,
    };
    let buffered = BufReader::with_capacity(PIPE, reader).compat();
    let decryptor = age::Decryptor::new_async_buffered(buffered)
        .await
        .map_err(|err| not_age(err.to_string()))?;
    let identities_age = identities.iter().flat_map(Identity::as_age);
    match decryptor.decrypt_async(identities_age) {
        Ok(plain) => Ok(plain.compat()),
        Err(age::DecryptError::NoMatchingKeys) => Err(wrong_identity(encryption, key, identities)),
        Err(err) => Err(not_age(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// More than one of age's chunks, and not a multiple of them.
    fn data() -> Vec<u8> {
        (0..200_000u32).flat_map(|n| n.to_le_bytes()).collect()
    }

    /// The parts of `data` encrypted and read `size` bytes at a time.
    async fn parts(data: &[u8], recipients: &Recipients, size: usize) -> Vec<Bytes> {
        let mut encrypted = encrypt(data, recipients).expect("an encryptor");
        let mut parts = Vec::new();
        loop {
            let part = encrypted
                .read_part(BytesMut::with_capacity(size), size)
                .await
                .expect("a part");
            if part.is_empty() {
                return parts;
            }
            parts.push(part);
        }
    }

    async fn encrypted(data: &[u8], recipients: &Recipients) -> Vec<u8> {
        parts(data, recipients, 100_000).await.concat()
    }

    /// What `stored` decrypts to with `identity`, or why reading it failed.
    async fn decrypted(stored: &[u8], identity: &Identity) -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        let encryption = describe(&identity.recipients());
        decrypt(stored, &encryption, "k", std::slice::from_ref(identity))
            .await
            .expect("the header opens with the identity")
            .read_to_end(&mut plain)
            .await?;
        Ok(plain)
    }

    #[tokio::test]
    async fn what_is_encrypted_decrypts_with_the_identity() {
        let identity = Identity::generate();
        let recipients = identity.recipients();
        let data = data();

        let stored = encrypted(&data, &recipients).await;
        let plain = decrypted(&stored, &identity).await.expect("reads");

        assert!(stored.starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(plain, data);
    }

    #[tokio::test]
    async fn a_missing_or_wrong_identity_is_named() {
        let recipients = Identity::generate().recipients();
        let stored = encrypted(b"secret rows", &recipients).await;
        let encryption = describe(&recipients);

        let missing = decrypt(&stored[..], &encryption, "f/db.sql.zst.age", &[])
            .await
            .err()
            .expect("no identity");
        let wrong = decrypt(
            &stored[..],
            &encryption,
            "f/db.sql.zst.age",
            &[Identity::generate()],
        )
        .await
        .err()
        .expect("wrong identity");

        let key = &recipients.keys()[0];
        assert!(matches!(missing, DecryptError::NoIdentity { .. }));
        assert!(missing.to_string().contains(key.as_str()), "{missing}");
        assert!(matches!(wrong, DecryptError::WrongIdentity { .. }));
        assert!(wrong.to_string().contains("f/db.sql.zst.age"), "{wrong}");
    }

    #[tokio::test]
    async fn every_part_but_the_last_has_the_size_asked_whatever_age_seals_at_once() {
        let identity = Identity::generate();
        let recipients = identity.recipients();
        let data = data();
        // Smaller than age's header, smaller than a chunk, and several chunks.
        for size in [100, 5_000, 200_000] {
            let parts = parts(&data, &recipients, size).await;
            let (last, full) = parts.split_last().expect("parts");

            let plain = decrypted(&parts.concat(), &identity).await.expect("reads");
            assert!(full.iter().all(|part| part.len() == size), "size {size}");
            assert!(!last.is_empty() && last.len() <= size, "size {size}");
            assert_eq!(plain, data, "size {size}");
        }
    }

    #[tokio::test]
    async fn age_reads_streams_that_end_on_either_side_of_a_chunk() {
        let identity = Identity::generate();
        let recipients = identity.recipients();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7] {
            let data: Vec<u8> = (0..len).map(|n| (n % 251) as u8).collect();
            let stored = encrypted(&data, &recipients).await;
            let plain = decrypted(&stored, &identity)
                .await
                .unwrap_or_else(|err| panic!("{len} bytes: {err}"));
            // The header, then one chunk more than the full ones (the last may be empty
            // only when everything is).
            let chunks = len / CHUNK + usize::from(len % CHUNK != 0 || len == 0);
            assert_eq!(plain, data, "{len} bytes");
            assert!(stored.len() > len + chunks * TAG + NONCE, "{len} bytes");
        }
    }

    #[tokio::test]
    async fn a_tampered_chunk_or_a_dropped_last_chunk_is_refused() {
        let identity = Identity::generate();
        let recipients = identity.recipients();
        let data = data();
        let stored = encrypted(&data, &recipients).await;
        let mut flipped = stored.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 1;
        let truncated = &stored[..stored.len() - (data.len() % CHUNK) - TAG];

        for (what, bytes) in [("flipped", &flipped[..]), ("truncated", truncated)] {
            let read = decrypted(bytes, &identity).await;
            assert!(read.is_err(), "{what} was read");
        }
    }

    #[tokio::test]
    async fn a_failing_source_never_ends_the_encrypted_stream_cleanly() {
        use std::pin::Pin;
        use std::task::{Context, Poll};

        use tokio::io::ReadBuf;

        struct Failing;
        impl AsyncRead for Failing {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                _: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Poll::Ready(Err(io::Error::other("dump broke")))
            }
        }
        let recipients = Identity::generate().recipients();

        let error = encrypt(Failing, &recipients)
            .expect("an encryptor")
            .read_part(BytesMut::new(), 1024)
            .await
            .expect_err("the source's failure");

        assert!(error.to_string().contains("dump broke"), "{error}");
    }
}
