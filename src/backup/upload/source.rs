//! What an upload reads its parts from: a stream read into each part buffer, or a producer
//! that writes into the part buffer itself (age's sealed chunks), which saves a copy of
//! every byte stored.

use std::future::Future;
use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Gives an upload its parts, in order.
pub trait PartSource {
    /// The next part, in `buf` (empty, with room for `size` bytes): exactly `size` bytes
    /// while the stream lasts, fewer for its last part, none once it has ended.
    fn read_part(
        &mut self,
        buf: BytesMut,
        size: usize,
    ) -> impl Future<Output = io::Result<Bytes>> + Send;
}

/// A stream whose bytes are read into each part as they come.
pub struct Plain<R>(pub R);

impl<R: AsyncRead + Unpin + Send> PartSource for Plain<R> {
    async fn read_part(&mut self, mut buf: BytesMut, size: usize) -> io::Result<Bytes> {
        while buf.len() < size {
            let remaining = (size - buf.len()) as u64;
            let read = (&mut self.0).take(remaining).read_buf(&mut buf).await?;
            if read == 0 {
                break;
            }
        }
        Ok(buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_fills_each_part_to_its_size_then_ends() {
        let data = [7u8; 100];
        let mut source = Plain(&data[..]);
        let mut sizes = Vec::new();
        for _ in 0..3 {
            let part = source
                .read_part(BytesMut::with_capacity(60), 60)
                .await
                .expect("a part");
            sizes.push(part.len());
        }
        assert_eq!(sizes, [60, 40, 0]);
    }
}
