//! Image denoising as a [`Task`] of the generic loop: corrupt images, reconstruct them, compare
//! with the clean ones; after each epoch, held-out MSE / PSNR / SSIM of the denoised and of the
//! noisy images.

use std::ops::Range;
use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::ImageConfig;
use super::data::{ImageSet, Splits};
use super::heldout::evaluate;
use super::model::Denoiser;
use super::Predictor;
use crate::corrupt::{corrupt_batch, CorruptedBatch, NormalDraws, Rng, SampleShape};
use crate::run::checkpoint::load_module;
use crate::run::metrics::EpochRecord;
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::train::{
    fit, resume_config, EpochTotals, ResumeOverrides, Start, Task, TaskConfig, TrainEvent,
};
use crate::{Error, Result};

/// How many held-out images the grid shows.
const GRID_IMAGES: usize = 8;
/// Batch size for held-out evaluation (no gradients, so larger batches are cheap).
const EVAL_BATCH: usize = 500;

/// One line of an image run's `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded).
    pub train_seconds: f64,
    /// Training images per second.
    pub images_per_second: f64,
    /// Held-out MSE of the denoised output.
    pub val_mse: f64,
    /// Held-out PSNR (dB) of the denoised output, from the data-set MSE.
    pub val_psnr: f64,
    /// Held-out mean SSIM of the denoised output.
    pub val_ssim: f64,
    /// Held-out MSE of the noisy input.
    pub noisy_mse: f64,
    /// Held-out PSNR (dB) of the noisy input.
    pub noisy_psnr: f64,
    /// Held-out mean SSIM of the noisy input.
    pub noisy_ssim: f64,
}

impl EpochRecord for EpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_mse)
    }
}

impl std::fmt::Display for EpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.5}  {:.1} s ({:.0} img/s)  val MSE {:.5}  PSNR {:.2} dB \
             (noisy {:.2}, gain {:+.2})  SSIM {:.3} (noisy {:.3})",
            self.epoch,
            self.train_loss,
            self.train_seconds,
            self.images_per_second,
            self.val_mse,
            self.val_psnr,
            self.noisy_psnr,
            self.val_psnr - self.noisy_psnr,
            self.val_ssim,
            self.noisy_ssim
        )
    }
}

/// One training batch: the clean images, sample after sample, and their corruption.
pub struct ImageBatch {
    len: usize,
    clean: Vec<f32>,
    corrupted: CorruptedBatch,
}

/// An image run ready to train: its checked config and its data, cut to the limits.
pub struct ImageTask {
    config: ImageConfig,
    train_set: ImageSet,
    val_set: ImageSet,
    shape: SampleShape,
}

impl ImageTask {
    /// Checks `config` against `data` and cuts the sets to its limits.
    pub fn new(config: ImageConfig, data: &Splits) -> Result<Self> {
        config.check()?;
        let limit =
            |set: &ImageSet, n: Option<usize>| n.map_or_else(|| set.clone(), |n| set.take(n));
        let train_set = limit(&data.train, config.run.train_limit);
        let val_set = limit(&data.test, config.run.val_limit);
        if train_set.is_empty() || val_set.is_empty() {
            return Err(Error::Config(
                "training and held-out sets must not be empty".into(),
            ));
        }
        let m = &config.model;
        if (train_set.height, train_set.width) != (m.height, m.width) {
            return Err(Error::Shape(format!(
                "the data are {}x{} images but the run's model was built for {}x{}",
                train_set.height, train_set.width, m.height, m.width
            )));
        }
        m.accepts(train_set.height, train_set.width)?;
        let shape = SampleShape::new(1, train_set.height, train_set.width);
        Ok(ImageTask {
            config,
            train_set,
            val_set,
            shape,
        })
    }
}

impl Task for ImageTask {
    type Config = ImageConfig;
    type Model = Denoiser;
    type Batch = ImageBatch;
    type Record = EpochMetrics;

