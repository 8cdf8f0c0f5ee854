//! Reading a backup back: the manifest of a folder, and an object streamed from the bucket
//! with its size and SHA-256 checked against the manifest as it streams (a mismatch ends the
//! stream with an error instead of a clean end), stored as is or decompressed. A body that
//! breaks mid-way goes on from where it broke (`resume`); a large object is read in parts side
//! by side (`parts`).

mod parts;
mod resume;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

use super::encryption::{self, DecryptError};
use super::error::S3Failure;
use super::job::S3Target;
use super::manifest::{Encoding, MANIFEST_NAME, Manifest, StoredObject};
use super::progress::Progress;
use crate::settings::Identity;
pub use parts::Ranges;
use resume::{Body, ObjectRest, Resuming, Retry};

/// Bytes read at once from the bucket.
const READ_BUFFER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("reading s3://{bucket}/{key}: {failure}")]
    S3 {
        bucket: String,
        key: String,
        failure: S3Failure,
    },
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    #[error("s3://{bucket}/{key} is not a manifest this app can read: {detail}")]
    Manifest {
        bucket: String,
        key: String,
        detail: String,
    },
}

impl DownloadError {
    /// No such key: the folder has no manifest, or the object is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::S3 { failure, .. }
            if matches!(failure.code.as_deref(), Some("NoSuchKey" | "NotFound"))
                || failure.status == Some(404))
    }
}

/// The manifest of the folder `folder_key` (prefix included).
pub async fn manifest(
    client: &Client,
    target: &S3Target,
    folder_key: &str,
) -> Result<Manifest, DownloadError> {
    let key = format!("{folder_key}/{MANIFEST_NAME}");
    let failed = |failure| DownloadError::S3 {
        bucket: target.bucket.clone(),
        key: key.clone(),
        failure,
    };
    let output = client
        .get_object()
        .bucket(&target.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|err| failed(S3Failure::from_sdk(&err)))?;
    let body = output.body.collect().await.map_err(|err| {
        failed(S3Failure {
            code: None,
            status: None,
            message: err.to_string(),
            unreachable: true,
            bucket_region: None,
        })
    })?;
    serde_json::from_slice(&body.into_bytes()).map_err(|err| DownloadError::Manifest {
        bucket: target.bucket.clone(),
        key: key.clone(),
        detail: err.to_string(),
    })
}

/// How an object is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The stored bytes (`.zst`, `.zst.age`).
    Stored,
    /// Decrypted, still compressed as its encoding says (a site's `.sql.gz` as bench takes
    /// it).
    Decrypted,
    /// Decrypted and decompressed (`.sql`, `.sqlite3`, `.tar`).
    Plain,
}

/// `object` streamed from the bucket, its size and SHA-256 checked as it streams. An
/// encrypted object opens `Plain` only with `open_counted`'s identities.
pub async fn open(
    client: &Client,
    target: &S3Target,
    object: &StoredObject,
    form: Form,
) -> Result<Box<dyn AsyncRead + Send + Unpin>, DownloadError> {
    open_counted(client, target, object, form, None, &[]).await
}

/// Like `open`, adding the stored bytes read to `progress` as they come, and decrypting
/// an encrypted object `Plain` with one of `identities`.
pub async fn open_counted(
    client: &Client,
    target: &S3Target,
    object: &StoredObject,
    form: Form,
    progress: Option<&Arc<Progress>>,
    identities: &[Identity],
) -> Result<Box<dyn AsyncRead + Send + Unpin>, DownloadError> {
    open_with(
        client,
        target,
        object,
        form,
        progress,
        Ranges::DEFAULT,
        identities,
    )
    .await
}

/// Like `open_counted`, reading an object larger than one part in `ranges`' parts.
pub async fn open_with(
    client: &Client,
    target: &S3Target,
    object: &StoredObject,
    form: Form,
    progress: Option<&Arc<Progress>>,
    ranges: Ranges,
    identities: &[Identity],
) -> Result<Box<dyn AsyncRead + Send + Unpin>, DownloadError> {
    let encryption = object.encryption.as_ref().filter(|_| form != Form::Stored);
    if let Some(encryption) = encryption {
        // Before anything is downloaded.
        encryption::require_identity(encryption, &object.key, identities)?;
    }
    let body = body(client, target, object, ranges).await?;
    let counted = Counted {
        inner: body,
        progress: progress.cloned(),
    };
    let checked = Checked::new(counted, object.size, &object.sha256, object.key.clone());
    let compressed: Box<dyn AsyncRead + Send + Unpin> = match (form, encryption) {
        (Form::Stored, _) => return Ok(Box::new(checked)),
        (_, None) => Box::new(checked),
        (_, Some(encryption)) => {
            Box::new(encryption::decrypt(checked, encryption, &object.key, identities).await?)
        }
    };
    if form == Form::Decrypted {
        return Ok(compressed);
    }
    let buffered = BufReader::with_capacity(READ_BUFFER, compressed);
    // Read on to the object's end after its frame or member: that is where the check's
    // verdict comes (a frame ends before the bytes after it are looked at).
    Ok(match object.encoding {
        Encoding::Zstd => {
            let mut decoder = ZstdDecoder::new(buffered);
            decoder.multiple_members(true);
            Box::new(decoder)
        }
        Encoding::Gzip => {
            let mut decoder = GzipDecoder::new(buffered);
            decoder.multiple_members(true);
            Box::new(decoder)
        }
        Encoding::None => Box::new(buffered),
    })
}

