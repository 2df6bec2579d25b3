//! Held-out evaluation: corrupt a data set with a fixed seed, denoise it, and measure both the
//! denoised output and the noisy input against the clean images, so the gain is visible at once.

use serde::Serialize;

use super::metrics::{MetricsAccumulator, ReconstructionMetrics};
use super::predictor::Predictor;
use crate::corrupt::{corrupt_batch, Corruption, NormalDraws, SampleShape};
use crate::seed::{self, Purpose};
use crate::tasks::image::data::ImageSet;
use crate::Result;

/// Reconstruction quality of the denoised output and of the noisy input on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct HeldOut {
    /// Denoised x̂ against clean x.
    pub denoised: ReconstructionMetrics,
    /// Noisy x̃ against clean x (what the model was given).
    pub noisy: ReconstructionMetrics,
}

/// Corrupts `set` with `corruption` (seeded by `seed`, identically on every call), denoises it in
/// batches of `batch` images with `predictor` and measures both x̂ and x̃ against x.
pub fn evaluate(
    predictor: &Predictor,
    set: &ImageSet,
    corruption: &dyn Corruption,
    seed: u64,
    batch: usize,
) -> Result<HeldOut> {
    evaluate_each(predictor, set, corruption, seed, batch, |_, _, _| {})
}

/// [`evaluate`], also handing every batch's (clean x, noisy x̃, denoised x̂) to `visit`, for
/// measures beyond [`HeldOut`]'s (the failure-mode diagnostics) on the same draws.
pub fn evaluate_each(
    predictor: &Predictor,
    set: &ImageSet,
    corruption: &dyn Corruption,
    seed: u64,
    batch: usize,
    mut visit: impl FnMut(&[f32], &[f32], &[f32]),
) -> Result<HeldOut> {
    let shape = SampleShape::new(1, set.height, set.width);
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 0);
    let mut denoised = MetricsAccumulator::new();
    let mut noisy = MetricsAccumulator::new();
    let per = shape.len();
    for start in (0..set.len()).step_by(batch.max(1)) {
        let end = (start + batch).min(set.len());
        let clean = &set.images[start * per..end * per];
        let corrupted = corrupt_batch(corruption, clean, shape, &mut rng, NormalDraws::HELD_OUT)?;
        let x_hat = predictor.reconstruct(&corrupted.noisy, shape);
        denoised.add_batch(clean, &x_hat, end - start, set.height, set.width)?;
        noisy.add_batch(clean, &corrupted.noisy, end - start, set.height, set.width)?;
        visit(clean, &corrupted.noisy, &x_hat);
    }
    Ok(HeldOut {
        denoised: denoised.finish(),
        noisy: noisy.finish(),
    })
}
