//! The score view: a denoiser trained at many noise levels learns the score of the noised data.
//!
//! For x̃ = x + σε, ε ~ N(0, I), the best estimate of the noise is E[ε | x̃] = −σ∇log p_σ(x̃), so a
//! network ε̂ trained by mean squared error to predict ε (denoising score matching) yields the
//! score s_θ = −ε̂/σ, and its clean estimate x̂₀ = x̃ − σε̂ is Tweedie's posterior mean
//! E[x | x̃] = x̃ + σ²∇log p_σ(x̃). On data whose score is closed-form both can be checked:
//!
//! - [`gaussian`]: N(μ, Σ), its noised density, score and posterior mean;
//! - [`mixture`]: Gaussian mixtures (the ring of modes) and their noised score by
//!   responsibilities;
//! - [`model`]: the noise-conditioned MLP (SiLU, an embedding of log σ) and its input;
//! - [`task`]: denoising score matching as a [`crate::train::Task`] (the run's config, its
//!   per-epoch record);
//! - [`measure`]: the relative error of a score and Tweedie's R²;
//! - [`field`]: the figure of the learned against the true vector field;
//! - [`experiment`]: `dae experiment score-2d`, both runs, `score.json`, `score_field.png`.
//!
//! docs/diffusion.md ("Score view") gives the definitions and the measured numbers.

pub mod experiment;
pub mod field;
pub mod gaussian;
pub mod measure;
pub mod mixture;
pub mod model;
pub mod task;

pub use experiment::{run_score_2d, ScorePlan, ScoreReport};
pub use gaussian::Gaussian;
pub use mixture::GaussianMixture;
pub use task::{ScoreConfig, ScoreData, ScoreTask};

#[cfg(test)]
mod tests;
