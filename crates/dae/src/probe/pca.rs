//! Principal component analysis: the linear baseline a learned code must beat at equal
//! dimension, and the projection of the latent-space map.
//!
//! The components are the top eigenvectors of the sample covariance. Up to
//! [`EIGH_MAX_DIM`] dimensions the covariance is decomposed whole (linfa-linalg's symmetric
//! eigendecomposition, exact, every component at once); above it, where a full decomposition
//! costs minutes, the top components come from randomized subspace iteration (Halko,
//! Martinsson & Tropp 2011) on the centered data, fast when few are wanted, as for a 2-D map.
//! (linfa-linalg's LOBPCG was used first; it panicked with NaN on rank-deficient codes, e.g. a
//! conv encoder with dead channels, whose many zero-variance columns subspace iteration takes in
//! its stride.)

use linfa_linalg::eigh::EighInto;
use ndarray::{Array2, Axis};
use rand::Rng;

use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// Widest data decomposed through the full covariance; wider data uses subspace iteration.
pub const EIGH_MAX_DIM: usize = 1024;

/// A fitted PCA: the mean and the top principal axes of the training data.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Input dimension.
    pub dim: usize,
    /// The training mean, subtracted before projecting.
    pub mean: Vec<f64>,
    /// `k x dim`, one unit-length principal axis per row, by decreasing variance.
    pub components: Array2<f64>,
    /// The variance along each axis (the covariance's eigenvalues), decreasing.
    pub variances: Vec<f64>,
}

/// How the principal axes are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Eigh,
    Subspace,
}

/// Extra directions carried along in subspace iteration beyond the `k` wanted: they absorb the
/// next components, so the wanted ones converge at the rate of the gap to the (k + 11)-th.
const OVERSAMPLE: usize = 10;
/// Power iterations of the subspace.
const SUBSPACE_ITERATIONS: usize = 12;

impl Pca {
    /// Fits the top `k` principal axes of the `n = data.len() / dim` rows of `data`.
    ///
    /// `seed` seeds subspace iteration's starting block (wide data only), so the same seed gives the same
    /// axes. The sign of each axis is fixed (largest-magnitude entry positive), so the projection
    /// does not flip between runs or methods.
    pub fn fit(data: &[f32], dim: usize, k: usize, seed: u64) -> Result<Pca> {
        let method = if dim <= EIGH_MAX_DIM {
            Method::Eigh
        } else {
            Method::Subspace
        };
        Self::fit_with(data, dim, k, seed, method)
    }

