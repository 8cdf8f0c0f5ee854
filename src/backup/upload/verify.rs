//! Checking an object on the server against what was sent, comparing like with like: a
//! whole-object CRC32 with the CRC32 of every byte sent, a composite one (S3's checksum of a
//! multipart object) with the CRC32 of the parts' CRC32s, and where the server gives no
//! checksum, the size and the ETag it gave when the object was stored.

use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use super::{Destination, Uploaded, lock};
use crate::backup::error::{BackupError, S3Failure};
use crate::backup::object_lock::to_utc;

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

/// Which check the server's answer allowed, for the run's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Size, and the CRC32 of the whole object.
    FullCrc32,
    /// Size, and the CRC32 of the parts' CRC32s (S3's composite checksum).
    CompositeCrc32,
    /// Size, and the ETag the server gave when the object was stored (no comparable checksum).
    SizeAndEtag,
    /// Size alone: the server gives neither a checksum nor an ETag to compare.
    SizeOnly,
}

/// How the object was stored, as the client knows it.
#[derive(Debug)]
pub(super) struct Sent {
    pub(super) size: u64,
    /// CRC32 of every byte sent, base64.
    pub(super) full_crc: String,
    /// Each part's CRC32 in order, for a multipart upload; `None` for a single PUT.
    pub(super) part_crcs: Option<Vec<String>>,
    /// The ETag the server answered the PUT or the completion with.
    pub(super) etag: Option<String>,
}

/// What the server says of the stored object.
#[derive(Debug, Default)]
pub(super) struct Reported {
    pub(super) size: Option<i64>,
    pub(super) crc32: Option<String>,
    pub(super) checksum_type: Option<ChecksumType>,
    pub(super) etag: Option<String>,
    /// The object's Object Lock mode and date, when the answer shows them.
    pub(super) lock_mode: Option<String>,
    pub(super) lock_until: Option<DateTime<Utc>>,
    pub(super) version_id: Option<String>,
}

/// Checks the stored object against what was sent, and that it is locked as asked.
pub(super) async fn verify(
    dest: &Destination,
    digests: Digests,
    part_crcs: Option<Vec<String>>,
    etag: Option<String>,
) -> Result<Uploaded, BackupError> {
    let reported = reported(dest).await?;
    let sent = Sent {
        size: digests.size,
        full_crc: crc32_base64(digests.crc32.finalize()),
        part_crcs,
        etag,
    };
    let check = compare(&sent, &reported).map_err(|detail| BackupError::Verify {
        bucket: dest.bucket.clone(),
        key: dest.key.clone(),
        detail,
    })?;
    let lock = lock::confirm(dest, &reported).await?;
    Ok(Uploaded {
        size: sent.size,
        sha256: hex::encode(digests.sha256.finalize()),
        check,
        lock,
    })
}

