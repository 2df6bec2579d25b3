//! The Fréchet distance between two sets of features, each summarised by a Gaussian (Heusel et
//! al. 2017, "FID"):
//!
//! ```text
//! d² = |μa - μb|² + tr(Σa) + tr(Σb) - 2 tr((Σa^½ Σb Σa^½)^½)
//! ```
//!
//! `tr((Σa Σb)^½)` is computed as the trace of the square root of the symmetric positive
//! semi-definite `Σa^½ Σb Σa^½` (the same eigenvalues as `Σa Σb`), so both square roots come from
//! symmetric eigendecompositions in f64 (linfa-linalg's `eigh`, already the PCA's) instead of a
//! general matrix square root: no complex parts to discard. Eigenvalues that rounding makes
//! slightly negative are clamped to 0.

use linfa_linalg::eigh::EighInto;
use ndarray::{Array1, Array2, Axis};

use crate::{Error, Result};

/// The mean and the unbiased (n - 1) covariance of `n` feature rows of `dim` values.
#[derive(Clone, Debug)]
pub struct GaussianStats {
    /// The mean, `dim` values.
    pub mean: Array1<f64>,
    /// The covariance, `dim x dim`.
    pub cov: Array2<f64>,
}

impl GaussianStats {
    /// The statistics of the rows of `features`; needs at least two rows.
    pub fn of(features: &[f32], dim: usize) -> Result<Self> {
        let n = features.len().checked_div(dim).unwrap_or(0);
        if n < 2 || n * dim != features.len() {
            return Err(Error::Shape(format!(
                "a covariance needs at least 2 whole rows of {dim} features, got {} values",
                features.len()
            )));
        }
        let x = Array2::from_shape_fn((n, dim), |(i, j)| features[i * dim + j] as f64);
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(dim));
        let centered = &x - &mean;
        let cov = centered.t().dot(&centered) / (n as f64 - 1.0);
        Ok(Self { mean, cov })
    }
}

/// The symmetric eigendecomposition of `m` (symmetrised first, against rounding): eigenvalues
/// and one unit eigenvector per column.
pub fn symmetric_eigen(m: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    let sym = (m + &m.t()) * 0.5;
    sym.eigh_into()
        .map_err(|e| Error::Config(format!("symmetric eigendecomposition failed: {e}")))
}

/// The square root of a symmetric positive semi-definite matrix, `V diag(√max(λ, 0)) Vᵀ`.
pub fn sqrt_psd(m: &Array2<f64>) -> Result<Array2<f64>> {
    let (values, vectors) = symmetric_eigen(m)?;
    let roots = values.mapv(|v| v.max(0.0).sqrt());
    let scaled = &vectors * &roots; // column j times √λj
    Ok(scaled.dot(&vectors.t()))
}

/// `tr((Σa Σb)^½)` for symmetric positive semi-definite `Σa`, `Σb`.
pub fn trace_sqrt_product(cov_a: &Array2<f64>, cov_b: &Array2<f64>) -> Result<f64> {
    let root_a = sqrt_psd(cov_a)?;
    let inner = root_a.dot(cov_b).dot(&root_a);
    let (values, _) = symmetric_eigen(&inner)?;
    Ok(values.iter().map(|v| v.max(0.0).sqrt()).sum())
}

/// The Fréchet distance (squared, as FID reports it) between two Gaussians.
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> Result<f64> {
    if a.mean.len() != b.mean.len() {
        return Err(Error::Shape(format!(
            "Fréchet distance between {}- and {}-dimensional features",
            a.mean.len(),
            b.mean.len()
        )));
    }
    let diff = &a.mean - &b.mean;
    let cross = trace_sqrt_product(&a.cov, &b.cov)?;
    let d = diff.dot(&diff) + a.cov.diag().sum() + b.cov.diag().sum() - 2.0 * cross;
    // Equal sets give 0 up to rounding, which may be a tiny negative number.
    Ok(d.max(0.0))
}

