//! Reading an object back when the connection drops mid-way: the in-process S3 server cuts
//! GetObject bodies, and the download goes on with a ranged GET of the same object, or says
//! clearly why it cannot.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use common::s3::TestS3;
use s3_backup::backup::StoredObject;
use s3_backup::backup::download::{self, Form, Ranges};

const KEY: &str = "erp/2026-01-01T000000Z/files.tar.zst";
/// Where the server cuts a body: well inside the object.
const CUT_AT: u64 = 300_000;
/// The part size of downloads in parts: the object has about sixteen.
const PART: u64 = 64 * 1024;
/// Longer than a failing download's attempts and waits take, by far.
const GIVES_UP_WITHIN: Duration = Duration::from_secs(60);

/// A bucket holding one compressed object, and the manifest's entry for it.
struct Stored {
    s3: TestS3,
    bucket: String,
    object: StoredObject,
    plain: Vec<u8>,
}

impl Stored {
    async fn new() -> Stored {
        let s3 = TestS3::start().await;
        let bucket = s3.new_bucket().await;
        // Random, so the stored object is as long as the plain one.
        let mut plain = vec![0; 1_000_000];
        rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut plain);
        let compressed = compress(&plain).await;
        assert!(
            compressed.len() as u64 > 2 * CUT_AT,
            "{} bytes",
            compressed.len()
        );
        let object = StoredObject {
            source: "files".into(),
            kind: "directory".into(),
            key: KEY.into(),
            size: compressed.len() as u64,
            sha256: hex::encode(Sha256::digest(&compressed)),
            source_bytes: plain.len() as u64,
            contents: None,
            encryption: None,
            encoding: Default::default(),
            site: None,
        };
        let stored = Stored {
            s3,
            bucket,
            object,
            plain,
        };
        stored.put(compressed).await;
        stored
    }

    async fn put(&self, body: Vec<u8>) {
        self.s3
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(KEY)
            .body(ByteStream::from(body))
            .send()
            .await
            .expect("put object");
    }

    async fn etag(&self) -> String {
        let head = self
            .s3
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(KEY)
            .send()
            .await
            .expect("head object");
        head.e_tag().expect("an ETag").to_owned()
    }

    async fn open(&self, form: Form) -> Box<dyn AsyncRead + Send + Unpin> {
        let target = self.s3.target(&self.bucket, "erp");
        download::open(&self.s3.client, &target, &self.object, form)
            .await
            .expect("the download starts")
    }

    /// The object read in parts of `PART` bytes, three at a time.
    async fn open_in_parts(&self, form: Form) -> Box<dyn AsyncRead + Send + Unpin> {
        let target = self.s3.target(&self.bucket, "erp");
        let ranges = Ranges {
            part_size: PART,
            in_flight: 3,
        };
        download::open_with(
            &self.s3.client,
            &target,
            &self.object,
            form,
            None,
            ranges,
            &[],
        )
        .await
        .expect("the download starts")
    }
}

/// Reads `reader` to its end, which must fail in time naming the key, the byte of the cut
/// and the attempts made.
async fn gives_up_at_the_cut(mut reader: Box<dyn AsyncRead + Send + Unpin>) {
    let read = tokio::time::timeout(GIVES_UP_WITHIN, reader.read_to_end(&mut Vec::new())).await;
    let error = read
        .expect("gives up instead of hanging")
        .expect_err("the download fails")
        .to_string();
    assert!(error.contains(KEY), "{error}");
    assert!(error.contains(&format!("at byte {CUT_AT}")), "{error}");
    assert!(error.contains("5 attempts"), "{error}");
}

async fn compress(plain: &[u8]) -> Vec<u8> {
    let mut encoder = async_compression::tokio::write::ZstdEncoder::new(Vec::new());
    encoder.write_all(plain).await.expect("compress");
    encoder.shutdown().await.expect("compress");
    encoder.into_inner()
}

#[tokio::test]
async fn a_download_cut_mid_way_goes_on_from_the_byte_it_reached() {
    let stored = Stored::new().await;
    let etag = stored.etag().await;
    stored.s3.hooks.cut_gets_at(CUT_AT, 1);

    let mut reader = stored.open(Form::Plain).await;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .await
        .expect("the download resumes");

    assert!(plain == stored.plain, "the bytes differ from the original");
    let gets = stored.s3.hooks.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].key, KEY);
    assert_eq!(gets[1].range, Some(format!("bytes={CUT_AT}-")));
    assert_eq!(gets[1].if_match, Some(etag));
}

