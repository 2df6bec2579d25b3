//! Sampling: from pure noise x_T back to images x_0, with DDPM's ancestral steps, DDIM's
//! deterministic (η = 0) or stochastic ones, or — for a network trained at one level only — the
//! single-level denoising autoencoder applied again and again (noise, denoise, noise, …).
//!
//! Every image has its own random stream, derived from the seed and its index: image `i` is the
//! same whether 10 or 1,000 are drawn, in batches of any size.

use burn::prelude::*;
use rand_distr::StandardNormal;

use super::config::DiffusionConfig;
use super::model::TimeUnet;
use crate::diffusion::{step, timesteps, NoiseSchedule, Sampler, StepSettings};
use crate::limits::{product, MAX_ACTIVATIONS};
use crate::seed::{self, Purpose, Rng};
use crate::{Error, Result};

/// Images per forward pass while sampling.
const SAMPLE_BATCH: usize = 128;
/// Frames of a trajectory strip besides x_T (evenly spaced over the steps, x_0 last).
pub const TRAJECTORY_FRAMES: usize = 10;
/// The most images one call may draw.
pub const MAX_SAMPLES: usize = 1_000_000;

/// How to go from noise to images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SamplerKind {
    /// Ancestral sampling (Ho et al. 2020).
    Ddpm,
    /// DDIM (Song et al. 2021) with stochasticity `eta` (0: deterministic; 1: DDPM-like).
    Ddim {
        /// The share of DDPM's noise kept, ≥ 0.
        eta: f64,
    },
    /// The single-level DAE chain: x ← x̂0(√ᾱ x + √(1−ᾱ) ε) at the run's one level.
    Chain,
}

impl SamplerKind {
    /// Parses `ddpm`, `ddim` or `chain` with DDIM's `eta`; the message lists the names.
    pub fn parse(name: &str, eta: f64) -> Result<Self> {
        if !(eta.is_finite() && eta >= 0.0) {
            return Err(Error::Config(format!(
                "--eta must be a number ≥ 0, got {eta}"
            )));
        }
        match name {
            "ddpm" => Ok(SamplerKind::Ddpm),
            "ddim" => Ok(SamplerKind::Ddim { eta }),
            "chain" => Ok(SamplerKind::Chain),
            _ => Err(Error::Config(format!(
                "unknown sampler `{name}`; expected ddpm, ddim or chain"
            ))),
        }
    }
}

impl std::fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamplerKind::Ddpm => f.write_str("ddpm"),
            SamplerKind::Ddim { eta } => write!(f, "ddim (eta {eta})"),
            SamplerKind::Chain => f.write_str("single-level chain"),
        }
    }
}

/// What to draw.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Number of images.
    pub count: usize,
    /// The sampler.
    pub sampler: SamplerKind,
    /// Denoising steps (`None`: T for DDPM, 50 for DDIM, 100 for the chain).
    pub steps: Option<usize>,
    /// The seed of every draw.
    pub seed: u64,
    /// Keep the path x_T → x_0 of this many of the first images.
    pub trajectory: usize,
}

/// Drawn images, in [0, 1].
#[derive(Clone, Debug)]
pub struct Samples {
    /// `count` images of `height` x `width`, one after the other.
    pub images: Vec<f32>,
    /// Per kept path: x_T, then [`TRAJECTORY_FRAMES`] frames, x_0 last (each in [0, 1]).
    pub trajectories: Vec<Vec<Vec<f32>>>,
    /// The steps each image took.
    pub steps: usize,
}

/// The timesteps visited and the per-step sampler of `options` for a run of `config`; errors
/// name the flag (a chain on a multi-level run, DDPM/DDIM on a single-level run, steps > T).
fn plan(
    config: &DiffusionConfig,
    options: &SampleOptions,
) -> Result<(Vec<usize>, Option<Sampler>)> {
    let t_total = config.train_steps;
    match (options.sampler, config.single_level) {
        (SamplerKind::Chain, Some(level)) => {
            let k = options.steps.unwrap_or(100);
            if !(1..=100_000).contains(&k) {
                return Err(Error::Config(format!(
                    "--steps must be 1 to 100000 for the chain, got {k}"
                )));
            }
            Ok((vec![level; k], None))
        }
        (SamplerKind::Chain, None) => Err(Error::Config(
            "--sampler chain applies a single-level run (trained with --single-level); this run \
             learned every level: use ddpm or ddim"
                .into(),
        )),
        (_, Some(level)) => Err(Error::Config(format!(
            "this run learned one level only (--single-level {level}); sample it with --sampler chain"
        ))),
        (SamplerKind::Ddpm, None) => {
            Ok((timesteps(t_total, options.steps.unwrap_or(t_total))?, Some(Sampler::Ddpm)))
        }
        (SamplerKind::Ddim { eta }, None) => Ok((
            timesteps(t_total, options.steps.unwrap_or(50.min(t_total)))?,
            Some(Sampler::Ddim { eta }),
        )),
    }
}

