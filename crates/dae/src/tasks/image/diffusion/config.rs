//! The configuration of a diffusion run, stored as its `config.json` with `"task": "diffusion"`.

use serde::{Deserialize, Serialize};

use super::model::TimeUnetSettings;
use crate::diffusion::schedule::MAX_TRAIN_STEPS;
use crate::diffusion::{BetaSchedule, Prediction};
use crate::limits::MAX_MODEL_PARAMS;
use crate::train::{Ema, RunSettings, TaskConfig};
use crate::{Error, Result};

/// The `task` value of a diffusion run's `config.json`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffusionTag {
    /// `"diffusion"`.
    #[default]
    #[serde(rename = "diffusion")]
    Diffusion,
}

/// The configuration of a diffusion run: the network, the noise schedule, what the network
/// predicts, the weight average, and the shared run settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffusionConfig {
    /// Always `"diffusion"`.
    pub task: DiffusionTag,
    /// The noise-conditioned U-Net.
    pub model: TimeUnetSettings,
    /// How the noise grows with the timestep.
    pub schedule: BetaSchedule,
    /// The number of timesteps T (levels of noise) of training.
    pub train_steps: usize,
    /// What the network predicts: the noise ε (DDPM), the clean image x0, or v.
    pub prediction: Prediction,
    /// The largest decay of the weights' exponential moving average, which sampling uses.
    pub ema_decay: f64,
    /// Train at this one timestep only: the document's single-level denoising autoencoder, in
    /// the same network and budget, for the comparison with the multi-level model.
    pub single_level: Option<usize>,
    /// Height of the run's images (set from the data when the run starts).
    pub height: usize,
    /// Width of the run's images.
    pub width: usize,
    /// The shared settings (epochs, batch, rate, seed, data, …).
    #[serde(flatten)]
    pub run: RunSettings,
}

impl Default for DiffusionConfig {
    fn default() -> Self {
        DiffusionConfig {
            task: DiffusionTag::Diffusion,
            model: TimeUnetSettings::default(),
            schedule: BetaSchedule::Linear,
            train_steps: 1000,
            prediction: Prediction::Epsilon,
            ema_decay: 0.999,
            single_level: None,
            height: 28,
            width: 28,
            run: RunSettings::new(20, 64, 1e-3),
        }
    }
}

impl DiffusionConfig {
    /// The weight average's settings.
    pub fn ema(&self) -> Ema {
        Ema {
            decay: self.ema_decay,
        }
    }
}

impl TaskConfig for DiffusionConfig {
    const RUN_NAME: &'static str = "diffusion run";
    const TASK: Option<&'static str> = Some(super::TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn check(&self) -> Result<()> {
        let refuse = |m: String| Err(Error::Config(m));
        self.run.check()?;
        self.ema().check()?;
        if !(1..=MAX_TRAIN_STEPS).contains(&self.train_steps) {
            return refuse(format!(
                "--train-steps (T) must be 1 to {MAX_TRAIN_STEPS}, got {}",
                self.train_steps
            ));
        }
        if let Some(t) = self.single_level.filter(|&t| t >= self.train_steps) {
            return refuse(format!(
                "--single-level must be a timestep below T = {}, got {t}",
                self.train_steps
            ));
        }
        let m = self.model;
        if !(1..=512).contains(&m.width) || !m.width.is_multiple_of(2) {
            return refuse(format!(
                "--width must be an even number from 2 to 512, got {}",
                m.width
            ));
        }
        if m.depth > 6 {
            return refuse(format!("--depth must be 0 to 6, got {}", m.depth));
        }
        // Channels double per level; the widest blocks (two 3x3 convolutions of
        // width · 2^depth channels, four with the decoder's) dominate the count.
        let widest = (m.width as u128) << m.depth;
        MAX_MODEL_PARAMS.check(Some(40 * widest * widest), || {
            format!("a U-Net of width {} and depth {}", m.width, m.depth)
        })?;
        Ok(())
    }
}
