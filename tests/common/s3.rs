//! An S3 server inside the test process (s3s-fs over a temporary directory, SigV4 checked
//! with a known key pair) on 127.0.0.1 port 0, with hooks to deny deletes, fail a part,
//! learn that parts arrived or cut a download mid-way, and a way to stop it mid-run and
//! restart it on the same data. s3s-fs lacks ListMultipartUploads and ignores If-Match on
//! GetObject; `Fs` adds both.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use s3_backup::backup::S3Target;

pub const ACCESS_KEY: &str = "AKIATESTBACKUP";
pub const SECRET_KEY: &str = "test-secret-key-for-s3-backup";
pub const REGION: &str = "us-east-1";

/// Switches the tests flip to make the server misbehave the way real ones do.
pub struct Hooks {
    /// Refuse DeleteObject(s) with AccessDenied (the minimal IAM policy).
    pub deny_delete: AtomicBool,
    /// Refuse PutObject with AccessDenied (a policy without s3:PutObject).
    pub deny_put: AtomicBool,
    /// Refuse GetObject and HeadObject with AccessDenied (no s3:GetObject, as in the
    /// minimal policy of ListBucket and PutObject).
    pub deny_get: AtomicBool,
    /// Refuse ListObjects(V2) and HeadBucket with AccessDenied (no s3:ListBucket).
    pub deny_list: AtomicBool,
    /// Refuse ListMultipartUploads and AbortMultipartUpload with AccessDenied (the minimal
    /// policy of ListBucket and PutObject allows neither).
    pub deny_multipart_cleanup: AtomicBool,
    /// Refuse the reads of the bucket's own settings (public access block, policy status,
    /// ACL, default encryption, versioning, Object Lock, lifecycle) with AccessDenied, as
    /// the seed's minimal IAM policy does.
    pub deny_bucket_settings: AtomicBool,
    /// Refuse UploadPart from this part number on (0: never).
    pub fail_part_from: AtomicI32,
    parts_received: watch::Sender<u32>,
    /// GetObject responses still to cut, and the byte of the object where.
    cuts_left: AtomicU32,
    cut_at: AtomicU64,
    gets: Mutex<Vec<GetRequest>>,
    /// While false, every request waits (to hold a run in progress).
    gate: watch::Sender<bool>,
    /// GetObject of a key ending with this waits until `release_gets` (to hold a restore
    /// in the middle of its work).
    held_get: std::sync::Mutex<Option<String>>,
    /// How many GetObject requests `held_get` has held so far.
    gets_held: watch::Sender<u32>,
}

impl Hooks {
    fn new() -> Self {
        Self {
            deny_delete: AtomicBool::new(false),
            deny_put: AtomicBool::new(false),
            deny_get: AtomicBool::new(false),
            deny_list: AtomicBool::new(false),
            deny_multipart_cleanup: AtomicBool::new(false),
            deny_bucket_settings: AtomicBool::new(false),
            fail_part_from: AtomicI32::new(0),
            parts_received: watch::channel(0).0,
            cuts_left: AtomicU32::new(0),
            cut_at: AtomicU64::new(0),
            gets: Mutex::new(Vec::new()),
            gate: watch::channel(true).0,
            held_get: std::sync::Mutex::new(None),
            gets_held: watch::channel(0).0,
        }
    }

    /// Holds every GetObject of a key ending with `suffix` until `release_gets`.
    pub fn hold_gets_of(&self, suffix: &str) {
        *self.held_get.lock().expect("hooks lock") = Some(suffix.to_owned());
    }

    pub fn release_gets(&self) {
        *self.held_get.lock().expect("hooks lock") = None;
        self.gets_held.send_modify(|_| {});
    }

    /// Resolves once a GetObject is being held.
    pub async fn get_held(&self) {
        let mut seen = self.gets_held.subscribe();
        seen.wait_for(|held| *held >= 1)
            .await
            .expect("hooks live as long as the server");
    }

    fn holds_get(&self, key: &str) -> bool {
        self.held_get
            .lock()
            .expect("hooks lock")
            .as_deref()
            .is_some_and(|suffix| key.ends_with(suffix))
    }

