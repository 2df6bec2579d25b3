//! The corrupted training batches of one epoch, drawn one batch ahead on a helper thread.
//!
//! Drawing the noise (a normal sample per pixel) runs on one thread and took 7% of a 2-thread
//! MLP epoch's CPU samples while the kernel threads waited (BENCHMARKS.md). With more than one
//! kernel thread, a scoped helper draws batch b + 1 while the model steps on batch b. The helper
//! draws from the same generator in the same order as the inline path, so the batches, and every
//! number after them, are identical; with one kernel thread everything stays on the calling
//! thread, so a 1-thread run uses one core.

use std::sync::mpsc::sync_channel;

use crate::corrupt::{corrupt_batch, CorruptedBatch, Corruption, Rng, SampleShape};
use crate::data::ImageSet;
use crate::Result;

/// One training batch: the clean images, sample after sample, and their corruption.
pub(crate) struct Batch {
    /// Samples in the batch.
    pub len: usize,
    /// The clean inputs x.
    pub clean: Vec<f32>,
    /// x̃ and the mask of corrupted entries.
    pub corrupted: CorruptedBatch,
}

/// What the batches of an epoch are drawn from.
pub(crate) struct EpochBatches<'a> {
    /// The training images.
    pub set: &'a ImageSet,
    /// The epoch's sample order.
    pub order: &'a [usize],
    /// Samples per batch (the last batch may be smaller).
    pub batch_size: usize,
    /// The training corruption.
    pub corruption: &'a dyn Corruption,
    /// The shape of one sample.
    pub shape: SampleShape,
}

impl EpochBatches<'_> {
    /// Folds `step(state, b, batch)` over the epoch's batches in order, drawing their corruption
    /// from `rng`, on a helper thread one batch ahead when `ahead`; stops at the first error of
    /// either. (A fold, so that the step can consume and return the model and its optimizer.)
    pub(crate) fn fold<S>(
        &self,
        rng: &mut Rng,
        ahead: bool,
        state: S,
        mut step: impl FnMut(S, usize, Batch) -> Result<S>,
    ) -> Result<S> {
        let chunks = self.order.chunks(self.batch_size.max(1));
        let mut state = state;
        if !ahead {
            for (b, chunk) in chunks.enumerate() {
                state = step(state, b, self.draw(chunk, rng)?)?;
            }
            return Ok(state);
        }
        std::thread::scope(|scope| {
            // Capacity 1: the helper is at most one batch ahead of the step.
            let (send, receive) = sync_channel(1);
            scope.spawn(move || {
                for chunk in chunks {
                    let batch = self.draw(chunk, rng);
                    let failed = batch.is_err();
                    // A closed channel means the step stopped early: stop drawing too.
                    if send.send(batch).is_err() || failed {
                        break;
                    }
                }
            });
            for (b, batch) in receive.iter().enumerate() {
                state = step(state, b, batch?)?;
            }
            Ok(state)
        })
    }

    /// Gathers the samples `chunk` and corrupts them.
    fn draw(&self, chunk: &[usize], rng: &mut Rng) -> Result<Batch> {
        let mut clean = Vec::with_capacity(chunk.len() * self.shape.len());
        for &i in chunk {
            clean.extend_from_slice(self.set.image(i));
        }
        let corrupted = corrupt_batch(self.corruption, &clean, self.shape, rng)?;
        Ok(Batch {
            len: chunk.len(),
            clean,
            corrupted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corrupt::parse;
    use crate::seed::{self, Purpose};

    fn draws(ahead: bool, stop_after: Option<usize>) -> Vec<(usize, usize, Vec<f32>)> {
        let data = crate::data::load_default().unwrap();
        let set = data.train.take(50);
        let order: Vec<usize> = (0..50).rev().collect();
        let corruption = parse("gaussian:sigma=0.3").unwrap();
        let batches = EpochBatches {
            set: &set,
            order: &order,
            batch_size: 16,
            corruption: corruption.as_ref(),
            shape: SampleShape::new(1, set.height, set.width),
        };
        let mut rng = seed::rng(7, Purpose::TrainNoise, 1);
        let result = batches.fold(&mut rng, ahead, Vec::new(), |mut seen, b, batch| {
            assert_eq!(batch.clean.len(), batch.corrupted.noisy.len());
            seen.push((b, batch.len, batch.corrupted.noisy));
            match stop_after {
                Some(n) if b + 1 == n => Err(crate::Error::Config(format!("stop {}", seen.len()))),
                _ => Ok(seen),
            }
        });
        match (result, stop_after) {
            (Ok(seen), None) => seen,
            (Err(e), Some(n)) => {
                assert_eq!(e.to_string(), format!("invalid configuration: stop {n}"));
                Vec::new()
            }
            (r, s) => panic!("stop_after {s:?} gave {:?}", r.map(|v| v.len())),
        }
    }

    #[test]
    fn drawing_ahead_gives_the_same_batches_in_the_same_order() {
        let inline = draws(false, None);
        assert_eq!(
            inline.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
            [(0, 16), (1, 16), (2, 16), (3, 2)]
        );
        assert_eq!(draws(true, None), inline);
    }

    #[test]
    fn a_failing_step_stops_both_paths() {
        // The error names how many batches the step saw: two, on either path.
        draws(false, Some(2));
        draws(true, Some(2));
    }
}
