//! Why a backup failed, with enough context (which source, which step, the S3 error code)
//! for the admin to act on the message alone.

use std::fmt;

use crate::lang::Message;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A failure of an S3 request, reduced to what an admin needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Failure {
    /// The S3 error code (`AccessDenied`, `SignatureDoesNotMatch`, ...) when the server sent one.
    pub code: Option<String>,
    /// HTTP status, when a response came back at all.
    pub status: Option<u16>,
    pub message: String,
    /// The request never got a response: connection refused, DNS, TLS, timeout.
    pub unreachable: bool,
    /// The region the server says the bucket lives in (`x-amz-bucket-region`).
    pub bucket_region: Option<String>,
}

impl S3Failure {
    pub fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let unreachable = matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        );
        let (status, bucket_region) = match err.raw_response() {
            Some(raw) => (
                Some(raw.status().as_u16()),
                raw.headers().get("x-amz-bucket-region").map(str::to_owned),
            ),
            None => (None, None),
        };
        let code = err.code().map(str::to_owned);
        let message = match err.message() {
            Some(message) => message.to_owned(),
            // No response to read a reason from: keep the transport's own explanation.
            None if code.is_none() && status.is_none() => innermost_cause(err),
            None => String::new(),
        };
        Self {
            code,
            status,
            message,
            unreachable,
            bucket_region,
        }
    }

    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref() == Some("AccessDenied")
            || (self.code.is_none() && self.status == Some(403))
    }
}

impl fmt::Display for S3Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.status) {
            (Some(code), _) if self.message.is_empty() => f.write_str(code),
            (Some(code), _) => write!(f, "{code}: {}", self.message),
            (None, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// The first cause of a failed request ("Connection refused"): the wrappers around it
/// (dispatch failure, connector error) and their Debug forms mean nothing to an admin.
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    match text.find(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// An error's message followed by those of its causes (the SDK's body errors say little
/// more than "streaming error" at the top).
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    message
}

/// How a tool that did not succeed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolEnd {
    /// It exited with this code.
    Code(i32),
    /// A signal stopped it.
    Signal(i32),
}

impl ToolEnd {
    pub fn of(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Code(code),
            (None, Some(signal)) => Self::Signal(signal),
            (None, None) => Self::Code(-1),
        }
    }
}

impl fmt::Display for ToolEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit code {code}"),
            Self::Signal(signal) => write!(f, "signal {signal}"),
        }
    }
}

/// Everything that can make a run fail.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("job has no source to back up")]
    NoSources,
    #[error("source {source_name}: its location is not of its kind")]
    NotADatabase { source_name: String },
    #[error("source {source_name}: cannot start {tool}: {cause}")]
    ToolMissing {
        source_name: String,
        tool: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("source {source_name}: {tool} failed ({status}): {stderr}")]
    ToolFailed {
        source_name: String,
        tool: String,
        status: ToolEnd,
        /// What the tool wrote on its error output; may be empty.
        stderr: String,
    },
    #[error("source {source_name}: {step}: {cause}")]
    Source {
        source_name: String,
        step: String,
        #[source]
        cause: std::io::Error,
    },
    /// A site whose configuration cannot be read, or does not name its database.
    #[error("source {source_name}: {problem}")]
    Site {
        source_name: String,
        problem: crate::settings::Invalid,
    },
    #[error("source {source_name}: SQLite snapshot of {path}: {cause}")]
    Sqlite {
        source_name: String,
        path: String,
        #[source]
        cause: sqlx::Error,
    },
    #[error("{step} s3://{bucket}/{key}: {failure}")]
    S3 {
        step: String,
        bucket: String,
        key: String,
        failure: Box<S3Failure>,
    },
    #[error("verifying s3://{bucket}/{key}: {detail}")]
    Verify {
        bucket: String,
        key: String,
        detail: String,
    },
    #[error(
        "s3://{bucket}/{key}: the data needs more than {max_parts} parts; raise the part limit"
    )]
    TooManyParts {
        bucket: String,
        key: String,
        max_parts: u32,
    },
    #[error("cannot write the manifest: {0}")]
    Manifest(#[source] serde_json::Error),
    #[error("cannot find a free folder name under {prefix}")]
    FolderTaken { prefix: String },
    #[error("every source failed: {}", .sources.join(", "))]
    EverySourceFailed { sources: Vec<String> },
    /// Object Lock is asked for and the bucket cannot lock objects: nothing is written.
    #[error("s3://{bucket}: {}", .refusal.render(crate::lang::Lang::EN))]
    ObjectLock { bucket: String, refusal: Message },
}

