//! Never leaving a partial upload behind.

use super::Destination;
use crate::backup::error::S3Failure;
use crate::backup::progress::{LogLevel, Reporter};
use crate::lang::Message;

/// Aborts an open multipart upload unless disarmed: explicitly on error paths, and from
/// `Drop` when the task is cancelled or panics, so no partial upload is left behind.
pub(super) struct AbortGuard {
    dest: Destination,
    upload_id: Option<String>,
    reporter: Reporter,
}

impl AbortGuard {
    pub(super) fn new(dest: Destination, upload_id: String, reporter: Reporter) -> Self {
        Self {
            dest,
            upload_id: Some(upload_id),
            reporter,
        }
    }

    pub(super) fn disarm(&mut self) {
        self.upload_id = None;
    }

    pub(super) async fn abort(&mut self) {
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
            // Tracked, so the runner can wait for it before the process exits.
            self.reporter.aborts().spawn_on(
                async move { abort_upload(&dest, &upload_id, &reporter).await },
                &runtime,
            );
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
            Message::new("run.log.upload_aborted")
                .with("object", format!("s3://{}/{}", dest.bucket, dest.key)),
        ),
        Err(err) => reporter.log(
            LogLevel::Warn,
            Message::new("run.log.abort_failed")
                .with("upload", upload_id)
                .with("object", format!("s3://{}/{}", dest.bucket, dest.key))
                .detail(S3Failure::from_sdk(&err).to_string()),
        ),
    }
}
