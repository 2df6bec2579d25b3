//! The configuration of a training run, stored verbatim as the run directory's `config.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::adamw::AdamWSettings;
use super::loss::Loss;
use crate::model::ModelConfig;
use crate::{Error, Result};

/// Everything that determines a training run: same config and seed, same numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The model to build.
    pub model: ModelConfig,
    /// The training corruption q(x̃|x), as a `--noise` spec string.
    pub noise: String,
    /// The reconstruction loss.
    #[serde(default)]
    pub loss: Loss,
    /// Compute the loss on the corrupted entries only (masked image modeling with `patch:` or
    /// `mask:` noise) instead of on every entry.
    #[serde(default)]
    pub masked_loss: bool,
    /// Number of passes over the training set.
    pub epochs: usize,
    /// Images per optimizer step.
    pub batch_size: usize,
    /// AdamW learning rate (the peak, with a schedule).
    pub lr: f64,
    /// How the learning rate changes over the run (absent in older runs: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// AdamW's other settings (stored beside `lr`; PyTorch's defaults).
    #[serde(flatten)]
    pub adamw: AdamWSettings,
    /// The seed every random draw (init, shuffling, corruption, dropout) flows from.
    pub seed: u64,
    /// Use only the first N training images.
    pub train_limit: Option<usize>,
    /// Use only the first N held-out images for the per-epoch validation.
    pub val_limit: Option<usize>,
    /// The data directory, or `None` for the embedded Fashion-MNIST split.
    pub data: Option<PathBuf>,
    /// `cpu`, `cuda` or `vulkan`.
    pub device: String,
}

impl TrainConfig {
    /// The document's settings for `model`: AdamW with PyTorch's defaults, MSE, batch 64 with
    /// Gaussian σ = 0.3 for the conv model (and the other convolutional models: unet, dncnn) and
    /// batch 128 with σ = 0.2 for the MLP.
    pub fn new(model: ModelConfig) -> Self {
        let conv = model.kind != crate::model::ModelKind::Mlp;
        Self {
            model,
            noise: if conv {
                "gaussian:sigma=0.3"
            } else {
                "gaussian:sigma=0.2"
            }
            .to_string(),
            loss: Loss::Mse,
            masked_loss: false,
            epochs: 10,
            batch_size: if conv { 64 } else { 128 },
            lr: 1e-3,
            lr_schedule: LrSchedule::Constant,
            adamw: AdamWSettings::default(),
            seed: 0,
            train_limit: None,
            val_limit: None,
            data: None,
            device: "cpu".to_string(),
        }
    }

    /// Validates every value before any work is done.
    pub fn check(&self) -> Result<()> {
        self.model.check()?;
        crate::corrupt::parse(&self.noise)?;
        let bad = |m: String| Err(Error::Config(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        self.adamw.check(self.lr)?;
        if self.masked_loss && !self.loss.is_elementwise() {
            return bad(format!(
                "--masked-loss needs a per-entry loss (mse, l1 or their mixtures), not `{}`",
                self.loss
            ));
        }
        if self.train_limit == Some(0) || self.val_limit == Some(0) {
            return bad("--train-limit / --val-limit must be at least 1".into());
        }
        Ok(())
    }

    /// The AdamW optimizer this config describes.
    pub fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        self.adamw.optimizer()
    }
}

/// The learning rate over a run of `total` optimizer steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate at every step (the document's setting).
    #[default]
    Constant,
    /// Cosine decay from the rate to 0 over the whole run (Loshchilov & Hutter's SGDR without
    /// restarts): small steps at the end settle the weights, usually worth a few tenths of a dB.
    Cosine,
}

impl LrSchedule {
    /// The rate at optimizer step `step` (0-based) of `total`, for peak rate `lr`.
    pub fn rate(self, lr: f64, step: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let progress = step as f64 / total.max(1) as f64;
                0.5 * lr * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
            }
        }
    }

    /// The rate at batch `batch` (0-based) of epoch `epoch` (1-based) in a run of `epochs`
    /// epochs of `batches` steps each. The step index comes from (epoch, batch), so a resumed
    /// run continues the schedule where it stopped.
    pub fn rate_at(
        self,
        lr: f64,
        epoch: usize,
        batch: usize,
        batches: usize,
        epochs: usize,
    ) -> f64 {
        self.rate(lr, (epoch - 1) * batches + batch, epochs * batches)
    }
}

impl std::str::FromStr for LrSchedule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "constant" => Ok(LrSchedule::Constant),
            "cosine" => Ok(LrSchedule::Cosine),
            other => Err(Error::Config(format!(
                "unknown learning-rate schedule `{other}` (expected constant or cosine)"
            ))),
        }
    }
}

impl std::fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Cosine => "cosine",
        })
    }
}

/// What a run learns; `config.json` says it in its `task` field (absent: an image run, as every
/// run written before text runs existed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Image denoising ([`TrainConfig`]).
    #[default]
    Image,
    /// Masked language modeling on text ([`super::mlm::MlmConfig`]).
    Mlm,
}

/// The task of the run directory `root`, from its `config.json`; errors if that is missing or
/// not JSON.
pub fn read_task(root: &Path) -> Result<Task> {
    #[derive(Deserialize)]
    struct TaskOnly {
        #[serde(default)]
        task: Task,
    }
    let path = root.join("config.json");
    let text = std::fs::read(&path).map_err(|_| Error::Checkpoint {
        path: root.to_path_buf(),
        reason: "not a dae run directory (no config.json)".into(),
    })?;
    let t: TaskOnly = serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        reason: format!("not a dae run config: {e}"),
    })?;
    Ok(t.task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_runs_from_the_peak_to_zero() {
        let c = LrSchedule::Cosine;
        assert_eq!(c.rate(0.1, 0, 100), 0.1);
        assert!((c.rate(0.1, 50, 100) - 0.05).abs() < 1e-15);
        assert!(c.rate(0.1, 100, 100).abs() < 1e-15);
        // Symmetric about the midpoint: rate(t) + rate(T - t) = peak.
        assert!((c.rate(0.1, 20, 100) + c.rate(0.1, 80, 100) - 0.1).abs() < 1e-15);
        assert_eq!(LrSchedule::Constant.rate(0.1, 99, 100), 0.1);
        // Epoch 2, batch 5 of 10 per epoch, 10 epochs: step 15 of 100.
        assert_eq!(c.rate_at(0.1, 2, 5, 10, 10), c.rate(0.1, 15, 100));
        assert_eq!(c.rate_at(0.1, 1, 0, 10, 10), 0.1);
        assert_eq!("cosine".parse::<LrSchedule>().unwrap(), c);
        assert!("linear".parse::<LrSchedule>().is_err());
    }
}