    fn config(&self) -> &ImageConfig {
        &self.config
    }
    fn model_name(&self) -> String {
        self.config.model.kind().to_string()
    }
    fn train_len(&self) -> usize {
        self.train_set.len()
    }
    fn init_model(&self, device: &Device) -> Denoiser {
        self.config.model.init(device)
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<ImageBatch> {
        let mut clean = Vec::with_capacity(indices.len() * self.shape.len());
        for &i in indices {
            clean.extend_from_slice(self.train_set.image(i));
        }
        let noise = self.config.noise.get();
        let corrupted = corrupt_batch(noise, &clean, self.shape, rng, self.config.normal_draws)?;
        Ok(ImageBatch {
            len: indices.len(),
            clean,
            corrupted,
        })
    }

    fn shard(&self, batch: ImageBatch, range: Range<usize>) -> Option<ImageBatch> {
        let p = self.shape.len();
        let samples = range.start * p..range.end * p;
        Some(ImageBatch {
            len: range.len(),
            clean: batch.clean.get(samples.clone())?.to_vec(),
            corrupted: CorruptedBatch {
                noisy: batch.corrupted.noisy.get(samples.clone())?.to_vec(),
                corrupted: batch.corrupted.corrupted.get(samples)?.to_vec(),
            },
        })
    }

    fn loss_terms(&self, batch: &ImageBatch) -> Option<usize> {
        let masked = batch.corrupted.corrupted.iter().filter(|&&c| c).count();
        self.config.masked_loss.then_some(masked)
    }

    fn check_data_parallel(&self) -> Result<()> {
        use super::model::Architecture;
        let dropout = match &self.config.model.arch {
            Architecture::Mlp(arch) => arch.dropout,
            Architecture::Conv(arch) => arch.dropout,
            Architecture::Unet(_) | Architecture::Dncnn(_) => 0.0,
        };
        if dropout > 0.0 {
            return Err(Error::Distributed(format!(
                "--dropout {dropout} draws its masks inside the model, per process, so several \
                 processes cannot train the numbers of one; train with --dropout 0 or in one \
                 process"
            )));
        }
        Ok(())
    }

    fn loss(&self, model: &Denoiser, batch: ImageBatch, device: &Device) -> Tensor<1> {
        let dims = [batch.len, 1, self.shape.height, self.shape.width];
        let x = Tensor::<4>::from_data(TensorData::new(batch.clean, dims), device);
        let noisy = batch.corrupted.noisy;
        let x_noisy = Tensor::<4>::from_data(TensorData::new(noisy, dims), device);
        let (x_hat, _z) = model.forward(x_noisy);
        let loss = &self.config.loss;
        if !self.config.masked_loss {
            return loss.compute(x_hat, x);
        }
        let hidden = &batch.corrupted.corrupted;
        let masked = hidden.iter().filter(|&&c| c).count();
        let mask: Vec<f32> = hidden.iter().map(|&c| f32::from(u8::from(c))).collect();
        let mask = Tensor::<4>::from_data(TensorData::new(mask, dims), device);
        loss.compute_masked(x_hat, x, mask, masked)
    }

    fn record(&self, model: &Denoiser, device: &Device, t: EpochTotals) -> Result<EpochMetrics> {
        let held = evaluate(
            &Predictor::f32(model, device),
            &self.val_set,
            self.config.noise.get(),
            self.config.run.seed,
            EVAL_BATCH,
        )?;
        Ok(EpochMetrics {
            epoch: t.epoch,
            train_loss: t.train_loss,
            train_seconds: t.train_seconds,
            images_per_second: self.train_set.len() as f64 / t.train_seconds.max(1e-9),
            val_mse: held.denoised.mse,
            val_psnr: held.denoised.psnr,
            val_ssim: held.denoised.ssim,
            noisy_mse: held.noisy.mse,
            noisy_psnr: held.noisy.psnr,
            noisy_ssim: held.noisy.ssim,
        })
    }

    /// Writes `model.safetensors` (the weights under the PyTorch twin's names, docs/torch.md)
    /// and `grid.png`: rows clean, noisy, denoised for the first held-out images.
    fn finish(&self, run: &RunDir, model: &Denoiser, device: &Device) -> Result<()> {
        let torch = super::model::torch::export_torch(model);
        super::model::torch::write_tensors(&run.torch_model(), &torch)?;
        let set = &self.val_set;
        let k = GRID_IMAGES.min(set.len());
        let clean = &set.images[..k * self.shape.len()];
        let mut rng = seed::rng(self.config.run.seed, Purpose::EvalNoise, 0);
        let noise = self.config.noise.get();
        let noisy = corrupt_batch(noise, clean, self.shape, &mut rng, NormalDraws::HELD_OUT)?.noisy;
        let denoised = Predictor::f32(model, device).reconstruct(&noisy, self.shape);
        super::grid::write_grid_png(
            &run.grid(),
            &[clean, &noisy, &denoised],
            k,
            set.height,
            set.width,
            3,
        )
    }
}

/// Trains an image run per `config` on `data` into `run` (see [`fit`]); returns the metrics of
/// the epochs run by this call.
pub fn train(
    config: &ImageConfig,
    run: &RunDir,
    start: Start,
    data: &Splits,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<EpochMetrics>> {
    fit(&ImageTask::new(config.clone(), data)?, run, start, observer)
}

/// The stored config of the image run at `root` with what `--resume` may change applied, and its
/// data: what [`train`] needs to continue the run.
pub fn prepare_resume(root: &Path, overrides: &ResumeOverrides) -> Result<(ImageConfig, Splits)> {
    let config: ImageConfig = resume_config(root, overrides)?;
    let data = super::data::load(config.run.data.as_deref())?;
    Ok((config, data))
}

/// A trained image run loaded for inference: its config and its model (no autodiff).
pub struct LoadedRun {
    /// The run's exact training configuration.
    pub config: ImageConfig,
    /// The final model, or the last checkpoint's if the run has not finished.
    pub model: Denoiser,
    /// The device the model lives on.
    pub device: Device,
}

/// Loads the config and model of the image run at `root` for inference on `device` (`None`: the
/// device the run trained on). A text run is refused by name.
pub fn load_run(root: &Path, device: Option<crate::device::DeviceSpec>) -> Result<LoadedRun> {
    let run = RunDir::new(root);
    let config: ImageConfig = run.read_task_config(ImageConfig::TASK, ImageConfig::RUN_NAME)?;
    // The checks `dae train` made, again: a config.json edited since is refused here, before a
    // model is built from it.
    config.check()?;
    let device = device.unwrap_or(config.run.device).device()?;
    let model = load_module(
        &run.trained_model()?,
        config.model.init(&device),
        &config.model.kind().to_string(),
    )?;
    Ok(LoadedRun {
        config,
        model,
        device,
    })
}