/// The catalog key of an S3 request's step ("uploading part 3 of" → `run.s3.part`).
fn s3_step_key(step: &str) -> &'static str {
    const STEPS: [(&str, &str); 9] = [
        ("starting multipart", "run.s3.start"),
        ("locking", "run.s3.lock"),
        ("uploading part", "run.s3.part"),
        ("uploading a part", "run.s3.part"),
        ("completing", "run.s3.complete"),
        ("uploading", "run.s3.put"),
        ("checking", "run.s3.check"),
        ("listing", "run.s3.list"),
        ("deleting", "run.s3.delete"),
    ];
    STEPS
        .iter()
        .find(|(prefix, _)| step.starts_with(prefix))
        .map_or("run.s3.other", |(_, key)| key)
}

/// The catalog key of a source's step, and what it names (a path, a tool).
fn source_step(step: &str) -> (&'static str, String) {
    const STEPS: [(&str, &str); 6] = [
        ("reading directory ", "run.step.reading_directory"),
        ("archiving ", "run.step.archiving"),
        ("waiting for ", "run.step.waiting_for"),
        ("creating a temporary directory", "run.step.snapshot_dir"),
        ("opening the snapshot", "run.step.snapshot_open"),
        ("reading and compressing", "run.step.reading"),
    ];
    STEPS
        .iter()
        .find(|(prefix, _)| step.starts_with(prefix))
        .map_or(("run.step.reading", String::new()), |(prefix, key)| {
            (key, step[prefix.len()..].trim().to_owned())
        })
}

impl BackupError {
    /// Whether the object may exist on the server despite the failure: it was uploaded,
    /// then its check failed. Otherwise the upload was aborted and nothing was created.
    pub fn may_have_stored(&self) -> bool {
        match self {
            Self::Verify { .. } => true,
            Self::S3 { step, .. } => step.starts_with("checking") || step.starts_with("locking"),
            _ => false,
        }
    }

    /// What to tell the admin, in their language; the raw text of the tool, the system or
    /// the S3 server comes as the quoted detail.
    pub fn message(&self) -> Message {
        match self {
            Self::NoSources => Message::new("run.error.no_sources"),
            Self::NotADatabase { source_name } => {
                Message::new("run.error.wrong_kind").with("source", source_name)
            }
            Self::ToolMissing {
                source_name,
                tool,
                cause,
            } => Message::new("run.error.tool_missing")
                .with("source", source_name)
                .with("tool", tool)
                .detail(cause.to_string()),
            Self::ToolFailed {
                source_name,
                tool,
                status,
                stderr,
            } => {
                let message = match status {
                    ToolEnd::Code(code) => Message::new("run.error.tool_failed").with("code", code),
                    ToolEnd::Signal(signal) => {
                        Message::new("run.error.tool_killed").with("signal", signal)
                    }
                };
                message
                    .with("source", source_name)
                    .with("tool", tool)
                    .detail(stderr.clone())
            }
            Self::Source {
                source_name,
                step,
                cause,
            } => {
                let (key, what) = source_step(step);
                Message::new("run.error.source")
                    .with("source", source_name)
                    .with_labels("step", [key.to_owned()])
                    .with("what", what)
                    .detail(cause.to_string())
            }
            Self::Site {
                source_name,
                problem,
            } => Message::from(problem.clone()).with("source", source_name),
            Self::Sqlite {
                source_name,
                path,
                cause,
            } => Message::new("run.error.sqlite")
                .with("source", source_name)
                .with("path", path)
                .detail(cause.to_string()),
            Self::S3 {
                step,
                bucket,
                key,
                failure,
            } => Message::new(if failure.unreachable {
                "run.error.s3_unreachable"
            } else if failure.is_access_denied() {
                "run.error.s3_denied"
            } else {
                "run.error.s3"
            })
            .with_labels("step", [s3_step_key(step).to_owned()])
            .with("object", format!("s3://{bucket}/{key}"))
            .detail(failure.to_string()),
            Self::Verify {
                bucket,
                key,
                detail,
            } => Message::new("run.error.verify")
                .with("object", format!("s3://{bucket}/{key}"))
                .detail(detail.clone()),
            Self::TooManyParts {
                bucket,
                key,
                max_parts,
            } => Message::new("run.error.too_many_parts")
                .with("object", format!("s3://{bucket}/{key}"))
                .with("max_parts", max_parts),
            Self::Manifest(error) => Message::new("run.error.manifest").detail(error.to_string()),
            Self::FolderTaken { prefix } => {
                Message::new("run.error.folder_taken").with("prefix", prefix)
            }
            Self::EverySourceFailed { sources } => {
                Message::new("run.error.every_source_failed").with("sources", sources.join(", "))
            }
            Self::ObjectLock { refusal, .. } => refusal.clone(),
        }
    }
}
