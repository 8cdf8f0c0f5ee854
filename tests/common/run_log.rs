//! A reporter whose events a test reads back: the lines of the run's log, in English.

use std::sync::Arc;

use s3_backup::backup::progress::RunEvent;
use s3_backup::backup::{Progress, Reporter};
use tokio::sync::mpsc;

pub fn recording_reporter() -> (Reporter, mpsc::UnboundedReceiver<RunEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    (
        Reporter::new(Arc::new(Progress::default()), events),
        received,
    )
}

/// The log lines received so far.
pub fn log_lines(received: &mut mpsc::UnboundedReceiver<RunEvent>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(event) = received.try_recv() {
        if let RunEvent::Log { message, .. } = event {
            lines.push(message.to_string());
        }
    }
    lines
}
