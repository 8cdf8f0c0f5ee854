//! One backup run: every source streamed through zstd into its own object of a new folder
//! (a Frappe site into the objects bench makes of it), each checked on the server, then the
//! manifest, then retention. Callable directly.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_compression::Level;
use async_compression::tokio::bufread::{GzipEncoder, ZstdEncoder};
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use super::error::BackupError;
use super::folder::{free_folder, remove_partial};
use super::job::{Job, S3Target, SourceSpec};
use super::manifest::{
    Encoding, FailedSource, LockRecord, MANIFEST_NAME, Manifest, PARTIAL_NAME, SitePart,
    StoredObject,
};
use super::object_lock::{BucketLock, ObjectRetention};
use super::part_size::PartSizer;
use super::progress::{LogLevel, Reporter};
use super::retention::{self, RetentionReport};
use super::sources::{SourceStream, site};
use super::upload::{self, Check, Destination, LockState};
use super::{encryption, s3, sources};
use crate::lang::Message;
use crate::settings::SiteFolder;

/// zstd level: fast, and what `zstd -3` (its default) produces.
const ZSTD_LEVEL: i32 = 3;

/// A run that stored something: every source (complete), or some of them (partial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    /// The folder's key (prefix included, no trailing slash).
    pub folder: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub objects: Vec<StoredObject>,
    /// Sources that could not be backed up; the run is partial when there are any.
    pub failed: Vec<FailedSource>,
    pub retention: RetentionReport,
}

impl BackupOutcome {
    /// Bytes stored, all objects together (manifest excluded).
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|object| object.size).sum()
    }

    /// Some sources failed: the folder holds the others and is not a complete backup.
    pub fn is_partial(&self) -> bool {
        !self.failed.is_empty()
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

/// Runs `job` to the end. Each source is backed up on its own: one that fails is recorded
/// and the others go on. When every source fails, or the manifest cannot be written, the
/// run fails and leaves nothing behind; no partial upload is ever left open.
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
        Message::new("run.log.start")
            .with("count", job.sources.len())
            .with("folder", format!("s3://{}/{folder}/", target.bucket)),
    );
    check_object_lock(&client, target, reporter).await?;
    let mut attempted = Vec::new();
    let written = write_folder(&client, job, &folder, started_at, reporter, &mut attempted).await;
    let written = match written {
        Ok(written) => written,
        Err(err) => {
            remove_partial(&client, target, &folder, &attempted, reporter).await;
            return Err(err);
        }
    };

    let retention = if written.failed.is_empty() && job.backup_limit > 0 {
        let now = Utc::now();
        retention::apply(
            &client,
            target,
            &folder_name,
            job.backup_limit,
            now,
            reporter,
        )
        .await
    } else {
        if !written.failed.is_empty() && job.backup_limit > 0 {
            reporter.log(LogLevel::Info, Message::new("run.log.retention_skipped"));
        }
        RetentionReport::default()
    };
    Ok(BackupOutcome {
        folder,
        started_at,
        finished_at: written.finished_at,
        objects: written.objects,
        failed: written.failed,
        retention,
    })
}

/// When the job locks its objects, the bucket must be able to: a run to a bucket without
/// Object Lock fails before it writes anything. Where the configuration cannot be read,
/// the run goes on and each object's lock is checked on the server once it is stored.
async fn check_object_lock(
    client: &Client,
    target: &S3Target,
    reporter: &Reporter,
) -> Result<(), BackupError> {
    if target.storage.object_lock.is_none() {
        return Ok(());
    }
    let lock = BucketLock::of(client, &target.bucket).await;
    match lock {
        BucketLock::Enabled => Ok(()),
        BucketLock::Off | BucketLock::Unsupported => Err(BackupError::ObjectLock {
            bucket: target.bucket.clone(),
            refusal: lock.refusal(&target.bucket).unwrap_or_else(|| {
                Message::new("backup.object_lock.off").with("bucket", &target.bucket)
            }),
        }),
        BucketLock::NotVisible | BucketLock::Failed(_) => {
            let detail = match lock {
                BucketLock::Failed(detail) => detail,
                _ => "AccessDenied".to_owned(),
            };
            reporter.log(
                LogLevel::Warn,
                Message::new("run.log.object_lock_unchecked")
                    .with("bucket", &target.bucket)
                    .detail(detail),
            );
            Ok(())
        }
    }
}

