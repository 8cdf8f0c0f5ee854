//! How big each part of a multipart upload is, for a stream whose length is unknown:
//! start small (memory stays low for the common case) and double at regular steps so that
//! even a very large stream stays under the provider's part-count limit.

/// The first parts' size.
pub const INITIAL_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's minimum for every part but the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's maximum part size.
pub const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
/// How many times the size may double over the whole part budget.
const DOUBLINGS: u32 = 8;

/// The size schedule of one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSizer {
    max_parts: u32,
    /// Parts per size step: the size doubles every `step` parts.
    step: u32,
}

impl PartSizer {
    pub fn new(max_parts: u32) -> Self {
        let max_parts = max_parts.max(1);
        Self {
            max_parts,
            step: (max_parts / DOUBLINGS).max(1),
        }
    }

    pub fn max_parts(&self) -> u32 {
        self.max_parts
    }

    /// The size of part `number` (1-based).
    pub fn size_of(&self, number: u32) -> usize {
        let doublings = (number.saturating_sub(1) / self.step).min(DOUBLINGS + 8);
        INITIAL_PART_SIZE
            .max(MIN_PART_SIZE)
            .saturating_mul(1usize << doublings)
            .min(MAX_PART_SIZE)
    }

    /// How many bytes fit in the whole part budget.
    pub fn capacity(&self) -> u64 {
        (1..=self.max_parts).map(|n| self.size_of(n) as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn starts_at_eight_mib_and_never_shrinks() {
        for max_parts in [1, 2, 8, 100, 1_000, 10_000] {
            let sizer = PartSizer::new(max_parts);
            assert_eq!(sizer.size_of(1), 8 * MIB);
            let mut previous = 0;
            for n in 1..=max_parts {
                let size = sizer.size_of(n);
                assert!(size >= previous, "part {n} of {max_parts} shrank");
                assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&size));
                previous = size;
            }
        }
    }

    #[test]
    fn aws_limit_holds_a_terabyte() {
        let sizer = PartSizer::new(10_000);
        // The first 1,250 parts (10 GB) use 8 MiB parts: small backups keep memory low.
        assert_eq!(sizer.size_of(1_250), 8 * MIB);
        assert_eq!(sizer.size_of(1_251), 16 * MIB);
        assert!(sizer.capacity() > 1_000_000_000_000);
    }

    #[test]
    fn thousand_part_providers_hold_a_hundred_gigabytes() {
        assert!(PartSizer::new(1_000).capacity() > 100_000_000_000);
    }

    #[test]
    fn tiny_limits_double_every_part() {
        let sizer = PartSizer::new(8);
        let sizes: Vec<usize> = (1..=4).map(|n| sizer.size_of(n) / MIB).collect();
        assert_eq!(sizes, [8, 16, 32, 64]);
        assert!(sizer.capacity() > 2_000_000_000);
    }

    #[test]
    fn size_is_capped_at_the_s3_maximum() {
        let sizer = PartSizer::new(8);
        assert_eq!(sizer.size_of(u32::MAX), MAX_PART_SIZE);
    }
}
