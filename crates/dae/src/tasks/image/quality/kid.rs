//! The kernel inception distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying
//! MMD GANs"): the unbiased estimate of the squared maximum mean discrepancy between two sets of
//! features under the cubic polynomial kernel `k(x, y) = (x·y / d + 1)³`:
//!
//! ```text
//! MMD²u = 1/(m(m-1)) Σ_{i≠j} k(aᵢ, aⱼ) + 1/(n(n-1)) Σ_{i≠j} k(bᵢ, bⱼ) - 2/(mn) Σ_{i,j} k(aᵢ, bⱼ)
//! ```
//!
//! Unlike the Fréchet distance, the estimate is unbiased whatever the sample size (its
//! expectation is 0 for two samples of one distribution; single estimates may be negative).
//! Sets larger than [`KidSettings::subset_size`] are measured as the paper and its common
//! implementations do: the mean over [`KidSettings::subsets`] pairs of random subsets of that
//! size (drawn from a seed), with their standard deviation; smaller sets are measured whole,
//! once.

use ndarray::Array2;
use rand::seq::index::sample;
use serde::Serialize;

use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// How KID is estimated on large sets.
#[derive(Clone, Copy, Debug)]
pub struct KidSettings {
    /// Rows per subset (the paper's and torch-fidelity's 1000).
    pub subset_size: usize,
    /// Subset pairs averaged over when a set is larger than `subset_size`.
    pub subsets: usize,
    /// Seed of the subsets.
    pub seed: u64,
}

impl Default for KidSettings {
    fn default() -> Self {
        // 50 pairs rather than torch-fidelity's 100: the standard deviation of the mean is
        // already far below the differences worth reporting, at half the time.
        Self {
            subset_size: 1000,
            subsets: 50,
            seed: 0,
        }
    }
}

/// A KID estimate.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct KidEstimate {
    /// The mean of the unbiased MMD² estimates.
    pub mean: f64,
    /// Their standard deviation over the subsets (0 when measured whole).
    pub std: f64,
    /// How many estimates were averaged.
    pub subsets: usize,
}

/// `(a·bᵀ / d + 1)³`, elementwise, for row sets `a` (`m x d`) and `b` (`n x d`).
fn cubic_kernel(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let d = a.ncols() as f64;
    a.dot(&b.t()).mapv(|p| (p / d + 1.0).powi(3))
}

/// The unbiased MMD² between the rows of `a` and `b` (each at least 2 rows).
pub fn mmd2_unbiased(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let (m, n) = (a.nrows() as f64, b.nrows() as f64);
    let off_diagonal = |k: Array2<f64>| k.sum() - k.diag().sum();
    let kaa = off_diagonal(cubic_kernel(a, a)) / (m * (m - 1.0));
    let kbb = off_diagonal(cubic_kernel(b, b)) / (n * (n - 1.0));
    let kab = cubic_kernel(a, b).sum() / (m * n);
    kaa + kbb - 2.0 * kab
}

/// The rows `rows` of `features` (rows of `dim` values) as an f64 matrix.
fn rows_of(
    features: &[f32],
    dim: usize,
    rows: impl ExactSizeIterator<Item = usize>,
) -> Array2<f64> {
    let n = rows.len();
    let mut out = Array2::zeros((n, dim));
    for (r, i) in rows.enumerate() {
        for (o, &v) in out
            .row_mut(r)
            .iter_mut()
            .zip(&features[i * dim..(i + 1) * dim])
        {
            *o = v as f64;
        }
    }
    out
}

/// KID between the feature rows of `a` and `b` (see the module documentation).
pub fn kid(a: &[f32], b: &[f32], dim: usize, settings: KidSettings) -> Result<KidEstimate> {
    let (m, n) = (a.len() / dim.max(1), b.len() / dim.max(1));
    if dim == 0 || m < 2 || n < 2 || m * dim != a.len() || n * dim != b.len() {
        return Err(Error::Shape(format!(
            "KID needs at least 2 whole rows of {dim} features on each side, got {} and {} values",
            a.len(),
            b.len()
        )));
    }
    if settings.subset_size < 2 || settings.subsets == 0 {
        return Err(Error::Config(format!(
            "KID subsets must have at least 2 rows and there must be at least one, got {} x {}",
            settings.subsets, settings.subset_size
        )));
    }
    if m <= settings.subset_size && n <= settings.subset_size {
        let mean = mmd2_unbiased(&rows_of(a, dim, 0..m), &rows_of(b, dim, 0..n));
        return Ok(KidEstimate {
            mean,
            std: 0.0,
            subsets: 1,
        });
    }
    let size = settings.subset_size.min(m).min(n);
    let estimates: Vec<f64> = (0..settings.subsets)
        .map(|s| {
            let mut rng = seed::rng(settings.seed, Purpose::Quality, s as u64);
            let pick_a = sample(&mut rng, m, size);
            let pick_b = sample(&mut rng, n, size);
            mmd2_unbiased(
                &rows_of(a, dim, pick_a.into_iter()),
                &rows_of(b, dim, pick_b.into_iter()),
            )
        })
        .collect();
    let k = estimates.len() as f64;
    let mean = estimates.iter().sum::<f64>() / k;
    let var = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / k;
    Ok(KidEstimate {
        mean,
        std: var.sqrt(),
        subsets: estimates.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn normal(n: usize, dim: usize, shift: f32, seed: u64) -> Vec<f32> {
        let mut r = seed::rng(seed, Purpose::Probe, 11);
        (0..n * dim)
            .map(|_| {
                let z: f32 = StandardNormal.sample(&mut r);
                z + shift
            })
            .collect()
    }

    #[test]
    fn same_distribution_is_zero_on_average_and_a_shift_is_positive() {
        let dim = 16;
        let settings = KidSettings::default();
        // Unbiased: the mean over independent pairs of small samples is 0 within its error,
        // although each sample's estimate is not.
        let estimates: Vec<f64> = (0..40)
            .map(|s| {
                let a = normal(50, dim, 0.0, 2 * s);
                let b = normal(50, dim, 0.0, 2 * s + 1);
                kid(&a, &b, dim, settings).unwrap().mean
            })
            .collect();
        let mean = estimates.iter().sum::<f64>() / 40.0;
        let sd = (estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 39.0).sqrt();
        assert!(mean.abs() < 3.0 * sd / 40f64.sqrt(), "mean {mean}, sd {sd}");
        assert!(
            estimates.iter().any(|&e| e < 0.0),
            "single estimates scatter around 0"
        );
        let a = normal(300, dim, 0.0, 100);
        let b = normal(300, dim, 0.5, 101);
        let shifted = kid(&a, &b, dim, settings).unwrap().mean;
        assert!(shifted > 20.0 * sd, "{shifted} vs noise {sd}");
    }

    #[test]
    fn large_sets_average_seeded_subsets() {
        let dim = 4;
        let settings = KidSettings {
            subset_size: 20,
            subsets: 5,
            seed: 3,
        };
        let a = normal(60, dim, 0.0, 1);
        let b = normal(50, dim, 1.0, 2);
        let first = kid(&a, &b, dim, settings).unwrap();
        assert_eq!(first.subsets, 5);
        assert!(first.std > 0.0 && first.mean > 0.0);
        assert_eq!(first.mean, kid(&a, &b, dim, settings).unwrap().mean);
        assert!(kid(&a[..4], &b, dim, settings).is_err());
    }
}