    /// Holds every request until `open` is called.
    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// UploadPart requests received so far.
    pub fn parts_count(&self) -> u32 {
        *self.parts_received.borrow()
    }

    /// Resolves once the server has received `count` UploadPart requests.
    pub async fn parts_received(&self, count: u32) {
        let mut seen = self.parts_received.subscribe();
        seen.wait_for(|received| *received >= count)
            .await
            .expect("hooks live as long as the server");
    }

    /// Breaks the connection of the next `count` GetObject responses that reach byte `at` of
    /// the object once they get there, as a network failure does mid-download (`u32::MAX`:
    /// all of them). Responses that end before that byte, or start after it, are left alone.
    pub fn cut_gets_at(&self, at: u64, count: u32) {
        self.cut_at.store(at, Ordering::SeqCst);
        self.cuts_left.store(count, Ordering::SeqCst);
    }

    /// The GetObject requests received so far, in order.
    pub fn gets(&self) -> Vec<GetRequest> {
        self.gets.lock().expect("not poisoned").clone()
    }

    /// Where to cut a response whose body is `length` bytes from byte `start` of the object:
    /// after how many of its bytes, if it is to be cut.
    fn cut(&self, start: u64, length: u64) -> Option<u64> {
        let at = self.cut_at.load(Ordering::SeqCst);
        if at < start || at >= start + length {
            return None;
        }
        let taken = self
            .cuts_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                0 => None,
                u32::MAX => Some(u32::MAX),
                left => Some(left - 1),
            });
        taken.ok().map(|_| at - start)
    }
}

/// A GetObject as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRequest {
    pub key: String,
    /// The `Range` header, e.g. `bytes=100-`.
    pub range: Option<String>,
    /// The `If-Match` header, quotes included.
    pub if_match: Option<String>,
}

