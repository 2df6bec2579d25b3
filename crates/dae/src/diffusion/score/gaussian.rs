//! A Gaussian N(μ, Σ) in d dimensions and its closed forms under added noise: the density and
//! score of x̃ = x + σε (ε ~ N(0, I)), which is N(μ, Σ + σ²I), and Tweedie's posterior mean
//! E[x | x̃] = μ + Σ(Σ + σ²I)⁻¹(x̃ − μ).
//!
//! Everything is f64 and dense: d is small (2 in the experiment), and the closed forms are the
//! reference the model is measured against, so they should carry no error of their own.

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::seed::Rng;
use crate::{Error, Result};

/// A Gaussian N(mean, cov) in `mean.len()` dimensions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gaussian {
    /// The mean μ.
    pub mean: Vec<f64>,
    /// The covariance Σ, row-major d×d; symmetric positive definite.
    pub cov: Vec<f64>,
}

/// The Cholesky factor L (row-major, lower triangular, L Lᵀ = `a`) of the d×d matrix `a`, or
/// `None` when `a` is not symmetric positive definite (or holds a non-finite value).
pub(crate) fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                // Refuses NaN as well: it is neither finite nor positive.
                if !s.is_finite() || s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// Solves (L Lᵀ) x = b for x given the Cholesky factor L: forward then back substitution.
fn cholesky_solve(l: &[f64], b: &[f64]) -> Vec<f64> {
    let d = b.len();
    let mut y = b.to_vec();
    for i in 0..d {
        for k in 0..i {
            y[i] -= l[i * d + k] * y[k];
        }
        y[i] /= l[i * d + i];
    }
    for i in (0..d).rev() {
        for k in i + 1..d {
            y[i] -= l[k * d + i] * y[k];
        }
        y[i] /= l[i * d + i];
    }
    y
}

impl Gaussian {
    /// N(`mean`, `cov`), checked: `cov` is d×d, symmetric and positive definite, every value
    /// finite.
    pub fn new(mean: Vec<f64>, cov: Vec<f64>) -> Result<Self> {
        let g = Gaussian { mean, cov };
        g.check()?;
        Ok(g)
    }

    /// N(`mean`, diag(`variances`)).
    pub fn diagonal(mean: Vec<f64>, variances: &[f64]) -> Result<Self> {
        let d = variances.len();
        let mut cov = vec![0.0; d * d];
        for (i, v) in variances.iter().enumerate() {
            cov[i * d + i] = *v;
        }
        Gaussian::new(mean, cov)
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Checks the shapes, the symmetry and the positive definiteness of a deserialized value.
    pub fn check(&self) -> Result<()> {
        let d = self.dim();
        if d == 0 || self.cov.len() != d * d {
            return Err(Error::Config(format!(
                "a Gaussian needs a mean of d ≥ 1 values and a d×d covariance; got d = {d} and \
                 {} covariance entries",
                self.cov.len()
            )));
        }
        if self.mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::Config("a Gaussian's mean must be finite".into()));
        }
        for i in 0..d {
            for j in 0..i {
                let (a, b) = (self.cov[i * d + j], self.cov[j * d + i]);
                if (a - b).abs() > 1e-12 * (1.0 + a.abs().max(b.abs())) {
                    return Err(Error::Config(format!(
                        "a Gaussian's covariance must be symmetric; entry ({i}, {j}) is {a}, \
                         ({j}, {i}) is {b}"
                    )));
                }
            }
        }
        if cholesky(&self.cov, d).is_none() {
            return Err(Error::Config(
                "a Gaussian's covariance must be positive definite".into(),
            ));
        }
        Ok(())
    }

    /// `n` samples, row-major n×d: μ + L z with L Lᵀ = Σ and z standard normal from `rng`.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Result<Vec<f64>> {
        let d = self.dim();
        let l = cholesky(&self.cov, d).ok_or_else(|| {
            Error::Config("a Gaussian's covariance must be positive definite".into())
        })?;
        let mut out = Vec::with_capacity(n * d);
        let mut z = vec![0.0; d];
        for _ in 0..n {
            z.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            for i in 0..d {
                let lz: f64 = (0..=i).map(|k| l[i * d + k] * z[k]).sum();
                out.push(self.mean[i] + lz);
            }
        }
        Ok(out)
    }

    /// The Gaussian at noise level `sigma`: N(μ, Σ + σ²I), factored once for its density, score
    /// and posterior mean.
    pub fn noised(&self, sigma: f64) -> Result<NoisedGaussian> {
        if !(sigma >= 0.0 && sigma.is_finite()) {
            return Err(Error::Config(format!(
                "a noise level must be finite and ≥ 0, got {sigma}"
            )));
        }
        let d = self.dim();
        let mut total = self.cov.clone();
        for i in 0..d {
            total[i * d + i] += sigma * sigma;
        }
        let chol = cholesky(&total, d).ok_or_else(|| {
            Error::Config("a Gaussian's covariance must be positive definite".into())
        })?;
        let log_det = 2.0 * (0..d).map(|i| chol[i * d + i].ln()).sum::<f64>();
        Ok(NoisedGaussian {
            mean: self.mean.clone(),
            cov: self.cov.clone(),
            chol,
            log_norm: -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det),
        })
    }
}

