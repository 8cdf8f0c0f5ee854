//! age encryption of an object's stream, in constant memory: after zstd on the way up,
//! before zstd on the way down. The object stays readable with `age -d -i key.txt`.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

use super::manifest::Encryption;
use super::upload::PartSource;
use crate::settings::{Identity, Recipients};

/// The suffix of an encrypted object's name, after `.zst`.
pub const SUFFIX: &str = ".age";

/// The format name the manifest records.
pub const FORMAT: &str = "age";

/// Bytes read at once, from the compressor before encrypting and from the bucket before
/// decrypting: a few of age's 64 KiB chunks.
const PIPE: usize = 256 * 1024;

/// How the manifest describes objects encrypted for `recipients`.
pub fn describe(recipients: &Recipients) -> Encryption {
    Encryption {
        format: FORMAT.to_owned(),
        recipients: recipients.keys(),
    }
}

/// `reader`'s bytes encrypted for `recipients`, sealed as the upload asks for its parts:
/// each part is filled by reading `reader` and handing what it gave to age's synchronous
/// writer, whose output is the part buffer itself (no task or pipe between the compressor
/// and the upload, and no copy between age and the part). A failure of `reader` fails the
/// part with that error, never with a clean, truncated end.
pub fn encrypt<R>(reader: R, recipients: &Recipients) -> io::Result<Encrypted<R>>
where
    R: AsyncRead + Unpin + Send,
{
    let encryptor = age::Encryptor::with_recipients(recipients.as_age())
        .map_err(|err| io::Error::other(format!("age encryption: {err}")))?;
    let sealed = Sealed::default();
    // Writes age's header, which waits in `sealed` for the first part.
    let writer = encryptor.wrap_output(sealed.clone())?;
    Ok(Encrypted {
        reader,
        writer: Some(writer),
        sealed,
        plain: vec![0; PIPE],
    })
}

/// age's chunk of plaintext; each is sealed into this plus a 16-byte tag.
const CHUNK: usize = 64 * 1024;

/// The encrypted stream of [`encrypt`], read part by part.
pub struct Encrypted<R> {
    reader: R,
    /// `None` once age's last chunk is written.
    writer: Option<age::stream::StreamWriter<Sealed>>,
    /// Where the writer puts what it sealed: the part being filled.
    sealed: Sealed,
    /// What was read from `reader`, before sealing.
    plain: Vec<u8>,
}

impl<R: AsyncRead + Unpin + Send> PartSource for Encrypted<R> {
    async fn read_part(&mut self, buf: BytesMut, size: usize) -> io::Result<Bytes> {
        self.sealed.start(buf, size);
        loop {
            let filled = self.sealed.filled();
            if filled >= size {
                break;
            }
            let Some(writer) = self.writer.as_mut() else {
                // The last chunk is sealed: this part is the stream's last (or empty).
                break;
            };
            // At least a chunk, so that every turn seals one.
            let wanted = (size - filled).clamp(CHUNK, self.plain.len());
            let read = self.reader.read(&mut self.plain[..wanted]).await?;
            if read == 0 {
                if let Some(writer) = self.writer.take() {
                    writer.finish()?;
                }
            } else {
                writer.write_all(&self.plain[..read])?;
            }
        }
        Ok(self.sealed.take().freeze())
    }
}

/// The bytes age's writer seals, shared between the writer (which owns its output) and the
/// stream that hands parts to the upload.
#[derive(Clone, Default)]
struct Sealed(Arc<Mutex<Output>>);

/// Where sealed bytes go: into the part up to its size, beyond it into what starts the next
/// part (at most about a chunk, and age's header before the first part).
#[derive(Default)]
struct Output {
    part: BytesMut,
    size: usize,
    over: Vec<u8>,
}

impl Sealed {
    /// Makes `buf` the part being filled, up to `size`, starting with what the last part
    /// could not hold.
    fn start(&self, buf: BytesMut, size: usize) {
        let mut guard = self.lock();
        let output = &mut *guard;
        output.part = buf;
        output.size = size;
        let moved = output.over.len().min(size);
        output.part.extend_from_slice(&output.over[..moved]);
        output.over.drain(..moved);
    }

    fn filled(&self) -> usize {
        self.lock().part.len()
    }

    /// The part filled so far.
    fn take(&self) -> BytesMut {
        std::mem::take(&mut self.lock().part)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        // A panic while holding the lock leaves valid buffers: nothing to recover.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Write for Sealed {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut guard = self.lock();
        let output = &mut *guard;
        let room = output
            .size
            .saturating_sub(output.part.len())
            .min(bytes.len());
        output.part.extend_from_slice(&bytes[..room]);
        output.over.extend_from_slice(&bytes[room..]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

    #[tokio::test]
    async fn what_is_encrypted_decrypts_with_the_identity() {
        let identity = Identity::generate();
        let recipients = identity.recipients();
        let data = data();

        let stored = encrypted(&data, &recipients).await;
        let mut plain = Vec::new();
        decrypt(&stored[..], &describe(&recipients), "k", &[identity])
            .await
            .expect("decrypts")
            .read_to_end(&mut plain)
            .await
            .expect("reads");

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

            let stored = parts.concat();
            let mut plain = Vec::new();
            decrypt(
                &stored[..],
                &describe(&recipients),
                "k",
                std::slice::from_ref(&identity),
            )
            .await
            .expect("decrypts")
            .read_to_end(&mut plain)
            .await
            .expect("reads");
            assert!(full.iter().all(|part| part.len() == size), "size {size}");
            assert!(!last.is_empty() && last.len() <= size, "size {size}");
            assert_eq!(plain, data, "size {size}");
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
