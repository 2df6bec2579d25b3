//! The processes a run trains on: one ([`SingleProcess`]), or several that average their
//! gradients each step (data parallelism; the MPI implementation is behind the `mpi` feature,
//! docs/distributed.md).

use std::ops::Range;

use crate::Result;

/// A group of processes training one run together, each with its rank (0 for the one that
/// evaluates and writes the run directory).
pub trait Collective {
    /// This process's number, `0..size()`.
    fn rank(&self) -> usize;
    /// How many processes train the run.
    fn size(&self) -> usize;
    /// Replaces `buffer` with its element-wise sum over every process. The sum is taken in rank
    /// order, so every process gets the same bits, run after run. Every process calls it the
    /// same number of times with buffers of the same length; a process that died or stopped
    /// answering makes it fail (after a timeout) instead of waiting forever.
    fn sum_in_rank_order(&self, buffer: &mut [f32]) -> Result<()>;
}

/// One process alone: training as it always was.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_in_rank_order(&self, _buffer: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// The positions of a global batch of `len` samples that process `rank` of `size` trains on:
/// contiguous, the first `len % size` processes one sample more than the others (an uneven last
/// batch may leave a process none).
pub fn shard_range(len: usize, rank: usize, size: usize) -> Range<usize> {
    let size = size.max(1);
    let (base, extra) = (len / size, len % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_once_in_order() {
        for len in [0, 1, 2, 5, 64, 65] {
            for size in 1..=4 {
                let ranges: Vec<_> = (0..size).map(|r| shard_range(len, r, size)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[size - 1].end, len, "len {len} size {size}");
                for pair in ranges.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                }
                let lens: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
            }
        }
        assert_eq!(shard_range(5, 0, 2), 0..3);
        assert_eq!(shard_range(5, 1, 2), 3..5);
        assert_eq!(shard_range(1, 1, 2), 1..1);
    }
}
