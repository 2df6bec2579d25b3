//! Diffusion as a [`Task`] of the generic loop: draw a level t and noise ε per image, form
//! x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε, predict ε (or x0, or v) with the level-conditioned U-Net, and
//! keep an exponential moving average of the weights for sampling. After each epoch, the held-out
//! loss per band of levels shows which noise levels are hard.

use std::ops::Range;

use burn::prelude::*;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::config::DiffusionConfig;
use super::model::TimeUnet;
use super::output::write_figures;
use super::sample::{sample, SampleOptions, SamplerKind};
use crate::diffusion::NoiseSchedule;
use crate::limits::{product, MAX_ACTIVATIONS};
use crate::run::metrics::EpochRecord;
use crate::run::RunDir;
use crate::seed::{self, Purpose, Rng};
use crate::tasks::image::data::Splits;
use crate::train::{
    fit, resume_config, Ema, EpochTotals, ResumeOverrides, Start, Task, TaskConfig, TrainEvent,
};
use crate::{Error, Result};

/// How many bands of levels the per-epoch held-out loss is split into.
pub const LEVEL_BANDS: usize = 10;
/// Held-out images per band when `--val-limit` does not say.
const DEFAULT_VAL_IMAGES: usize = 256;
/// Images per evaluation forward pass.
const EVAL_BATCH: usize = 256;

/// The trained network and the moving average of its weights (what sampling uses); both are
/// saved in every checkpoint, so a resumed run continues the average exactly.
#[derive(Module, Debug)]
pub struct DiffusionModel {
    /// The network the optimizer trains.
    pub net: TimeUnet,
    /// The exponential moving average of `net`'s weights.
    pub ema: TimeUnet,
}

/// One line of a diffusion run's `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DiffusionMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss (MSE of the prediction) over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub train_seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
    /// Held-out loss of the averaged weights, the mean over the bands.
    pub val_loss: f64,
    /// Held-out loss per band of levels, lowest noise first: band `b` covers the timesteps
    /// `b·T/10 .. (b+1)·T/10`.
    pub band_losses: Vec<f64>,
}

impl EpochRecord for DiffusionMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_loss)
    }
}

impl std::fmt::Display for DiffusionMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.5}  {:.1} s ({:.0} img/s)  val loss {:.5}  by level (low → high noise):",
            self.epoch, self.train_loss, self.train_seconds, self.images_per_second, self.val_loss
        )?;
        for loss in &self.band_losses {
            write!(f, " {loss:.4}")?;
        }
        Ok(())
    }
}

/// One training batch: x_t, the prediction target and the level of each image.
pub struct DiffusionBatch {
    len: usize,
    noisy: Vec<f32>,
    target: Vec<f32>,
    steps: Vec<usize>,
}

/// A diffusion run ready to train: its checked config, schedule and data in [−1, 1].
pub struct DiffusionTask {
    config: DiffusionConfig,
    schedule: NoiseSchedule,
    /// Training images scaled to [−1, 1].
    train: Vec<f32>,
    /// Held-out images scaled to [−1, 1] (as many as the per-band loss uses).
    val: Vec<f32>,
    height: usize,
    width: usize,
}

/// Pixels in [0, 1] to the model's [−1, 1].
pub fn to_model_range(pixels: &[f32]) -> Vec<f32> {
    pixels.iter().map(|&p| 2.0 * p - 1.0).collect()
}

/// Errors unless images of `h`x`w` fit the U-Net of `config` (sides multiples of 2^depth) and a
/// step of its batch fits `DAE_MAX_ACTIVATIONS`.
pub fn check_image_size(config: &DiffusionConfig, h: usize, w: usize) -> Result<()> {
    let multiple = 1usize << config.model.depth;
    if !h.is_multiple_of(multiple) || !w.is_multiple_of(multiple) || h == 0 || w == 0 {
        return Err(Error::Shape(format!(
            "the U-Net of depth {} needs image sides that are multiples of {multiple}, got {h}x{w}",
            config.model.depth
        )));
    }
    // Each level keeps about a dozen feature maps of its width for the backward pass.
    let values = product(&[config.run.batch_size, h, w, config.model.width, 12]);
    MAX_ACTIVATIONS.check(values, || {
        format!(
            "a training step of {} images of {h}x{w} at width {}",
            config.run.batch_size, config.model.width
        )
    })
}

