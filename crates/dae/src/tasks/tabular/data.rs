//! The tables a tabular run reads: a CSV file, or the embedded Breast Cancer Wisconsin table
//! (569 rows, 30 numeric features, target `target`; data/tabular/README.md), and the seeded split
//! of its rows into training and held-out rows.

use std::path::Path;

use rand::seq::SliceRandom;

use super::csv::RawTable;
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// The embedded default table.
const EMBEDDED_BREAST_CANCER: &[u8] =
    include_bytes!("../../../../../data/tabular/breast_cancer.csv");

/// The target column of the embedded table.
pub const EMBEDDED_TARGET: &str = "target";

/// Reads the CSV at `path`, or the embedded table.
pub fn load(path: Option<&Path>) -> Result<RawTable> {
    match path {
        Some(p) => RawTable::read(p),
        None => RawTable::parse(EMBEDDED_BREAST_CANCER)
            .map_err(|reason| Error::format("embedded breast_cancer.csv", reason)),
    }
}

/// What the data is, for messages.
pub fn describe(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "embedded Breast Cancer Wisconsin (data/tabular/breast_cancer.csv)".into(),
    }
}

/// The training and held-out rows of a table of `rows` rows: a permutation drawn from `seed`, the
/// last `val_fraction` of it held out (at least one row each).
pub fn split(rows: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut seed::rng(seed, Purpose::Split, 0));
    let held = ((rows as f64 * val_fraction).round() as usize).clamp(1, rows.saturating_sub(1));
    let train = order[..rows - held].to_vec();
    let mut val = order[rows - held..].to_vec();
    val.sort_unstable();
    let mut train = train;
    train.sort_unstable();
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_seeded_disjoint_and_whole() {
        let (train, val) = split(10, 0.2, 3);
        assert_eq!((train.len(), val.len()), (8, 2));
        let mut all = [train.clone(), val.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(split(10, 0.2, 3), (train, val));
        assert_ne!(split(10, 0.2, 4).1, split(10, 0.2, 3).1);
        assert_eq!(split(2, 0.2, 0).1.len(), 1, "one held-out row at least");
        let embedded = load(None).unwrap();
        assert_eq!((embedded.rows.len(), embedded.header.len()), (569, 31));
    }
}
