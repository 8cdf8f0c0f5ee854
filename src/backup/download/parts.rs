//! A large object read as ranged parts fetched side by side and handed on in order, as
//! `aws s3 cp` does: one GET stream is often slower than the reader behind it. Every part
//! is asked for with `If-Match` the ETag of the first answer, and each goes on from where it
//! broke like a whole body does. Memory is bounded by the parts in flight, whatever the
//! object's size.

use std::io;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;
use tokio_util::task::AbortOnDropHandle;

use super::resume::{Body, ObjectRest, Resuming, Retry};

/// How a large object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranges {
    /// Bytes of one part; objects up to this size are read with one plain GET.
    pub part_size: u64,
    /// Parts fetched ahead of the one being read.
    pub in_flight: usize,
}

impl Ranges {
    /// 16 parts of 1 MiB ahead: at most 17 MiB held; many requests at once are what keeps
    /// a server busy (measured in BENCHMARKS.md: fewer, larger parts were slower).
    pub const DEFAULT: Ranges = Ranges {
        part_size: 1024 * 1024,
        in_flight: 16,
    };

    /// The parts of an object of `length` bytes, as (start, end) with `end` exclusive.
    fn split(&self, length: u64) -> Vec<(u64, u64)> {
        let part = self.part_size.max(1);
        (0..length.div_ceil(part))
            .map(|index| (index * part, ((index + 1) * part).min(length)))
            .collect()
    }
}

/// The object `rest` names, of `length` bytes, whose first part's body is `first` (the
/// answer to a GET of the range `0..part_size`).
pub fn read(rest: ObjectRest, length: u64, first: Body, ranges: Ranges, retry: Retry) -> Body {
    let mut first = Some(first);
    let parts = ranges.split(length).into_iter().map(move |(start, end)| {
        let rest = ObjectRest {
            end: Some(end),
            ..rest.clone()
        };
        let name = rest.key.clone();
        let reader = match first.take() {
            Some(body) => Resuming::new(rest, name, Some(end), body, retry),
            None => Resuming::part(rest, name, start, end, retry),
        };
        // A task each, so the parts come in while the reader works on the one before.
        AbortOnDropHandle::new(tokio::spawn(collect(reader, end - start)))
    });
    let bytes = futures::stream::iter(parts)
        .buffered(ranges.in_flight.max(1))
        .map(|joined| match joined {
            Ok(part) => part,
            Err(failure) => Err(io::Error::other(format!(
                "reading a part of the object stopped: {failure}"
            ))),
        })
        .into_stream();
    Box::new(StreamReader::new(bytes))
}

/// The part's bytes, in a buffer of its exact size (a buffer read to its end would grow past
/// it to look for the end).
async fn collect(mut reader: Resuming<ObjectRest>, length: u64) -> io::Result<Bytes> {
    let length = usize::try_from(length)
        .map_err(|_| io::Error::other(format!("a part of {length} bytes")))?;
    let mut part = vec![0; length];
    reader.read_exact(&mut part).await?;
    Ok(Bytes::from(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_object_exactly() {
        let ranges = Ranges {
            part_size: 10,
            in_flight: 2,
        };
        assert_eq!(ranges.split(25), vec![(0, 10), (10, 20), (20, 25)]);
        assert_eq!(ranges.split(20), vec![(0, 10), (10, 20)]);
        assert_eq!(ranges.split(0), Vec::<(u64, u64)>::new());
    }
}