/// `body` up to `count` bytes; then the connection is dropped once they have left it.
fn cut_after(
    body: StreamingBlob,
    count: u64,
    connection: Arc<Cut>,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static {
    futures::stream::unfold(Some((body, count)), move |state| {
        let connection = connection.clone();
        async move {
            let (mut body, left) = state?;
            if left == 0 {
                connection.arm();
                // The connection goes away with this stream in it.
                std::future::pending::<()>().await;
                return None;
            }
            match body.next().await? {
                Ok(mut bytes) => {
                    bytes.truncate(usize::try_from(left).unwrap_or(usize::MAX));
                    let left = left - bytes.len() as u64;
                    Some((Ok(bytes), Some((body, left))))
                }
                Err(err) => Some((Err(std::io::Error::other(err)), None)),
            }
        }
    })
}

/// Drops a connection once everything the server sent on it has left it, as a network
/// failure mid-response does. (An error from a body would make hyper drop the connection at
/// once, with what it still buffers: the client would not get all it was sent.)
#[derive(Default)]
struct Cut {
    armed: AtomicBool,
    flushed: tokio::sync::Notify,
}

impl Cut {
    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

/// A connection's socket, telling its `Cut` when a flush completes (hyper flushes the socket
/// only once its own buffer is written out).
struct Cuttable {
    socket: TcpStream,
    cut: Arc<Cut>,
}

impl AsyncRead for Cuttable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Cuttable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let flushed = Pin::new(&mut self.socket).poll_flush(cx);
        if flushed.is_ready() && self.cut.armed.load(Ordering::SeqCst) {
            self.cut.flushed.notify_one();
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

struct Access(Arc<Hooks>);

impl Access {
    fn bucket_settings(&self) -> S3Result<()> {
        if self.0.deny_bucket_settings.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(
                AccessDenied,
                "reading the bucket's settings is not allowed"
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let mut gate = self.0.gate.subscribe();
        let _ = gate.wait_for(|open| *open).await;
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3s::s3_error!(AccessDenied, "Signature is required")),
        }
    }

    async fn delete_object(&self, _req: &mut S3Request<DeleteObjectInput>) -> S3Result<()> {
        if self.0.deny_delete.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(
                AccessDenied,
                "s3:DeleteObject is not allowed"
            ));
        }
        Ok(())
    }

    async fn delete_objects(&self, _req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        if self.0.deny_delete.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(
                AccessDenied,
                "s3:DeleteObject is not allowed"
            ));
        }
        Ok(())
    }

    async fn put_object(&self, _req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        if self.0.deny_put.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(AccessDenied, "s3:PutObject is not allowed"));
        }
        Ok(())
    }

    async fn head_object(&self, _req: &mut S3Request<HeadObjectInput>) -> S3Result<()> {
        if self.0.deny_get.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(AccessDenied, "s3:GetObject is not allowed"));
        }
        Ok(())
    }

    async fn get_object(&self, req: &mut S3Request<GetObjectInput>) -> S3Result<()> {
        if self.0.deny_get.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(AccessDenied, "s3:GetObject is not allowed"));
        }
        if self.0.holds_get(&req.input.key) {
            let mut released = self.0.gets_held.subscribe();
            self.0.gets_held.send_modify(|held| *held += 1);
            let hooks = self.0.clone();
            let key = req.input.key.clone();
            let _ = released.wait_for(|_| !hooks.holds_get(&key)).await;
        }
        Ok(())
    }

    async fn list_objects_v2(&self, _req: &mut S3Request<ListObjectsV2Input>) -> S3Result<()> {
        if self.0.deny_list.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(AccessDenied, "s3:ListBucket is not allowed"));
        }
        Ok(())
    }

    async fn head_bucket(&self, _req: &mut S3Request<HeadBucketInput>) -> S3Result<()> {
        if self.0.deny_list.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(AccessDenied, "s3:ListBucket is not allowed"));
        }
        Ok(())
    }

    async fn list_multipart_uploads(
        &self,
        _req: &mut S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<()> {
        if self.0.deny_multipart_cleanup.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(
                AccessDenied,
                "s3:ListBucketMultipartUploads is not allowed"
            ));
        }
        Ok(())
    }

    async fn abort_multipart_upload(
        &self,
        _req: &mut S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<()> {
        if self.0.deny_multipart_cleanup.load(Ordering::SeqCst) {
            return Err(s3s::s3_error!(
                AccessDenied,
                "s3:AbortMultipartUpload is not allowed"
            ));
        }
        Ok(())
    }

    async fn upload_part(&self, req: &mut S3Request<UploadPartInput>) -> S3Result<()> {
        self.0.parts_received.send_modify(|received| *received += 1);
        let fail_from = self.0.fail_part_from.load(Ordering::SeqCst);
        if fail_from > 0 && req.input.part_number >= fail_from {
            return Err(s3s::s3_error!(AccessDenied, "part refused by the test"));
        }
        Ok(())
    }

    async fn get_public_access_block(
        &self,
        _req: &mut S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_bucket_policy_status(
        &self,
        _req: &mut S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_bucket_acl(&self, _req: &mut S3Request<GetBucketAclInput>) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_bucket_encryption(
        &self,
        _req: &mut S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_bucket_versioning(
        &self,
        _req: &mut S3Request<GetBucketVersioningInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_object_lock_configuration(
        &self,
        _req: &mut S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        _req: &mut S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<()> {
        self.bucket_settings()
    }
}

/// s3s-fs, plus ListMultipartUploads, If-Match on GetObject and the download hooks.
struct Fs {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    hooks: Arc<Hooks>,
}

impl Fs {
    /// (key, upload id, initiated) of the open uploads of `bucket` whose key starts with
    /// `prefix`: s3s-fs keeps `.upload-<id>.json` per open upload and
    /// `.bucket-<b64>.object-<b64>.upload-<id>.metadata.json` naming its bucket and key.
    fn open_uploads(&self, bucket: &str, prefix: &str) -> Vec<(String, String, Timestamp)> {
        let decode = |text: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        };
        let mut uploads = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return uploads;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((b, rest)) = name
                .strip_prefix(".bucket-")
                .and_then(|rest| rest.strip_suffix(".metadata.json"))
                .and_then(|rest| rest.split_once(".object-"))
            else {
                continue;
            };
            let Some((k, id)) = rest.split_once(".upload-") else {
                continue;
            };
            let (Some(upload_bucket), Some(key)) = (decode(b), decode(k)) else {
                continue;
            };
            let open = self.root.join(format!(".upload-{id}.json")).exists();
            if open && upload_bucket == bucket && key.starts_with(prefix) {
                let initiated = entry
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                uploads.push((key, id.to_owned(), Timestamp::from(initiated)));
            }
        }
        uploads.sort();
        uploads
    }

    /// s3s-fs's GetObject, noted in the hooks, with If-Match (which s3s-fs ignores) checked
    /// first as S3 does, and the body cut if a hook says so.
    async fn get_object_with_hooks(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let connection = req.extensions.get::<Arc<Cut>>().cloned();
        let range = req.input.range;
        let if_match = req.input.if_match.clone();
        self.hooks
            .gets
            .lock()
            .expect("not poisoned")
            .push(GetRequest {
                key: req.input.key.clone(),
                range: range.map(|range| match range {
                    Range::Int { first, last } => {
                        let last = last.map(|last| last.to_string()).unwrap_or_default();
                        format!("bytes={first}-{last}")
                    }
                    Range::Suffix { length } => format!("bytes=-{length}"),
                }),
                if_match: if_match.as_ref().and_then(|condition| {
                    let header = condition.to_http_header().ok()?;
                    header.to_str().ok().map(str::to_owned)
                }),
            });
        if let Some(ETagCondition::ETag(expected)) = &if_match {
            let head = req.clone().map_input(|input| HeadObjectInput {
                bucket: input.bucket,
                key: input.key,
                ..Default::default()
            });
            let current = self.inner.head_object(head).await?.output.e_tag;
            if !current.is_some_and(|etag| etag.strong_cmp(expected)) {
                return Err(s3s::s3_error!(PreconditionFailed, "ETag does not match"));
            }
        }
        let mut response = self.inner.get_object(req).await?;
        let start = match range {
            Some(Range::Int { first, .. }) => first,
            _ => 0,
        };
        if let Some(connection) = connection
            && let Some(length) = response.output.content_length
            && let Some(count) = self.hooks.cut(start, u64::try_from(length).unwrap_or(0))
            && let Some(body) = response.output.body.take()
        {
            let cut = cut_after(body, count, connection);
            response.output.body = Some(StreamingBlob::wrap(cut));
        }
        Ok(response)
    }
}

macro_rules! delegate_to_fs {
    ($($op:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for Fs {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.inner.$op(req).await
                }
            )*

            async fn get_object(
                &self,
                req: S3Request<GetObjectInput>,
            ) -> S3Result<S3Response<GetObjectOutput>> {
                self.get_object_with_hooks(req).await
            }

            async fn list_multipart_uploads(
                &self,
                req: S3Request<ListMultipartUploadsInput>,
            ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
                let input = req.input;
                let prefix = input.prefix.clone().unwrap_or_default();
                let uploads = self
                    .open_uploads(&input.bucket, &prefix)
                    .into_iter()
                    .map(|(key, upload_id, initiated)| MultipartUpload {
                        key: Some(key),
                        upload_id: Some(upload_id),
                        initiated: Some(initiated),
                        ..Default::default()
                    })
                    .collect();
                Ok(S3Response::new(ListMultipartUploadsOutput {
                    bucket: Some(input.bucket),
                    prefix: input.prefix,
                    is_truncated: Some(false),
                    uploads: Some(uploads),
                    ..Default::default()
                }))
            }
        }
    };
}

delegate_to_fs! {
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    put_object(PutObjectInput) -> PutObjectOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    upload_part(UploadPartInput) -> UploadPartOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
    complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
}

pub struct TestS3 {
    pub endpoint: url::Url,
    pub root: PathBuf,
    pub hooks: Arc<Hooks>,
    /// Reads back what the app stored.
    pub client: aws_sdk_s3::Client,
    server: Option<JoinHandle<()>>,
    data_dir: Option<tempfile::TempDir>,
}

impl TestS3 {
    /// A fresh server over a new temporary directory.
    pub async fn start() -> TestS3 {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = Self::start_in(dir.path()).await;
        server.data_dir = Some(dir);
        server
    }

    /// A server over an existing directory (to look at what a stopped server kept).
    pub async fn start_in(root: &Path) -> TestS3 {
        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs over the directory");
        let hooks = Arc::new(Hooks::new());
        let mut builder = S3ServiceBuilder::new(Fs {
            inner: fs,
            root: root.to_owned(),
            hooks: hooks.clone(),
        });
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        builder.set_access(Access(hooks.clone()));
        let service = builder.build();

        // Bound before the task starts: the server is ready when this returns.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            // Connections live in this set, so aborting the server closes them too.
            let mut connections = JoinSet::new();
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let cut = Arc::new(Cut::default());
                let socket = Cuttable {
                    socket,
                    cut: cut.clone(),
                };
                // Each request learns its connection, so a hook can cut it.
                let service = service.clone();
                let request_cut = cut.clone();
                let service = hyper::service::service_fn(move |mut request| {
                    request.extensions_mut().insert(request_cut.clone());
                    hyper::service::Service::call(&service, request)
                });
                let connection = http
                    .serve_connection(TokioIo::new(socket), service)
                    .into_owned();
                connections.spawn(async move {
                    tokio::select! {
                        _ = connection => {}
                        // Dropping the connection closes the socket.
                        () = cut.flushed.notified() => {}
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        let endpoint = url::Url::parse(&format!("http://{address}")).expect("endpoint URL");
        TestS3 {
            client: s3_backup::backup::s3::client(&target_at(&endpoint, "any", "")),
            endpoint,
            root: root.to_owned(),
            hooks,
            server: Some(server),
            data_dir: None,
        }
    }

    /// A target for `bucket` with the right credentials, path-style, under `prefix`.
    pub fn target(&self, bucket: &str, prefix: &str) -> S3Target {
        target_at(&self.endpoint, bucket, prefix)
    }

    pub async fn create_bucket(&self, bucket: &str) {
        self.client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create bucket");
    }

    /// A new bucket with a unique name.
    pub async fn new_bucket(&self) -> String {
        let name = format!("backups-{}", rand::random::<u32>());
        self.create_bucket(&name).await;
        name
    }

    /// The object's bytes, or None if there is no such object.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Some(
                output
                    .body
                    .collect()
                    .await
                    .expect("object body")
                    .into_bytes()
                    .to_vec(),
            ),
            Err(err) => {
                let not_found = err
                    .as_service_error()
                    .map(|service| service.is_no_such_key())
                    .unwrap_or(false);
                assert!(not_found, "unexpected error reading {key}: {err:?}");
                None
            }
        }
    }

    pub async fn put(&self, bucket: &str, key: &str, body: &'static [u8]) {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(body))
            .send()
            .await
            .expect("put object");
    }

    /// Every key under `prefix`, sorted.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.expect("list objects");
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        keys
    }

    /// Multipart uploads started and neither completed nor aborted (s3s-fs keeps one
    /// `.upload-<id>.json` file per open upload at its root).
    pub fn open_multipart_uploads(&self) -> Vec<String> {
        let mut open = Vec::new();
        for entry in std::fs::read_dir(&self.root)
            .expect("server root")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name
                .strip_prefix(".upload-")
                .and_then(|rest| rest.strip_suffix(".json"))
            {
                open.push(id.to_owned());
            }
        }
        open
    }

    /// Stops the server at once: the listener and every open connection are closed.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Keeps the data directory after this server is dropped (to restart on it).
    pub fn keep_data(&mut self) -> Option<tempfile::TempDir> {
        self.data_dir.take()
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

fn target_at(endpoint: &url::Url, bucket: &str, prefix: &str) -> S3Target {
    S3Target {
        endpoint: Some(endpoint.clone()),
        region: REGION.to_owned(),
        bucket: bucket.to_owned(),
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: SECRET_KEY.to_owned(),
        path_style: true,
        prefix: prefix.to_owned(),
        max_parts: S3Target::DEFAULT_MAX_PARTS,
        storage: Default::default(),
    }
}
