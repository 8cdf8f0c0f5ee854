//! Streams one object to S3: a single checksummed PUT when it fits in one part, otherwise a
//! multipart upload with a bounded number of parts in flight, aborted on any failure. The
//! object is then checked on the server (size, and CRC32 where the server reports it).

use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use super::error::{BackupError, S3Failure};
use super::part_size::PartSizer;
use super::progress::{LogLevel, Reporter};

/// Bytes of parts held at once (being sent, plus the one being filled), as long as parts are
/// small enough for two of them to fit; with 8 MiB parts, three are sent while one fills.
const BUFFER_BUDGET: usize = 32 * 1024 * 1024;

/// Parts sent at once for a given part size: as many as the budget allows, at least one.
fn parts_in_flight(part_size: usize) -> usize {
    (BUFFER_BUDGET / part_size.max(1)).saturating_sub(1).max(1)
}

/// Where an object goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub client: Client,
    /// The source whose data this is, for error messages.
    pub source: String,
    /// Whether request bodies are signed (SHA-256) in addition to their CRC32.
    pub sign_payload: bool,
    pub bucket: String,
    pub key: String,
}

/// What was stored and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub size: u64,
    pub sha256: String,
    /// Whether the server reported a checksum that matched (not only the size).
    pub checksum_verified: bool,
}

impl Destination {
    fn s3_error(&self, step: impl Into<String>, failure: S3Failure) -> BackupError {
        BackupError::S3 {
            step: step.into(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            failure: Box::new(failure),
        }
    }
}

/// Part buffers, reused: memory holds a fixed number of parts whatever the stream's length,
/// and the allocator never sees a stream of large short-lived blocks.
#[derive(Clone, Default)]
struct BufferPool(Arc<Mutex<Vec<BytesMut>>>);

impl BufferPool {
    fn take(&self, size: usize) -> BytesMut {
        let reused = self
            .0
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .filter(|buffer| buffer.capacity() >= size);
        match reused {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            None => BytesMut::with_capacity(size),
        }
    }

