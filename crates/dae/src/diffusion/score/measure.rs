//! How the learned score is measured against the closed form.
//!
//! - Relative error of a score at one level σ: the ratio of expectations
//!   E‖s_θ(x̃, σ) − ∇log p_σ(x̃)‖² / E‖∇log p_σ(x̃)‖², over x̃ = x + σε with x from the data and
//!   ε ~ N(0, I) fresh, estimated by the sums over the draw. It is 0 for the true score and 1 for
//!   s_θ = 0; the ratio of sums (not the mean of per-point ratios) keeps the few points where the
//!   true score nearly vanishes from dominating. The experiment averages it over a geometric
//!   ladder of levels, each level counting alike.
//! - Tweedie's check: the model's estimate of the clean point, x̂₀ = x̃ − σε̂ (= x̃ + σ²s_θ), against
//!   the closed-form posterior mean E[x | x̃] of a Gaussian, by R² = 1 − SS_res / SS_tot, with
//!   SS_res = Σ‖x̂₀ − E[x | x̃]‖² and SS_tot = Σ‖E[x | x̃] − m‖², m the mean of E[x | x̃] per
//!   coordinate; per level, and over all levels pooled.

use std::ops::Range;

use burn::prelude::*;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::gaussian::Gaussian;
use super::mixture::GaussianMixture;
use super::model::{Conditioning, ScoreNet};
use crate::seed::Rng;
use crate::Result;

/// E‖learned − truth‖² / E‖truth‖² over the rows of two equally long row-major arrays (the
/// sums over every coordinate); 0 when both are 0.
pub fn relative_error(learned: &[f64], truth: &[f64]) -> f64 {
    let res: f64 = learned
        .iter()
        .zip(truth)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let tot: f64 = truth.iter().map(|b| b * b).sum();
    // A perfect prediction of a zero score is no error (not 0/0).
    if res == 0.0 {
        0.0
    } else {
        res / tot
    }
}

/// R² = 1 − Σ(pred − truth)² / Σ(truth − m)² over row-major rows of `d` values, m the mean of
/// `truth` per coordinate. 1 is a perfect prediction; predicting m is 0.
pub fn r_squared(pred: &[f64], truth: &[f64], d: usize) -> f64 {
    let rows = truth.len() / d.max(1);
    let mut mean = vec![0.0; d];
    for row in truth.chunks(d) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
    let res: f64 = pred.iter().zip(truth).map(|(a, b)| (a - b) * (a - b)).sum();
    let tot: f64 = truth
        .chunks(d)
        .flat_map(|row| row.iter().zip(&mean).map(|(v, m)| (v - m) * (v - m)))
        .sum();
    1.0 - res / tot
}

/// A draw of noisy points at a ladder of levels with their closed-form scores: `per_level`
/// points at each level, level after level.
#[derive(Clone, Debug)]
pub struct Held {
    /// The levels.
    pub levels: Vec<f64>,
    /// Points per level.
    pub per_level: usize,
    /// The clean points x, row-major.
    pub clean: Vec<f64>,
    /// The noise ε of each point.
    pub noise: Vec<f64>,
    /// x̃ = x + σε.
    pub noisy: Vec<f64>,
    /// The level of each point.
    pub sigmas: Vec<f64>,
    /// ∇log p_σ(x̃) in closed form.
    pub scores: Vec<f64>,
}

impl Held {
    /// Draws `per_level` clean points per level from `mixture` with `data` and their noise with
    /// `noise`, and computes the true scores.
    pub fn draw(
        mixture: &GaussianMixture,
        levels: &[f64],
        per_level: usize,
        data: &mut Rng,
        noise: &mut Rng,
    ) -> Result<Held> {
        let d = mixture.dim();
        let clean = mixture.sample(levels.len() * per_level, data)?;
        let eps: Vec<f64> = (0..clean.len())
            .map(|_| StandardNormal.sample(noise))
            .collect();
        let sigmas: Vec<f64> = levels
            .iter()
            .flat_map(|&s| std::iter::repeat_n(s, per_level))
            .collect();
        let noisy: Vec<f64> = clean
            .iter()
            .zip(&eps)
            .enumerate()
            .map(|(i, (x, e))| x + sigmas[i / d] * e)
            .collect();
        let mut scores = Vec::with_capacity(noisy.len());
        for (j, &s) in levels.iter().enumerate() {
            let rows = j * per_level * d..(j + 1) * per_level * d;
            scores.extend(mixture.noised(s)?.scores(&noisy[rows], d));
        }
        Ok(Held {
            levels: levels.to_vec(),
            per_level,
            clean,
            noise: eps,
            noisy,
            sigmas,
            scores,
        })
    }

    /// The coordinate range of each level's points in the row-major arrays.
    pub fn per_level(&self, d: usize) -> Vec<Range<usize>> {
        let n = self.per_level * d;
        (0..self.levels.len()).map(|j| j * n..(j + 1) * n).collect()
    }

