//! The training loop: corrupt, reconstruct, compare with the clean input, step AdamW; after each
//! epoch, evaluate on held-out data, append to `metrics.jsonl` and checkpoint.

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::batches::EpochBatches;
use super::checkpoint::{write_atomic, RunDir};
use super::config::TrainConfig;
use crate::corrupt::{self, corrupt_batch, SampleShape};
use crate::data::{ImageSet, Splits};
use crate::eval::heldout::evaluate;
use crate::eval::Predictor;
use crate::model::Denoiser;
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// How many held-out images the grid shows.
const GRID_IMAGES: usize = 8;
/// Batch size for held-out evaluation (no gradients, so larger batches are cheap).
const EVAL_BATCH: usize = 500;

/// One line of `metrics.jsonl`.
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

/// What the loop reports while it runs, for progress bars and logs.
#[derive(Debug)]
pub enum TrainEvent<'a> {
    /// An epoch begins.
    EpochStart {
        /// Epoch number, 1-based.
        epoch: usize,
        /// Total epochs of the run.
        epochs: usize,
        /// Optimizer steps in this epoch.
        batches: usize,
    },
    /// One optimizer step finished.
    Batch {
        /// The step's loss.
        loss: f64,
    },
    /// An epoch finished, was evaluated and checkpointed.
    EpochEnd(&'a EpochMetrics),
    /// An epoch of masked language modeling finished, was evaluated and checkpointed.
    MlmEpochEnd(&'a super::mlm::MlmEpochMetrics),
}

/// Where a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new run in an empty (or new) directory.
    Fresh,
    /// Continue from the run directory's last checkpoint.
    Resume,
}

/// Trains per `config` on `data`, writing everything into `run`. Returns the metrics of every
/// epoch run now. A non-finite loss stops the run with [`Error::Diverged`]; the checkpoint of the
/// last good epoch stays in place.
pub fn train(
    config: &TrainConfig,
    run: &RunDir,
    start: Start,
    data: &Splits,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<EpochMetrics>> {
    config.check()?;
    let corruption = corrupt::parse(&config.noise)?;
    let train_set = match config.train_limit {
        Some(n) => data.train.take(n),
        None => data.train.clone(),
    };
    let val_set = match config.val_limit {
        Some(n) => data.test.take(n),
        None => data.test.clone(),
    };
    if train_set.is_empty() || val_set.is_empty() {
        return Err(Error::Config(
            "training and held-out sets must not be empty".into(),
        ));
    }
    config.model.accepts(train_set.height, train_set.width)?;
    let base = crate::model::device(&config.device)?;
    let device = base.clone().autodiff();

    let (mut model, mut optim, done) = match start {
        Start::Fresh => {
            if run.checkpoint_dir().join("state.json").exists() {
                return Err(Error::Config(format!(
                    "{} already holds a run; use --resume to continue it or choose another --out",
                    run.root.display()
                )));
            }
            run.create()?;
            let json =
                serde_json::to_vec_pretty(config).map_err(|e| Error::Config(e.to_string()))?;
            write_atomic(&run.config(), &json)?;
            write_atomic(&run.metrics(), b"")?;
            device.seed(seed::derive(config.seed, Purpose::Init, 0));
            (config.model.init(&device), config.optimizer(), 0)
        }
        Start::Resume => run.load_checkpoint(&config.model, config.optimizer(), &device)?,
    };
    // Recorded on resume too: a resumed run may extend the epochs or lower the learning rate.
    let json = serde_json::to_vec_pretty(config).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(&run.config(), &json)?;
    let mut history = read_metrics(run, done)?;

    let shape = SampleShape::new(1, train_set.height, train_set.width);
    let batches = train_set.len().div_ceil(config.batch_size);
    let mut new_metrics = Vec::new();
    for epoch in done + 1..=config.epochs {
        observer(TrainEvent::EpochStart {
            epoch,
            epochs: config.epochs,
            batches,
        });
        let (order, mut noise_rng) = epoch_draws(config.seed, epoch, train_set.len(), &device);
        let timer = Instant::now();
        let epoch_batches = EpochBatches {
            set: &train_set,
            order: &order,
            batch_size: config.batch_size,
            corruption: corruption.as_ref(),
            shape,
        };
        let ahead = rayon::current_num_threads() > 1;
        let start = (model, 0.0);
        let (stepped, loss_sum) = epoch_batches.fold(
            &mut noise_rng,
            ahead,
            start,
            |(model, loss_sum), b, batch| {
                let dims = [batch.len, 1, shape.height, shape.width];
                let corrupted = batch.corrupted;
                let x = Tensor::<4>::from_data(TensorData::new(batch.clean, dims), &device);
                let x_noisy =
                    Tensor::<4>::from_data(TensorData::new(corrupted.noisy, dims), &device);
                let (x_hat, _z) = model.forward(x_noisy);
                let loss = if config.masked_loss {
                    let masked = corrupted.corrupted.iter().filter(|&&c| c).count();
                    let mask: Vec<f32> = corrupted
                        .corrupted
                        .iter()
                        .map(|&c| f32::from(u8::from(c)))
                        .collect();
                    let mask = Tensor::<4>::from_data(TensorData::new(mask, dims), &device);
                    config.loss.compute_masked(x_hat, x, mask, masked)
                } else {
                    config.loss.compute(x_hat, x)
                };
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                let value = loss.into_scalar::<f32>() as f64;
                if !value.is_finite() {
                    let kept = match epoch - 1 {
                        0 => "no epoch had completed, so no checkpoint was written".to_string(),
                        e => format!(
                            "the checkpoint of epoch {e} in {} is kept",
                            run.checkpoint_dir().display()
                        ),
                    };
                    return Err(Error::Diverged(format!(
                        "loss became {value} in epoch {epoch}; {kept}. Try a lower --lr."
                    )));
                }
                let lr = config
                    .lr_schedule
                    .rate_at(config.lr, epoch, b, batches, config.epochs);
                observer(TrainEvent::Batch { loss: value });
                Ok((optim.step(lr, model, grads), loss_sum + value))
            },
        )?;
        model = stepped;
        let train_seconds = timer.elapsed().as_secs_f64();

        let valid = model.valid();
        let held = evaluate(
            &Predictor::f32(&valid, &base),
            &val_set,
            corruption.as_ref(),
            config.seed,
            EVAL_BATCH,
        )?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / batches as f64,
            train_seconds,
            images_per_second: train_set.len() as f64 / train_seconds.max(1e-9),
            val_mse: held.denoised.mse,
            val_psnr: held.denoised.psnr,
            val_ssim: held.denoised.ssim,
            noisy_mse: held.noisy.mse,
            noisy_psnr: held.noisy.psnr,
            noisy_ssim: held.noisy.ssim,
        };
        run.save_checkpoint(&model, &optim, epoch)?;
        history.push(metrics.clone());
        write_metrics(run, &history)?;
        observer(TrainEvent::EpochEnd(&metrics));
        new_metrics.push(metrics);
    }

    let valid = model.valid();
    write_atomic(&run.model(), &super::checkpoint::model_bytes(&valid)?)?;
    let torch = crate::model::torch::export_torch(&valid);
    // Only the document's models have PyTorch names; the others get no model.safetensors.
    if !torch.is_empty() {
        crate::model::torch::write_tensors(&run.torch_model(), &torch)?;
    }
    write_grid(run, &valid, &val_set, config, &base)?;
    Ok(new_metrics)
}

