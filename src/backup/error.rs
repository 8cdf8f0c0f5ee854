//! Why a backup failed, with enough context (which source, which step, the S3 error code)
//! for the admin to act on the message alone.

use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
            None if code.is_none() && status.is_none() => DisplayErrorContext(err).to_string(),
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
            (None, None) if self.unreachable => write!(f, "server unreachable: {}", self.message),
            (None, None) => f.write_str(&self.message),
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
        status: String,
        stderr: String,
    },
    #[error("source {source_name}: {step}: {cause}")]
    Source {
        source_name: String,
        step: String,
        #[source]
        cause: std::io::Error,
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
}
