//! The noise-conditioned denoiser: a small MLP that reads a noisy point x̃ and its noise level σ
//! and predicts the noise ε̂ that was added (x̃ = x + σε). Its score estimate is
//! s_θ(x̃, σ) = −ε̂/σ, its clean-point estimate (Tweedie) x̂₀ = x̃ − σε̂.
//!
//! Input of one row: x̃ scaled by c_in(σ) = 1/√(σ_data² + σ²) (Karras et al.'s preconditioning:
//! x̃'s spread grows from σ_data to about σ over the range, and the scaled input keeps unit
//! spread at every level), then an embedding of log σ: u ∈ [−1, 1] (log σ mapped linearly over
//! the training range) with sin and cos of u at a few frequencies, so that the network tells
//! nearby levels apart without having to build that resolution from one scalar.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::seed::Rng;
use crate::{Error, Result};

/// Rows per forward pass when predicting many points.
const CHUNK: usize = 4096;

/// The range of noise levels trained on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseRange {
    /// The smallest noise level σ_min > 0.
    pub sigma_min: f64,
    /// The largest noise level σ_max ≥ σ_min.
    pub sigma_max: f64,
}

impl NoiseRange {
    /// Checks 0 < σ_min ≤ σ_max, both finite.
    pub fn check(&self) -> Result<()> {
        let NoiseRange {
            sigma_min,
            sigma_max,
        } = *self;
        if !(sigma_min > 0.0 && sigma_min <= sigma_max && sigma_max.is_finite()) {
            return Err(Error::Config(format!(
                "the noise levels need 0 < sigma_min ≤ sigma_max, finite; got {sigma_min} and \
                 {sigma_max}"
            )));
        }
        Ok(())
    }

    /// A level drawn log-uniformly over the range: every octave of σ gets the same share of the
    /// training steps.
    pub fn draw(&self, rng: &mut Rng) -> f64 {
        let (lo, hi) = (self.sigma_min.ln(), self.sigma_max.ln());
        (lo + (hi - lo) * rng.gen::<f64>()).exp()
    }

    /// `n` levels in geometric progression from σ_min to σ_max (σ_min alone when `n` is 1).
    pub fn ladder(&self, n: usize) -> Vec<f64> {
        let (lo, hi) = (self.sigma_min.ln(), self.sigma_max.ln());
        (0..n)
            .map(|i| match n {
                1 => self.sigma_min,
                _ => (lo + (hi - lo) * i as f64 / (n - 1) as f64).exp(),
            })
            .collect()
    }

    /// log σ mapped linearly onto [−1, 1] over the range (0 for a range of one level).
    fn position(&self, sigma: f64) -> f64 {
        let (lo, hi) = (self.sigma_min.ln(), self.sigma_max.ln());
        if hi > lo {
            2.0 * (sigma.ln() - lo) / (hi - lo) - 1.0
        } else {
            0.0
        }
    }
}

/// The sizes of a [`ScoreNet`]; stored in the run's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreNetConfig {
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Frequencies of the sinusoidal embedding of log σ (each adds a sin and a cos input).
    pub frequencies: usize,
}

impl Default for ScoreNetConfig {
    /// Three hidden layers of 128, three frequencies.
    fn default() -> Self {
        ScoreNetConfig {
            hidden: 128,
            layers: 3,
            frequencies: 3,
        }
    }
}

/// What turns a noisy point and its level into a row of the network's input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conditioning {
    /// The data's dimension d.
    pub dim: usize,
    /// The levels trained on (the embedding's scale).
    pub range: NoiseRange,
    /// Frequencies of the embedding.
    pub frequencies: usize,
    /// The data's standard deviation per coordinate (root mean of the coordinates' variances),
    /// for the input scale c_in.
    pub data_scale: f64,
}

impl Conditioning {
    /// Inputs per row: the d scaled coordinates, u and a sin and a cos per frequency.
    pub fn width(&self) -> usize {
        self.dim + 1 + 2 * self.frequencies
    }

    /// Appends the input row of the noisy point `x` (d values) at level `sigma` to `out`.
    pub fn push_row(&self, x: &[f64], sigma: f64, out: &mut Vec<f32>) {
        let c_in = 1.0 / (self.data_scale * self.data_scale + sigma * sigma).sqrt();
        out.extend(x.iter().map(|v| (v * c_in) as f32));
        let u = self.range.position(sigma);
        out.push(u as f32);
        for k in 0..self.frequencies {
            // Periods from 4 (one half-wave over the range) down by octaves.
            let f = std::f64::consts::FRAC_PI_2 * (1u64 << k.min(30)) as f64;
            out.push((f * u).sin() as f32);
            out.push((f * u).cos() as f32);
        }
    }

