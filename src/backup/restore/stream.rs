//! Moving an object's bytes: from its checked stream into a file, or read to its end to learn
//! the check's verdict, telling a failed read (the bucket, the check) from a failed write.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::RestoreError;
use crate::backup::error::with_causes;

/// Bytes moved at once.
const BUFFER: usize = 256 * 1024;

/// The object being restored, to name it in errors.
#[derive(Debug, Clone)]
pub struct Origin {
    pub bucket: String,
    pub key: String,
}

impl Origin {
    pub fn of(s3: &crate::backup::S3Target, object: &crate::backup::StoredObject) -> Self {
        Self {
            bucket: s3.bucket.clone(),
            key: object.key.clone(),
        }
    }

    pub fn read(&self, cause: io::Error) -> RestoreError {
        RestoreError::Read {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            cause: io::Error::new(cause.kind(), with_causes(&cause)),
        }
    }

    pub fn refused(&self, entry: impl Into<String>, reason: impl Into<String>) -> RestoreError {
        RestoreError::Refused {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            entry: entry.into(),
            reason: reason.into(),
        }
    }
}

pub enum PumpError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `reader` to its end into `writer` through one bounded buffer.
pub async fn pump<R, W>(reader: &mut R, writer: &mut W) -> Result<u64, PumpError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buffer = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer).await.map_err(PumpError::Read)?;
        if read == 0 {
            break;
        }
        writer
            .write_all(&buffer[..read])
            .await
            .map_err(PumpError::Write)?;
        total += read as u64;
    }
    writer.flush().await.map_err(PumpError::Write)?;
    Ok(total)
}

/// Reads `reader` to its end, keeping nothing: the end is where the check's verdict comes.
pub async fn drain<R: AsyncRead + Unpin + ?Sized>(reader: &mut R) -> io::Result<u64> {
    match pump(reader, &mut tokio::io::sink()).await {
        Ok(total) => Ok(total),
        Err(PumpError::Read(cause) | PumpError::Write(cause)) => Err(cause),
    }
}