impl DiffusionTask {
    /// Checks `config` against `data` and cuts the sets to its limits.
    pub fn new(mut config: DiffusionConfig, data: &Splits) -> Result<Self> {
        config.check()?;
        let train_set = match config.run.train_limit {
            Some(n) => data.train.take(n),
            None => data.train.clone(),
        };
        let val_count = config.run.val_limit.unwrap_or(DEFAULT_VAL_IMAGES);
        let val_set = data.test.take(val_count.min(data.test.len()));
        if train_set.is_empty() || val_set.is_empty() {
            return Err(Error::Config(
                "training and held-out sets must not be empty".into(),
            ));
        }
        check_image_size(&config, train_set.height, train_set.width)?;
        (config.height, config.width) = (train_set.height, train_set.width);
        Ok(DiffusionTask {
            schedule: NoiseSchedule::new(config.schedule, config.train_steps)?,
            train: to_model_range(&train_set.images),
            val: to_model_range(&val_set.images),
            height: train_set.height,
            width: train_set.width,
            config,
        })
    }

    fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// x_t and the target for the images `clean` (each `pixels()` values) at `steps`, with the
    /// noise drawn from `rng`.
    fn noised(&self, clean: &[f32], steps: &[usize], rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
        let p = self.pixels();
        let mut noisy = vec![0f32; clean.len()];
        let mut target = vec![0f32; clean.len()];
        let mut eps = vec![0f32; p];
        for (i, &t) in steps.iter().enumerate() {
            for e in eps.iter_mut() {
                *e = rand::Rng::sample(rng, StandardNormal);
            }
            let x0 = &clean[i * p..(i + 1) * p];
            self.schedule
                .add_noise(x0, &eps, t, &mut noisy[i * p..(i + 1) * p]);
            self.schedule.target(
                self.config.prediction,
                x0,
                &eps,
                t,
                &mut target[i * p..(i + 1) * p],
            );
        }
        (noisy, target)
    }

    fn tensor(&self, values: Vec<f32>, n: usize, device: &Device) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(values, [n, 1, self.height, self.width]),
            device,
        )
    }

    /// The mean squared error of `model` on the held-out images, all at levels drawn from
    /// `band` of the timesteps (the same levels and noise every epoch).
    fn band_loss(&self, model: &TimeUnet, band: usize, device: &Device) -> f64 {
        let p = self.pixels();
        let n = self.val.len() / p;
        let t_total = self.config.train_steps;
        let (lo, hi) = (
            band * t_total / LEVEL_BANDS,
            (band + 1) * t_total / LEVEL_BANDS,
        );
        let span = (hi - lo).max(1);
        let mut rng = seed::rng(self.config.run.seed, Purpose::EvalNoise, band as u64);
        let (mut sum, mut count) = (0f64, 0usize);
        for start in (0..n).step_by(EVAL_BATCH) {
            let len = EVAL_BATCH.min(n - start);
            // Levels spread evenly over the band, the same for every epoch.
            let steps: Vec<usize> = (start..start + len)
                .map(|j| (lo + j * span / n).min(t_total - 1))
                .collect();
            let clean = &self.val[start * p..(start + len) * p];
            let (noisy, target) = self.noised(clean, &steps, &mut rng);
            let out = model.forward(self.tensor(noisy, len, device), &steps);
            let target = self.tensor(target, len, device);
            let sq: f32 = (out - target).powi_scalar(2).sum().into_scalar();
            sum += sq as f64;
            count += len * p;
        }
        sum / count as f64
    }
}

impl Task for DiffusionTask {
    type Config = DiffusionConfig;
    type Model = DiffusionModel;
    type Batch = DiffusionBatch;
    type Record = DiffusionMetrics;

    fn config(&self) -> &DiffusionConfig {
        &self.config
    }

    fn model_name(&self) -> String {
        "diffusion U-Net".into()
    }

    fn train_len(&self) -> usize {
        self.train.len() / self.pixels()
    }