/// HeadObject, or the listing where HeadObject is denied.
async fn reported(dest: &Destination) -> Result<Reported, BackupError> {
    let head = dest
        .client
        .head_object()
        .bucket(&dest.bucket)
        .key(&dest.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    match head {
        Ok(head) => Ok(Reported {
            lock_mode: head
                .object_lock_mode
                .as_ref()
                .map(|mode| mode.as_str().to_owned()),
            lock_until: head.object_lock_retain_until_date.as_ref().and_then(to_utc),
            version_id: head.version_id,
            size: head.content_length,
            crc32: head.checksum_crc32,
            checksum_type: head.checksum_type,
            etag: head.e_tag,
        }),
        Err(err) => {
            let failure = S3Failure::from_sdk(&err);
            if !failure.is_access_denied() {
                return Err(dest.s3_error("checking", failure));
            }
            // HeadObject needs s3:GetObject, which the minimal policy (ListBucket and
            // PutObject) does not grant: the listing gives the size and the ETag, and the
            // CRC32 every part carried was checked by the server when it was stored.
            listed(dest).await
        }
    }
}

/// The object's size and ETag as listed (ListBucket).
async fn listed(dest: &Destination) -> Result<Reported, BackupError> {
    let listing = dest
        .client
        .list_objects_v2()
        .bucket(&dest.bucket)
        .prefix(&dest.key)
        .max_keys(10)
        .send()
        .await
        .map_err(|err| dest.s3_error("checking (listing)", S3Failure::from_sdk(&err)))?;
    let object = listing
        .contents()
        .iter()
        .find(|object| object.key() == Some(dest.key.as_str()));
    Ok(Reported {
        size: object.and_then(|object| object.size()),
        etag: object.and_then(|object| object.e_tag().map(str::to_owned)),
        ..Reported::default()
    })
}

/// Compares the server's account of the object with what was sent; on a mismatch, says
/// what differs.
pub(super) fn compare(sent: &Sent, reported: &Reported) -> Result<Check, String> {
    let size = sent.size;
    match reported.size {
        Some(stored) if u64::try_from(stored).ok() == Some(size) => {}
        Some(stored) => return Err(format!("the server holds {stored} bytes, {size} were sent")),
        None => {
            return Err(format!(
                "the server gives no size for it, {size} bytes were sent"
            ));
        }
    }
    match reported.crc32.as_deref() {
        Some(value) => compare_crc32(sent, value, reported.checksum_type.as_ref()),
        None => compare_etag(sent, reported.etag.as_deref()),
    }
}

fn compare_crc32(sent: &Sent, value: &str, stated: Option<&ChecksumType>) -> Result<Check, String> {
    let (base, stated_parts) = split_part_count(value);
    let single;
    let parts: &[String] = match &sent.part_crcs {
        Some(parts) => parts,
        None => {
            single = [sent.full_crc.clone()];
            &single
        }
    };
    if let Some(count) = stated_parts
        && count != parts.len()
    {
        return Err(format!(
            "CRC32 {value} on the server is of {count} parts, {} were sent",
            parts.len()
        ));
    }
    let composite = composite_crc32(parts);
    let matches_full = base == sent.full_crc;
    let matches_composite = base == composite;
    let wanted = match stated {
        Some(ChecksumType::FullObject) => Some(Check::FullCrc32),
        Some(ChecksumType::Composite) => Some(Check::CompositeCrc32),
        _ if stated_parts.is_some() => Some(Check::CompositeCrc32),
        _ if sent.part_crcs.is_none() => Some(Check::FullCrc32),
        // A multipart object's bare value: some servers give the whole object's CRC32,
        // others the composite one without its part count. Either, matched, proves it.
        _ => None,
    };
    match wanted {
        Some(Check::FullCrc32) if matches_full => Ok(Check::FullCrc32),
        Some(Check::CompositeCrc32) if matches_composite => Ok(Check::CompositeCrc32),
        None if matches_full => Ok(Check::FullCrc32),
        None if matches_composite => Ok(Check::CompositeCrc32),
        Some(Check::CompositeCrc32) => Err(format!(
            "CRC32 {value} on the server, {composite}-{} sent (composite of the parts)",
            parts.len()
        )),
        Some(_) => Err(format!(
            "CRC32 {value} on the server, {} sent (whole object)",
            sent.full_crc
        )),
        None => Err(format!(
            "CRC32 {value} on the server, {} sent (whole object) or {composite} (composite of {} parts)",
            sent.full_crc,
            parts.len()
        )),
    }
}

/// Without a checksum: the ETag now must be the one given when the object was stored, and
/// a multipart ETag's `-<parts>` must count the parts sent.
fn compare_etag(sent: &Sent, reported: Option<&str>) -> Result<Check, String> {
    let (Some(stored), Some(reported)) = (sent.etag.as_deref(), reported) else {
        return Ok(Check::SizeOnly);
    };
    let stored = stored.trim_matches('"');
    let reported = reported.trim_matches('"');
    if stored != reported {
        return Err(format!(
            "ETag {reported} on the server, {stored} when it was stored"
        ));
    }
    if let (Some(parts), (_, Some(count))) = (&sent.part_crcs, split_part_count(reported))
        && parts.len() != count
    {
        return Err(format!(
            "ETag {reported} on the server is of {count} parts, {} were sent",
            parts.len()
        ));
    }
    Ok(Check::SizeAndEtag)
}

/// `value` without its `-<parts>` suffix, and the part count it states.
fn split_part_count(value: &str) -> (&str, Option<usize>) {
    match value.rsplit_once('-') {
        Some((base, count)) => match count.parse() {
            Ok(count) => (base, Some(count)),
            Err(_) => (value, None),
        },
        None => (value, None),
    }
}

/// S3's composite checksum of a multipart object, without its `-<parts>`: the CRC32 of the
/// parts' CRC32s.
fn composite_crc32(part_crcs: &[String]) -> String {
    let mut hasher = crc32fast::Hasher::new();
    for crc in part_crcs {
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(crc) {
            hasher.update(&raw);
        }
    }
    crc32_base64(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(bytes: &[u8]) -> String {
        crc32_base64(crc32fast::hash(bytes))
    }

    /// Two parts, "hello" and "world", sent as a multipart upload.
    fn multipart() -> Sent {
        Sent {
            size: 10,
            full_crc: crc(b"helloworld"),
            part_crcs: Some(vec![crc(b"hello"), crc(b"world")]),
            etag: Some("\"abc-2\"".into()),
        }
    }

    fn single() -> Sent {
        Sent {
            size: 5,
            full_crc: crc(b"hello"),
            part_crcs: None,
            etag: Some("\"5d41402abc4b2a76b9719d911017c592\"".into()),
        }
    }

    fn composite_of_hello_world() -> String {
        let mut joined = crc32fast::hash(b"hello").to_be_bytes().to_vec();
        joined.extend_from_slice(&crc32fast::hash(b"world").to_be_bytes());
        crc(&joined)
    }

    fn with_crc(size: i64, crc32: &str, checksum_type: Option<ChecksumType>) -> Reported {
        Reported {
            size: Some(size),
            crc32: Some(crc32.to_owned()),
            checksum_type,
            ..Reported::default()
        }
    }

    #[test]
    fn composite_checksum_matches_s3s_definition() {
        let parts = [crc(b"hello"), crc(b"world")];
        assert_eq!(composite_crc32(&parts), composite_of_hello_world());
    }

    #[test]
    fn composite_value_with_part_count_is_compared_with_the_parts() {
        let value = format!("{}-2", composite_of_hello_world());
        assert_eq!(
            compare(&multipart(), &with_crc(10, &value, None)),
            Ok(Check::CompositeCrc32)
        );
    }

    #[test]
    fn composite_value_without_part_count_is_recognised() {
        // Some servers give the composite value bare, and state no type.
        let value = composite_of_hello_world();
        assert_eq!(
            compare(&multipart(), &with_crc(10, &value, None)),
            Ok(Check::CompositeCrc32)
        );
        let stated = with_crc(10, &value, Some(ChecksumType::Composite));
        assert_eq!(compare(&multipart(), &stated), Ok(Check::CompositeCrc32));
    }

    #[test]
    fn full_object_value_of_a_multipart_object_is_compared_with_every_byte() {
        let value = crc(b"helloworld");
        assert_eq!(
            compare(&multipart(), &with_crc(10, &value, None)),
            Ok(Check::FullCrc32)
        );
        let stated = with_crc(10, &value, Some(ChecksumType::FullObject));
        assert_eq!(compare(&multipart(), &stated), Ok(Check::FullCrc32));
    }

    #[test]
    fn single_put_is_compared_with_every_byte() {
        assert_eq!(
            compare(&single(), &with_crc(5, &crc(b"hello"), None)),
            Ok(Check::FullCrc32)
        );
    }

    #[test]
    fn mismatching_checksums_fail_whatever_their_form() {
        let wrong = crc(b"something else");
        for reported in [
            with_crc(10, &wrong, None),
            with_crc(10, &format!("{wrong}-2"), None),
            with_crc(10, &wrong, Some(ChecksumType::FullObject)),
            with_crc(10, &wrong, Some(ChecksumType::Composite)),
        ] {
            let error = compare(&multipart(), &reported).expect_err("a mismatch");
            assert!(error.contains(&wrong), "{error}");
        }
        assert!(compare(&single(), &with_crc(5, &wrong, None)).is_err());
    }

    #[test]
    fn stated_type_is_not_satisfied_by_the_other_form() {
        // Stated full-object, but the value is the composite one: not what was sent whole.
        let composite = with_crc(
            10,
            &composite_of_hello_world(),
            Some(ChecksumType::FullObject),
        );
        assert!(compare(&multipart(), &composite).is_err());
        let full = with_crc(10, &crc(b"helloworld"), Some(ChecksumType::Composite));
        assert!(compare(&multipart(), &full).is_err());
    }

    #[test]
    fn composite_of_another_part_count_fails() {
        let value = format!("{}-3", composite_of_hello_world());
        let error = compare(&multipart(), &with_crc(10, &value, None)).expect_err("3 parts");
        assert!(error.contains("3 parts"), "{error}");
    }

    #[test]
    fn wrong_size_fails_before_any_checksum() {
        let error = compare(&multipart(), &with_crc(9, &crc(b"helloworld"), None))
            .expect_err("a short object");
        assert!(error.contains("9 bytes"), "{error}");
        let missing = Reported::default();
        assert!(compare(&multipart(), &missing).is_err());
    }

    #[test]
    fn without_a_checksum_size_and_etag_are_checked() {
        let reported = Reported {
            size: Some(10),
            etag: Some("abc-2".into()),
            ..Reported::default()
        };
        assert_eq!(compare(&multipart(), &reported), Ok(Check::SizeAndEtag));
        let other = Reported {
            size: Some(10),
            etag: Some("\"def-2\"".into()),
            ..Reported::default()
        };
        assert!(compare(&multipart(), &other).is_err());
    }

    #[test]
    fn etag_of_another_part_count_fails() {
        let sent = Sent {
            etag: Some("abc-3".into()),
            ..multipart()
        };
        let reported = Reported {
            size: Some(10),
            etag: Some("abc-3".into()),
            ..Reported::default()
        };
        assert!(compare(&sent, &reported).is_err());
    }

    #[test]
    fn without_checksum_or_etag_only_the_size_is_checked() {
        let reported = Reported {
            size: Some(5),
            ..Reported::default()
        };
        assert_eq!(compare(&single(), &reported), Ok(Check::SizeOnly));
    }
}
