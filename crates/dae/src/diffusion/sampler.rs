//! The reverse process: which timesteps a sampler visits, and one DDPM or DDIM step between
//! two of them.

use super::schedule::{estimate, same_lengths, NoiseSchedule, Prediction};
use crate::{Error, Result};

/// The floor on the DDPM step's variance, as diffusers clamps it (it can reach 0 when the
/// previous timestep's ᾱ is 1).
const MIN_VARIANCE: f64 = 1e-20;

/// How the reverse process steps from x_t to the previous visited timestep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// Ancestral sampling from the DDPM posterior, variance "fixed_small" (Ho et al. 2020).
    Ddpm,
    /// DDIM (Song et al. 2021): `eta` scales the noise added per step, 0 is deterministic,
    /// 1 matches DDPM's variance.
    Ddim {
        /// The noise scale η, ≥ 0 (values above 1 add more noise than DDPM; the direction
        /// term's coefficient is then floored at 0 where it would be imaginary).
        eta: f64,
    },
}

impl Sampler {
    /// [`Error::Config`] unless the sampler's settings are valid: DDIM's η finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        match *self {
            Sampler::Ddim { eta } if !(eta.is_finite() && eta >= 0.0) => {
                Err(Error::Config(format!("--eta must be ≥ 0, got {eta}")))
            }
            _ => Ok(()),
        }
    }
}

/// What a step does with the model's output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepSettings {
    /// What the model predicts.
    pub prediction: Prediction,
    /// `Some(r)` clamps the x0 estimate to [−r, r] before it is used (diffusers
    /// `clip_sample=True, clip_sample_range=r`, its default with r = 1, for data in [−1, 1]);
    /// `None` leaves it as it is. The ε estimate is not re-derived from the clamped x0
    /// (diffusers' `use_clipped_model_output=False`).
    pub clip_sample: Option<f32>,
}

impl StepSettings {
    /// [`Error::Config`] unless the clip range, if any, is finite and > 0.
    pub fn check(&self) -> Result<()> {
        match self.clip_sample {
            Some(r) if !(r.is_finite() && r > 0.0) => Err(Error::Config(format!(
                "the clip range must be > 0, got {r}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The descending timesteps a sampler visits with `steps` inference steps out of
/// `train_steps`: diffusers' default "leading" spacing with steps_offset 0, i.e.
/// `(steps − 1)·k, …, k, 0` with `k = train_steps / steps` (integer division). DDPM with
/// `steps == train_steps` visits `T − 1, …, 0`; with fewer it jumps `k` at a time, as
/// diffusers' DDPMScheduler does. Every list ends at 0; the step after it is the last
/// (`prev = None`).
///
/// [`Error::Config`] when `steps` is 0 or above `train_steps`.
pub fn timesteps(train_steps: usize, steps: usize) -> Result<Vec<usize>> {
    if steps == 0 || steps > train_steps {
        return Err(Error::Config(format!(
            "--steps must be between 1 and the number of training timesteps T = {train_steps}, \
             got {steps}"
        )));
    }
    let stride = train_steps / steps;
    Ok((0..steps).rev().map(|i| i * stride).collect())
}

/// One reverse step from `sample` = x_t at timestep `t` to the previous visited timestep
/// `prev` (`None` on the last step, to x0: ᾱ_prev = 1 there, as diffusers' DDPMScheduler and
/// DDIMScheduler with its default set_alpha_to_one do), given the model's `output` at
/// `(sample, t)` and standard-normal `noise`. Arithmetic in `f64` per element, `f32` out.
///
/// - DDPM: the posterior mean plus √variance · noise, variance "fixed_small"
///   `(1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)` floored at 1e-20; no noise at `t = 0`.
/// - DDIM: `√ᾱ_prev x0̂ + √(1 − ᾱ_prev − s²) ε̂ + s · noise`, `s = η √variance` (the same
///   variance), the noise term only when η > 0.
///
/// Preconditions (panics otherwise; they hold for timesteps from [`timesteps`], which is what
/// user input must go through, as the sampler and settings must through [`Sampler::check`]
/// and [`StepSettings::check`]):
/// `t < T`, `prev < t`, `output` and `noise` as long as `sample` (`noise` may be empty for
/// DDIM with η = 0, which draws none).
#[allow(clippy::too_many_arguments)]
pub fn step(
    schedule: &NoiseSchedule,
    sampler: Sampler,
    settings: &StepSettings,
    output: &[f32],
    t: usize,
    prev: Option<usize>,
    sample: &[f32],
    noise: &[f32],
) -> Vec<f32> {
    let deterministic = matches!(sampler, Sampler::Ddim { eta } if eta == 0.0);
    if deterministic && noise.is_empty() {
        same_lengths(&[output.len(), sample.len()]);
    } else {
        same_lengths(&[output.len(), sample.len(), noise.len()]);
    }
    if let Some(p) = prev {
        assert!(p < t, "diffusion: previous timestep {p} is not before {t}");
    }
    let (a, b) = schedule.scales(t);
    let ab_t = a * a;
    let ab_prev = prev.map_or(1.0, |p| schedule.alpha_bar(p));
    let variance = (1.0 - ab_prev) / (1.0 - ab_t) * (1.0 - ab_t / ab_prev);
    let clip = settings.clip_sample.map(f64::from);

    // Per-element coefficients: x_prev = c_x0 · x0̂ + c_other · (x_t or ε̂) + c_noise · z.
    let (c_x0, c_other, c_noise) = match sampler {
        Sampler::Ddpm => {
            let beta = 1.0 - ab_t / ab_prev;
            let c_x0 = ab_prev.sqrt() * beta / (1.0 - ab_t);
            let c_xt = (ab_t / ab_prev).sqrt() * (1.0 - ab_prev) / (1.0 - ab_t);
            let c_noise = if t > 0 {
                variance.max(MIN_VARIANCE).sqrt()
            } else {
                0.0
            };
            (c_x0, c_xt, c_noise)
        }
        Sampler::Ddim { eta } => {
            let s = eta * variance.sqrt();
            // Only η > 1 can make this negative; diffusers would return NaN there.
            let c_eps = (1.0 - ab_prev - s * s).max(0.0).sqrt();
            (ab_prev.sqrt(), c_eps, if eta > 0.0 { s } else { 0.0 })
        }
    };
    let uses_eps = matches!(sampler, Sampler::Ddim { .. });
    (0..sample.len())
        .map(|i| {
            let x = sample[i] as f64;
            let (mut x0, eps) = estimate(settings.prediction, a, b, output[i] as f64, x);
            if let Some(r) = clip {
                // max/min rather than clamp, which panics on a bad range.
                x0 = x0.max(-r).min(r);
            }
            let other = if uses_eps { eps } else { x };
            let z = if c_noise == 0.0 { 0.0 } else { noise[i] as f64 };
            (c_x0 * x0 + c_other * other + c_noise * z) as f32
        })
        .collect()
}
