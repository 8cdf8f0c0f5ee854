//! Streams one object to S3: a single checksummed PUT when it fits in one part, otherwise a
//! multipart upload with a bounded number of parts in flight, aborted on any failure. The
//! object is then checked on the server (size, and the CRC32 or ETag the server reports).

mod abort;
mod buffers;
mod lock;
mod source;
mod verify;

pub use self::lock::LockState;
pub use self::source::{PartSource, Plain};
pub use self::verify::Check;

use std::future::Future;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::task::JoinSet;

use self::abort::AbortGuard;
use self::buffers::{BufferPool, parts_in_flight};
use self::verify::{Digests, crc32_base64, verify};
use super::error::{BackupError, S3Failure};
use super::job::StorageOptions;
use super::object_lock::ObjectRetention;
use super::part_size::PartSizer;
use super::progress::Reporter;

/// Where an object goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub client: Client,
    /// The source whose data this is, for error messages.
    pub source: String,
    /// Whether request bodies are signed (SHA-256) in addition to their CRC32.
    pub sign_payload: bool,
    /// The storage class and server-side encryption every object is written with.
    pub storage: StorageOptions,
    /// The Object Lock this object is written with, if any.
    pub retention: Option<ObjectRetention>,
    pub bucket: String,
    pub key: String,
}

impl Destination {
    /// The object's media type, from its name: a manifest is JSON, an encrypted object is
    /// opaque bytes, the rest are zstd streams.
    pub fn content_type(&self) -> &'static str {
        if self.key.ends_with(".json") {
            "application/json"
        } else if self.key.ends_with(".age") {
            "application/octet-stream"
        } else {
            "application/zstd"
        }
    }
}

/// What was stored and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub size: u64,
    pub sha256: String,
    /// What the server's answer allowed to check.
    pub check: Check,
    /// The object's lock as confirmed on the server; `None` when none was asked.
    pub lock: Option<LockState>,
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

/// Uploads everything `source` yields. `source_done` resolves once the producer has finished
/// (a dump tool exited); its failure fails the upload before anything becomes visible.
pub async fn upload_stream<S, F>(
    dest: &Destination,
    sizer: PartSizer,
    mut source: S,
    source_done: F,
    reporter: &Reporter,
) -> Result<Uploaded, BackupError>
where
    S: PartSource,
    F: Future<Output = Result<(), BackupError>>,
{
    let mut digests = Digests::new();
    let pool = BufferPool::default();
    let first_size = sizer.size_of(1);
    let first = source
        .read_part(pool.take(first_size), first_size)
        .await
        .map_err(|cause| read_error(dest, cause))?;
    digests.update(&first);
    if first.len() < first_size {
        source_done.await?;
        let etag = put_object(dest, first).await?;
        reporter.progress().add_uploaded(digests.size);
        return verify(dest, digests, None, etag).await;
    }

    let created = dest
        .client
        .create_multipart_upload()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .content_type(dest.content_type())
        .set_storage_class(dest.storage.s3_storage_class())
        .set_server_side_encryption(dest.storage.s3_encryption())
        .set_ssekms_key_id(dest.storage.kms_key_id())
        .set_object_lock_mode(dest.retention.map(|lock| lock.s3_mode()))
        .set_object_lock_retain_until_date(dest.retention.map(|lock| lock.s3_until()))
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
        &mut source,
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
                Ok((part_crcs, etag)) => {
                    guard.disarm();
                    verify(dest, digests, Some(part_crcs), etag).await
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
async fn send_parts<S, F>(
    dest: &Destination,
    upload_id: &str,
    sizer: PartSizer,
    (first, pool): (Bytes, BufferPool),
    source: &mut S,
    digests: &mut Digests,
    source_done: F,
    reporter: &Reporter,
) -> Result<Vec<CompletedPart>, BackupError>
where
    S: PartSource,
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
        let next = source
            .read_part(pool.take(next_size), next_size)
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

/// Completes the upload; returns the parts' CRC32s in order and the object's ETag, for
/// verification.
async fn complete(
    dest: &Destination,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> Result<(Vec<String>, Option<String>), BackupError> {
    let crcs = parts
        .iter()
        .map(|part| part.checksum_crc32.clone().unwrap_or_default())
        .collect();
    let output = dest
        .client
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
    Ok((crcs, output.e_tag))
}

/// A single checksummed PUT (small objects and the manifest); returns the object's ETag.
/// The CRC32 it carries is also what S3 asks of a PUT with Object Lock headers.
pub async fn put_object(dest: &Destination, body: Bytes) -> Result<Option<String>, BackupError> {
    let crc = crc32_base64(crc32fast::hash(&body));
    let request = dest
        .client
        .put_object()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(crc)
        .content_type(dest.content_type())
        .set_storage_class(dest.storage.s3_storage_class())
        .set_server_side_encryption(dest.storage.s3_encryption())
        .set_ssekms_key_id(dest.storage.kms_key_id())
        .set_object_lock_mode(dest.retention.map(|lock| lock.s3_mode()))
        .set_object_lock_retain_until_date(dest.retention.map(|lock| lock.s3_until()))
        .body(ByteStream::from(body));
    let sent = if dest.sign_payload {
        request.send().await
    } else {
        request.customize().disable_payload_signing().send().await
    };
    let output = sent.map_err(|err| dest.s3_error("uploading", S3Failure::from_sdk(&err)))?;
    Ok(output.e_tag)
}

/// Uploads a small in-memory object and checks it on the server.
pub async fn put_and_verify(dest: &Destination, body: Bytes) -> Result<Uploaded, BackupError> {
    let mut digests = Digests::new();
    digests.update(&body);
    let etag = put_object(dest, body).await?;
    verify(dest, digests, None, etag).await
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