    fn fit_with(data: &[f32], dim: usize, k: usize, seed: u64, method: Method) -> Result<Pca> {
        let n = data.len().checked_div(dim).unwrap_or(0);
        if dim == 0 || !data.len().is_multiple_of(dim) || n < 2 || k == 0 || k > dim.min(n) {
            return Err(Error::Config(format!(
                "PCA with {k} components needs 1 <= k <= min(rows, dimension) and at least 2 \
                 rows; got {} values of dimension {dim}",
                data.len()
            )));
        }
        let x = Array2::from_shape_vec((n, dim), data.iter().map(|&v| v as f64).collect())
            .map_err(|e| Error::Shape(e.to_string()))?;
        let mean = x.mean_axis(Axis(0)).expect("n >= 2 rows");
        let centered = &x - &mean;
        let fail = |e: linfa_linalg::LinalgError| Error::Config(format!("PCA: {e}"));
        let (mut components, variances) = match method {
            Method::Eigh => {
                let cov = centered.t().dot(&centered) / (n as f64 - 1.0);
                let (values, vectors) = cov.eigh_into().map_err(fail)?;
                // eigh returns ascending eigenvalues, one eigenvector per column.
                let mut order: Vec<usize> = (0..dim).collect();
                order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
                let top = &order[..k];
                let comps = Array2::from_shape_fn((k, dim), |(r, c)| vectors[[c, top[r]]]);
                (comps, top.iter().map(|&i| values[i].max(0.0)).collect())
            }
            Method::Subspace => {
                let l = (k + OVERSAMPLE).min(dim).min(n);
                let mut rng = seed::rng(seed, Purpose::Probe, 1);
                let mut q = orthonormal_columns(Array2::from_shape_fn((dim, l), |_| {
                    rng.gen_range(-1.0..1.0)
                }));
                for _ in 0..SUBSPACE_ITERATIONS {
                    q = orthonormal_columns(centered.t().dot(&centered.dot(&q)));
                }
                // Rayleigh-Ritz: the covariance restricted to the subspace, decomposed exactly.
                let y = centered.dot(&q);
                let small = y.t().dot(&y) / (n as f64 - 1.0);
                let (values, vectors) = small.eigh_into().map_err(fail)?;
                let mut order: Vec<usize> = (0..l).collect();
                order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
                let top = &order[..k];
                let axes = q.dot(&vectors);
                let comps = Array2::from_shape_fn((k, dim), |(r, c)| axes[[c, top[r]]]);
                // A zero column of q (the data has lower rank) gives a zero axis.
                if comps.rows().into_iter().any(|a| a.dot(&a) < 0.5) {
                    return Err(Error::Config(format!(
                        "PCA: the data has rank below {k} components"
                    )));
                }
                (comps, top.iter().map(|&i| values[i].max(0.0)).collect())
            }
        };
        for mut axis in components.rows_mut() {
            let biggest = axis
                .iter()
                .copied()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(0.0);
            if biggest < 0.0 {
                axis.mapv_inplace(|v| -v);
            }
        }
        Ok(Pca {
            dim,
            mean: mean.to_vec(),
            components,
            variances,
        })
    }

    /// Number of components.
    pub fn k(&self) -> usize {
        self.components.nrows()
    }

    /// Projects the rows of `data` (each `dim` values) onto the axes: `k` values per row.
    pub fn transform(&self, data: &[f32]) -> Result<Vec<f32>> {
        if !data.len().is_multiple_of(self.dim) {
            return Err(Error::Shape(format!(
                "{} values are not rows of dimension {}",
                data.len(),
                self.dim
            )));
        }
        let n = data.len() / self.dim;
        let x = Array2::from_shape_fn((n, self.dim), |(r, c)| {
            data[r * self.dim + c] as f64 - self.mean[c]
        });
        Ok(x.dot(&self.components.t())
            .iter()
            .map(|&v| v as f32)
            .collect())
    }
}