/// The Fréchet distance between the Gaussians fitted to two sets of feature rows.
pub fn frechet_distance_of(a: &[f32], b: &[f32], dim: usize) -> Result<f64> {
    frechet_distance(&GaussianStats::of(a, dim)?, &GaussianStats::of(b, dim)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn rng(i: u64) -> crate::seed::Rng {
        crate::seed::rng(i, crate::seed::Purpose::Probe, 7)
    }

    #[test]
    fn eigen_reconstructs_a_random_spd_matrix_and_its_square_root_squares_back() {
        let mut r = rng(1);
        let d = 12;
        let g = Array2::from_shape_fn((d, d), |_| r.gen::<f64>() - 0.5);
        let spd = g.dot(&g.t()) + Array2::<f64>::eye(d) * 0.1;
        let (values, vectors) = symmetric_eigen(&spd).unwrap();
        let back = (&vectors * &values).dot(&vectors.t());
        let err = (&back - &spd).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
        assert!(err < 1e-10, "{err}");
        assert!(values.iter().all(|&v| v > 0.0));
        let root = sqrt_psd(&spd).unwrap();
        let err = (&root.dot(&root) - &spd)
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        assert!(err < 1e-10, "{err}");
    }

    /// Draws `n` rows from N(mean, diag(sd²)).
    fn gaussian(n: usize, mean: &[f64], sd: &[f64], seed: u64) -> Vec<f32> {
        let mut r = rng(seed);
        (0..n)
            .flat_map(|_| {
                mean.iter()
                    .zip(sd)
                    .map(|(m, s)| {
                        let z: f64 = StandardNormal.sample(&mut r);
                        (m + s * z) as f32
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn diagonal_gaussians_match_the_closed_form() {
        // For diagonal covariances the distance is Σ (μa - μb)² + (σa - σb)².
        let (ma, sa) = ([0.0, 1.0, -2.0, 0.5], [1.0, 2.0, 0.5, 1.5]);
        let (mb, sb) = ([0.5, 1.0, -1.0, 0.0], [1.5, 1.0, 0.5, 3.0]);
        let a = gaussian(20_000, &ma, &sa, 1);
        let b = gaussian(20_000, &mb, &sb, 2);
        let (sta, stb) = (
            GaussianStats::of(&a, 4).unwrap(),
            GaussianStats::of(&b, 4).unwrap(),
        );
        // Against the sample statistics exactly (their off-diagonal terms are small but not 0,
        // so the closed form of the samples' own diagonal is checked loosely, the exact
        // formula tightly through a diagonal copy).
        let diag = |s: &GaussianStats| GaussianStats {
            mean: s.mean.clone(),
            cov: Array2::from_diag(&s.cov.diag()),
        };
        let closed: f64 = (0..4)
            .map(|i| {
                let dm = sta.mean[i] - stb.mean[i];
                let ds = sta.cov[[i, i]].sqrt() - stb.cov[[i, i]].sqrt();
                dm * dm + ds * ds
            })
            .sum();
        let exact = frechet_distance(&diag(&sta), &diag(&stb)).unwrap();
        assert!(
            (exact - closed).abs() < 1e-9 * closed,
            "{exact} vs {closed}"
        );
        let population: f64 = (0..4)
            .map(|i| (ma[i] - mb[i]).powi(2) + (sa[i] - sb[i]).powi(2))
            .sum();
        let sampled = frechet_distance(&sta, &stb).unwrap();
        assert!(
            (sampled - population).abs() < 0.05 * population,
            "{sampled} vs {population}"
        );
    }

    #[test]
    fn identical_sets_are_at_distance_zero() {
        let a = gaussian(500, &[0.0; 8], &[1.0; 8], 3);
        let d = frechet_distance_of(&a, &a, 8).unwrap();
        assert!(d.abs() < 1e-6, "{d}");
        assert!(frechet_distance_of(&a[..8], &a, 8).is_err());
    }
}