    /// The learned scores s_θ = −ε̂/σ of the predicted noise `eps`.
    pub fn learned_scores(&self, eps: &[f64]) -> Vec<f64> {
        let d = eps.len() / self.sigmas.len().max(1);
        eps.iter()
            .enumerate()
            .map(|(i, e)| -e / self.sigmas[i / d.max(1)])
            .collect()
    }
}

/// The score's relative error at one level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelError {
    /// The noise level σ.
    pub sigma: f64,
    /// E‖s_θ − s‖² / E‖s‖² at σ.
    pub relative_error: f64,
}

/// Tweedie's check at one level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelTweedie {
    /// The noise level σ.
    pub sigma: f64,
    /// R² of x̂₀ = x̃ − σε̂ against the closed-form E[x | x̃] at σ.
    pub r2: f64,
    /// The score's relative error at σ on the same points.
    pub relative_error: f64,
}

/// The relative error of `model`'s score on `held` at each of its levels.
pub fn score_errors(
    model: &ScoreNet,
    conditioning: &Conditioning,
    held: &Held,
    device: &Device,
) -> Vec<LevelError> {
    let eps = model.predict_noise(conditioning, &held.noisy, &held.sigmas, device);
    let learned = held.learned_scores(&eps);
    held.per_level(conditioning.dim)
        .into_iter()
        .zip(&held.levels)
        .map(|(r, &sigma)| LevelError {
            sigma,
            relative_error: relative_error(&learned[r.clone()], &held.scores[r]),
        })
        .collect()
}

/// Tweedie's check of `model`, trained on `gaussian`, on `held` (drawn from it): R² per level,
/// and pooled over every level.
pub fn tweedie(
    model: &ScoreNet,
    conditioning: &Conditioning,
    gaussian: &Gaussian,
    held: &Held,
    device: &Device,
) -> Result<(Vec<LevelTweedie>, f64)> {
    let d = conditioning.dim;
    let eps = model.predict_noise(conditioning, &held.noisy, &held.sigmas, device);
    let learned = held.learned_scores(&eps);
    // x̂₀ = x̃ − σε̂.
    let estimate: Vec<f64> = held
        .noisy
        .iter()
        .zip(&eps)
        .enumerate()
        .map(|(i, (x, e))| x - held.sigmas[i / d] * e)
        .collect();
    let mut posterior = Vec::with_capacity(estimate.len());
    for (j, &sigma) in held.levels.iter().enumerate() {
        let noised = gaussian.noised(sigma)?;
        let rows = j * held.per_level * d..(j + 1) * held.per_level * d;
        posterior.extend(
            held.noisy[rows]
                .chunks(d)
                .flat_map(|x| noised.posterior_mean(x)),
        );
    }
    let levels = held
        .per_level(d)
        .into_iter()
        .zip(&held.levels)
        .map(|(r, &sigma)| LevelTweedie {
            sigma,
            r2: r_squared(&estimate[r.clone()], &posterior[r.clone()], d),
            relative_error: relative_error(&learned[r.clone()], &held.scores[r]),
        })
        .collect();
    Ok((levels, r_squared(&estimate, &posterior, d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{self, Purpose};

    #[test]
    fn metrics_are_zero_error_and_unit_r2_for_the_truth() {
        let truth = [1.0, -2.0, 0.5, 3.0, -1.0, 0.0];
        assert_eq!(relative_error(&truth, &truth), 0.0);
        assert_eq!(relative_error(&[0.0; 6], &truth), 1.0);
        assert_eq!(relative_error(&[0.0; 2], &[0.0; 2]), 0.0);
        assert_eq!(r_squared(&truth, &truth, 2), 1.0);
        // Predicting the per-coordinate mean (1/6, 1/3) gives R² = 0.
        let m = [1.0 / 6.0, 1.0 / 3.0];
        let mean = [m[0], m[1], m[0], m[1], m[0], m[1]];
        assert!(r_squared(&mean, &truth, 2).abs() < 1e-12);
    }

    #[test]
    fn held_draw_carries_the_true_scores_and_the_noise() {
        let ring = GaussianMixture::ring(8, 2.0, 0.15, 0.3).unwrap();
        let held = Held::draw(
            &ring,
            &[0.1, 1.0],
            50,
            &mut seed::rng(0, Purpose::Data, 2),
            &mut seed::rng(0, Purpose::EvalNoise, 1),
        )
        .unwrap();
        assert_eq!(held.noisy.len(), 200);
        let x = &held.noisy[120..122];
        let want = ring.noised(1.0).unwrap().score(x);
        assert_eq!(&held.scores[120..122], &want[..]);
        // A model that predicted the true E[ε | x̃] = −σ s would have relative error 0.
        let eps: Vec<f64> = held
            .scores
            .iter()
            .enumerate()
            .map(|(i, s)| -held.sigmas[i / 2] * s)
            .collect();
        let learned = held.learned_scores(&eps);
        for r in held.per_level(2) {
            assert!(relative_error(&learned[r.clone()], &held.scores[r]) < 1e-24);
        }
    }
}
