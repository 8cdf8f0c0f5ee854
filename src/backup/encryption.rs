//! age encryption of an object's stream, in constant memory: after zstd on the way up,
//! before zstd on the way down. The object stays readable with `age -d -i key.txt`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWriteExt, BufReader, DuplexStream, ReadBuf};
use tokio::task::JoinHandle;
use tokio_util::compat::{
    FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt, TokioAsyncReadCompatExt,
    TokioAsyncWriteCompatExt,
};

use super::manifest::Encryption;
use crate::settings::{Identity, Recipients};

/// The suffix of an encrypted object's name, after `.zst`.
pub const SUFFIX: &str = ".age";

/// The format name the manifest records.
pub const FORMAT: &str = "age";

/// Bytes between the compressor and the encryptor: a few of age's 64 KiB chunks.
const PIPE: usize = 256 * 1024;

/// How the manifest describes objects encrypted for `recipients`.
pub fn describe(recipients: &Recipients) -> Encryption {
    Encryption {
        format: FORMAT.to_owned(),
        recipients: recipients.keys(),
    }
}

/// `reader`'s bytes encrypted for `recipients`. The encryption runs beside the reader
/// (age writes, the upload reads): a failure on its side ends the stream with that error,
/// never with a clean, truncated end.
pub fn encrypt<R>(reader: R, recipients: &Recipients) -> io::Result<Encrypted>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let encryptor = age::Encryptor::with_recipients(recipients.as_age())
        .map_err(|err| io::Error::other(format!("age encryption: {err}")))?;
    let (write_half, read_half) = tokio::io::duplex(PIPE);
    let task = tokio::spawn(async move {
        // Read in large pieces: `copy`'s own 8 KiB buffer would ask the compressor, and age,
        // for eight times more, smaller, turns.
        let mut reader = BufReader::with_capacity(PIPE, reader);
        let mut writer = encryptor
            .wrap_async_output(write_half.compat_write())
            .await?
            .compat_write();
        tokio::io::copy_buf(&mut reader, &mut writer).await?;
        // Closing writes age's last chunk.
        writer.shutdown().await
    });
    Ok(Encrypted {
        read: read_half,
        task: Some(task),
    })
}

/// The encrypted stream; dropping it stops the encryption.
pub struct Encrypted {
    read: DuplexStream,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.read).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            return Poll::Ready(Ok(()));
        }
        // The pipe's end: a clean end only if the encryption finished.
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let joined = ready!(Pin::new(task).poll(cx));
        self.task = None;
        Poll::Ready(match joined {
            Ok(result) => result,
            Err(err) => Err(io::Error::other(format!("age encryption stopped: {err}"))),
        })
    }
}

impl Drop for Encrypted {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
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

    async fn encrypted(data: &[u8], recipients: &Recipients) -> Vec<u8> {
        let mut out = Vec::new();
        encrypt(std::io::Cursor::new(data.to_vec()), recipients)
            .expect("an encryptor")
            .read_to_end(&mut out)
            .await
            .expect("encrypted");
        out
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
    async fn a_failing_source_never_ends_the_encrypted_stream_cleanly() {
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
            .read_to_end(&mut Vec::new())
            .await
            .expect_err("the source's failure");

        assert!(error.to_string().contains("dump broke"), "{error}");
    }
}
