//! The settings every task's run shares: the optimizer, the schedule, the seed, the data limits
//! and the device. Each task's config flattens one [`RunSettings`] into its `config.json`, so the
//! fields sit at the top level, as they always did.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::adamw::AdamWSettings;
use crate::device::DeviceSpec;
use crate::run::RunDir;
use crate::{Error, Result};

/// A task's configuration, as its `config.json` holds it: task-specific fields and one flattened
/// [`RunSettings`].
pub trait TaskConfig: Serialize + DeserializeOwned + Clone {
    /// What a run of the task is called in errors ("image run").
    const RUN_NAME: &'static str;
    /// The `task` value its `config.json` stores (`None` for image runs, which store none).
    const TASK: Option<&'static str>;
    /// The shared settings.
    fn settings(&self) -> &RunSettings;
    /// The shared settings, to change.
    fn settings_mut(&mut self) -> &mut RunSettings;
    /// Validates every value that the types do not already guarantee; the message names it.
    fn check(&self) -> Result<()>;
}

/// The stored config of the run at `root` with what `--resume` may change applied: what the loop
/// needs, with the run's data, to continue the run.
pub fn resume_config<C: TaskConfig>(root: &Path, overrides: &ResumeOverrides) -> Result<C> {
    let mut config: C = RunDir::new(root).read_task_config(C::TASK, C::RUN_NAME)?;
    config.settings_mut().apply(overrides);
    Ok(config)
}

/// The run settings shared by every task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Number of passes over the training set.
    pub epochs: usize,
    /// Samples per optimizer step.
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
    /// Use only the first N training samples.
    pub train_limit: Option<usize>,
    /// Use only the first N held-out samples for the per-epoch validation.
    pub val_limit: Option<usize>,
    /// The data file or directory, or `None` for the task's embedded data.
    pub data: Option<PathBuf>,
    /// The compute device.
    pub device: DeviceSpec,
}

impl RunSettings {
    /// Settings with `epochs`, `batch_size` and `lr`, and the defaults for the rest: constant
    /// rate, PyTorch's AdamW, seed 0, all the data, the CPU.
    pub fn new(epochs: usize, batch_size: usize, lr: f64) -> Self {
        RunSettings {
            epochs,
            batch_size,
            lr,
            lr_schedule: LrSchedule::Constant,
            adamw: AdamWSettings::default(),
            seed: 0,
            train_limit: None,
            val_limit: None,
            data: None,
            device: DeviceSpec::Cpu,
        }
    }

    /// Validates every value; the message names the setting.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config("epochs must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        self.adamw.check(self.lr)?;
        if self.train_limit == Some(0) || self.val_limit == Some(0) {
            return Err(Error::Config(
                "--train-limit / --val-limit must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The AdamW optimizer these settings describe.
    pub fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        self.adamw.optimizer()
    }

    /// Applies what a resumed run may change: more epochs, another rate or schedule.
    pub fn apply(&mut self, overrides: &ResumeOverrides) {
        if let Some(e) = overrides.epochs {
            self.epochs = e;
        }
        if let Some(lr) = overrides.lr {
            self.lr = lr;
        }
        if let Some(s) = overrides.lr_schedule {
            self.lr_schedule = s;
        }
    }
}

impl std::fmt::Display for RunSettings {
    /// The settings a run's header line shows: `3 epochs, batch 32, lr 0.002 (constant), seed 0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} epochs, batch {}, lr {} ({}), seed {}",
            self.epochs, self.batch_size, self.lr, self.lr_schedule, self.seed
        )
    }
}

/// What `--resume` may change in a stored run's settings (`None`: keep the run's).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResumeOverrides {
    /// The new total number of epochs.
    pub epochs: Option<usize>,
    /// A new peak learning rate.
    pub lr: Option<f64>,
    /// A new schedule.
    pub lr_schedule: Option<LrSchedule>,
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

    #[test]
    fn settings_sit_flat_in_the_json_and_resume_overrides_apply() {
        let mut s = RunSettings::new(3, 32, 1e-3);
        let json = serde_json::to_value(&s).unwrap();
        for key in [
            "epochs",
            "batch_size",
            "lr",
            "weight_decay",
            "beta_1",
            "seed",
            "device",
        ] {
            assert!(json.get(key).is_some(), "{key} at the top level: {json}");
        }
        assert_eq!(json["device"], "cpu");
        s.apply(&ResumeOverrides {
            epochs: Some(5),
            lr: None,
            lr_schedule: Some(LrSchedule::Cosine),
        });
        assert_eq!(
            (s.epochs, s.lr, s.lr_schedule),
            (5, 1e-3, LrSchedule::Cosine)
        );
        s.batch_size = 0;
        assert!(s.check().unwrap_err().to_string().contains("batch size"));
    }
}