/// Seeds the backend (dropout) for `epoch` and returns the epoch's sample order and corruption
/// generator: every per-epoch draw of every task's loop, derived from the run seed alone, so a
/// resumed run draws what an uninterrupted one would.
pub(crate) fn epoch_draws(
    seed: u64,
    epoch: usize,
    n: usize,
    device: &Device,
) -> (Vec<usize>, crate::corrupt::Rng) {
    device.seed(seed::derive(seed, Purpose::Backend, epoch as u64));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut seed::rng(seed, Purpose::Shuffle, epoch as u64));
    (order, seed::rng(seed, Purpose::TrainNoise, epoch as u64))
}

/// Reads `metrics.jsonl`, keeping the epochs up to `done` (a run that died after its metrics
/// line but before its checkpoint will redo that epoch).
pub fn read_metrics(run: &RunDir, done: usize) -> Result<Vec<EpochMetrics>> {
    read_epoch_lines(run, done, |m: &EpochMetrics| m.epoch)
}

/// Reads the JSON lines of a run's `metrics.jsonl` as `T`, keeping those whose `epoch` is at
/// most `done`; shared by every task's training loop.
pub fn read_epoch_lines<T: serde::de::DeserializeOwned>(
    run: &RunDir,
    done: usize,
    epoch: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let path = run.metrics();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let m: T = serde_json::from_str(line)
            .map_err(|e| Error::format(&path, format!("line {}: {e}", i + 1)))?;
        if epoch(&m) <= done {
            out.push(m);
        }
    }
    Ok(out)
}

fn write_metrics(run: &RunDir, history: &[EpochMetrics]) -> Result<()> {
    let mut text = String::new();
    for m in history {
        text.push_str(&serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?);
        text.push('\n');
    }
    write_atomic(&run.metrics(), text.as_bytes())
}

/// Writes `grid.png`: rows clean, noisy, denoised for the first held-out images.
fn write_grid(
    run: &RunDir,
    model: &Denoiser,
    set: &ImageSet,
    config: &TrainConfig,
    device: &Device,
) -> Result<()> {
    let k = GRID_IMAGES.min(set.len());
    let shape = SampleShape::new(1, set.height, set.width);
    let clean = &set.images[..k * shape.len()];
    let corruption = corrupt::parse(&config.noise)?;
    let mut rng = seed::rng(config.seed, Purpose::EvalNoise, 0);
    let noisy = corrupt_batch(corruption.as_ref(), clean, shape, &mut rng)?.noisy;
    let denoised = Predictor::f32(model, device).reconstruct(&noisy, shape);
    crate::report::grid::write_grid_png(
        &run.grid(),
        &[clean, &noisy, &denoised],
        k,
        set.height,
        set.width,
        3,
    )
}
