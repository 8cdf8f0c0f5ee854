//! Turns each kind of source into a byte stream: a database dump, a SQLite snapshot or a tar
//! of a directory, plus a check that tells, once the stream ended, whether it is complete,
//! and what the stream held, for the manifest. A Frappe site is several such streams
//! (`site`).

mod check;
mod command;
mod directory;
mod facts;
mod mysql;
mod postgres;
pub mod site;
mod sqlite;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use tokio::io::{AsyncBufRead, AsyncRead, BufReader};

use super::error::BackupError;
use super::job::SourceSpec;
use super::progress::Reporter;
use crate::settings::SourceKind;

pub use check::{SourceCheck, check};
pub use facts::Facts;

/// Resolves once the producer has finished; an error means the stream is not to be trusted.
pub type Done = Pin<Box<dyn Future<Output = Result<(), BackupError>> + Send>>;

/// An open source: the bytes to store and how to learn whether they are complete.
pub struct SourceStream {
    pub reader: Box<dyn AsyncBufRead + Send + Unpin>,
    pub done: Done,
    /// Whatever must live until the stream is read (a snapshot's temporary directory).
    pub keep_alive: Option<Box<dyn Send + Sync>>,
    /// What the stream holds; complete once `done` has resolved.
    pub facts: Facts,
}

/// Bytes read at once from a file or a tool's output.
const READ_BUFFER: usize = 256 * 1024;

/// Buffers a plain reader for the compressor.
fn buffered(
    reader: impl AsyncRead + Send + Unpin + 'static,
) -> Box<dyn AsyncBufRead + Send + Unpin> {
    Box::new(BufReader::with_capacity(READ_BUFFER, reader))
}

/// Opens `spec`; a directory leaves out the paths of `leave_out` it holds.
pub async fn open(
    spec: &SourceSpec,
    leave_out: &[PathBuf],
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    match spec.kind() {
        SourceKind::Sqlite => sqlite::open(spec, reporter).await,
        SourceKind::Postgres => postgres::open(spec, reporter).await,
        SourceKind::Mysql => mysql::open(spec, reporter).await,
        SourceKind::Directory => directory::open(spec, leave_out, reporter).await,
        // A site is several streams, opened part by part (`site::open`).
        SourceKind::Frappe => Err(BackupError::NotADatabase {
            source_name: spec.name.clone(),
        }),
    }
}
