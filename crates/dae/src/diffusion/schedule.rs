//! Noise schedules: the betas, their cumulative products ᾱ_t, the forward process and the
//! conversions between what a model predicts and its x0 / ε estimates.
//!
//! The schedule is computed in `f64`, not in the `f32` diffusers keeps it in: the cosine
//! schedule's last ᾱ is about 2.4e-9, and a 1000-step `f32` cumulative product carries a
//! relative error of ~1e-5 there (measured against `f64`), which the x0 estimate's division by
//! √ᾱ_t amplifies. In `f64` the schedule is exact to ~1e-15, so sampling near pure noise is
//! limited by the model, not by rounding; diffusers' own `f32` schedules still agree with it to
//! 3.3e-7 (tests/diffusers_agreement.rs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The most training timesteps a schedule may have. Schedules use 1000 (Ho et al.) or up to
/// 4000 (Nichol & Dhariwal); far more only costs memory and, for the linear schedule, keeps
/// β ≤ 0.02 per step, so the cap rejects typos, not experiments.
pub const MAX_TRAIN_STEPS: usize = 100_000;

/// Where the linear schedule's betas start and end (Ho et al. 2020; diffusers' defaults).
const LINEAR_BETAS: (f64, f64) = (1e-4, 0.02);
/// The cosine schedule's offset s, which keeps β_0 from vanishing (Nichol & Dhariwal, eq. 17).
const COSINE_OFFSET: f64 = 0.008;
/// The cosine schedule's cap on β, which keeps the last steps finite near t = T.
const COSINE_MAX_BETA: f64 = 0.999;

/// How the betas grow over the `T` training timesteps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BetaSchedule {
    /// β evenly spaced from 1e-4 to 0.02, whatever `T` (diffusers "linear"). With a small `T`
    /// the data is not fully noised at the end: ᾱ_{T−1} is 4e-5 for T = 1000 but 0.6 for T = 50.
    Linear,
    /// ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2) / ᾱ(0), s = 0.008, β capped at 0.999 (diffusers
    /// "squaredcos_cap_v2"): noises more evenly in log-SNR and fully for any `T`.
    Cosine,
}

impl BetaSchedule {
    /// The names `FromStr` takes.
    pub const NAMES: &'static str = "linear or cosine";
}

impl fmt::Display for BetaSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BetaSchedule::Linear => "linear",
            BetaSchedule::Cosine => "cosine",
        })
    }
}

impl FromStr for BetaSchedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linear" => Ok(BetaSchedule::Linear),
            "cosine" => Ok(BetaSchedule::Cosine),
            _ => Err(Error::Config(format!(
                "unknown noise schedule `{s}`; expected {}",
                BetaSchedule::NAMES
            ))),
        }
    }
}

/// What the network predicts from `(x_t, t)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// The noise ε (diffusers "epsilon"; Ho et al. 2020).
    Epsilon,
    /// The clean sample x0 (diffusers "sample").
    Sample,
    /// The velocity v = √ᾱ_t ε − √(1 − ᾱ_t) x0 (diffusers "v_prediction"; Salimans & Ho 2022).
    V,
}

impl Prediction {
    /// The names `FromStr` takes.
    pub const NAMES: &'static str = "epsilon (eps), sample (x0) or v (v_prediction)";
}

impl fmt::Display for Prediction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Prediction::Epsilon => "epsilon",
            Prediction::Sample => "sample",
            Prediction::V => "v",
        })
    }
}

impl FromStr for Prediction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "epsilon" | "eps" => Ok(Prediction::Epsilon),
            "sample" | "x0" => Ok(Prediction::Sample),
            "v" | "v_prediction" => Ok(Prediction::V),
            _ => Err(Error::Config(format!(
                "unknown prediction `{s}`; expected {}",
                Prediction::NAMES
            ))),
        }
    }
}

/// The betas of `T` training timesteps and their cumulative products, in `f64`.
///
/// Methods taking a timestep `t` require `t < T` and panic otherwise (a caller's bug: the
/// timesteps come from [`super::timesteps`], [`NoiseSchedule::nearest_timestep`] or a draw in
/// `0..T`; [`NoiseSchedule::check_timestep`] validates one from elsewhere). Methods taking
/// slices require them to have one length and panic otherwise.
#[derive(Clone, Debug)]
pub struct NoiseSchedule {
    kind: BetaSchedule,
    betas: Vec<f64>,
    alpha_bars: Vec<f64>,
}

impl NoiseSchedule {
    /// The schedule of `kind` with `train_steps` timesteps; [`Error::Config`] for 0 steps or
    /// more than [`MAX_TRAIN_STEPS`].
    pub fn new(kind: BetaSchedule, train_steps: usize) -> Result<Self> {
        if train_steps == 0 || train_steps > MAX_TRAIN_STEPS {
            return Err(Error::Config(format!(
                "the number of training timesteps must be between 1 and {MAX_TRAIN_STEPS}, got \
                 {train_steps}"
            )));
        }
        let t_count = train_steps as f64;
        let betas: Vec<f64> = match kind {
            BetaSchedule::Linear => {
                let (start, end) = LINEAR_BETAS;
                // One timestep has β = start, as a one-point linspace does.
                let span = (train_steps - 1).max(1) as f64;
                (0..train_steps)
                    .map(|i| start + (end - start) * i as f64 / span)
                    .collect()
            }
            BetaSchedule::Cosine => {
                let alpha_bar = |u: f64| {
                    let angle =
                        (u + COSINE_OFFSET) / (1.0 + COSINE_OFFSET) * std::f64::consts::FRAC_PI_2;
                    angle.cos().powi(2)
                };
                (0..train_steps)
                    .map(|i| {
                        let ratio =
                            alpha_bar((i + 1) as f64 / t_count) / alpha_bar(i as f64 / t_count);
                        (1.0 - ratio).min(COSINE_MAX_BETA)
                    })
                    .collect()
            }
        };
        let alpha_bars = betas
            .iter()
            .scan(1.0, |product, beta| {
                *product *= 1.0 - beta;
                Some(*product)
            })
            .collect();
        Ok(NoiseSchedule {
            kind,
            betas,
            alpha_bars,
        })
    }