/// Where an object of the run goes, locked from now when the job locks its objects.
fn destination(client: &Client, target: &S3Target, source: &str, key: String) -> Destination {
    Destination {
        client: client.clone(),
        source: source.to_owned(),
        sign_payload: s3::signs_payload(target),
        storage: target.storage.clone(),
        retention: target.storage.retention_at(Utc::now()),
        bucket: target.bucket.clone(),
        key,
    }
}

/// Says in the run's log until when the object at `key` is locked.
fn log_lock(reporter: &Reporter, key: &str, lock: Option<&LockState>) {
    let Some(lock) = lock else { return };
    let retention = lock.retention();
    let message = match lock {
        LockState::Confirmed(_) => Message::new("run.log.locked"),
        LockState::Unconfirmed { detail, .. } => {
            Message::new("run.log.lock_unconfirmed").detail(detail.clone())
        }
    };
    let level = match lock {
        LockState::Confirmed(_) => LogLevel::Info,
        LockState::Unconfirmed { .. } => LogLevel::Warn,
    };
    reporter.log(
        level,
        message
            .with("key", key)
            .with("mode", retention.mode.s3_name())
            .with("until", retention.until.format("%Y-%m-%d %H:%M:%S UTC")),
    );
}

/// What `write_folder` stored.
struct Written {
    objects: Vec<StoredObject>,
    failed: Vec<FailedSource>,
    finished_at: DateTime<Utc>,
}