#[tokio::test]
async fn a_download_cut_at_the_same_byte_every_time_fails_naming_the_key_and_the_byte() {
    let stored = Stored::new().await;
    stored.s3.hooks.cut_gets_at(CUT_AT, u32::MAX);

    gives_up_at_the_cut(stored.open(Form::Plain).await).await;
    assert_eq!(stored.s3.hooks.gets().len(), 6, "the first GET and 5 more");
}

#[tokio::test]
async fn an_object_replaced_mid_download_is_not_spliced_on() {
    let stored = Stored::new().await;
    let etag = stored.etag().await;
    stored.s3.hooks.cut_gets_at(CUT_AT, 1);
    let mut reader = stored.open(Form::Stored).await;
    let mut start = vec![0; CUT_AT as usize];
    reader.read_exact(&mut start).await.expect("the start");

    stored.put(compress(b"another backup").await).await;
    let rest = reader.read_to_end(&mut Vec::new()).await;

    let error = rest.expect_err("the download fails").to_string();
    assert!(error.contains(KEY), "{error}");
    assert!(error.contains("the object changed"), "{error}");
    let gets = stored.s3.hooks.gets();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].if_match, Some(etag));
}

/// The (start, end) of a `bytes=start-end` range, `end` exclusive.
fn range_of(range: &str) -> (u64, u64) {
    let (start, last) = range
        .strip_prefix("bytes=")
        .and_then(|range| range.split_once('-'))
        .unwrap_or_else(|| panic!("a bounded range: {range}"));
    let parsed = |text: &str| text.parse::<u64>().unwrap_or_else(|_| panic!("{range}"));
    (parsed(start), parsed(last) + 1)
}

#[tokio::test]
async fn a_large_object_is_read_in_parts_of_the_same_object_that_cover_it_once() {
    let stored = Stored::new().await;
    let etag = stored.etag().await;

    let mut plain = Vec::new();
    let mut reader = stored.open_in_parts(Form::Plain).await;
    reader.read_to_end(&mut plain).await.expect("the download");

    assert!(plain == stored.plain, "the bytes differ from the original");
    let gets = stored.s3.hooks.gets();
    assert_eq!(
        gets.len() as u64,
        stored.object.size.div_ceil(PART),
        "{gets:?}"
    );
    let mut ranges: Vec<(u64, u64)> = gets
        .iter()
        .map(|get| range_of(get.range.as_deref().expect("every GET is ranged")))
        .collect();
    assert_eq!(
        ranges[0],
        (0, PART),
        "the first GET asks for the first part"
    );
    assert!(gets[0].if_match.is_none());
    assert!(
        gets[1..]
            .iter()
            .all(|get| get.if_match.as_ref() == Some(&etag)),
        "the other parts only of the object first read: {gets:?}"
    );
    ranges.sort();
    let mut covered = 0;
    for (start, end) in ranges {
        assert_eq!(start, covered, "parts with a gap or an overlap");
        covered = end;
    }
    assert_eq!(covered, stored.object.size);
}

#[tokio::test]
async fn a_part_cut_mid_way_goes_on_from_the_byte_it_reached() {
    let stored = Stored::new().await;
    stored.s3.hooks.cut_gets_at(CUT_AT, 1);

    let mut plain = Vec::new();
    let mut reader = stored.open_in_parts(Form::Plain).await;
    reader
        .read_to_end(&mut plain)
        .await
        .expect("the download resumes");

    assert!(plain == stored.plain, "the bytes differ from the original");
    let part_end = CUT_AT.div_ceil(PART) * PART;
    let resumed = Some(format!("bytes={CUT_AT}-{}", part_end - 1));
    let gets = stored.s3.hooks.gets();
    assert!(
        gets.iter().any(|get| get.range == resumed),
        "the rest of the cut part is asked for: {gets:?}"
    );
}

#[tokio::test]
async fn a_part_cut_at_the_same_byte_every_time_fails_naming_the_key_and_the_byte() {
    let stored = Stored::new().await;
    stored.s3.hooks.cut_gets_at(CUT_AT, u32::MAX);

    gives_up_at_the_cut(stored.open_in_parts(Form::Plain).await).await;
}

#[tokio::test]
async fn an_object_replaced_while_its_parts_are_read_is_not_spliced_on() {
    let stored = Stored::new().await;
    let mut reader = stored.open_in_parts(Form::Stored).await;
    let mut start = vec![0; PART as usize];
    reader.read_exact(&mut start).await.expect("the first part");

    stored.put(compress(b"another backup").await).await;
    let rest = reader.read_to_end(&mut Vec::new()).await;

    let error = rest.expect_err("the download fails").to_string();
    assert!(error.contains(KEY), "{error}");
    assert!(error.contains("the object changed"), "{error}");
}
