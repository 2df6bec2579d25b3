//! The batches of one epoch, drawn one batch ahead on a helper thread.
//!
//! Drawing the noise (a normal sample per pixel) runs on one thread and took 7% of a 2-thread
//! MLP epoch's CPU samples while the kernel threads waited (BENCHMARKS.md). With more than one
//! kernel thread, a scoped helper draws batch b + 1 while the model steps on batch b. The helper
//! draws from the same generator in the same order as the inline path, so the batches, and every
//! number after them, are identical; with one kernel thread everything stays on the calling
//! thread, so a 1-thread run uses one core.

use std::sync::mpsc::sync_channel;

use crate::corrupt::Rng;
use crate::Result;

/// Folds `step(state, b, batch)` over the batches of `order` (`batch_size` indices each, the last
/// one possibly smaller), drawing each with `draw(indices, rng)`, on a helper thread one batch
/// ahead when `ahead`; stops at the first error of either. (A fold, so that the step can consume
/// and return the model and its optimizer.)
pub(crate) fn fold_batches<B: Send, S>(
    order: &[usize],
    batch_size: usize,
    draw: &(dyn Fn(&[usize], &mut Rng) -> Result<B> + Sync),
    rng: &mut Rng,
    ahead: bool,
    state: S,
    mut step: impl FnMut(S, usize, B) -> Result<S>,
) -> Result<S> {
    let chunks = order.chunks(batch_size.max(1));
    let mut state = state;
    if !ahead {
        for (b, chunk) in chunks.enumerate() {
            state = step(state, b, draw(chunk, rng)?)?;
        }
        return Ok(state);
    }
    std::thread::scope(|scope| {
        // Capacity 1: the helper is at most one batch ahead of the step.
        let (send, receive) = sync_channel(1);
        scope.spawn(move || {
            for chunk in chunks {
                let batch = draw(chunk, rng);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{self, Purpose};
    use rand::Rng as _;

    /// Batches of (batch index, indices, one draw per index).
    fn draws(ahead: bool, stop_after: Option<usize>) -> Vec<(usize, Vec<usize>, Vec<f32>)> {
        let order: Vec<usize> = (0..50).rev().collect();
        let draw = |idx: &[usize], rng: &mut Rng| -> Result<(Vec<usize>, Vec<f32>)> {
            Ok((idx.to_vec(), idx.iter().map(|_| rng.gen::<f32>()).collect()))
        };
        let mut rng = seed::rng(7, Purpose::TrainNoise, 1);
        let result = fold_batches(
            &order,
            16,
            &draw,
            &mut rng,
            ahead,
            Vec::new(),
            |mut seen, b, (i, x)| {
                seen.push((b, i, x));
                match stop_after {
                    Some(n) if b + 1 == n => {
                        Err(crate::Error::Config(format!("stop {}", seen.len())))
                    }
                    _ => Ok(seen),
                }
            },
        );
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
            inline.iter().map(|s| (s.0, s.1.len())).collect::<Vec<_>>(),
            [(0, 16), (1, 16), (2, 16), (3, 2)]
        );
        assert_eq!(inline[0].1[0], 49);
        assert_eq!(draws(true, None), inline);
    }

    #[test]
    fn a_failing_step_stops_both_paths() {
        // The error names how many batches the step saw: two, on either path.
        draws(false, Some(2));
        draws(true, Some(2));
    }
}
