//! Denoising score matching as a [`Task`] of the generic loop: each training point gets a level
//! σ drawn log-uniformly over the range and noise ε; the network sees x̃ = x + σε and σ and
//! predicts ε. Its mean squared error ‖ε̂ − ε‖² is σ²‖s_θ + ε/σ‖², the denoising score matching
//! loss with Song & Ermon's weighting λ(σ) = σ², under which every level counts alike.
//!
//! After each epoch the loop records the same loss on a fixed held-out draw and the relative
//! error of the score against the closed form ([`super::measure`]) on it.

use burn::prelude::*;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::gaussian::Gaussian;
use super::measure::{relative_error, Held};
use super::mixture::GaussianMixture;
use super::model::{Conditioning, NoiseRange, ScoreNet, ScoreNetConfig};
use crate::corrupt::Rng;
use crate::limits::{product, MAX_ACTIVATIONS, MAX_INPUT_BYTES, MAX_MODEL_PARAMS};
use crate::run::metrics::EpochRecord;
use crate::seed::{self, Purpose};
use crate::train::{EpochTotals, RunSettings, Task, TaskConfig};
use crate::{Error, Result};

/// The `task` value of a score run's `config.json`.
pub const TASK_NAME: &str = "score";

/// What the model is called in errors.
pub const MODEL_NAME: &str = "score";

/// The `task` field of a score run's `config.json`: always `"score"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoreTag {
    /// Denoising score matching on a distribution with a closed-form score.
    #[default]
    #[serde(rename = "score")]
    Score,
}

/// The distribution a score run learns; both have a closed-form score at every level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScoreData {
    /// A Gaussian mixture.
    Mixture(GaussianMixture),
    /// One Gaussian, whose posterior mean E[x | x̃] is also closed-form (Tweedie's check).
    Gaussian(Gaussian),
}

impl ScoreData {
    /// The distribution as a mixture (a Gaussian is a mixture of one).
    pub fn mixture(&self) -> GaussianMixture {
        match self {
            ScoreData::Mixture(m) => m.clone(),
            ScoreData::Gaussian(g) => GaussianMixture::single(g.clone()),
        }
    }
}

/// Everything that determines a score run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreConfig {
    /// Marks the run as a score run.
    pub task: ScoreTag,
    /// The distribution learned (not `data`: that is the shared settings' data path, flattened
    /// beside it).
    pub distribution: ScoreData,
    /// The network's sizes.
    pub model: ScoreNetConfig,
    /// The noise levels trained on.
    pub noise: NoiseRange,
    /// Training points drawn from the distribution once per run (each epoch re-noises them).
    pub train_size: usize,
    /// Held-out points for the per-epoch record.
    pub val_size: usize,
    /// The levels of the per-epoch record: a geometric ladder over the range.
    pub val_levels: usize,
    /// The settings every task shares.
    #[serde(flatten)]
    pub run: RunSettings,
}

impl ScoreConfig {
    /// A run on `data` with the experiment's defaults: σ in [0.05, 2], 16,384 training points,
    /// 2,048 held-out, 10 levels; the default network; batch 256, lr 2e-3 with cosine decay,
    /// no weight decay (the model is tiny and the data unlimited in kind).
    pub fn new(distribution: ScoreData, epochs: usize) -> Self {
        let mut run = RunSettings::new(epochs, 256, 2e-3);
        run.lr_schedule = crate::train::LrSchedule::Cosine;
        run.adamw.weight_decay = 0.0;
        ScoreConfig {
            task: ScoreTag::Score,
            distribution,
            model: ScoreNetConfig::default(),
            noise: NoiseRange {
                sigma_min: 0.05,
                sigma_max: 2.0,
            },
            train_size: 16_384,
            val_size: 2048,
            val_levels: 10,
            run,
        }
    }

    /// The input side of the network for this config's data.
    pub fn conditioning(&self) -> Conditioning {
        let mixture = self.distribution.mixture();
        Conditioning {
            dim: mixture.dim(),
            range: self.noise,
            frequencies: self.model.frequencies,
            data_scale: mixture.data_scale(),
        }
    }

    /// A freshly initialized network for this config on `device`.
    pub fn init_model(&self, device: &Device) -> ScoreNet {
        self.model.init(&self.conditioning(), device)
    }
}

impl TaskConfig for ScoreConfig {
    const RUN_NAME: &'static str = "score run";
    const TASK: Option<&'static str> = Some(TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    /// Checks the distribution, the levels, the sizes and the limits before anything is drawn.
    fn check(&self) -> Result<()> {
        let mixture = self.distribution.mixture();
        mixture.check()?;
        self.noise.check()?;
        self.model.check()?;
        if self.train_size == 0 || self.val_size == 0 || self.val_levels == 0 {
            return Err(Error::Config(
                "train_size, val_size and val_levels must be at least 1".into(),
            ));
        }
        let d = mixture.dim();
        let points = self.train_size.checked_add(self.val_size);
        MAX_INPUT_BYTES.check(points.and_then(|n| product(&[n, d, 8])), || {
            format!("{:?} points of {d} values", points)
        })?;
        let c = self.conditioning();
        let (w, h, l) = (c.width(), self.model.hidden, self.model.layers);
        let params = product(&[w + 1, h])
            .zip(product(&[h + 1, h, l]))
            .map(|(a, b)| a + b + (h as u128 + 1) * d as u128);
        MAX_MODEL_PARAMS.check(params, || "the score network".into())?;
        MAX_ACTIVATIONS.check(product(&[self.run.batch_size, h, l + 1]), || {
            format!("one training step of batch {}", self.run.batch_size)
        })?;
        if self.run.data.is_some() {
            return Err(Error::Config(
                "a score run draws its points from its distribution and reads no data path".into(),
            ));
        }
        self.run.check()
    }
}