    /// Takes a sent part back, if nothing else holds it any more.
    fn give(&self, part: Bytes) {
        if let Ok(buffer) = part.try_into_mut()
            && let Ok(mut free) = self.0.lock()
            && free.len() <= parts_in_flight(buffer.capacity())
        {
            free.push(buffer);
        }
    }
}

/// Running digests of everything sent.
struct Digests {
    sha256: Sha256,
    crc32: crc32fast::Hasher,
    size: u64,
}

impl Digests {
    fn new() -> Self {
        Self {
            sha256: Sha256::new(),
            crc32: crc32fast::Hasher::new(),
            size: 0,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.crc32.update(bytes);
        self.size += bytes.len() as u64;
    }
}

fn crc32_base64(value: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(value.to_be_bytes())
}

/// Uploads everything `reader` yields. `source_done` resolves once the producer has finished
/// (a dump tool exited); its failure fails the upload before anything becomes visible.
pub async fn upload_stream<R, F>(
    dest: &Destination,
    sizer: PartSizer,
    mut reader: R,
    source_done: F,
    reporter: &Reporter,
) -> Result<Uploaded, BackupError>
where
    R: AsyncRead + Unpin,
    F: Future<Output = Result<(), BackupError>>,
{
    let mut digests = Digests::new();
    let pool = BufferPool::default();
    let first_size = sizer.size_of(1);
    let first = read_part(&mut reader, pool.take(first_size), first_size)
        .await
        .map_err(|cause| read_error(dest, cause))?;
    digests.update(&first);
    if first.len() < first_size {
        source_done.await?;
        put_object(dest, first).await?;
        reporter.progress().add_uploaded(digests.size);
        return verify(dest, digests, None).await;
    }

    let created = dest
        .client
        .create_multipart_upload()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .content_type("application/zstd")
        .send()
        .await
        .map_err(|err| dest.s3_error("starting multipart upload of", S3Failure::from_sdk(&err)))?;
    let Some(upload_id) = created.upload_id else {
        return Err(dest.s3_error(
            "starting multipart upload of",
            S3Failure {
                code: None,
                status: None,
                message: "the server returned no upload id".into(),
                unreachable: false,
                bucket_region: None,
            },
        ));
    };
    let mut guard = AbortGuard::new(dest.clone(), upload_id.clone(), reporter.clone());
    let outcome = send_parts(
        dest,
        &upload_id,
        sizer,
        (first, pool),
        &mut reader,
        &mut digests,
        source_done,
        reporter,
    )
    .await;
    match outcome {
        Ok(parts) => {
            let result = complete(dest, &upload_id, parts).await;
            // Once completion was attempted, the upload is either an object or still open.
            match result {
                Ok(part_crcs) => {
                    guard.disarm();
                    verify(dest, digests, Some(part_crcs)).await
                }
                Err(err) => {
                    guard.abort().await;
                    Err(err)
                }
            }
        }
        Err(err) => {
            guard.abort().await;
            Err(err)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_parts<R, F>(
    dest: &Destination,
    upload_id: &str,
    sizer: PartSizer,
    (first, pool): (Bytes, BufferPool),
    reader: &mut R,
    digests: &mut Digests,
    source_done: F,
    reporter: &Reporter,
) -> Result<Vec<CompletedPart>, BackupError>
where
    R: AsyncRead + Unpin,
    F: Future<Output = Result<(), BackupError>>,
{
    let mut in_flight: JoinSet<Result<CompletedPart, BackupError>> = JoinSet::new();
    let mut done = Vec::new();
    let mut number: u32 = 1;
    let mut part = first;
    loop {
        while in_flight.len() >= parts_in_flight(sizer.size_of(number)) {
            done.push(next_done(&mut in_flight, dest).await?);
        }
        let full = part.len() == sizer.size_of(number);
        let sent = part.len() as u64;
        let task_dest = dest.clone();
        let task_upload_id = upload_id.to_owned();
        let task_reporter = reporter.clone();
        let task_pool = pool.clone();
        in_flight.spawn(async move {
            let completed = upload_part(&task_dest, &task_upload_id, number, part.clone()).await;
            task_pool.give(part);
            let completed = completed?;
            task_reporter.progress().add_uploaded(sent);
            Ok(completed)
        });
        if !full {
            break;
        }
        let next_size = sizer.size_of(number + 1);
        let next = read_part(reader, pool.take(next_size), next_size)
            .await
            .map_err(|cause| read_error(dest, cause))?;
        if next.is_empty() {
            break;
        }
        if number >= sizer.max_parts() {
            return Err(BackupError::TooManyParts {
                bucket: dest.bucket.clone(),
                key: dest.key.clone(),
                max_parts: sizer.max_parts(),
            });
        }
        digests.update(&next);
        number += 1;
        part = next;
    }
    while !in_flight.is_empty() {
        done.push(next_done(&mut in_flight, dest).await?);
    }
    source_done.await?;
    done.sort_by_key(|part| part.part_number);
    Ok(done)
}

async fn next_done(
    in_flight: &mut JoinSet<Result<CompletedPart, BackupError>>,
    dest: &Destination,
) -> Result<CompletedPart, BackupError> {
    match in_flight.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(join_error)) => Err(dest.s3_error(
            "uploading a part of",
            S3Failure {
                code: None,
                status: None,
                message: format!("upload task ended: {join_error}"),
                unreachable: false,
                bucket_region: None,
            },
        )),
        None => Err(dest.s3_error(
            "uploading a part of",
            S3Failure {
                code: None,
                status: None,
                message: "no part in flight".into(),
                unreachable: false,
                bucket_region: None,
            },
        )),
    }
}

async fn upload_part(
    dest: &Destination,
    upload_id: &str,
    number: u32,
    body: Bytes,
) -> Result<CompletedPart, BackupError> {
    let crc = crc32_base64(crc32fast::hash(&body));
    let part_number = i32::try_from(number).unwrap_or(i32::MAX);
    let request = dest
        .client
        .upload_part()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .upload_id(upload_id)
        .part_number(part_number)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(&crc)
        .body(ByteStream::from(body));
    let sent = if dest.sign_payload {
        request.send().await
    } else {
        request.customize().disable_payload_signing().send().await
    };
    let output = sent.map_err(|err| {
        dest.s3_error(
            format!("uploading part {number} of"),
            S3Failure::from_sdk(&err),
        )
    })?;
    Ok(CompletedPart::builder()
        .part_number(part_number)
        .set_e_tag(output.e_tag)
        .checksum_crc32(crc)
        .build())
}

/// Completes the upload; returns the parts' CRC32s in order, for verification.
async fn complete(
    dest: &Destination,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> Result<Vec<String>, BackupError> {
    let crcs = parts
        .iter()
        .map(|part| part.checksum_crc32.clone().unwrap_or_default())
        .collect();
    dest.client
        .complete_multipart_upload()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|err| {
            dest.s3_error("completing multipart upload of", S3Failure::from_sdk(&err))
        })?;
    Ok(crcs)
}

/// A single checksummed PUT (small objects and the manifest).
pub async fn put_object(dest: &Destination, body: Bytes) -> Result<(), BackupError> {
    let crc = crc32_base64(crc32fast::hash(&body));
    let request = dest
        .client
        .put_object()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(crc)
        .body(ByteStream::from(body));
    let sent = if dest.sign_payload {
        request.send().await
    } else {
        request.customize().disable_payload_signing().send().await
    };
    sent.map_err(|err| dest.s3_error("uploading", S3Failure::from_sdk(&err)))?;
    Ok(())
}

/// Uploads a small in-memory object and checks it on the server.
pub async fn put_and_verify(dest: &Destination, body: Bytes) -> Result<Uploaded, BackupError> {
    let mut digests = Digests::new();
    digests.update(&body);
    put_object(dest, body).await?;
    verify(dest, digests, None).await
}

/// Checks the stored object against what was sent: its size always, its CRC32 when the
/// server reports one (whole-object or composite of the parts).
async fn verify(
    dest: &Destination,
    digests: Digests,
    part_crcs: Option<Vec<String>>,
) -> Result<Uploaded, BackupError> {
    let head = dest
        .client
        .head_object()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|err| dest.s3_error("checking", S3Failure::from_sdk(&err)))?;
    let size = digests.size;
    let stored = head.content_length.unwrap_or(-1);
    if u64::try_from(stored).ok() != Some(size) {
        return Err(BackupError::Verify {
            bucket: dest.bucket.clone(),
            key: dest.key.clone(),
            detail: format!("the server holds {stored} bytes, {size} were sent"),
        });
    }
    let full_crc = crc32_base64(digests.crc32.finalize());
    let checksum_verified = match head.checksum_crc32.as_deref() {
        None => false,
        Some(reported) => {
            let expected = match (reported.split_once('-'), &part_crcs) {
                (Some(_), Some(crcs)) => composite_crc32(crcs),
                _ => full_crc,
            };
            if reported != expected {
                return Err(BackupError::Verify {
                    bucket: dest.bucket.clone(),
                    key: dest.key.clone(),
                    detail: format!("CRC32 {reported} on the server, {expected} sent"),
                });
            }
            true
        }
    };
    Ok(Uploaded {
        size,
        sha256: hex::encode(digests.sha256.finalize()),
        checksum_verified,
    })
}

/// S3's checksum of a multipart object: the CRC32 of the parts' CRC32s, then `-<parts>`.
fn composite_crc32(part_crcs: &[String]) -> String {
    let mut hasher = crc32fast::Hasher::new();
    for crc in part_crcs {
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(crc) {
            hasher.update(&raw);
        }
    }
    format!("{}-{}", crc32_base64(hasher.finalize()), part_crcs.len())
}

/// Reads into `buf` until `size` bytes or the end of the stream.
async fn read_part<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut buf: BytesMut,
    size: usize,
) -> std::io::Result<Bytes> {
    while buf.len() < size {
        let remaining = (size - buf.len()) as u64;
        let read = (&mut *reader).take(remaining).read_buf(&mut buf).await?;
        if read == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

/// A read error of the compressed stream: the source's own error, whose message already
/// names the file or tool involved.
fn read_error(dest: &Destination, cause: std::io::Error) -> BackupError {
    BackupError::Source {
        source_name: dest.source.clone(),
        step: "reading and compressing".into(),
        cause,
    }
}

/// Aborts an open multipart upload unless disarmed: explicitly on error paths, and from
/// `Drop` when the task is cancelled or panics, so no partial upload is left behind.
struct AbortGuard {
    dest: Destination,
    upload_id: Option<String>,
    reporter: Reporter,
}

impl AbortGuard {
    fn new(dest: Destination, upload_id: String, reporter: Reporter) -> Self {
        Self {
            dest,
            upload_id: Some(upload_id),
            reporter,
        }
    }

    fn disarm(&mut self) {
        self.upload_id = None;
    }

    async fn abort(&mut self) {
        if let Some(upload_id) = self.upload_id.take() {
            abort_upload(&self.dest, &upload_id, &self.reporter).await;
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(upload_id) = self.upload_id.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let dest = self.dest.clone();
            let reporter = self.reporter.clone();
            runtime.spawn(async move { abort_upload(&dest, &upload_id, &reporter).await });
        }
    }
}

async fn abort_upload(dest: &Destination, upload_id: &str, reporter: &Reporter) {
    let result = dest
        .client
        .abort_multipart_upload()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .upload_id(upload_id)
        .send()
        .await;
    match result {
        Ok(_) => reporter.log(
            LogLevel::Info,
            format!(
                "aborted the multipart upload of s3://{}/{}",
                dest.bucket, dest.key
            ),
        ),
        Err(err) => reporter.log(
            LogLevel::Warn,
            format!(
                "could not abort the multipart upload {upload_id} of s3://{}/{} ({}); \
                 no object was created, and a lifecycle rule that removes incomplete \
                 multipart uploads will free its space",
                dest.bucket,
                dest.key,
                S3Failure::from_sdk(&err)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_checksum_matches_s3s_definition() {
        // CRC32 of the big-endian bytes of two part checksums, then the part count.
        let a = crc32_base64(crc32fast::hash(b"hello"));
        let b = crc32_base64(crc32fast::hash(b"world"));
        let mut joined = crc32fast::hash(b"hello").to_be_bytes().to_vec();
        joined.extend_from_slice(&crc32fast::hash(b"world").to_be_bytes());
        let expected = format!("{}-2", crc32_base64(crc32fast::hash(&joined)));
        assert_eq!(composite_crc32(&[a, b]), expected);
    }

    #[tokio::test]
    async fn read_part_stops_at_size_and_at_end() {
        let data = [7u8; 100];
        let mut reader = &data[..];
        let pool = BufferPool::default();
        for expected in [60, 40, 0] {
            let part = read_part(&mut reader, pool.take(60), 60).await.ok();
            assert_eq!(part.as_ref().map(Bytes::len), Some(expected));
            pool.give(part.unwrap_or_default());
        }
    }

    #[test]
    fn parts_in_flight_keep_memory_to_the_budget() {
        const MIB: usize = 1024 * 1024;
        assert_eq!(parts_in_flight(8 * MIB), 3);
        assert_eq!(parts_in_flight(16 * MIB), 1);
        assert_eq!(parts_in_flight(64 * MIB), 1);
    }

    #[test]
    fn sent_parts_come_back_to_the_pool() {
        let pool = BufferPool::default();
        let mut buffer = pool.take(1024);
        buffer.extend_from_slice(b"part");
        let address = buffer.as_ptr();
        pool.give(buffer.freeze());
        let reused = pool.take(1024);
        assert_eq!(reused.as_ptr(), address);
        assert!(reused.is_empty());
    }
}
