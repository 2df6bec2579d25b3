//! One table of representation quality: the same five scores for any feature rows with labels
//! (a model's codes, raw inputs, PCA scores), so that a code has to beat simple baselines rather
//! than chance.
//!
//! Every feature set (rows of `dim` values for the train and held-out samples) gets:
//!
//! - **linear probe accuracy**: multinomial logistic regression trained on the train features,
//!   scored on the held-out ones ([`super::linear`]);
//! - **k-NN accuracy**: majority label of the k (5) most cosine-similar train rows of each
//!   held-out row ([`super::knn`]);
//! - **precision@10**: the fraction of those 10 nearest train rows sharing the query's label
//!   (retrieval);
//! - **NMI** and **ARI** of k-means (as many clusters as classes, k-means++, restarts) on the
//!   held-out features (unit-normalized rows, so that it groups by direction like the k-NN
//!   probes) against the labels ([`super::cluster`]).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::cluster::{ari, kmeans, nmi};
use super::knn::{knn_accuracy, nearest_cosine, normalize_rows, precision_at};
use super::linear::{linear_probe_accuracy, LinearProbeConfig};
use super::pca::Pca;
use crate::{Error, Result};

/// Settings shared by every row of a probe table.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeConfig {
    /// Neighbours voting in the k-NN classifier.
    pub knn_k: usize,
    /// Neighbours retrieved for precision@k.
    pub retrieval_k: usize,
    /// k-means restarts (the best by inertia is kept).
    pub kmeans_runs: usize,
    /// The linear probe's solver settings.
    pub linear: LinearProbeConfig,
    /// Seed of k-means and of PCA's iterative solver.
    pub seed: u64,
}

impl Default for ProbeConfig {
    /// k-NN with k = 5, precision@10, 10 k-means restarts, scikit-learn's logistic regression
    /// defaults, seed 0.
    fn default() -> Self {
        Self {
            knn_k: 5,
            retrieval_k: 10,
            kmeans_runs: 10,
            linear: LinearProbeConfig::default(),
            seed: 0,
        }
    }
}

impl ProbeConfig {
    /// Validates the values before any work is done.
    pub fn check(&self) -> Result<()> {
        if self.knn_k == 0 || self.retrieval_k == 0 || self.kmeans_runs == 0 {
            return Err(Error::Config(
                "probe: k-NN k, retrieval k and k-means runs must be at least 1".into(),
            ));
        }
        if !(self.linear.alpha.is_finite() && self.linear.alpha >= 0.0) {
            return Err(Error::Config(format!(
                "probe: the logistic regression penalty must be >= 0, got {}",
                self.linear.alpha
            )));
        }
        Ok(())
    }
}

/// The scores of one feature set: one row of the probe table and one object of the `rows` of
/// `probe.json` (read back by the report, hence `Deserialize`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeScores {
    /// What the features are, e.g. `dae encoder (mlp)`, `raw pixels`, `PCA-64 of pixels`.
    pub features: String,
    /// Feature dimension.
    pub dim: usize,
    /// Held-out accuracy of the multinomial logistic regression.
    pub linear_accuracy: f64,
    /// Held-out accuracy of the k-NN classifier.
    pub knn_accuracy: f64,
    /// The k of the k-NN classifier.
    pub knn_k: usize,
    /// Mean retrieval precision at `retrieval_k`.
    pub precision_at_k: f64,
    /// The k of the retrieval precision.
    pub retrieval_k: usize,
    /// Normalized mutual information of k-means clusters and labels (held-out set).
    pub nmi: f64,
    /// Adjusted Rand index of k-means clusters and labels (held-out set).
    pub ari: f64,
    /// Train rows (linear probe training set, k-NN reference).
    pub train_count: usize,
    /// Held-out rows (scored).
    pub test_count: usize,
}

