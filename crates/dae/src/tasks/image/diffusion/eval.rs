//! What `dae eval` measures on a diffusion run: the multi-level network used as a one-step
//! denoiser of the document's kind (is one network for all levels as good as one per level?).
//!
//! A clean image x ∈ [0, 1] corrupted as the image task corrupts it (`gaussian:sigma=σ`, clamped
//! to [0, 1]) is, in the model's [−1, 1] units, x' + 2σ·n: the level whose σ_t = 2σ. Scaled by
//! √ᾱ_t it becomes the model's x_t, and the network's x0 estimate, clipped and mapped back to
//! [0, 1], is the denoised image.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::DiffusionConfig;
use super::model::TimeUnet;
use super::sample::{sample, SampleOptions};
use crate::corrupt::{corrupt_batch, NoiseSpec, NormalDraws, SampleShape};
use crate::diffusion::NoiseSchedule;
use crate::seed::{self, Purpose};
use crate::tasks::image::data::{ImageSet, Splits};
use crate::tasks::image::metrics::{MetricsAccumulator, ReconstructionMetrics};
use crate::tasks::image::quality::{
    compare_features, memorised_share_of_features, FeatureExtractor, QualityScores,
};
use crate::{Error, Result};

/// The noise levels `dae eval` measures by default (those of the robustness suite).
pub const DEFAULT_SIGMAS: [f64; 4] = [0.1, 0.2, 0.3, 0.5];
/// Images per forward pass.
const BATCH: usize = 250;

/// One-step denoising at one noise level.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelDenoising {
    /// The corruption (`gaussian:sigma=…`).
    pub noise: String,
    /// σ in pixel units ([0, 1] images).
    pub sigma: f64,
    /// The network's level used for it.
    pub timestep: usize,
    /// The denoised images.
    pub denoised: ReconstructionMetrics,
    /// The noisy images.
    pub noisy: ReconstructionMetrics,
}

/// Denoises `images` corrupted at each of `sigmas` in one step of `model` (the run's averaged
/// weights); the corruption of each level is drawn from `seed`.
pub fn denoise_at_levels(
    model: &TimeUnet,
    config: &DiffusionConfig,
    images: &ImageSet,
    sigmas: &[f64],
    seed: u64,
    device: &Device,
) -> Result<Vec<LevelDenoising>> {
    let schedule = NoiseSchedule::new(config.schedule, config.train_steps)?;
    let (h, w) = (images.height, images.width);
    if (h, w) != (config.height, config.width) {
        return Err(Error::Shape(format!(
            "the images are {h}x{w} but the run learned {}x{} images",
            config.height, config.width
        )));
    }
    let shape = SampleShape::new(1, h, w);
    let p = h * w;
    let mut rows = Vec::with_capacity(sigmas.len());
    for (k, &sigma) in sigmas.iter().enumerate() {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::Config(format!(
                "noise levels must be positive, got {sigma}"
            )));
        }
        let noise = format!("gaussian:sigma={sigma}");
        let spec = NoiseSpec::parse(&noise)?;
        let t = match config.single_level {
            Some(level) => level,
            None => schedule.nearest_timestep(2.0 * sigma),
        };
        let scale = schedule.alpha_bar(t).sqrt() as f32;
        let mut rng = seed::rng(seed, Purpose::EvalNoise, k as u64);
        let (mut denoised, mut noisy) = (MetricsAccumulator::new(), MetricsAccumulator::new());
        for start in (0..images.len()).step_by(BATCH) {
            let len = BATCH.min(images.len() - start);
            let clean = &images.images[start * p..(start + len) * p];
            let corrupted =
                corrupt_batch(spec.get(), clean, shape, &mut rng, NormalDraws::HELD_OUT)?;
            let x_t: Vec<f32> = corrupted
                .noisy
                .iter()
                .map(|&v| scale * (2.0 * v - 1.0))
                .collect();
            let input =
                Tensor::<4>::from_data(TensorData::new(x_t.clone(), [len, 1, h, w]), device);
            let out = model
                .forward(input, &vec![t; len])
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Shape(format!("model output: {e:?}")))?;
            let mut restored = Vec::with_capacity(len * p);
            for i in 0..len {
                let at = i * p..(i + 1) * p;
                let (x0, _) = schedule.estimates(config.prediction, &out[at.clone()], &x_t[at], t);
                restored.extend(x0.iter().map(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0));
            }
            denoised.add_batch(clean, &restored, len, h, w)?;
            noisy.add_batch(clean, &corrupted.noisy, len, h, w)?;
        }
        rows.push(LevelDenoising {
            noise,
            sigma,
            timestep: t,
            denoised: denoised.finish(),
            noisy: noisy.finish(),
        });
    }
    Ok(rows)
}

/// The quality of a run's samples, on the features of dae's Fashion-MNIST classifier
/// (docs/quality.md): against the held-out images, and the memorisation check against the
/// training images.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SampleQuality {
    /// How the samples were drawn (`ddim, 50 steps`).
    pub sampler: String,
    /// Fréchet distance, KID, precision / recall, class histograms (a: held-out, b: samples).
    pub scores: QualityScores,
    /// Share of samples nearer a training image than the 1st percentile of the held-out
    /// images' distances to the training set.
    pub memorised_share: f64,
}

/// Draws `options.count` samples from `model` and scores them against `data`'s held-out images
/// (the memorisation check against its training images).
pub fn sample_quality(
    model: &TimeUnet,
    config: &DiffusionConfig,
    options: &SampleOptions,
    data: &Splits,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SampleQuality> {
    let extractor = FeatureExtractor::embedded()?;
    let shape = (config.height, config.width);
    let drawn = sample(model, config, options, shape, device, progress)?;
    // Each set's features once: the scores and the memorisation check share them.
    let held_out = extractor.features_and_classes(&data.test.images, data.test.len())?;
    let samples = extractor.features_and_classes(&drawn.images, options.count)?;
    let train = extractor.features(&data.train.images, data.train.len())?;
    let dim = extractor.dim();
    let scores = compare_features((&held_out.0, &held_out.1), (&samples.0, &samples.1), dim)?;
    let memorised = memorised_share_of_features(&samples.0, &train, &held_out.0, dim)?;
    Ok(SampleQuality {
        sampler: format!("{}, {} steps", options.sampler, drawn.steps),
        scores,
        memorised_share: memorised,
    })
}

/// What `dae eval --json` prints for a diffusion run: one object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiffusionEval {
    /// One-step denoising per noise level.
    pub denoising: Vec<LevelDenoising>,
    /// The samples' quality, when samples were drawn.
    pub samples: Option<SampleQuality>,
}
