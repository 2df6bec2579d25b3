//! Clustering probe: k-means on the features (linfa's k-means++ with restarts), scored against
//! the true labels by normalized mutual information and the adjusted Rand index.
//!
//! Both scores are closed-form functions of the contingency table `n[i][j]` = the number of items
//! in true class `i` and cluster `j`; both are 1 for identical partitions (up to renaming) and
//! about 0 for independent ones. They follow scikit-learn's definitions
//! (`normalized_mutual_info_score` with the arithmetic mean, `adjusted_rand_score`), so the
//! numbers can be compared with the literature.

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;

use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// The contingency table of two labelings of the same items: `table[i][j]` counts the items with
/// label `i` in `a` and `j` in `b`, with both labelings' values compacted to `0..count` in order
/// of first appearance.
///
/// # Panics
/// If `a` and `b` differ in length.
pub fn contingency(a: &[usize], b: &[usize]) -> Vec<Vec<u64>> {
    assert_eq!(a.len(), b.len(), "labelings of different lengths");
    let compact = |v: &[usize]| {
        let mut ids = std::collections::HashMap::new();
        let out: Vec<usize> = v
            .iter()
            .map(|x| {
                let next = ids.len();
                *ids.entry(*x).or_insert(next)
            })
            .collect();
        (out, ids.len())
    };
    let (a, na) = compact(a);
    let (b, nb) = compact(b);
    let mut table = vec![vec![0u64; nb]; na];
    for (&i, &j) in a.iter().zip(&b) {
        table[i][j] += 1;
    }
    table
}

/// Row sums, column sums and total of a contingency table.
fn margins(table: &[Vec<u64>]) -> (Vec<u64>, Vec<u64>, u64) {
    let rows: Vec<u64> = table.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<u64> = (0..table.first().map_or(0, Vec::len))
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let n = rows.iter().sum();
    (rows, cols, n)
}

/// Shannon entropy (nats) of a distribution given by counts summing to `n`.
fn entropy(counts: &[u64], n: u64) -> f64 {
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalized mutual information `I(A;B) / ((H(A) + H(B)) / 2)` of two labelings.
///
/// 1 when both are single clusters (nothing to tell apart, as scikit-learn defines it), 0 when
/// only one of them is. Empty labelings score 1.
pub fn nmi(a: &[usize], b: &[usize]) -> f64 {
    let table = contingency(a, b);
    let (rows, cols, n) = margins(&table);
    if n == 0 {
        return 1.0;
    }
    let (ha, hb) = (entropy(&rows, n), entropy(&cols, n));
    if rows.len() == 1 && cols.len() == 1 {
        return 1.0;
    }
    if ha == 0.0 || hb == 0.0 {
        return 0.0;
    }
    let nf = n as f64;
    let mut mi = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &c) in row.iter().enumerate() {
            if c > 0 {
                let c = c as f64;
                mi += c / nf * (c * nf / (rows[i] as f64 * cols[j] as f64)).ln();
            }
        }
    }
    // Rounding can push MI a hair past the mean entropy.
    (mi / ((ha + hb) / 2.0)).clamp(0.0, 1.0)
}