/// Orthonormalizes the columns of `m` by modified Gram-Schmidt (twice, for accuracy); a column
/// that depends on the earlier ones becomes zero.
fn orthonormal_columns(mut m: Array2<f64>) -> Array2<f64> {
    for _ in 0..2 {
        for j in 0..m.ncols() {
            for i in 0..j {
                let proj = m.column(i).dot(&m.column(j));
                let prev = m.column(i).to_owned();
                m.column_mut(j).scaled_add(-proj, &prev);
            }
            let norm = m.column(j).dot(&m.column(j)).sqrt();
            let scale = if norm > 1e-10 { 1.0 / norm } else { 0.0 };
            m.column_mut(j).mapv_inplace(|v| v * scale);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points spread 3:1 along the diagonal (1,1)/√2 and the anti-diagonal (1,-1)/√2 around
    /// (5, -2): covariance eigenvalues 9s and s, axes the two diagonals.
    fn diagonal_cloud() -> Vec<f32> {
        let mut data = Vec::new();
        for (a, b) in [(3.0f32, 1.0f32), (-3.0, 1.0), (3.0, -1.0), (-3.0, -1.0)] {
            let r = std::f32::consts::FRAC_1_SQRT_2;
            data.extend([5.0 + r * (a + b), -2.0 + r * (a - b)]);
        }
        data
    }

    #[test]
    fn recovers_the_axes_and_variances_of_a_known_cloud() {
        let data = diagonal_cloud();
        let r = std::f64::consts::FRAC_1_SQRT_2;
        for method in [Method::Eigh, Method::Subspace] {
            let pca = Pca::fit_with(&data, 2, 2, 0, method).unwrap();
            // Sample covariance with n - 1 = 3: 4 * 9 / 3 = 12 and 4 * 1 / 3.
            assert!((pca.variances[0] - 12.0).abs() < 1e-6, "{method:?}");
            assert!((pca.variances[1] - 4.0 / 3.0).abs() < 1e-6, "{method:?}");
            let axis = pca.components.row(0);
            assert!((axis[0] - r).abs() < 1e-6 && (axis[1] - r).abs() < 1e-6);
            assert!((pca.mean[0] - 5.0).abs() < 1e-6 && (pca.mean[1] + 2.0).abs() < 1e-6);
            // The first point projects to (3, 1) in the rotated frame (up to the second axis'
            // sign, which is fixed by the largest-entry rule to (-r, r) here: a tie broken
            // towards the first entry).
            let z = pca.transform(&data[..2]).unwrap();
            assert!((z[0] - 3.0).abs() < 1e-5, "{method:?} {z:?}");
            assert!((z[1].abs() - 1.0).abs() < 1e-5, "{method:?} {z:?}");
        }
    }

    #[test]
    fn subspace_iteration_agrees_with_the_full_decomposition() {
        // 60 rows of dimension 30 from a fixed linear congruential sequence, with two strong
        // directions so that the top two axes are well separated from the rest.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let (n, dim) = (60, 30);
        let mut data = Vec::new();
        for _ in 0..n {
            let (a, b) = (4.0 * next(), 2.0 * next());
            data.extend((0..dim).map(|j| a * (j as f32 / 10.0).sin() + b * (j % 3) as f32));
        }
        for v in data.iter_mut() {
            *v += 0.05 * next();
        }
        let exact = Pca::fit_with(&data, dim, 2, 0, Method::Eigh).unwrap();
        let iterative = Pca::fit_with(&data, dim, 2, 3, Method::Subspace).unwrap();
        for r in 0..2 {
            let rel = (exact.variances[r] - iterative.variances[r]).abs() / exact.variances[r];
            assert!(rel < 1e-6, "variance {r}: {rel}");
            for c in 0..dim {
                let d = exact.components[[r, c]] - iterative.components[[r, c]];
                assert!(d.abs() < 1e-4, "axis {r}[{c}] differs by {d}");
            }
        }
    }

    #[test]
    fn wide_rank_deficient_data_is_decomposed_not_a_panic() {
        // 40 rows of dimension 1100 (above EIGH_MAX_DIM), nonzero in 3 columns only, like a code
        // with dead channels: the top axis is the column with the largest spread.
        let (n, dim) = (40, EIGH_MAX_DIM + 76);
        let mut data = vec![0f32; n * dim];
        for r in 0..n {
            data[r * dim + 5] = 3.0 * (r as f32 * 0.7).sin();
            data[r * dim + 700] = (r as f32 * 1.3).cos();
            data[r * dim + 1050] = 0.5 * ((r % 4) as f32 - 1.5);
        }
        let pca = Pca::fit(&data, dim, 2, 0).unwrap();
        assert!(pca.components[[0, 5]] > 0.99, "{}", pca.components[[0, 5]]);
        assert!(pca.variances[0] > pca.variances[1] && pca.variances[1] > 0.0);
        // Rank 3: four components cannot all be real axes.
        assert!(Pca::fit(&data, dim, 4, 0).is_err());
    }

    #[test]
    fn bad_shapes_are_errors() {
        let data = diagonal_cloud();
        assert!(Pca::fit(&data, 2, 3, 0).is_err());
        assert!(Pca::fit(&data, 2, 0, 0).is_err());
        assert!(Pca::fit(&data[..3], 2, 1, 0).is_err());
        assert!(Pca::fit(&data[..2], 2, 1, 0).is_err());
        let pca = Pca::fit(&data, 2, 1, 0).unwrap();
        assert_eq!(pca.k(), 1);
        assert!(pca.transform(&data[..3]).is_err());
    }
}
