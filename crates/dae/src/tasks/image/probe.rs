//! Representation quality: how much of the labels' structure the encoder's code z carries, next
//! to the same probes on raw pixels and on PCA scores, so that the code has to beat simple
//! baselines rather than chance.
//!
//! Every feature set (rows of `dim` values for the train and held-out images) gets the same five
//! scores:
//!
//! - **linear probe accuracy**: multinomial logistic regression trained on the train features,
//!   scored on the held-out ones ([`super::linear`]);
//! - **k-NN accuracy**: majority label of the k (5) most cosine-similar train images of each
//!   held-out image ([`super::knn`]);
//! - **precision@10**: the fraction of those 10 nearest train images sharing the query's label
//!   (retrieval);
//! - **NMI** and **ARI** of k-means (as many clusters as classes, k-means++, restarts) on the
//!   held-out features (unit-normalized rows, so that it groups by direction like the k-NN
//!   probes) against the labels ([`super::cluster`]).
//!
//! The code is z of the *clean* image (the representation of x, as used downstream);
//! [`noisy_codes`] gives the codes of corrupted inputs for a robustness row.

use burn::prelude::*;
use serde::Serialize;

use crate::corrupt::{corrupt_batch, Corruption, SampleShape};
use crate::probe::cluster::{ari, kmeans, nmi};
use crate::probe::knn::{knn_accuracy, nearest_cosine, normalize_rows, precision_at};
use crate::probe::linear::{linear_probe_accuracy, LinearProbeConfig};
use crate::probe::pca::Pca;
use crate::seed::{self, Purpose};
use crate::tasks::image::data::ImageSet;
use crate::tasks::image::model::Denoiser;
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

/// The scores of one feature set; one row of the probe table and one object of `probe.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeScores {
    /// What the features are, e.g. `dae encoder`, `raw pixels`, `PCA-64`.
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
    /// Train images (linear probe training set, k-NN reference).
    pub train_count: usize,
    /// Held-out images (scored).
    pub test_count: usize,
}

/// The labels of `set`, or an error naming `what` if it has none.
pub fn labels_of<'a>(set: &'a ImageSet, what: &str) -> Result<&'a [u8]> {
    set.labels.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "the {what} images have no labels; the probes need labelled data (MNIST-format IDX \
             files with their labels-idx1 files, or the embedded Fashion-MNIST)"
        ))
    })
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
            "probe: {} train and {} held-out images are too few (need at least {} train images \
             and one held-out)",
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

/// The codes z of the images of `set` (clean), encoded in batches of `batch` without decoding:
/// `set.len()` rows of the returned dimension.
pub fn codes(
    model: &Denoiser,
    set: &ImageSet,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    encode_rows(model, &set.images, set.height, set.width, batch, device)
}

/// The codes of the images of `set` after `corruption` (seeded by `seed`, the same draw on every
/// call): the representation of x̃ rather than x.
pub fn noisy_codes(
    model: &Denoiser,
    set: &ImageSet,
    corruption: &dyn Corruption,
    seed: u64,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    let shape = SampleShape::new(1, set.height, set.width);
    let mut rng = seed::rng(seed, Purpose::EvalNoise, 0);
    let mut noisy = Vec::with_capacity(set.images.len());
    for chunk in set.images.chunks(shape.len() * batch.max(1)) {
        noisy.extend(corrupt_batch(corruption, chunk, shape, &mut rng)?.noisy);
    }
    encode_rows(model, &noisy, set.height, set.width, batch, device)
}

fn encode_rows(
    model: &Denoiser,
    images: &[f32],
    height: usize,
    width: usize,
    batch: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize)> {
    let per = height * width;
    if batch == 0 || per == 0 || images.is_empty() {
        return Err(Error::Config(
            "encoding needs at least one image and a batch size of at least 1".into(),
        ));
    }
    let mut out = Vec::new();
    let mut dim = 0;
    for chunk in images.chunks(per * batch) {
        let n = chunk.len() / per;
        let x = Tensor::<4>::from_data(
            TensorData::new(chunk.to_vec(), [n, 1, height, width]),
            device,
        );
        let z = model.encode(x);
        dim = z.dims()[1];
        out.extend(
            z.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Shape(format!("codes: {e:?}")))?,
        );
    }
    Ok((out, dim))
}

/// PCA baseline of `k` components fitted on the train rows: (train scores, test scores).
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

/// The PCA dimensions to probe by default for a code of dimension `code_dim` on `pixels`-pixel
/// images and `n_train` train images: the code's own dimension where PCA can have it; else the
/// most it can have (min(pixels, n_train)), which is the pixels rotated, so the MLP's 64 is
/// added as a compact reference.
pub fn default_pca_dims(code_dim: usize, pixels: usize, n_train: usize) -> Vec<usize> {
    let most = pixels.min(n_train);
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
