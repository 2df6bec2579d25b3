//! Linear probe: multinomial logistic regression on frozen features, trained on the train split
//! and scored on the held-out split. How linearly the classes can be read off the code is the
//! standard measure of a representation.
//!
//! The solver is linfa-logistic's: L-BFGS on the summed cross-entropy plus `alpha / 2 * |W|^2`,
//! which is scikit-learn's `LogisticRegression(C = 1 / alpha)`. Features are standardized first
//! (train mean and standard deviation per dimension), as linfa recommends for its solver, so one
//! `alpha` suits pixels, PCA scores and codes alike. The solver runs in f64: in f32 the summed
//! loss of thousands of images is too coarse for L-BFGS's line search, which then stalls at the
//! starting point (measured: chance accuracy on the conv code).

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};

use crate::{Error, Result};

/// Settings of the linear probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearProbeConfig {
    /// L2 penalty on the weights (scikit-learn's `1 / C`).
    pub alpha: f64,
    /// L-BFGS iterations at most (scikit-learn's `max_iter`).
    pub max_iterations: u64,
}

impl Default for LinearProbeConfig {
    /// scikit-learn's defaults: `C = 1`, 100 iterations.
    fn default() -> Self {
        Self {
            alpha: 1.0,
            max_iterations: 100,
        }
    }
}

/// Per-dimension standardization fitted on training rows: `(x - mean) / std`, with dimensions
/// that do not vary (std below 1e-6, e.g. always-black border pixels) mapped to 0.
#[derive(Clone, Debug)]
pub struct Standardizer {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
}

impl Standardizer {
    /// Fits the mean and standard deviation of each of the `dim` columns of `data`.
    pub fn fit(data: &[f32], dim: usize) -> Standardizer {
        let n = (data.len() / dim.max(1)).max(1) as f64;
        let mut sum = vec![0f64; dim];
        let mut sum_sq = vec![0f64; dim];
        for row in data.chunks(dim.max(1)) {
            for (j, &v) in row.iter().enumerate() {
                sum[j] += v as f64;
                sum_sq[j] += v as f64 * v as f64;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let inv_std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let sd = (s / n - m * m).max(0.0).sqrt();
                if sd < 1e-6 {
                    0.0
                } else {
                    1.0 / sd
                }
            })
            .collect();
        Standardizer { mean, inv_std }
    }

    /// The standardized rows of `data`, as an `n x dim` matrix.
    pub fn apply(&self, data: &[f32]) -> Array2<f64> {
        let dim = self.mean.len();
        let n = data.len() / dim.max(1);
        Array2::from_shape_fn((n, dim), |(r, c)| {
            (data[r * dim + c] as f64 - self.mean[c]) * self.inv_std[c]
        })
    }
}

/// Trains the probe on (`train`, `train_labels`) and returns its accuracy on (`test`,
/// `test_labels`); rows of `dim` values.
pub fn linear_probe_accuracy(
    train: &[f32],
    train_labels: &[u8],
    test: &[f32],
    test_labels: &[u8],
    dim: usize,
    config: LinearProbeConfig,
) -> Result<f64> {
    if dim == 0 || train.len() != train_labels.len() * dim || test.len() != test_labels.len() * dim
    {
        return Err(Error::Shape(format!(
            "linear probe: {} train values for {} labels and {} test values for {} labels are \
             not rows of dimension {dim}",
            train.len(),
            train_labels.len(),
            test.len(),
            test_labels.len()
        )));
    }
    let scaler = Standardizer::fit(train, dim);
    let targets: Array1<usize> = train_labels.iter().map(|&l| l as usize).collect();
    let dataset = Dataset::new(scaler.apply(train), targets);
    let model = MultiLogisticRegression::default()
        .alpha(config.alpha)
        .max_iterations(config.max_iterations)
        .fit(&dataset)
        .map_err(|e| Error::Config(format!("linear probe: {e}")))?;
    let predicted = model.predict(&scaler.apply(test));
    let correct = predicted
        .iter()
        .zip(test_labels)
        .filter(|(&p, &t)| p == t as usize)
        .count();
    Ok(correct as f64 / test_labels.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardizer_centers_scales_and_zeroes_constant_columns() {
        // Column 0: 1, 3 -> mean 2, sd 1; column 1 is constant.
        let s = Standardizer::fit(&[1.0, 5.0, 3.0, 5.0], 2);
        let z = s.apply(&[1.0, 5.0, 4.0, 7.0]);
        assert_eq!(z.as_slice().unwrap(), &[-1.0, 0.0, 2.0, 0.0]);
    }

    #[test]
    fn separates_linearly_separable_classes() {
        // Three classes along three axes of a 3-D space, with a shared offset on a 4th.
        let mut train = Vec::new();
        let mut labels = Vec::new();
        for i in 0..30 {
            let class = i % 3;
            let mut row = [0.1 * (i / 3) as f32, 0.0, 0.0, 7.0];
            row[class] += 2.0;
            train.extend(row);
            labels.push(class as u8);
        }
        let test = [2.5, 0.1, 0.0, 7.0, 0.0, 2.2, 0.3, 7.0, 0.2, 0.0, 1.9, 7.0];
        let acc = linear_probe_accuracy(
            &train,
            &labels,
            &test,
            &[0, 1, 2],
            4,
            LinearProbeConfig::default(),
        )
        .unwrap();
        assert_eq!(acc, 1.0);
        // A flipped test label costs exactly a third.
        let acc = linear_probe_accuracy(
            &train,
            &labels,
            &test,
            &[0, 1, 1],
            4,
            LinearProbeConfig::default(),
        )
        .unwrap();
        assert!((acc - 2.0 / 3.0).abs() < 1e-12);
        assert!(linear_probe_accuracy(
            &train,
            &labels[1..],
            &test,
            &[0, 1, 2],
            4,
            Default::default()
        )
        .is_err());
    }
}