/// Pairs among `c` items.
fn pairs(c: u64) -> f64 {
    c as f64 * (c as f64 - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert and Arabie) of two labelings: the Rand index corrected for
/// chance, `(index - expected) / (max - expected)` over pairs of items.
///
/// 1 for identical partitions; 1 also when the correction is undefined (both labelings put every
/// item in one cluster, or every item in its own), as scikit-learn defines it.
pub fn ari(a: &[usize], b: &[usize]) -> f64 {
    let table = contingency(a, b);
    let (rows, cols, n) = margins(&table);
    let index: f64 = table.iter().flatten().map(|&c| pairs(c)).sum();
    let sum_rows: f64 = rows.iter().map(|&c| pairs(c)).sum();
    let sum_cols: f64 = cols.iter().map(|&c| pairs(c)).sum();
    let total = pairs(n);
    if total == 0.0 {
        return 1.0;
    }
    let expected = sum_rows * sum_cols / total;
    let max = (sum_rows + sum_cols) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Clusters the `n = data.len() / dim` rows of `data` into `k` groups with k-means (Euclidean,
/// k-means++ seeding, the best of `runs` restarts by inertia, linfa's defaults otherwise) and
/// returns each row's cluster. The restarts draw from the run seed's probe stream, so the same
/// seed gives the same clusters.
pub fn kmeans(data: &[f32], dim: usize, k: usize, runs: usize, seed: u64) -> Result<Vec<usize>> {
    if dim == 0 || !data.len().is_multiple_of(dim) || k == 0 || runs == 0 || data.len() / dim < k {
        return Err(Error::Config(format!(
            "k-means needs at least k = {k} >= 1 rows of dimension {dim} >= 1 and runs >= 1; \
             got {} values and {runs} runs",
            data.len()
        )));
    }
    let x = Array2::from_shape_vec((data.len() / dim, dim), data.to_vec())
        .map_err(|e| Error::Shape(e.to_string()))?;
    let dataset = DatasetBase::from(x);
    let model = KMeans::params_with_rng(k, seed::rng(seed, Purpose::Probe, 0))
        .n_runs(runs)
        .fit(&dataset)
        .map_err(|e| Error::Config(format!("k-means: {e}")))?;
    Ok(model.predict(dataset.records()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identical_and_renamed_labelings_score_one() {
        let a = [0, 0, 1, 1, 2, 2, 2];
        let renamed = [5, 5, 3, 3, 9, 9, 9];
        assert!(close(nmi(&a, &renamed), 1.0));
        assert!(close(ari(&a, &renamed), 1.0));
    }

    #[test]
    fn hand_computed_example() {
        // Contingency [[2,1,0],[0,1,2]]: sum C(n_ij,2) = 2, rows 6, cols 3, C(6,2) = 15,
        // expected 6*3/15 = 1.2, max 4.5: ARI = 0.8 / 3.3.
        let a = [0, 0, 0, 1, 1, 1];
        let b = [0, 0, 1, 1, 2, 2];
        assert_eq!(contingency(&a, &b), vec![vec![2, 1, 0], vec![0, 1, 2]]);
        assert!(close(ari(&a, &b), 0.8 / 3.3));
        // H(a) = ln 2, H(b) = ln 3, I = (4/6) ln 2: NMI = (4/3) ln 2 / (ln 2 + ln 3).
        let expected = (4.0 / 3.0) * 2f64.ln() / (2f64.ln() + 3f64.ln());
        assert!(close(nmi(&a, &b), expected));
        // scikit-learn 1.9.1 on the same labelings.
        assert!((nmi(&a, &b) - 0.5158037429793889).abs() < 1e-12);
        assert!((ari(&a, &b) - 0.24242424242424243).abs() < 1e-12);
    }

    #[test]
    fn matches_scikit_learn_on_uneven_example() {
        let a = [0, 0, 1, 1, 2, 2, 2, 3];
        let b = [1, 1, 0, 0, 0, 2, 2, 2];
        assert!((nmi(&a, &b) - 0.7020168761809934).abs() < 1e-12);
        assert!((ari(&a, &b) - 0.3684210526315789).abs() < 1e-12);
        // Both are symmetric in their arguments.
        assert!(close(nmi(&a, &b), nmi(&b, &a)));
        assert!(close(ari(&a, &b), ari(&b, &a)));
    }

    #[test]
    fn degenerate_labelings() {
        // One cluster against several classes: no information.
        assert!(close(nmi(&[0, 1, 2], &[5, 5, 5]), 0.0));
        assert!(close(ari(&[0, 1, 2], &[5, 5, 5]), 0.0));
        // Both single clusters: identical partitions.
        assert!(close(nmi(&[0, 0], &[1, 1]), 1.0));
        assert!(close(ari(&[0, 0], &[1, 1]), 1.0));
    }

    #[test]
    fn kmeans_separates_far_apart_blobs_reproducibly() {
        // Three tight groups of 4 points in 2-D, far apart.
        let mut data = Vec::new();
        for (cx, cy) in [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)] {
            for d in [0.0, 0.1, 0.2, 0.3] {
                data.extend([cx + d, cy - d]);
            }
        }
        let truth: Vec<usize> = (0..12).map(|i| i / 4).collect();
        let clusters = kmeans(&data, 2, 3, 3, 7).unwrap();
        assert!(close(ari(&truth, &clusters), 1.0));
        assert_eq!(clusters, kmeans(&data, 2, 3, 3, 7).unwrap());
        assert!(kmeans(&data, 2, 13, 3, 7).is_err());
        assert!(kmeans(&data, 5, 3, 3, 7).is_err());
    }
}