fn normals(rng: &mut Rng, out: &mut [f32]) {
    for v in out {
        *v = rand::Rng::sample(rng, StandardNormal);
    }
}

fn to_pixels(x: &[f32]) -> Vec<f32> {
    x.iter()
        .map(|&v| ((v + 1.0) / 2.0).clamp(0.0, 1.0))
        .collect()
}

/// Draws `options.count` images of `height` x `width` from `model` (the run's averaged weights),
/// calling `progress(done, total)` after every step of every batch.
pub fn sample(
    model: &TimeUnet,
    config: &DiffusionConfig,
    options: &SampleOptions,
    (height, width): (usize, usize),
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Samples> {
    if !(1..=MAX_SAMPLES).contains(&options.count) {
        return Err(Error::Config(format!(
            "-n must be 1 to {MAX_SAMPLES}, got {}",
            options.count
        )));
    }
    let values = product(&[options.count, height, width, 2]);
    MAX_ACTIVATIONS.check(values, || {
        format!("{} samples of {height}x{width}", options.count)
    })?;
    let schedule = NoiseSchedule::new(config.schedule, config.train_steps)?;
    let (visits, sampler) = plan(config, options)?;
    let settings = StepSettings {
        prediction: config.prediction,
        clip_sample: Some(1.0),
    };
    let p = height * width;
    let keep_every = (visits.len() / TRAJECTORY_FRAMES).max(1);
    let mut images = Vec::with_capacity(options.count * p);
    let mut trajectories: Vec<Vec<Vec<f32>>> = Vec::new();
    let batches = options.count.div_ceil(SAMPLE_BATCH);
    let total = batches * visits.len();
    let mut done = 0;
    for start in (0..options.count).step_by(SAMPLE_BATCH) {
        let len = SAMPLE_BATCH.min(options.count - start);
        let mut rngs: Vec<Rng> = (start..start + len)
            .map(|i| seed::rng(options.seed, Purpose::Sample, i as u64))
            .collect();
        let mut x = vec![0f32; len * p];
        for (rng, xi) in rngs.iter_mut().zip(x.chunks_exact_mut(p)) {
            normals(rng, xi);
        }
        let tracked = options.trajectory.saturating_sub(start).min(len);
        let mut paths: Vec<Vec<Vec<f32>>> = (0..tracked)
            .map(|i| vec![to_pixels(&x[i * p..(i + 1) * p])])
            .collect();
        let mut noise = vec![0f32; p];
        for (k, &t) in visits.iter().enumerate() {
            let input = match sampler {
                // The chain corrupts the current images at its level before each denoising.
                None => {
                    let mut noisy = vec![0f32; len * p];
                    for (i, rng) in rngs.iter_mut().enumerate() {
                        normals(rng, &mut noise);
                        schedule.add_noise(
                            &x[i * p..(i + 1) * p],
                            &noise,
                            t,
                            &mut noisy[i * p..(i + 1) * p],
                        );
                    }
                    noisy
                }
                Some(_) => x.clone(),
            };
            let tensor = Tensor::<4>::from_data(
                TensorData::new(input.clone(), [len, 1, height, width]),
                device,
            );
            let out: Vec<f32> = model
                .forward(tensor, &vec![t; len])
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Shape(format!("model output: {e:?}")))?;
            let prev = visits.get(k + 1).copied();
            for (i, rng) in rngs.iter_mut().enumerate() {
                let (o, xt) = (&out[i * p..(i + 1) * p], &input[i * p..(i + 1) * p]);
                let next = match sampler {
                    None => {
                        let (x0, _) = schedule.estimates(config.prediction, o, xt, t);
                        x0.iter().map(|v| v.clamp(-1.0, 1.0)).collect()
                    }
                    Some(s) => {
                        if matches!(s, Sampler::Ddpm)
                            || matches!(s, Sampler::Ddim { eta } if eta > 0.0)
                        {
                            normals(rng, &mut noise);
                        }
                        step(&schedule, s, &settings, o, t, prev, xt, &noise)
                    }
                };
                x[i * p..(i + 1) * p].copy_from_slice(&next);
            }
            if (k + 1) % keep_every == 0 || k + 1 == visits.len() {
                for (i, path) in paths.iter_mut().enumerate() {
                    if path.len() <= TRAJECTORY_FRAMES {
                        path.push(to_pixels(&x[i * p..(i + 1) * p]));
                    } else {
                        *path.last_mut().expect("x_T is kept") = to_pixels(&x[i * p..(i + 1) * p]);
                    }
                }
            }
            done += 1;
            progress(done, total);
        }
        images.extend(to_pixels(&x));
        trajectories.extend(paths);
    }
    Ok(Samples {
        images,
        trajectories,
        steps: visits.len(),
    })
}
