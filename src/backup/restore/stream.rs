//! Moving an object's bytes: from its checked stream into a file, or read to its end to learn
//! the check's verdict, telling a failed read (the bucket, the check) from a failed write.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::RestoreError;
use crate::backup::error::with_causes;

/// Bytes moved at once.
pub(super) const BUFFER: usize = 256 * 1024;

/// Buffers a blocking reader may be behind its feed.
const BUFFERS_AHEAD: usize = 8;

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

/// What a feed hands on.
pub enum Chunk {
    Data(Bytes),
    End,
    Failed(io::Error),
}

/// A pipe from an async reader (`feed`) to a blocking one (`Fed`), a few buffers long.
pub fn pipe() -> (mpsc::Sender<Chunk>, Fed) {
    let (sender, receiver) = mpsc::channel(BUFFERS_AHEAD);
    (
        sender,
        Fed {
            receiver,
            current: Bytes::new(),
            ended: false,
        },
    )
}

/// Sends what `reader` gives to its end, or to its error, unless the other end is gone.
pub async fn feed<R: AsyncRead + Unpin + ?Sized>(reader: &mut R, sender: mpsc::Sender<Chunk>) {
    loop {
        let mut buffer = BytesMut::with_capacity(BUFFER);
        let chunk = match reader.read_buf(&mut buffer).await {
            Ok(0) => Chunk::End,
            Ok(_) => Chunk::Data(buffer.freeze()),
            Err(cause) => Chunk::Failed(cause),
        };
        let last = !matches!(chunk, Chunk::Data(_));
        if sender.send(chunk).await.is_err() || last {
            return;
        }
    }
}

/// The blocking end of a `pipe`: a feed that stops before its end is an error, never the
/// end of the stream.
pub struct Fed {
    receiver: mpsc::Receiver<Chunk>,
    current: Bytes,
    ended: bool,
}

impl io::Read for Fed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.receiver.blocking_recv() {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => self.ended = true,
                Some(Chunk::Failed(cause)) => return Err(cause),
                None => {
                    return Err(io::Error::other(
                        "the download stopped before the end of the object",
                    ));
                }
            }
        }
        let count = buf.len().min(self.current.len());
        buf[..count].copy_from_slice(&self.current[..count]);
        self.current.advance(count);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[tokio::test]
    async fn a_pipe_hands_on_every_byte_then_the_end() {
        let data: Vec<u8> = (0..1_000_000u32).map(|n| (n % 251) as u8).collect();
        let (sender, mut fed) = pipe();
        let reading = tokio::task::spawn_blocking(move || {
            let mut read = Vec::new();
            fed.read_to_end(&mut read).map(|_| read)
        });
        feed(&mut data.as_slice(), sender).await;
        let read = reading.await.expect("joined").expect("read to the end");
        assert!(read == data, "the bytes differ");
    }

    #[tokio::test]
    async fn a_feed_that_stops_before_its_end_is_an_error_not_an_end() {
        let (sender, mut fed) = pipe();
        let reading = tokio::task::spawn_blocking(move || fed.read_to_end(&mut Vec::new()));
        sender
            .send(Chunk::Data(Bytes::from_static(b"half an archive")))
            .await
            .expect("sent");
        drop(sender);
        let error = reading.await.expect("joined").expect_err("not an end");
        assert!(error.to_string().contains("stopped"), "{error}");
    }

    #[tokio::test]
    async fn a_read_error_reaches_the_blocking_reader() {
        let (sender, mut fed) = pipe();
        let reading = tokio::task::spawn_blocking(move || fed.read_to_end(&mut Vec::new()));
        let mut failing = failing_reader();
        feed(&mut failing, sender).await;
        let error = reading.await.expect("joined").expect_err("the error");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    /// A reader that gives a few bytes, then a check's error.
    fn failing_reader() -> impl AsyncRead + Unpin {
        use futures::TryStreamExt;
        let items: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"some bytes")),
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "SHA-256 differs",
            )),
        ];
        tokio_util::io::StreamReader::new(futures::stream::iter(items).into_stream())
    }
}
