//! Euclidean nearest neighbours between sets of feature rows, by blocks of rows so that no
//! full distance matrix is held (10k x 60k f32 would be 2.4 GB): the pieces of precision /
//! recall and of the memorisation check.
//!
//! Squared distances come from `|q|² + |r|² - 2 q·r` with the dot products as one f32 GEMM per
//! block (ndarray's `matrixmultiply`), clamped at 0 where rounding makes them negative.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

/// Query rows per block: 256 rows against a reference block of 4096 make a 4 MB tile.
const QUERY_BLOCK: usize = 256;
/// Reference rows per tile.
const REF_BLOCK: usize = 4096;

/// Calls `visit(query_row, ref_row, squared_distance)` for every pair of rows of `queries` and
/// `refs` (rows of `dim` values), each query row on one thread at a time, in increasing
/// reference order; `state` is created once per query block and handed to `visit` as `&mut`.
/// Returns one `finish(state, query_row)` value per query row, in order.
fn scan<S, T: Send>(
    queries: &[f32],
    refs: &[f32],
    dim: usize,
    new_state: impl Fn() -> S + Sync,
    visit: impl Fn(&mut S, usize, usize, f32) + Sync,
    finish: impl Fn(&mut S, usize) -> T + Sync,
) -> Vec<T> {
    let n_ref = refs.len() / dim;
    let ref_norms: Vec<f32> = refs.chunks_exact(dim).map(|r| dot(r, r)).collect();
    let refs_view = ArrayView2::from_shape((n_ref, dim), refs).expect("whole rows");
    queries
        .par_chunks(QUERY_BLOCK * dim)
        .enumerate()
        .flat_map_iter(|(block, q)| {
            let first = block * QUERY_BLOCK;
            let rows = q.len() / dim;
            let q_view = ArrayView2::from_shape((rows, dim), q).expect("whole rows");
            let q_norms: Vec<f32> = q.chunks_exact(dim).map(|r| dot(r, r)).collect();
            let mut state = new_state();
            for (tile, r) in refs_view.axis_chunks_iter(Axis(0), REF_BLOCK).enumerate() {
                let products = q_view.dot(&r.t());
                let offset = tile * REF_BLOCK;
                for (i, row) in products.outer_iter().enumerate() {
                    for (j, &p) in row.iter().enumerate() {
                        let d = (q_norms[i] + ref_norms[offset + j] - 2.0 * p).max(0.0);
                        visit(&mut state, first + i, offset + j, d);
                    }
                }
            }
            (0..rows)
                .map(|i| finish(&mut state, first + i))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// For every row of `set`, the squared distance to its `k`-th nearest other row (the row itself
/// excluded by index; duplicates of it count). Needs `k` < the number of rows.
pub fn kth_neighbour_distances(set: &[f32], dim: usize, k: usize) -> Vec<f32> {
    // Per query row of the block: its k smallest distances so far, ascending.
    let n = set.len() / dim;
    scan(
        set,
        set,
        dim,
        || vec![vec![f32::INFINITY; k]; QUERY_BLOCK],
        |best, q, r, d| {
            if q == r {
                return;
            }
            let row = &mut best[q % QUERY_BLOCK];
            if d < row[k - 1] {
                let at = row.partition_point(|&v| v <= d);
                row.insert(at, d);
                row.pop();
            }
        },
        |best, q| best[q % QUERY_BLOCK][k - 1],
    )
    .into_iter()
    .take(n)
    .collect()
}

/// For every row of `queries`, the squared distance to its nearest row of `refs`.
pub fn nearest_distances(queries: &[f32], refs: &[f32], dim: usize) -> Vec<f32> {
    scan(
        queries,
        refs,
        dim,
        || vec![f32::INFINITY; QUERY_BLOCK],
        |best, q, _, d| {
            let v = &mut best[q % QUERY_BLOCK];
            *v = v.min(d);
        },
        |best, q| best[q % QUERY_BLOCK],
    )
}

/// The share of `queries` rows that lie in at least one ball around a row of `refs`: within
/// squared distance `radii[j]` of row `j`.
pub fn covered_share(queries: &[f32], refs: &[f32], radii: &[f32], dim: usize) -> f64 {
    let n = queries.len() / dim;
    if n == 0 {
        return 0.0;
    }
    let inside = scan(
        queries,
        refs,
        dim,
        || vec![false; QUERY_BLOCK],
        |hit, q, r, d| {
            if d <= radii[r] {
                hit[q % QUERY_BLOCK] = true;
            }
        },
        |hit, q| hit[q % QUERY_BLOCK],
    );
    inside.iter().filter(|&&h| h).count() as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force, for the checks.
    fn sq(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }

    #[test]
    fn blocked_scans_match_brute_force() {
        use rand::Rng;
        let mut rng = crate::seed::rng(1, crate::seed::Purpose::Probe, 0);
        let dim = 5;
        // More rows than one query block, so rows of later blocks are checked too.
        let a: Vec<f32> = (0..(QUERY_BLOCK + 37) * dim).map(|_| rng.gen()).collect();
        let b: Vec<f32> = (0..90 * dim).map(|_| rng.gen()).collect();
        let near = nearest_distances(&a, &b, dim);
        for (i, q) in a.chunks_exact(dim).enumerate() {
            let want = b
                .chunks_exact(dim)
                .map(|r| sq(q, r))
                .fold(f32::INFINITY, f32::min);
            assert!((near[i] - want).abs() < 1e-5, "{i}: {} vs {want}", near[i]);
        }
        let third = kth_neighbour_distances(&a, dim, 3);
        for (i, q) in a.chunks_exact(dim).enumerate() {
            let mut d: Vec<f32> = a
                .chunks_exact(dim)
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, r)| sq(q, r))
                .collect();
            d.sort_by(f32::total_cmp);
            assert!(
                (third[i] - d[2]).abs() < 1e-5,
                "{i}: {} vs {}",
                third[i],
                d[2]
            );
        }
        // A tiny ball around each point covers only the points themselves (not radius 0: the
        // expanded form leaves a rounding residue of the order of 1e-7 for a point and itself).
        let tiny = vec![1e-5; a.len() / dim];
        assert_eq!(covered_share(&a, &a, &tiny, dim), 1.0);
        assert_eq!(covered_share(&b, &a, &tiny, dim), 0.0);
    }
}