/// Every source, then (if anything was stored) the list of failed sources and the manifest.
/// `attempted` receives each stored key, so a failure of the whole run can remove what it
/// left.
async fn write_folder(
    client: &Client,
    job: &Job,
    folder: &str,
    started_at: DateTime<Utc>,
    reporter: &Reporter,
    attempted: &mut Vec<String>,
) -> Result<Written, BackupError> {
    let target = &job.target;
    let sizer = PartSizer::new(target.max_parts);
    let mut objects = Vec::with_capacity(job.sources.len());
    let mut failed = Vec::new();
    let mut last_error = None;
    // The latest date an object of the folder is locked until, for the manifest.
    let mut locked: Option<ObjectRetention> = None;
    for (index, spec) in job.sources.iter().enumerate() {
        reporter
            .progress()
            .at_source(&spec.name, index, job.sources.len());
        // Keys this source stored from here on: removed again if it fails.
        let mark = attempted.len();
        let stored = match spec.location.site() {
            Some(site) => {
                let run = SiteRun {
                    client,
                    job,
                    folder,
                    spec,
                    site,
                    at: started_at,
                    sizer,
                };
                back_up_site(&run, reporter, attempted).await
            }
            None => {
                attempted.push(format!("{folder}/{}", job.object_name(spec)));
                back_up_source(client, job, folder, spec, sizer, reporter)
                    .await
                    .map(|stored| vec![stored])
            }
        };
        match stored {
            Ok(stored) => {
                for (object, check, lock) in stored {
                    reporter.log(
                        LogLevel::Info,
                        Message::new(match check {
                            Check::FullCrc32 => "run.log.stored_full_crc32",
                            Check::CompositeCrc32 => "run.log.stored_composite_crc32",
                            Check::SizeAndEtag => "run.log.stored_size_etag",
                            Check::SizeOnly => "run.log.stored_size_only",
                        })
                        .with("source", &spec.name)
                        .with("read", object.source_bytes)
                        .with("stored", object.size)
                        .with("key", &object.key),
                    );
                    log_lock(reporter, &object.key, lock.as_ref());
                    if let Some(lock) = lock {
                        locked = Some(lock.retention().latest(locked));
                    }
                    reporter.object(object.clone());
                    objects.push(object);
                }
            }
            Err(error) => {
                let mut keys = attempted.split_off(mark);
                // The failed upload was aborted; an object that completed but failed its
                // check is removed so that nothing unverified stays, and so are the objects
                // a site stored before one of its parts failed.
                if !error.may_have_stored() {
                    keys.pop();
                }
                if !keys.is_empty() {
                    remove_partial(client, target, folder, &keys, reporter).await;
                }
                let failure = FailedSource {
                    source: spec.name.clone(),
                    kind: spec.kind().as_str().to_owned(),
                    reason: error.to_string(),
                    message: error.message(),
                };
                reporter.log(LogLevel::Error, failure.message.clone());
                reporter.failed(failure.clone());
                failed.push(failure);
                last_error = Some(error);
            }
        }
    }
    reporter.progress().set_source(None);
    if objects.is_empty() {
        return Err(match (failed.len(), last_error) {
            (1, Some(error)) => error,
            _ => BackupError::EverySourceFailed {
                sources: failed.iter().map(|f| f.source.clone()).collect(),
            },
        });
    }

    if !failed.is_empty() {
        // Listed beside the manifest so that retention, which only lists keys, knows this
        // folder is not a complete backup.
        let marker = destination(
            client,
            target,
            PARTIAL_NAME,
            format!("{folder}/{PARTIAL_NAME}"),
        );
        attempted.push(marker.key.clone());
        let failures = serde_json::to_vec_pretty(&failed).map_err(BackupError::Manifest)?;
        let stored = upload::put_and_verify(&marker, Bytes::from(failures)).await?;
        log_lock(reporter, &marker.key, stored.lock.as_ref());
        if let Some(lock) = stored.lock {
            locked = Some(lock.retention().latest(locked));
        }
    }
    let dest = destination(
        client,
        target,
        MANIFEST_NAME,
        format!("{folder}/{MANIFEST_NAME}"),
    );
    // Written last, the manifest is locked longest: its date is the backup's.
    let record = dest.retention.map(|own| {
        let latest = own.latest(locked);
        LockRecord {
            mode: latest.mode.s3_name().to_owned(),
            retain_until: latest.until,
        }
    });
    let finished_at = Utc::now();
    let manifest =
        Manifest::new(started_at, finished_at, objects.clone(), failed.clone()).locked(record);
    let body = manifest.to_json().map_err(BackupError::Manifest)?;
    attempted.push(dest.key.clone());
    let stored = upload::put_and_verify(&dest, Bytes::from(body)).await?;
    log_lock(reporter, &dest.key, stored.lock.as_ref());
    reporter.log(
        LogLevel::Info,
        Message::new(if failed.is_empty() {
            "run.log.complete"
        } else {
            "run.log.partial"
        })
        .with("key", format!("{folder}/{MANIFEST_NAME}"))
        .with("failed", failed.len()),
    );
    Ok(Written {
        objects,
        failed,
        finished_at,
    })
}

/// What storing one object gave: its record, how the server checked it, its lock.
type Stored = (StoredObject, Check, Option<LockState>);

/// Backs up `spec`, one of the sources of `job`.
async fn back_up_source(
    client: &Client,
    job: &Job,
    folder: &str,
    spec: &SourceSpec,
    sizer: PartSizer,
    reporter: &Reporter,
) -> Result<Stored, BackupError> {
    let stream = sources::open(spec, &job.leave_out, reporter).await?;
    let object = Object {
        key: format!("{folder}/{}", job.object_name(spec)),
        encoding: Encoding::Zstd,
        site: None,
    };
    store(client, job, spec, object, stream, sizer, reporter).await
}

/// A site being backed up in a run.
struct SiteRun<'a> {
    client: &'a Client,
    job: &'a Job,
    folder: &'a str,
    spec: &'a SourceSpec,
    site: &'a SiteFolder,
    /// The run's start: the time in the names bench gives the objects.
    at: DateTime<Utc>,
    sizer: PartSizer,
}

