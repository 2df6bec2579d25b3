//! Diffusion models' noise schedules and sampler steps, for any modality: the bridge from
//! denoising autoencoders to diffusion.
//!
//! A diffusion model is a denoiser trained at every noise level of a fixed schedule. With
//! `T` training timesteps, betas `β_t` and `ᾱ_t = ∏_{s≤t} (1 − β_s)` ([`NoiseSchedule`]), the
//! forward process noises clean data `x0` in one draw (Ho et al. 2020, "Denoising Diffusion
//! Probabilistic Models", eq. 4):
//!
//! ```text
//! x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε,    ε ~ N(0, I)
//! ```
//!
//! so `x_t / √ᾱ_t = x0 + σ_t ε` with `σ_t = √((1 − ᾱ_t)/ᾱ_t)`: a DAE's Gaussian corruption at
//! level σ_t, rescaled ([`NoiseSchedule::sigma`]). The network sees `(x_t, t)` and predicts
//! ([`Prediction`]) the noise ε, the clean sample x0, or `v = √ᾱ_t ε − √(1 − ᾱ_t) x0`
//! (Salimans & Ho 2022); each gives estimates of both x0 and ε ([`NoiseSchedule::estimates`]).
//!
//! Generation runs the process backwards from `x_T ~ N(0, I)` over descending [`timesteps`],
//! one [`step`] each, from `t` to the previous visited timestep `p` (ᾱ_p = 1 after the last):
//!
//! - **DDPM** (Ho et al. 2020, eqs. 6–7): the posterior `q(x_p | x_t, x0̂)`, mean
//!   `√ᾱ_p β̃ / (1 − ᾱ_t) · x0̂ + √(ᾱ_t/ᾱ_p) (1 − ᾱ_p)/(1 − ᾱ_t) · x_t` with `β̃ = 1 − ᾱ_t/ᾱ_p`,
//!   plus noise of variance `(1 − ᾱ_p)/(1 − ᾱ_t) · β̃` ("fixed_small") except at `t = 0`;
//! - **DDIM** (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", eq. 12):
//!   `x_p = √ᾱ_p x0̂ + √(1 − ᾱ_p − s²) ε̂ + s z`, with
//!   `s = η √((1 − ᾱ_p)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_p)`: deterministic at η = 0, DDPM-like at η = 1,
//!   and good with far fewer steps than `T`.
//!
//! Schedules: [`BetaSchedule::Linear`] (Ho et al. 2020, β from 1e-4 to 0.02) and
//! [`BetaSchedule::Cosine`] (Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic
//! Models", eq. 17, β capped at 0.999).
//!
//! A denoiser trained at many noise levels also knows the score ∇log p_σ of the noised data: for
//! Gaussian noise the best denoiser satisfies Tweedie's formula E[x | x̃] = x̃ + σ²∇log p_σ(x̃).
//! [`score`] checks that on 2-D data whose score is known in closed form.
//!
//! Everything matches the reference schedulers of Python `diffusers` (`DDPMScheduler`,
//! `DDIMScheduler` with their defaults: "leading" timestep spacing, steps_offset 0,
//! set_alpha_to_one, variance "fixed_small", no thresholding) to 1e-6:
//! `tests/diffusers_agreement.rs` checks golden values written by
//! `scripts/diffusers_golden.py`. One difference in defaults: diffusers clips x0̂ to [−1, 1]
//! unless told not to; here [`StepSettings::clip_sample`] says so explicitly.
//!
//! ```
//! use dae::diffusion::{step, timesteps, BetaSchedule, NoiseSchedule, Prediction, Sampler, StepSettings};
//!
//! let schedule = NoiseSchedule::new(BetaSchedule::Cosine, 1000)?;
//! let settings = StepSettings { prediction: Prediction::Epsilon, clip_sample: Some(1.0) };
//! let sampler = Sampler::Ddim { eta: 0.0 };
//! sampler.check()?;
//! let visits = timesteps(schedule.train_steps(), 50)?;
//! let mut x = vec![0.5_f32; 4]; // x_T: standard-normal draws in practice
//! for (i, &t) in visits.iter().enumerate() {
//!     let output = vec![0.0_f32; 4]; // the model's output at (x, t)
//!     let prev = visits.get(i + 1).copied();
//!     x = step(&schedule, sampler, &settings, &output, t, prev, &x, &[]);
//! }
//! assert_eq!(x.len(), 4);
//! # Ok::<(), dae::Error>(())
//! ```

pub mod sampler;
pub mod schedule;
pub mod score;

pub use sampler::{step, timesteps, Sampler, StepSettings};
pub use schedule::{BetaSchedule, NoiseSchedule, Prediction};

#[cfg(test)]
mod tests;