/// One line of a score run's `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoreEpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss ‖ε̂ − ε‖² per coordinate over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub train_seconds: f64,
    /// The same loss on the fixed held-out draw.
    pub val_loss: f64,
    /// The score's relative error ([`super::measure::relative_error`]) on the held-out draw,
    /// averaged over the levels.
    pub val_relative_error: f64,
}

impl EpochRecord for ScoreEpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_loss)
    }
}

impl std::fmt::Display for ScoreEpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.4}  {:.1} s  val loss {:.4}  score relative error {:.4}",
            self.epoch, self.train_loss, self.train_seconds, self.val_loss, self.val_relative_error
        )
    }
}

/// One training batch: the network's input rows and the noise to predict.
pub struct ScoreBatch {
    rows: usize,
    input: Vec<f32>,
    noise: Vec<f32>,
}

/// A score run ready to train: its config and the points drawn from its seed.
pub struct ScoreTask {
    config: ScoreConfig,
    conditioning: Conditioning,
    train: Vec<f64>,
    held: Held,
}

impl ScoreTask {
    /// Checks `config` and draws the training points (`Purpose::Data` 0) and the held-out draw
    /// (points `Purpose::Data` 1, levels and noise `Purpose::EvalNoise` 0) from its seed.
    pub fn new(config: ScoreConfig) -> Result<Self> {
        config.check()?;
        let mixture = config.distribution.mixture();
        let seed = config.run.seed;
        let train = mixture.sample(config.train_size, &mut seed::rng(seed, Purpose::Data, 0))?;
        let held = Held::draw(
            &mixture,
            &config.noise.ladder(config.val_levels),
            config.val_size.div_ceil(config.val_levels),
            &mut seed::rng(seed, Purpose::Data, 1),
            &mut seed::rng(seed, Purpose::EvalNoise, 0),
        )?;
        Ok(ScoreTask {
            conditioning: config.conditioning(),
            config,
            train,
            held,
        })
    }

    /// The input side of the network.
    pub fn conditioning(&self) -> &Conditioning {
        &self.conditioning
    }

    /// The held-out loss and the mean relative error of the score of `model`.
    pub fn evaluate(&self, model: &ScoreNet, device: &Device) -> (f64, f64) {
        let h = &self.held;
        let eps = model.predict_noise(&self.conditioning, &h.noisy, &h.sigmas, device);
        let loss = eps
            .iter()
            .zip(&h.noise)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / eps.len().max(1) as f64;
        let learned = h.learned_scores(&eps);
        let d = self.conditioning.dim;
        let per = h.per_level(d);
        let errors: Vec<f64> = per
            .iter()
            .map(|r| relative_error(&learned[r.clone()], &h.scores[r.clone()]))
            .collect();
        (
            loss,
            errors.iter().sum::<f64>() / errors.len().max(1) as f64,
        )
    }
}

impl Task for ScoreTask {
    type Config = ScoreConfig;
    type Model = ScoreNet;
    type Batch = ScoreBatch;
    type Record = ScoreEpochMetrics;

    fn config(&self) -> &ScoreConfig {
        &self.config
    }
    fn model_name(&self) -> String {
        MODEL_NAME.into()
    }
    fn train_len(&self) -> usize {
        self.config.train_size
    }
    fn init_model(&self, device: &Device) -> ScoreNet {
        self.config.model.init(&self.conditioning, device)
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<ScoreBatch> {
        let d = self.conditioning.dim;
        let mut input = Vec::with_capacity(indices.len() * self.conditioning.width());
        let mut noise = Vec::with_capacity(indices.len() * d);
        let mut noisy = vec![0.0; d];
        for &i in indices {
            let sigma = self.config.noise.draw(rng);
            for (k, v) in noisy.iter_mut().enumerate() {
                let e: f64 = StandardNormal.sample(rng);
                *v = self.train[i * d + k] + sigma * e;
                noise.push(e as f32);
            }
            self.conditioning.push_row(&noisy, sigma, &mut input);
        }
        Ok(ScoreBatch {
            rows: indices.len(),
            input,
            noise,
        })
    }

    fn loss(&self, model: &ScoreNet, batch: ScoreBatch, device: &Device) -> Tensor<1> {
        let (width, d) = (self.conditioning.width(), self.conditioning.dim);
        let x = Tensor::<2>::from_data(TensorData::new(batch.input, [batch.rows, width]), device);
        let eps = Tensor::<2>::from_data(TensorData::new(batch.noise, [batch.rows, d]), device);
        (model.forward(x) - eps).powi_scalar(2).mean()
    }

    fn record(
        &self,
        model: &ScoreNet,
        device: &Device,
        t: EpochTotals,
    ) -> Result<ScoreEpochMetrics> {
        let (val_loss, val_relative_error) = self.evaluate(model, device);
        Ok(ScoreEpochMetrics {
            epoch: t.epoch,
            train_loss: t.train_loss,
            train_seconds: t.train_seconds,
            val_loss,
            val_relative_error,
        })
    }
}