    fn init_model(&self, device: &Device) -> DiffusionModel {
        let net = self.config.model.init(1, device);
        // The average starts as a copy of the initial weights (decay 0 copies) and never
        // receives a gradient. A `clone` would share the parameters' lazy initialization with
        // `net`, and marking it without gradient would mark `net` too.
        let fresh = self.config.model.init(1, device).no_grad();
        let ema = Ema { decay: 0.0 }.update(fresh, &net, 1);
        DiffusionModel { net, ema }
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<DiffusionBatch> {
        let p = self.pixels();
        let mut clean = Vec::with_capacity(indices.len() * p);
        for &i in indices {
            clean.extend_from_slice(&self.train[i * p..(i + 1) * p]);
        }
        let t_total = self.config.train_steps;
        let steps: Vec<usize> = indices
            .iter()
            .map(|_| match self.config.single_level {
                Some(t) => t,
                None => rand::Rng::gen_range(rng, 0..t_total),
            })
            .collect();
        let (noisy, target) = self.noised(&clean, &steps, rng);
        Ok(DiffusionBatch {
            len: indices.len(),
            noisy,
            target,
            steps,
        })
    }

    fn shard(&self, batch: DiffusionBatch, range: Range<usize>) -> Option<DiffusionBatch> {
        let p = self.pixels();
        let samples = range.start * p..range.end * p;
        Some(DiffusionBatch {
            len: range.len(),
            noisy: batch.noisy.get(samples.clone())?.to_vec(),
            target: batch.target.get(samples)?.to_vec(),
            steps: batch.steps.get(range)?.to_vec(),
        })
    }

    fn loss(&self, model: &DiffusionModel, batch: DiffusionBatch, device: &Device) -> Tensor<1> {
        let out = model
            .net
            .forward(self.tensor(batch.noisy, batch.len, device), &batch.steps);
        let target = self.tensor(batch.target, batch.len, device);
        (out - target).powi_scalar(2).mean()
    }

    fn after_step(&self, model: DiffusionModel, step: u64) -> DiffusionModel {
        let ema = self.config.ema().update(model.ema, &model.net, step);
        DiffusionModel {
            net: model.net,
            ema,
        }
    }

    fn record(
        &self,
        model: &DiffusionModel,
        device: &Device,
        totals: EpochTotals,
    ) -> Result<DiffusionMetrics> {
        let band_losses: Vec<f64> = (0..LEVEL_BANDS)
            .map(|b| self.band_loss(&model.ema, b, device))
            .collect();
        let n = self.train_len();
        Ok(DiffusionMetrics {
            epoch: totals.epoch,
            train_loss: totals.train_loss,
            train_seconds: totals.train_seconds,
            images_per_second: n as f64 / totals.train_seconds.max(1e-9),
            val_loss: band_losses.iter().sum::<f64>() / LEVEL_BANDS as f64,
            band_losses,
        })
    }

    /// `model.safetensors`: the averaged weights (what sampling uses) under the PyTorch twin's
    /// names; `grid.png`: 8x8 samples of the averaged weights (DDIM η = 1, 50 steps, the run's
    /// seed; the single-level chain for a single-level run), and `trajectory.png`: the paths
    /// x_T → x_0 of the first eight.
    fn finish(&self, run: &RunDir, model: &DiffusionModel, device: &Device) -> Result<()> {
        crate::torch::write_tensors(&run.torch_model(), &super::torch::export_torch(&model.ema))?;
        let options = SampleOptions {
            count: 64,
            sampler: match self.config.single_level {
                Some(_) => SamplerKind::Chain,
                // Stochastic DDIM: at 50 steps it measured 2.6x better than η = 0 on a briefly
                // trained network (BENCHMARKS.md "Diffusion"), whose deterministic paths drift.
                None => SamplerKind::Ddim { eta: 1.0 },
            },
            steps: Some(50.min(self.config.train_steps)),
            seed: self.config.run.seed,
            trajectory: 8,
        };
        let shape = (self.height, self.width);
        let samples = sample(
            &model.ema,
            &self.config,
            &options,
            shape,
            device,
            &mut |_, _| {},
        )?;
        write_figures(&run.grid(), &run.trajectory(), &samples, shape)
    }
}

/// Trains a diffusion run per `config` on `data` into `run` (see [`fit`]).
pub fn train(
    config: &DiffusionConfig,
    run: &RunDir,
    start: Start,
    data: &Splits,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<DiffusionMetrics>> {
    fit(
        &DiffusionTask::new(config.clone(), data)?,
        run,
        start,
        observer,
    )
}

/// A diffusion run's data: `--data` or the embedded Fashion-MNIST split.
pub fn load_data(config: &DiffusionConfig) -> Result<Splits> {
    crate::tasks::image::data::load(config.run.data.as_deref())
}

/// The stored config of the diffusion run at `root` with what `--resume` may change applied, and
/// its data.
pub fn prepare_resume(
    root: &std::path::Path,
    overrides: &ResumeOverrides,
) -> Result<(DiffusionConfig, Splits)> {
    let config: DiffusionConfig = resume_config(root, overrides)?;
    let data = load_data(&config)?;
    Ok((config, data))
}
