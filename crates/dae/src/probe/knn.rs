//! Nearest neighbours by cosine similarity: the k-NN classification and retrieval probes.
//!
//! Exact, by brute force: the similarities of a block of queries to every reference row are one
//! matrix product (Burn, on the given device), and the top k of each row are kept by insertion
//! into a short sorted list. Cosine similarity makes the probes blind to the features' overall
//! scale, which differs wildly between pixels, PCA scores and codes of different models.

use burn::prelude::*;

use crate::{Error, Result};

/// Largest number of similarities computed at once (queries x references), to bound memory:
/// 4M floats = 16 MB.
const BLOCK_VALUES: usize = 1 << 22;

/// Scales every row of `data` (rows of `dim` values) to unit Euclidean length, in place; rows of
/// all zeros stay zero (they are similar to nothing).
pub fn normalize_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_mut(dim.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// For every row of `queries`, the indices of the `k` rows of `reference` most cosine-similar to
/// it, most similar first (ties: the lower index first).
pub fn nearest_cosine(
    reference: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    device: &Device,
) -> Result<Vec<Vec<usize>>> {
    if dim == 0 || !reference.len().is_multiple_of(dim) || !queries.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "nearest neighbours: {} reference and {} query values are not rows of dimension {dim}",
            reference.len(),
            queries.len()
        )));
    }
    let (n_ref, n_query) = (reference.len() / dim, queries.len() / dim);
    if k == 0 || k > n_ref {
        return Err(Error::Config(format!(
            "nearest neighbours: k = {k} must be between 1 and the {n_ref} reference rows"
        )));
    }
    let mut reference = reference.to_vec();
    normalize_rows(&mut reference, dim);
    let reference_t =
        Tensor::<2>::from_data(TensorData::new(reference, [n_ref, dim]), device).transpose();
    let block = (BLOCK_VALUES / n_ref).clamp(1, n_query.max(1));
    let mut out = Vec::with_capacity(n_query);
    for start in (0..n_query).step_by(block) {
        let end = (start + block).min(n_query);
        let mut q = queries[start * dim..end * dim].to_vec();
        normalize_rows(&mut q, dim);
        let q = Tensor::<2>::from_data(TensorData::new(q, [end - start, dim]), device);
        let sims = q
            .matmul(reference_t.clone())
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| Error::Shape(format!("nearest neighbours: {e:?}")))?;
        out.extend(sims.chunks(n_ref).map(|row| top_k(row, k)));
    }
    Ok(out)
}

/// Indices of the `k` largest values of `row`, largest first, ties to the lower index; NaN
/// counts as smallest.
fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, &v) in row.iter().enumerate() {
        let v = if v.is_nan() { f32::NEG_INFINITY } else { v };
        if best.len() == k && v <= best[k - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= v);
        best.insert(at, (v, i));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// k-NN classification accuracy: each query takes the majority label of its first `k`
/// neighbours; a tie goes to the tied label whose first member ranks highest (so k = 1 is the
/// nearest neighbour's label).
pub fn knn_accuracy(
    neighbours: &[Vec<usize>],
    reference_labels: &[u8],
    query_labels: &[u8],
    k: usize,
) -> f64 {
    let correct = neighbours
        .iter()
        .zip(query_labels)
        .filter(|(nb, &truth)| {
            let mut votes = [0usize; 256];
            for &i in nb.iter().take(k) {
                votes[reference_labels[i] as usize] += 1;
            }
            let most = votes.iter().copied().max().unwrap_or(0);
            let winner = nb
                .iter()
                .take(k)
                .map(|&i| reference_labels[i])
                .find(|&l| votes[l as usize] == most);
            winner == Some(truth)
        })
        .count();
    correct as f64 / neighbours.len().max(1) as f64
}

/// Retrieval precision@k: the mean over queries of the fraction of the first `k` neighbours that
/// share the query's label.
pub fn precision_at(
    neighbours: &[Vec<usize>],
    reference_labels: &[u8],
    query_labels: &[u8],
    k: usize,
) -> f64 {
    let total: f64 = neighbours
        .iter()
        .zip(query_labels)
        .map(|(nb, &truth)| {
            let hits = nb
                .iter()
                .take(k)
                .filter(|&&i| reference_labels[i] == truth)
                .count();
            hits as f64 / k as f64
        })
        .sum();
    total / neighbours.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        assert_eq!(top_k(&[0.1, 0.9, 0.5, 0.9, f32::NAN], 3), vec![1, 3, 2]);
        assert_eq!(top_k(&[0.2, 0.2, 0.2], 2), vec![0, 1]);
    }

    #[test]
    fn cosine_neighbours_ignore_scale() {
        // Reference directions at 0°, 90°, 180°, 45°; the query at 10° with a large norm.
        let reference = [1.0, 0.0, 0.0, 2.0, -3.0, 0.0, 1.0, 1.0];
        let query = [10.0 * 0.9848, 10.0 * 0.1736];
        let nb = nearest_cosine(&reference, &query, 2, 4, &Device::flex()).unwrap();
        assert_eq!(nb, vec![vec![0, 3, 1, 2]]);
        assert!(nearest_cosine(&reference, &query, 2, 5, &Device::flex()).is_err());
        assert!(nearest_cosine(&reference, &query[..1], 2, 1, &Device::flex()).is_err());
    }

    #[test]
    fn blocks_give_the_same_answer_as_one_product() {
        // More queries than one block holds when the reference has BLOCK_VALUES / 3 + 1 rows.
        let n_ref = BLOCK_VALUES / 3 + 1;
        let reference: Vec<f32> = (0..n_ref).flat_map(|i| [1.0, i as f32 * 1e-2]).collect();
        let queries: Vec<f32> = (0..5).flat_map(|j| [1.0, j as f32 * 1e-2]).collect();
        let nb = nearest_cosine(&reference, &queries, 2, 1, &Device::flex()).unwrap();
        assert_eq!(nb, (0..5).map(|j| vec![j]).collect::<Vec<_>>());
    }

    #[test]
    fn votes_ties_and_precision() {
        let labels = [0u8, 1, 1, 2, 0];
        // Query 0 (label 1): neighbours 1, 2, 0 -> votes 1:2 -> correct; P@2 = 1.
        // Query 1 (label 0): neighbours 3, 0, 1 -> 2:1, 0:1, 1:1 tie -> 2 ranks first -> wrong;
        //   P@2 = 1/2.
        let nb = vec![vec![1, 2, 0], vec![3, 0, 1]];
        assert_eq!(knn_accuracy(&nb, &labels, &[1, 0], 3), 0.5);
        assert_eq!(knn_accuracy(&nb, &labels, &[1, 2], 1), 1.0);
        assert_eq!(precision_at(&nb, &labels, &[1, 0], 2), 0.75);
    }
}