/// The stored bytes of `object`: one GET, or parts side by side when it is larger than one.
async fn body(
    client: &Client,
    target: &S3Target,
    object: &StoredObject,
    ranges: Ranges,
) -> Result<Body, DownloadError> {
    let ranged = object.size > ranges.part_size;
    let first_part = ranged.then(|| format!("bytes=0-{}", ranges.part_size.saturating_sub(1)));
    let output = get(client, target, &object.key, first_part).await?;
    let length = output
        .content_length()
        .and_then(|length| u64::try_from(length).ok());
    let total = output.content_range().and_then(resume::range_total);
    let Some(etag) = output.e_tag().map(str::to_owned) else {
        // Without an ETag, a changed object could not be told apart: one GET, no resuming.
        if ranged {
            let whole = get(client, target, &object.key, None).await?;
            return Ok(Box::new(whole.body.into_async_read()));
        }
        return Ok(Box::new(output.body.into_async_read()));
    };
    let first: Body = Box::new(output.body.into_async_read());
    let rest = ObjectRest {
        client: client.clone(),
        bucket: target.bucket.clone(),
        key: object.key.clone(),
        etag,
        end: None,
    };
    match parts_length(ranged, total, length, object.size) {
        Some(total) => Ok(parts::read(rest, total, first, ranges, Retry::DEFAULT)),
        None => Ok(Box::new(Resuming::new(
            rest,
            object.key.clone(),
            length,
            first,
            Retry::DEFAULT,
        ))),
    }
}

/// The length to read in parts, when the answer to a ranged GET was a part: the object's
/// length as the server gives it, or else as the manifest does. A server that ignored the
/// range sent the whole object: no parts then.
fn parts_length(ranged: bool, total: Option<u64>, length: Option<u64>, size: u64) -> Option<u64> {
    if !ranged {
        return None;
    }
    match (total, length) {
        (Some(total), _) => Some(total),
        (None, Some(length)) if length < size => Some(size),
        _ => None,
    }
}

async fn get(
    client: &Client,
    target: &S3Target,
    key: &str,
    range: Option<String>,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, DownloadError> {
    client
        .get_object()
        .bucket(&target.bucket)
        .key(key)
        .set_range(range)
        .send()
        .await
        .map_err(|err| DownloadError::S3 {
            bucket: target.bucket.clone(),
            key: key.to_owned(),
            failure: S3Failure::from_sdk(&err),
        })
}

/// Passes bytes through, adding their count to a run's progress.
struct Counted<R> {
    inner: R,
    progress: Option<Arc<Progress>>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(progress)) = (&polled, &self.progress) {
            progress.add_read((buf.filled().len() - before) as u64);
        }
        polled
    }
}

/// Passes bytes through while hashing them; at the end, a size or SHA-256 that differs from
/// the manifest's is an error instead of the end of the stream. The check holds back
/// nothing but the verdict, so a reader that stops at the error never sees a clean end.
pub struct Checked<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    size: u64,
    sha256: String,
    key: String,
}

impl<R> Checked<R> {
    pub fn new(inner: R, size: u64, sha256: &str, key: String) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
            size,
            sha256: sha256.to_ascii_lowercase(),
            key,
        }
    }

    fn verdict(&mut self) -> io::Result<()> {
        let digest = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if self.read != self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: {} bytes read, the manifest says {}",
                    self.key, self.read, self.size
                ),
            ));
        }
        if digest != self.sha256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: SHA-256 {digest}, the manifest says {}",
                    self.key, self.sha256
                ),
            ));
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Checked<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                let fresh = &buf.filled()[before..];
                if fresh.is_empty() {
                    return Poll::Ready(this.verdict());
                }
                this.read += fresh.len() as u64;
                this.hasher.update(fresh);
                if this.read > this.size {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: longer than the manifest's {} bytes",
                            this.key, this.size
                        ),
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    #[tokio::test]
    async fn a_matching_stream_ends_cleanly_and_a_flipped_byte_does_not() {
        let data = b"backup bytes".to_vec();
        let mut out = Vec::new();
        Checked::new(&data[..], data.len() as u64, &sha(&data), "k".into())
            .read_to_end(&mut out)
            .await
            .expect("a clean end");
        assert_eq!(out, data);

        let mut flipped = data.clone();
        flipped[3] ^= 1;
        let error = Checked::new(&flipped[..], data.len() as u64, &sha(&data), "k".into())
            .read_to_end(&mut Vec::new())
            .await
            .expect_err("a mismatch");
        assert!(error.to_string().contains("SHA-256"), "{error}");

        let error = Checked::new(&data[..4], data.len() as u64, &sha(&data), "k".into())
            .read_to_end(&mut Vec::new())
            .await
            .expect_err("truncated");
        assert!(error.to_string().contains("bytes read"), "{error}");
    }
}
