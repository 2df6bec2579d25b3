//! A mixture of Gaussians, p(x) = Σₖ wₖ N(x; μₖ, Σₖ), and its closed-form score at every noise
//! level: adding σε to a component only widens it, so p_σ = Σₖ wₖ N(μₖ, Σₖ + σ²I) and
//!
//! ∇ log p_σ(x̃) = Σₖ rₖ(x̃) · (−(Σₖ + σ²I)⁻¹(x̃ − μₖ)),  rₖ = wₖ Nₖ(x̃) / Σⱼ wⱼ Nⱼ(x̃),
//!
//! with the responsibilities rₖ computed from log densities by log-sum-exp, so a point far from
//! every mode (where each Nₖ underflows to 0) still gets its score.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::gaussian::{Gaussian, NoisedGaussian};
use crate::seed::Rng;
use crate::{Error, Result};

/// One weighted component of a [`GaussianMixture`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Mixing weight wₖ > 0 (the weights are normalized to sum 1 when used).
    pub weight: f64,
    /// The component's Gaussian.
    pub gaussian: Gaussian,
}

/// A mixture of Gaussians of one dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianMixture {
    /// The components.
    pub components: Vec<Component>,
}

impl GaussianMixture {
    /// The experiment's mixture: `modes` equally weighted components centred on a circle of
    /// `radius` about the origin, each elongated along the circle (standard deviation
    /// `tangential` along it, `radial` across it), so the covariances are full rotated 2×2
    /// matrices and not only multiples of I.
    pub fn ring(modes: usize, radius: f64, radial: f64, tangential: f64) -> Result<Self> {
        if modes == 0 {
            return Err(Error::Config("a ring needs at least one mode".into()));
        }
        let components = (0..modes)
            .map(|k| {
                let angle = 2.0 * std::f64::consts::PI * k as f64 / modes as f64;
                let (s, c) = angle.sin_cos();
                // R diag(radial², tangential²) Rᵀ with R's columns the radial (c, s) and the
                // tangential (−s, c) directions.
                let (a, b) = (radial * radial, tangential * tangential);
                let cov = vec![
                    a * c * c + b * s * s,
                    (a - b) * c * s,
                    (a - b) * c * s,
                    a * s * s + b * c * c,
                ];
                Ok(Component {
                    weight: 1.0,
                    gaussian: Gaussian::new(vec![radius * c, radius * s], cov)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(GaussianMixture { components })
    }

    /// A single Gaussian as a mixture of one component (its score is then the mixture's).
    pub fn single(gaussian: Gaussian) -> Self {
        GaussianMixture {
            components: vec![Component {
                weight: 1.0,
                gaussian,
            }],
        }
    }

    /// The dimension d of every component.
    pub fn dim(&self) -> usize {
        self.components.first().map_or(0, |c| c.gaussian.dim())
    }

    /// Checks a deserialized mixture: at least one component, positive finite weights, every
    /// component a valid Gaussian of the same dimension.
    pub fn check(&self) -> Result<()> {
        if self.components.is_empty() {
            return Err(Error::Config(
                "a mixture needs at least one component".into(),
            ));
        }
        let d = self.dim();
        for (k, c) in self.components.iter().enumerate() {
            if !(c.weight > 0.0 && c.weight.is_finite()) {
                return Err(Error::Config(format!(
                    "mixture component {k}: the weight must be positive and finite, got {}",
                    c.weight
                )));
            }
            c.gaussian.check()?;
            if c.gaussian.dim() != d {
                return Err(Error::Config(format!(
                    "mixture component {k} has dimension {}, the first has {d}",
                    c.gaussian.dim()
                )));
            }
        }
        Ok(())
    }

    /// The data's standard deviation per coordinate, √(mean over i of Var xᵢ), in closed form:
    /// Var xᵢ = Σₖ wₖ(Σₖ,ᵢᵢ + μₖ,ᵢ²) − (Σₖ wₖ μₖ,ᵢ)². The network's input scale.
    pub fn data_scale(&self) -> f64 {
        let d = self.dim();
        let weights = self.weights();
        let variance: f64 = (0..d)
            .map(|i| {
                let (mut second, mut first) = (0.0, 0.0);
                for (w, c) in weights.iter().zip(&self.components) {
                    let (m, v) = (c.gaussian.mean[i], c.gaussian.cov[i * d + i]);
                    second += w * (v + m * m);
                    first += w * m;
                }
                second - first * first
            })
            .sum();
        (variance / d.max(1) as f64).sqrt()
    }

    /// The normalized weights.
    fn weights(&self) -> Vec<f64> {
        let total: f64 = self.components.iter().map(|c| c.weight).sum();
        self.components.iter().map(|c| c.weight / total).collect()
    }

    /// `n` samples, row-major n×d: a component by its weight, then a draw from it, both from
    /// `rng`.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Result<Vec<f64>> {
        self.check()?;
        let weights = self.weights();
        let mut out = Vec::with_capacity(n * self.dim());
        for _ in 0..n {
            let u: f64 = rng.gen();
            let mut acc = 0.0;
            // The last component takes what rounding leaves above the final cumulative sum.
            let k = weights
                .iter()
                .position(|w| {
                    acc += w;
                    u < acc
                })
                .unwrap_or(weights.len() - 1);
            out.extend(self.components[k].gaussian.sample(1, rng)?);
        }
        Ok(out)
    }

    /// The mixture at noise level `sigma`, each component widened by σ²I.
    pub fn noised(&self, sigma: f64) -> Result<NoisedMixture> {
        self.check()?;
        let parts = self
            .components
            .iter()
            .map(|c| c.gaussian.noised(sigma))
            .collect::<Result<Vec<_>>>()?;
        Ok(NoisedMixture {
            log_weights: self.weights().iter().map(|w| w.ln()).collect(),
            parts,
        })
    }
}

/// The law p_σ of x̃ = x + σε for x from a [`GaussianMixture`].
#[derive(Clone, Debug)]
pub struct NoisedMixture {
    log_weights: Vec<f64>,
    parts: Vec<NoisedGaussian>,
}

impl NoisedMixture {
    /// The per-component log wₖ + log Nₖ(x̃) and scores.
    fn terms(&self, x: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
        self.parts
            .iter()
            .zip(&self.log_weights)
            .map(|(p, lw)| {
                let (l, s) = p.log_density_and_score(x);
                (lw + l, s)
            })
            .unzip()
    }

    /// log p_σ(x̃), by log-sum-exp over the components.
    pub fn log_density(&self, x: &[f64]) -> f64 {
        let (logs, _) = self.terms(x);
        log_sum_exp(&logs)
    }

    /// ∇ log p_σ(x̃): the components' scores averaged with their responsibilities.
    pub fn score(&self, x: &[f64]) -> Vec<f64> {
        let (logs, scores) = self.terms(x);
        let total = log_sum_exp(&logs);
        let mut out = vec![0.0; x.len()];
        for (l, s) in logs.iter().zip(&scores) {
            let r = (l - total).exp();
            for (o, v) in out.iter_mut().zip(s) {
                *o += r * v;
            }
        }
        out
    }

    /// The scores of the rows of `xs` (row-major, d per row).
    pub fn scores(&self, xs: &[f64], d: usize) -> Vec<f64> {
        xs.chunks(d).flat_map(|x| self.score(x)).collect()
    }
}

/// log Σ exp(vᵢ), shifted by the largest term so that nothing overflows or all underflows.
fn log_sum_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + values.iter().map(|v| (v - top).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{self, Purpose};

    #[test]
    fn score_is_the_gradient_of_the_log_density() {
        let ring = GaussianMixture::ring(8, 2.0, 0.15, 0.3).unwrap();
        for sigma in [0.05, 0.2, 0.7, 2.0] {
            let p = ring.noised(sigma).unwrap();
            for x in [[0.0, 0.0], [2.1, 0.3], [-1.0, 1.4], [0.7, -2.6], [3.0, 3.0]] {
                let s = p.score(&x);
                // Central differences: error O(h²) times the third derivative.
                let h = 1e-5;
                for i in 0..2 {
                    let (mut up, mut down) = (x, x);
                    up[i] += h;
                    down[i] -= h;
                    let fd = (p.log_density(&up) - p.log_density(&down)) / (2.0 * h);
                    let tol = 1e-5 * (1.0 + s[i].abs());
                    assert!(
                        (fd - s[i]).abs() < tol,
                        "σ {sigma} x {x:?}: {fd} vs {}",
                        s[i]
                    );
                }
            }
        }
    }

    #[test]
    fn far_points_keep_a_finite_score_pointing_back() {
        let p = GaussianMixture::ring(8, 2.0, 0.15, 0.3)
            .unwrap()
            .noised(0.05)
            .unwrap();
        let s = p.score(&[40.0, 0.0]);
        assert!(s.iter().all(|v| v.is_finite()), "{s:?}");
        assert!(s[0] < 0.0, "{s:?}");
    }

    #[test]
    fn one_component_mixture_is_the_gaussian() {
        let g = Gaussian::new(vec![0.5, -1.0], vec![1.2, 0.5, 0.5, 0.4]).unwrap();
        let (m, n) = (
            GaussianMixture::single(g.clone()).noised(0.4).unwrap(),
            g.noised(0.4).unwrap(),
        );
        let x = [1.0, 2.0];
        assert!((m.log_density(&x) - n.log_density(&x)).abs() < 1e-12);
        assert_eq!(m.score(&x).len(), 2);
        for (a, b) in m.score(&x).iter().zip(n.score(&x)) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn samples_visit_every_mode_in_proportion() {
        let ring = GaussianMixture::ring(4, 2.0, 0.1, 0.1).unwrap();
        let xs = ring
            .sample(4000, &mut seed::rng(3, Purpose::Data, 0))
            .unwrap();
        let mut counts = [0usize; 4];
        for p in xs.chunks(2) {
            // Modes at angles 0, 90, 180, 270 degrees.
            let k = (p[1].atan2(p[0]).rem_euclid(2.0 * std::f64::consts::PI)
                / (std::f64::consts::PI / 2.0)
                + 0.5) as usize
                % 4;
            counts[k] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        let again = ring
            .sample(4000, &mut seed::rng(3, Purpose::Data, 0))
            .unwrap();
        assert_eq!(xs, again);
    }

    #[test]
    fn bad_mixtures_are_refused() {
        assert!(GaussianMixture { components: vec![] }.check().is_err());
        let mut m = GaussianMixture::ring(3, 1.0, 0.1, 0.2).unwrap();
        m.components[1].weight = -1.0;
        assert!(m.noised(0.1).is_err());
        assert!(GaussianMixture::ring(0, 1.0, 0.1, 0.1).is_err());
        assert!(GaussianMixture::ring(3, 1.0, 0.0, 0.1).is_err());
    }
}