    /// The input rows of the noisy points `xs` (row-major, d per row), each at its level.
    pub fn rows(&self, xs: &[f64], sigmas: &[f64]) -> Vec<f32> {
        let mut out = Vec::with_capacity(sigmas.len() * self.width());
        for (x, &s) in xs.chunks(self.dim).zip(sigmas) {
            self.push_row(x, s, &mut out);
        }
        out
    }
}

/// The MLP: hidden layers with SiLU, a linear head of d outputs (ε̂).
#[derive(Module, Debug)]
pub struct ScoreNet {
    hidden: Vec<Linear>,
    head: Linear,
}

impl ScoreNetConfig {
    /// Refuses empty layers and too many frequencies.
    pub fn check(&self) -> Result<()> {
        if self.hidden == 0 || self.layers == 0 {
            return Err(Error::Config(
                "the score network needs at least one hidden layer of width ≥ 1".into(),
            ));
        }
        if self.hidden > 4096 || self.layers > 16 || self.frequencies > 16 {
            return Err(Error::Config(format!(
                "the score network is meant to be small: at most 16 layers of 4096 and 16 \
                 frequencies, got {} layers of {} and {} frequencies",
                self.layers, self.hidden, self.frequencies
            )));
        }
        Ok(())
    }

    /// A freshly initialized network for `conditioning` on `device`.
    pub fn init(&self, conditioning: &Conditioning, device: &Device) -> ScoreNet {
        let mut width = conditioning.width();
        let hidden = (0..self.layers)
            .map(|_| {
                let layer = LinearConfig::new(width, self.hidden).init(device);
                width = self.hidden;
                layer
            })
            .collect();
        ScoreNet {
            hidden,
            head: LinearConfig::new(width, conditioning.dim).init(device),
        }
    }
}

impl ScoreNet {
    /// ε̂ `[n, d]` for input rows `[n, width]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for layer in &self.hidden {
            x = silu(layer.forward(x));
        }
        self.head.forward(x)
    }

    /// ε̂ for the noisy points `xs` (row-major, d per row), each at its level in `sigmas`, in
    /// chunks; f64 for the measurements.
    pub fn predict_noise(
        &self,
        conditioning: &Conditioning,
        xs: &[f64],
        sigmas: &[f64],
        device: &Device,
    ) -> Vec<f64> {
        let (d, width) = (conditioning.dim, conditioning.width());
        let mut out = Vec::with_capacity(xs.len());
        for start in (0..sigmas.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(sigmas.len());
            let rows = conditioning.rows(&xs[start * d..end * d], &sigmas[start..end]);
            let input = Tensor::<2>::from_data(TensorData::new(rows, [end - start, width]), device);
            let eps = self
                .forward(input)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            out.extend(eps.into_iter().map(f64::from));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_geometric_and_draws_stay_in_range() {
        let r = NoiseRange {
            sigma_min: 0.1,
            sigma_max: 1.6,
        };
        let l = r.ladder(5);
        let want = [0.1, 0.2, 0.4, 0.8, 1.6];
        assert!(
            l.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{l:?}"
        );
        let mut rng = crate::seed::rng(0, crate::seed::Purpose::TrainNoise, 1);
        assert!((0..1000).all(|_| (0.1..=1.6).contains(&r.draw(&mut rng))));
        assert_eq!(r.position(0.1), -1.0);
        assert!((r.position(1.6) - 1.0).abs() < 1e-12);
        assert!(NoiseRange {
            sigma_min: 0.0,
            sigma_max: 1.0
        }
        .check()
        .is_err());
    }

    #[test]
    fn rows_have_the_width_and_scaled_coordinates() {
        let c = Conditioning {
            dim: 2,
            range: NoiseRange {
                sigma_min: 0.1,
                sigma_max: 1.6,
            },
            frequencies: 3,
            data_scale: 0.0,
        };
        let rows = c.rows(&[1.0, -2.0, 3.0, 4.0], &[0.5, 1.6]);
        assert_eq!(rows.len(), 2 * c.width());
        assert_eq!(c.width(), 9);
        // With σ_data = 0, c_in = 1/σ.
        assert_eq!(&rows[..2], &[2.0, -4.0]);
        assert_eq!(rows[c.width() + 2], 1.0);
    }
}
