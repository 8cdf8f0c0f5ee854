//! One backup run: every source streamed through zstd into its own object of a new folder,
//! each checked on the server, then the manifest, then retention. Callable directly.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_compression::Level;
use async_compression::tokio::bufread::ZstdEncoder;
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use super::error::BackupError;
use super::folder::{free_folder, remove_partial};
use super::job::{Job, S3Target, SourceSpec};
use super::manifest::{MANIFEST_NAME, Manifest, StoredObject};
use super::part_size::PartSizer;
use super::progress::{LogLevel, Reporter};
use super::retention::{self, RetentionReport};
use super::upload::{self, Destination};
use super::{s3, sources};

/// zstd level: fast, and what `zstd -3` (its default) produces.
const ZSTD_LEVEL: i32 = 3;

/// A successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    /// The folder's key (prefix included, no trailing slash).
    pub folder: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub objects: Vec<StoredObject>,
    pub retention: RetentionReport,
}

impl BackupOutcome {
    /// Bytes stored, all objects together (manifest excluded).
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|object| object.size).sum()
    }
}

/// The folder a run writes to, chosen before anything is stored in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFolder {
    /// Its name: the run's start time (FOLDER_FORMAT).
    pub name: String,
    /// Its key, prefix included, no trailing slash.
    pub key: String,
    pub started_at: DateTime<Utc>,
}

/// Runs `job` to the end. Any failure fails the whole run: no manifest is written and no
/// partial upload is left open.
pub async fn run_backup(job: &Job, reporter: &Reporter) -> Result<BackupOutcome, BackupError> {
    let folder = choose_folder(job, reporter).await?;
    run_backup_in(job, folder, reporter).await
}

/// A free folder for a run of `job` starting now.
pub async fn choose_folder(job: &Job, reporter: &Reporter) -> Result<RunFolder, BackupError> {
    if job.sources.is_empty() {
        return Err(BackupError::NoSources);
    }
    let client = s3::client(&job.target);
    let started_at = Utc::now();
    let (name, key) = free_folder(&client, &job.target, started_at, reporter).await?;
    Ok(RunFolder {
        name,
        key,
        started_at,
    })
}

/// Runs `job` into `folder` (from `choose_folder`), as `run_backup` does.
pub async fn run_backup_in(
    job: &Job,
    folder: RunFolder,
    reporter: &Reporter,
) -> Result<BackupOutcome, BackupError> {
    let target = &job.target;
    let client = s3::client(target);
    let RunFolder {
        name: folder_name,
        key: folder,
        started_at,
    } = folder;
    reporter.log(
        LogLevel::Info,
        format!(
            "backing up {} source(s) to s3://{}/{folder}/",
            job.sources.len(),
            target.bucket
        ),
    );
    let mut attempted = Vec::new();
    let written = write_folder(&client, job, &folder, started_at, reporter, &mut attempted).await;
    let (objects, finished_at) = match written {
        Ok(written) => written,
        Err(err) => {
            remove_partial(&client, target, &folder, &attempted, reporter).await;
            return Err(err);
        }
    };

    let retention = if job.backup_limit > 0 {
        retention::apply(&client, target, &folder_name, job.backup_limit, reporter).await
    } else {
        RetentionReport::default()
    };
    Ok(BackupOutcome {
        folder,
        started_at,
        finished_at,
        objects,
        retention,
    })
}

/// Every source, then the manifest. `attempted` receives each key before its upload starts,
/// so a failure can remove whatever this run left.
async fn write_folder(
    client: &Client,
    job: &Job,
    folder: &str,
    started_at: DateTime<Utc>,
    reporter: &Reporter,
    attempted: &mut Vec<String>,
) -> Result<(Vec<StoredObject>, DateTime<Utc>), BackupError> {
    let target = &job.target;
    let sizer = PartSizer::new(target.max_parts);
    let mut objects = Vec::with_capacity(job.sources.len());
    for spec in &job.sources {
        reporter.progress().set_source(Some(&spec.name));
        attempted.push(format!("{folder}/{}", spec.object_name()));
        let (object, checksum_verified) =
            back_up_source(client, target, folder, spec, sizer, reporter).await?;
        let checked = if checksum_verified {
            "size and CRC32 checked on the server"
        } else {
            "size checked on the server, which reports no checksum for it"
        };
        reporter.log(
            LogLevel::Info,
            format!(
                "{}: {} bytes read, {} bytes stored in {} ({checked})",
                spec.name, object.source_bytes, object.size, object.key
            ),
        );
        reporter.object(object.clone());
        objects.push(object);
    }
    reporter.progress().set_source(None);

    let finished_at = Utc::now();
    let manifest = Manifest::new(started_at, finished_at, objects.clone());
    let body = manifest.to_json().map_err(BackupError::Manifest)?;
    let dest = Destination {
        client: client.clone(),
        source: MANIFEST_NAME.to_owned(),
        sign_payload: s3::signs_payload(target),
        bucket: target.bucket.clone(),
        key: format!("{folder}/{MANIFEST_NAME}"),
    };
    attempted.push(dest.key.clone());
    upload::put_and_verify(&dest, Bytes::from(body)).await?;
    reporter.log(
        LogLevel::Info,
        format!("backup complete: {folder}/{MANIFEST_NAME} written"),
    );
    Ok((objects, finished_at))
}

async fn back_up_source(
    client: &Client,
    target: &S3Target,
    folder: &str,
    spec: &SourceSpec,
    sizer: PartSizer,
    reporter: &Reporter,
) -> Result<(StoredObject, bool), BackupError> {
    let stream = sources::open(spec, reporter).await?;
    let source_bytes = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: stream.reader,
        count: source_bytes.clone(),
        reporter: reporter.clone(),
    };
    // Single-threaded zstd: the walk, the compression and the uploads already run on
    // different threads, and zstd's worker mode would double the memory (its jobs buffer
    // 8 MiB each) for no gain in wall time (measured in BENCHMARKS.md).
    let compressed = ZstdEncoder::with_quality(counted, Level::Precise(ZSTD_LEVEL));
    let key = format!("{folder}/{}", spec.object_name());
    let dest = Destination {
        client: client.clone(),
        source: spec.name.clone(),
        sign_payload: s3::signs_payload(target),
        bucket: target.bucket.clone(),
        key: key.clone(),
    };
    let uploaded = upload::upload_stream(&dest, sizer, compressed, stream.done, reporter).await?;
    drop(stream.keep_alive);
    let object = StoredObject {
        source: spec.name.clone(),
        kind: spec.kind().as_str().to_owned(),
        key,
        size: uploaded.size,
        sha256: uploaded.sha256,
        source_bytes: source_bytes.load(Ordering::Relaxed),
    };
    Ok((object, uploaded.checksum_verified))
}

/// Counts the bytes read from a source, for the run's progress and the manifest.
struct Counted {
    inner: Box<dyn AsyncBufRead + Send + Unpin>,
    count: Arc<AtomicU64>,
    reporter: Reporter,
}

impl Counted {
    fn add(&self, bytes: usize) {
        self.count.fetch_add(bytes as u64, Ordering::Relaxed);
        self.reporter.progress().add_read(bytes as u64);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.add(read);
        polled
    }
}

impl AsyncBufRead for Counted {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amount: usize) {
        self.add(amount);
        Pin::new(&mut self.inner).consume(amount);
    }
}