/// N(μ, Σ + σ²I), the law of x̃ = x + σε for x ~ N(μ, Σ), with its Cholesky factor.
#[derive(Clone, Debug)]
pub struct NoisedGaussian {
    mean: Vec<f64>,
    cov: Vec<f64>,
    chol: Vec<f64>,
    /// log of the density's normalizer, −½(d log 2π + log det(Σ + σ²I)).
    log_norm: f64,
}

impl NoisedGaussian {
    /// (Σ + σ²I)⁻¹(x̃ − μ), the quantity every closed form below is built from.
    fn whitened(&self, x: &[f64]) -> Vec<f64> {
        let diff: Vec<f64> = x.iter().zip(&self.mean).map(|(a, m)| a - m).collect();
        cholesky_solve(&self.chol, &diff)
    }

    /// log p_σ(x̃).
    pub fn log_density(&self, x: &[f64]) -> f64 {
        let w = self.whitened(x);
        let quad: f64 = x
            .iter()
            .zip(&self.mean)
            .zip(&w)
            .map(|((a, m), w)| (a - m) * w)
            .sum();
        self.log_norm - 0.5 * quad
    }

    /// ∇ log p_σ(x̃) = −(Σ + σ²I)⁻¹(x̃ − μ).
    pub fn score(&self, x: &[f64]) -> Vec<f64> {
        self.whitened(x).into_iter().map(|w| -w).collect()
    }

    /// log p_σ(x̃) and its score from one solve (the mixture needs both for every component).
    pub(crate) fn log_density_and_score(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let w = self.whitened(x);
        let quad: f64 = x
            .iter()
            .zip(&self.mean)
            .zip(&w)
            .map(|((a, m), w)| (a - m) * w)
            .sum();
        (
            self.log_norm - 0.5 * quad,
            w.into_iter().map(|w| -w).collect(),
        )
    }

    /// Tweedie's posterior mean in its Gaussian closed form, E[x | x̃] = μ + Σ(Σ + σ²I)⁻¹(x̃ − μ):
    /// the best estimate (in mean squared error) of the clean x from x̃.
    pub fn posterior_mean(&self, x: &[f64]) -> Vec<f64> {
        let w = self.whitened(x);
        let d = self.mean.len();
        (0..d)
            .map(|i| self.mean[i] + (0..d).map(|k| self.cov[i * d + k] * w[k]).sum::<f64>())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{self, Purpose};

    fn tilted() -> Gaussian {
        Gaussian::new(vec![0.5, -1.0], vec![1.2, 0.5, 0.5, 0.4]).unwrap()
    }

    #[test]
    fn tweedie_closed_form_is_the_noisy_point_plus_sigma_squared_score() {
        let g = tilted();
        for sigma in [0.05, 0.3, 1.0, 2.0] {
            let n = g.noised(sigma).unwrap();
            for x in [[0.0, 0.0], [2.0, -3.0], [-1.5, 0.7]] {
                let pm = n.posterior_mean(&x);
                let s = n.score(&x);
                for i in 0..2 {
                    let via_score = x[i] + sigma * sigma * s[i];
                    assert!((pm[i] - via_score).abs() < 1e-12, "{pm:?} vs {s:?}");
                }
            }
        }
    }

    #[test]
    fn density_integrates_to_one_and_samples_have_the_moments() {
        let n = tilted().noised(0.3).unwrap();
        // A Riemann sum over a box of ±8 standard deviations.
        let h = 0.02;
        let mut total = 0.0;
        for i in -300..=300 {
            for j in -300..=300 {
                total += n
                    .log_density(&[0.5 + i as f64 * h, -1.0 + j as f64 * h])
                    .exp();
            }
        }
        assert!((total * h * h - 1.0).abs() < 1e-6, "{}", total * h * h);
        let xs = tilted()
            .sample(20_000, &mut seed::rng(1, Purpose::Data, 0))
            .unwrap();
        let mean_x = xs.iter().step_by(2).sum::<f64>() / 20_000.0;
        let cov_xy = xs
            .chunks(2)
            .map(|p| (p[0] - 0.5) * (p[1] + 1.0))
            .sum::<f64>()
            / 20_000.0;
        assert!((mean_x - 0.5).abs() < 0.03, "{mean_x}");
        assert!((cov_xy - 0.5).abs() < 0.03, "{cov_xy}");
    }

    #[test]
    fn bad_covariances_are_refused() {
        assert!(Gaussian::new(vec![0.0, 0.0], vec![1.0, 2.0, 2.0, 1.0]).is_err());
        assert!(Gaussian::new(vec![0.0, 0.0], vec![1.0, 0.1, 0.2, 1.0]).is_err());
        assert!(Gaussian::new(vec![0.0], vec![f64::NAN]).is_err());
        assert!(Gaussian::new(vec![], vec![]).is_err());
        assert!(tilted().noised(-1.0).is_err());
    }
}