    /// The kind of schedule.
    pub fn kind(&self) -> BetaSchedule {
        self.kind
    }

    /// The number of training timesteps `T`.
    pub fn train_steps(&self) -> usize {
        self.betas.len()
    }

    /// [`Error::Config`] unless `t` is a timestep of this schedule (`t < T`).
    pub fn check_timestep(&self, t: usize) -> Result<()> {
        if t < self.train_steps() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "timestep {t} is out of range: the schedule has T = {} timesteps (0..{})",
                self.train_steps(),
                self.train_steps()
            )))
        }
    }

    /// β_t, the variance the forward process adds at timestep `t`.
    pub fn beta(&self, t: usize) -> f64 {
        self.betas[t]
    }

    /// ᾱ_t = ∏_{s≤t} (1 − β_s), the share of the signal's power left in x_t.
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bars[t]
    }

    /// The noise level of x_t in the units of the data: σ_t = √((1 − ᾱ_t)/ᾱ_t), since
    /// `x_t / √ᾱ_t = x0 + σ_t ε`. Increases with `t`.
    pub fn sigma(&self, t: usize) -> f64 {
        let ab = self.alpha_bar(t);
        ((1.0 - ab) / ab).sqrt()
    }

    /// The timestep whose σ is nearest `sigma` (for "denoise at σ = 0.3" evaluations): 0 for any
    /// σ at or below σ_0 (and NaN), `T − 1` for any σ at or above σ_{T−1}.
    pub fn nearest_timestep(&self, sigma: f64) -> usize {
        // σ_t increases strictly with t (every β > 0), so a binary search finds the first
        // timestep at or above `sigma`; the nearest is it or the one before.
        // A NaN compares false, so it ends at 0.
        let (mut i, mut end) = (0, self.train_steps());
        while i < end {
            let mid = (i + end) / 2;
            if self.sigma(mid) < sigma {
                i = mid + 1;
            } else {
                end = mid;
            }
        }
        if i == 0 {
            return 0;
        }
        if i == self.train_steps() {
            return i - 1;
        }
        if sigma - self.sigma(i - 1) <= self.sigma(i) - sigma {
            i - 1
        } else {
            i
        }
    }

    /// The forward process into `out`: x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε, elementwise.
    pub fn add_noise(&self, x0: &[f32], eps: &[f32], t: usize, out: &mut [f32]) {
        same_lengths(&[x0.len(), eps.len(), out.len()]);
        let (a, b) = self.scales(t);
        for ((o, &x), &e) in out.iter_mut().zip(x0).zip(eps) {
            *o = (a * x as f64 + b * e as f64) as f32;
        }
    }

    /// The training target for `prediction` into `out`: ε, x0, or v = √ᾱ_t ε − √(1 − ᾱ_t) x0.
    pub fn target(
        &self,
        prediction: Prediction,
        x0: &[f32],
        eps: &[f32],
        t: usize,
        out: &mut [f32],
    ) {
        same_lengths(&[x0.len(), eps.len(), out.len()]);
        match prediction {
            Prediction::Epsilon => out.copy_from_slice(eps),
            Prediction::Sample => out.copy_from_slice(x0),
            Prediction::V => {
                let (a, b) = self.scales(t);
                for ((o, &x), &e) in out.iter_mut().zip(x0).zip(eps) {
                    *o = (a * e as f64 - b * x as f64) as f32;
                }
            }
        }
    }

    /// The model's x0 and ε estimates from its `output` at `(sample = x_t, t)`, as diffusers'
    /// schedulers convert them (before any clipping).
    pub fn estimates(
        &self,
        prediction: Prediction,
        output: &[f32],
        sample: &[f32],
        t: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        same_lengths(&[output.len(), sample.len()]);
        let (a, b) = self.scales(t);
        output
            .iter()
            .zip(sample)
            .map(|(&o, &x)| {
                let (x0, eps) = estimate(prediction, a, b, o as f64, x as f64);
                (x0 as f32, eps as f32)
            })
            .unzip()
    }

    /// (√ᾱ_t, √(1 − ᾱ_t)).
    pub(super) fn scales(&self, t: usize) -> (f64, f64) {
        let ab = self.alpha_bar(t);
        (ab.sqrt(), (1.0 - ab).sqrt())
    }
}

/// One element's (x0, ε) estimates from the model's `output` at `sample`, with `a = √ᾱ_t`,
/// `b = √(1 − ᾱ_t)`. Kept in `f64` so that a sampler step rounds once, at its result.
pub(super) fn estimate(
    prediction: Prediction,
    a: f64,
    b: f64,
    output: f64,
    sample: f64,
) -> (f64, f64) {
    match prediction {
        Prediction::Epsilon => ((sample - b * output) / a, output),
        Prediction::Sample => (output, (sample - a * output) / b),
        // x_t = a x0 + b ε and v = a ε − b x0, with a² + b² = 1, invert to these.
        Prediction::V => (a * sample - b * output, a * output + b * sample),
    }
}

/// Panics unless every length is the first (slices of one sample must line up).
pub(super) fn same_lengths(lengths: &[usize]) {
    assert!(
        lengths.iter().all(|&n| n == lengths[0]),
        "diffusion: slices of different lengths {lengths:?}"
    );
}
