//! Part buffers: how many parts are held at once, and reusing them so memory stays at a
//! fixed number of parts whatever the stream's length.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

/// Bytes of parts held at once (being sent, plus the one being filled), as long as parts are
/// small enough for two of them to fit; with 8 MiB parts, three are sent while one fills.
const BUFFER_BUDGET: usize = 32 * 1024 * 1024;

/// Parts sent at once for a given part size: as many as the budget allows, at least one.
pub(super) fn parts_in_flight(part_size: usize) -> usize {
    (BUFFER_BUDGET / part_size.max(1)).saturating_sub(1).max(1)
}

/// Part buffers, reused: memory holds a fixed number of parts whatever the stream's length,
/// and the allocator never sees a stream of large short-lived blocks.
#[derive(Clone, Default)]
pub(super) struct BufferPool(Arc<Mutex<Vec<BytesMut>>>);

impl BufferPool {
    pub(super) fn take(&self, size: usize) -> BytesMut {
        let reused = self
            .0
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .filter(|buffer| buffer.capacity() >= size);
        match reused {
            Some(mut buffer) => {
                buffer.clear();
                buffer
            }
            None => BytesMut::with_capacity(size),
        }
    }

    /// Takes a sent part back, if nothing else holds it any more.
    pub(super) fn give(&self, part: Bytes) {
        if let Ok(buffer) = part.try_into_mut()
            && let Ok(mut free) = self.0.lock()
            && free.len() <= parts_in_flight(buffer.capacity())
        {
            free.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_in_flight_keep_memory_to_the_budget() {
        const MIB: usize = 1024 * 1024;
        assert_eq!(parts_in_flight(8 * MIB), 3);
        assert_eq!(parts_in_flight(16 * MIB), 1);
        assert_eq!(parts_in_flight(64 * MIB), 1);
    }

    #[test]
    fn sent_parts_come_back_to_the_pool() {
        let pool = BufferPool::default();
        let mut buffer = pool.take(1024);
        buffer.extend_from_slice(b"part");
        let address = buffer.as_ptr();
        pool.give(buffer.freeze());
        let reused = pool.take(1024);
        assert_eq!(reused.as_ptr(), address);
        assert!(reused.is_empty());
    }
}