/// Runs every probe on one feature set: `train` and `test` hold rows of `dim` values, one per
/// label.
#[allow(clippy::too_many_arguments)]
pub fn probe_features(
    name: &str,
    train: &[f32],
    train_labels: &[u8],
    test: &[f32],
    test_labels: &[u8],
    dim: usize,
    config: &ProbeConfig,
    device: &Device,
) -> Result<ProbeScores> {
    config.check()?;
    if test_labels.is_empty() || train_labels.len() < config.knn_k.max(config.retrieval_k) {
        return Err(Error::Config(format!(
            "probe: {} train and {} held-out samples are too few (need at least {} train \
             samples and one held-out)",
            train_labels.len(),
            test_labels.len(),
            config.knn_k.max(config.retrieval_k)
        )));
    }
    let linear_accuracy =
        linear_probe_accuracy(train, train_labels, test, test_labels, dim, config.linear)?;
    let k = config.knn_k.max(config.retrieval_k);
    let neighbours = nearest_cosine(train, test, dim, k, device)?;
    let mut unit = test.to_vec();
    normalize_rows(&mut unit, dim);
    let mut classes: Vec<u8> = test_labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let clusters = kmeans(
        &unit,
        dim,
        classes.len().min(test_labels.len()),
        config.kmeans_runs,
        config.seed,
    )?;
    let truth: Vec<usize> = test_labels.iter().map(|&l| l as usize).collect();
    Ok(ProbeScores {
        features: name.to_string(),
        dim,
        linear_accuracy,
        knn_accuracy: knn_accuracy(&neighbours, train_labels, test_labels, config.knn_k),
        knn_k: config.knn_k,
        precision_at_k: precision_at(&neighbours, train_labels, test_labels, config.retrieval_k),
        retrieval_k: config.retrieval_k,
        nmi: nmi(&truth, &clusters),
        ari: ari(&truth, &clusters),
        train_count: train_labels.len(),
        test_count: test_labels.len(),
    })
}

/// PCA baseline of `k` components fitted on the train rows of `dim` values: (train scores, test
/// scores).
pub fn pca_features(
    train: &[f32],
    test: &[f32],
    dim: usize,
    k: usize,
    seed: u64,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let pca = Pca::fit(train, dim, k, seed)?;
    Ok((pca.transform(train)?, pca.transform(test)?))
}

/// The PCA dimensions to probe by default for a code of dimension `code_dim` on inputs of
/// `input_dim` values and `n_train` train rows: the code's own dimension where PCA can have it;
/// else the most it can have (min(input_dim, n_train)), which is the input rotated, so 64 (the
/// MLP's code) is added as a compact reference.
pub fn default_pca_dims(code_dim: usize, input_dim: usize, n_train: usize) -> Vec<usize> {
    let most = input_dim.min(n_train);
    if code_dim <= most {
        vec![code_dim]
    } else {
        let mut dims = vec![64.min(most), most];
        dims.dedup();
        dims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pca_dims_match_or_cap() {
        assert_eq!(default_pca_dims(64, 784, 8000), vec![64]);
        assert_eq!(default_pca_dims(3136, 784, 8000), vec![64, 784]);
        assert_eq!(default_pca_dims(3136, 784, 500), vec![64, 500]);
        assert_eq!(default_pca_dims(3136, 784, 40), vec![40]);
    }

    #[test]
    fn perfectly_clustered_features_score_one() {
        // Two classes pointing in opposite directions, with small jitter.
        let row = |class: u8, j: f32| {
            if class == 0 {
                [1.0 + j, j]
            } else {
                [-1.0 - j, j]
            }
        };
        let labels: Vec<u8> = (0..20).map(|i| (i % 2) as u8).collect();
        let train: Vec<f32> = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| row(c, 0.01 * i as f32))
            .collect();
        let test_labels = [0u8, 1, 1, 0];
        let test: Vec<f32> = test_labels.iter().flat_map(|&c| row(c, 0.05)).collect();
        let config = ProbeConfig {
            knn_k: 3,
            retrieval_k: 4,
            kmeans_runs: 2,
            ..Default::default()
        };
        let s = probe_features(
            "toy",
            &train,
            &labels,
            &test,
            &test_labels,
            2,
            &config,
            &Device::flex(),
        )
        .unwrap();
        assert_eq!(
            (s.linear_accuracy, s.knn_accuracy, s.precision_at_k),
            (1.0, 1.0, 1.0)
        );
        assert!((s.nmi - 1.0).abs() < 1e-12 && (s.ari - 1.0).abs() < 1e-12);
        assert_eq!((s.dim, s.train_count, s.test_count), (2, 20, 4));
        let few = probe_features(
            "toy",
            &train[..6],
            &labels[..3],
            &test,
            &test_labels,
            2,
            &config,
            &Device::flex(),
        );
        assert!(few.is_err());
    }
}
