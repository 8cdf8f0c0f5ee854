//! Checking an object on the server against what was sent.

use aws_sdk_s3::types::ChecksumMode;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Destination, Uploaded};
use crate::backup::error::{BackupError, S3Failure};

/// Running digests of everything sent.
pub(super) struct Digests {
    sha256: Sha256,
    crc32: crc32fast::Hasher,
    pub(super) size: u64,
}

impl Digests {
    pub(super) fn new() -> Self {
        Self {
            sha256: Sha256::new(),
            crc32: crc32fast::Hasher::new(),
            size: 0,
        }
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.crc32.update(bytes);
        self.size += bytes.len() as u64;
    }
}

pub(super) fn crc32_base64(value: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(value.to_be_bytes())
}

/// Checks the stored object against what was sent: its size always, its CRC32 when the
/// server reports one (whole-object or composite of the parts).
pub(super) async fn verify(
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
        .await;
    let (stored, reported_crc) = match head {
        Ok(head) => (head.content_length.unwrap_or(-1), head.checksum_crc32),
        Err(err) => {
            let failure = S3Failure::from_sdk(&err);
            if !failure.is_access_denied() {
                return Err(dest.s3_error("checking", failure));
            }
            // HeadObject needs s3:GetObject, which the minimal policy (ListBucket and
            // PutObject) does not grant: the listing gives the size, and the CRC32 every
            // part carried was checked by the server when it was stored.
            (listed_size(dest).await?, None)
        }
    };
    let size = digests.size;
    if u64::try_from(stored).ok() != Some(size) {
        return Err(BackupError::Verify {
            bucket: dest.bucket.clone(),
            key: dest.key.clone(),
            detail: format!("the server holds {stored} bytes, {size} were sent"),
        });
    }
    let full_crc = crc32_base64(digests.crc32.finalize());
    let checksum_verified = match reported_crc.as_deref() {
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

/// The size of the object as listed (ListBucket), or -1 when the listing lacks it.
async fn listed_size(dest: &Destination) -> Result<i64, BackupError> {
    let listing = dest
        .client
        .list_objects_v2()
        .bucket(&dest.bucket)
        .prefix(&dest.key)
        .max_keys(10)
        .send()
        .await
        .map_err(|err| dest.s3_error("checking (listing)", S3Failure::from_sdk(&err)))?;
    Ok(listing
        .contents()
        .iter()
        .find(|object| object.key() == Some(dest.key.as_str()))
        .and_then(|object| object.size())
        .unwrap_or(-1))
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
}
