//! The imputation baselines the DAE is measured against, in model units: column mean / mode,
//! and k-nearest-neighbour imputation (scikit-learn's `KNNImputer` rule: nan-Euclidean distance
//! over the entries both rows have, donors among the training rows that have the entry).

use rayon::prelude::*;

use super::preprocess::{Cells, Column};

/// The training mean of each numeric column and the most frequent label of each categorical one.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMeans {
    fill: Vec<f32>,
}

impl ColumnMeans {
    /// Fits the means and modes on the observed entries of `train`.
    pub fn fit(columns: &[Column], train: &Cells) -> ColumnMeans {
        let fill = columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let given = (0..train.rows)
                    .filter(|&r| train.observed[r * train.cols + j])
                    .map(|r| train.values[r * train.cols + j]);
                if c.is_numeric() {
                    let (sum, n) =
                        given.fold((0.0f64, 0usize), |(s, n), v| (s + f64::from(v), n + 1));
                    (sum / n.max(1) as f64) as f32
                } else {
                    mode(given, c.width()) as f32
                }
            })
            .collect();
        ColumnMeans { fill }
    }

    /// `cells` with every unobserved entry filled.
    pub fn impute(&self, cells: &Cells) -> Cells {
        let mut out = cells.clone();
        for (i, (v, o)) in out.values.iter_mut().zip(&mut out.observed).enumerate() {
            if !*o {
                *v = self.fill[i % cells.cols];
                *o = true;
            }
        }
        out
    }
}

/// The most frequent of `labels` in `0..n` (the smallest of ties; 0 if none).
fn mode(labels: impl Iterator<Item = f32>, n: usize) -> usize {
    let mut counts = vec![0usize; n.max(1)];
    for l in labels {
        counts[(l as usize).min(n.max(1) - 1)] += 1;
    }
    (0..counts.len())
        .max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// k-NN imputation of the unobserved entries of `query` from the rows of `donors`.
///
/// The distance of two rows is scikit-learn's nan-Euclidean one, √(C / n · Σ d²) over the n of C
/// columns both observe (d: the difference of standardized values, or 0/1 for labels). Each
/// unobserved entry gets the mean (numbers) or the most frequent label of the `k` nearest donors
/// that observe it; with none, the column mean / mode.
pub fn knn_impute(columns: &[Column], donors: &Cells, query: &Cells, k: usize) -> Cells {
    let means = ColumnMeans::fit(columns, donors);
    let cols = query.cols;
    let mut out = query.clone();
    out.values
        .par_chunks_mut(cols)
        .zip(out.observed.par_chunks_mut(cols))
        .for_each(|(values, observed)| {
            if observed.iter().all(|&o| o) {
                return;
            }
            let distances: Vec<f32> = (0..donors.rows)
                .map(|d| distance(columns, values, observed, donors, d))
                .collect();
            let closer =
                |a: &usize, b: &usize| distances[*a].total_cmp(&distances[*b]).then(a.cmp(b));
            // The nearest few donors, sorted, usually hold k donors of every column; the whole
            // order is sorted only when they do not (a column missing in many donors).
            let mut order: Vec<usize> = (0..donors.rows).collect();
            let head = (8 * k).max(64);
            if order.len() > head {
                order.select_nth_unstable_by(head, closer);
            }
            order[..head.min(donors.rows)].sort_by(closer);
            let donors_of = |order: &[usize], j: usize| -> Vec<f32> {
                order
                    .iter()
                    .filter(|&&d| distances[d].is_finite() && donors.observed[d * cols + j])
                    .take(k)
                    .map(|&d| donors.values[d * cols + j])
                    .collect()
            };
            let mut whole_order_sorted = order.len() <= head;
            for j in 0..cols {
                if observed[j] {
                    continue;
                }
                let mut near = donors_of(&order[..head.min(order.len())], j);
                if near.len() < k && !whole_order_sorted {
                    order.sort_by(closer);
                    whole_order_sorted = true;
                }
                if near.len() < k {
                    near = donors_of(&order, j);
                }
                values[j] = if near.is_empty() {
                    means.fill[j]
                } else if columns[j].is_numeric() {
                    near.iter().sum::<f32>() / near.len() as f32
                } else {
                    mode(near.into_iter(), columns[j].width()) as f32
                };
            }
            observed.fill(true);
        });
    out
}

/// nan-Euclidean distance between a query row and donor row `d` (infinite with nothing shared).
fn distance(
    columns: &[Column],
    values: &[f32],
    observed: &[bool],
    donors: &Cells,
    d: usize,
) -> f32 {
    let cols = values.len();
    let row = &donors.values[d * cols..(d + 1) * cols];
    let seen = &donors.observed[d * cols..(d + 1) * cols];
    let mut sum = 0.0f32;
    let mut shared = 0usize;
    for j in 0..cols {
        if observed[j] && seen[j] {
            shared += 1;
            sum += if columns[j].is_numeric() {
                (values[j] - row[j]).powi(2)
            } else if values[j] == row[j] {
                0.0
            } else {
                1.0
            };
        }
    }
    if shared == 0 {
        return f32::INFINITY;
    }
    (sum * cols as f32 / shared as f32).sqrt()
}