/// Backs up the site of `run` into the objects bench makes of it, its configuration read
/// now; `attempted` receives each key before its upload starts.
async fn back_up_site(
    run: &SiteRun<'_>,
    reporter: &Reporter,
    attempted: &mut Vec<String>,
) -> Result<Vec<Stored>, BackupError> {
    let (spec, site) = (run.spec, run.site);
    let encrypted = run.job.encryption.is_some();
    let suffix = if encrypted { encryption::SUFFIX } else { "" };
    let parts = site::parts(site, run.at, encrypted);
    let key = |part: &site::Part| format!("{}/{}{suffix}", run.folder, part.name);
    // A site of the same name stored earlier in the run: its objects have these names.
    if parts.iter().any(|part| attempted.contains(&key(part))) {
        return Err(BackupError::Site {
            source_name: spec.name.clone(),
            problem: site.same_name_as_another(),
        });
    }
    let database = site.database().map_err(|problem| BackupError::Site {
        source_name: spec.name.clone(),
        problem,
    })?;
    if !encrypted {
        reporter.log(
            LogLevel::Warn,
            Message::new("run.log.site_config_skipped").with("source", &spec.name),
        );
    }
    let mut stored = Vec::new();
    for part in parts {
        let key = key(&part);
        attempted.push(key.clone());
        let stream = site::open(&spec.name, site, &database, &part, run.at, reporter).await?;
        let object = Object {
            key,
            encoding: part.encoding,
            site: Some(site::record(site, &database, &part)),
        };
        let sizer = run.sizer;
        stored.push(store(run.client, run.job, spec, object, stream, sizer, reporter).await?);
    }
    Ok(stored)
}

/// Where an object goes and how it is written.
struct Object {
    key: String,
    encoding: Encoding,
    site: Option<SitePart>,
}

/// Streams `stream` of `spec` through its encoding (and encryption) into `object.key`.
async fn store(
    client: &Client,
    job: &Job,
    spec: &SourceSpec,
    object: Object,
    stream: SourceStream,
    sizer: PartSizer,
    reporter: &Reporter,
) -> Result<Stored, BackupError> {
    let target = &job.target;
    let source_bytes = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: stream.reader,
        count: source_bytes.clone(),
        reporter: reporter.clone(),
    };
    // Single-threaded zstd: the walk, the compression and the uploads already run on
    // different threads, and zstd's worker mode would double the memory (its jobs buffer
    // 8 MiB each) for no gain in wall time (measured in BENCHMARKS.md).
    let compressed: Box<dyn AsyncRead + Send + Unpin> = match object.encoding {
        Encoding::Zstd => Box::new(ZstdEncoder::with_quality(
            counted,
            Level::Precise(ZSTD_LEVEL),
        )),
        // gzip's own default level, as bench's dump through `gzip`.
        Encoding::Gzip => Box::new(GzipEncoder::with_quality(counted, Level::Default)),
        Encoding::None => Box::new(counted),
    };
    let dest = destination(client, target, &spec.name, object.key.clone());
    // Encrypted after compression (ciphertext does not compress), before the upload hashes
    // what it stores.
    let uploaded = match &job.encryption {
        Some(recipients) => {
            let sealed = encryption::encrypt(compressed, recipients).map_err(|cause| {
                BackupError::Source {
                    source_name: spec.name.clone(),
                    step: "encrypting with age".to_owned(),
                    cause,
                }
            })?;
            upload::upload_stream(&dest, sizer, sealed, stream.done, reporter).await?
        }
        None => {
            let plain = upload::Plain(compressed);
            upload::upload_stream(&dest, sizer, plain, stream.done, reporter).await?
        }
    };
    drop(stream.keep_alive);
    let record = StoredObject {
        source: spec.name.clone(),
        kind: spec.kind().as_str().to_owned(),
        key: object.key,
        size: uploaded.size,
        sha256: uploaded.sha256,
        source_bytes: source_bytes.load(Ordering::Relaxed),
        // Complete: the upload waited for the source to be done.
        contents: stream.facts.contents(),
        encryption: job.encryption.as_ref().map(encryption::describe),
        encoding: object.encoding,
        site: object.site,
    };
    Ok((record, uploaded.check, uploaded.lock))
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
