//! The metrics on images: the features of two sets compared by Fréchet distance, KID and
//! precision / recall; the class histogram of a set; the memorisation check.

use serde::{Deserialize, Serialize};

use super::extractor::{FeatureExtractor, CLASSES};
use super::frechet::frechet_distance_of;
use super::kid::{kid, KidSettings};
use super::neighbours::{covered_share, kth_neighbour_distances, nearest_distances};
use crate::{Error, Result};

/// Neighbours that set the radius of each sample's ball in precision / recall (the paper's 3).
pub const MANIFOLD_K: usize = 3;

/// The percentile of the test-to-train nearest distances below which a sample counts as
/// memorised: 1%, so that fresh real images are flagged about 1% of the time.
pub const MEMORISATION_PERCENTILE: f64 = 0.01;

/// Everything `compare` measures between a reference set `a` (real images) and a set `b`
/// (generated, or otherwise to be judged).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QualityScores {
    /// The Fréchet distance between the Gaussians of the two feature sets (lower is better).
    pub frechet_distance: f64,
    /// KID, the unbiased MMD² under the cubic kernel (lower is better; about 0 for one
    /// distribution).
    pub kid: f64,
    /// KID's standard deviation over its subsets (0 when measured whole).
    pub kid_std: f64,
    /// Precision: the share of `b` inside the k-NN manifold of `a` (fidelity).
    pub precision: f64,
    /// Recall: the share of `a` inside the k-NN manifold of `b` (diversity).
    pub recall: f64,
    /// Images in `a`.
    pub count_a: usize,
    /// Images in `b`.
    pub count_b: usize,
    /// How many images of `a` the classifier puts in each Fashion-MNIST class.
    pub class_histogram_a: Vec<usize>,
    /// The same for `b`.
    pub class_histogram_b: Vec<usize>,
}

/// Precision and recall of Kynkäänniemi et al. 2019: around each real feature a ball reaching its
/// `k`-th nearest real neighbour; precision is the share of generated features inside some real
/// ball, recall the share of real features inside some generated ball (balls around the
/// generated features likewise). Each set needs more than `k` rows.
pub fn precision_recall(
    real: &[f32],
    generated: &[f32],
    dim: usize,
    k: usize,
) -> Result<(f64, f64)> {
    whole_rows(&[real, generated], dim)?;
    if k == 0 {
        return Err(Error::Config("precision / recall needs k >= 1".into()));
    }
    for (name, set) in [("reference", real), ("compared", generated)] {
        if set.len() / dim <= k {
            return Err(Error::Shape(format!(
                "precision / recall with k = {k} needs more than {k} images in the {name} set, \
                 got {}",
                set.len() / dim
            )));
        }
    }
    let real_radii = kth_neighbour_distances(real, dim, k);
    let generated_radii = kth_neighbour_distances(generated, dim, k);
    Ok((
        covered_share(generated, real, &real_radii, dim),
        covered_share(real, generated, &generated_radii, dim),
    ))
}

/// Compares `count_b` images `b` with `count_a` reference images `a` (each `count x 28 x 28`
/// values in \[0,1\]; each set needs more than [`MANIFOLD_K`] images).
pub fn compare(
    extractor: &FeatureExtractor,
    a: &[f32],
    count_a: usize,
    b: &[f32],
    count_b: usize,
) -> Result<QualityScores> {
    let (fa, ca) = extractor.features_and_classes(a, count_a)?;
    let (fb, cb) = extractor.features_and_classes(b, count_b)?;
    compare_features((&fa, &ca), (&fb, &cb), extractor.dim())
}

/// [`compare`] on features already extracted: the rows of `a` and `b` (`dim` wide) with each
/// row's class, so that a caller who needs the features again (the memorisation check)
/// extracts them once.
pub fn compare_features(
    (fa, ca): (&[f32], &[usize]),
    (fb, cb): (&[f32], &[usize]),
    dim: usize,
) -> Result<QualityScores> {
    whole_rows(&[fa, fb], dim)?;
    let (count_a, count_b) = (fa.len() / dim, fb.len() / dim);
    if ca.len() != count_a || cb.len() != count_b {
        return Err(Error::Shape(format!(
            "{} and {} classes for {count_a} and {count_b} feature rows",
            ca.len(),
            cb.len()
        )));
    }
    let (precision, recall) = precision_recall(fa, fb, dim, MANIFOLD_K)?;
    let k = kid(fa, fb, dim, KidSettings::default())?;
    Ok(QualityScores {
        frechet_distance: frechet_distance_of(fa, fb, dim)?,
        kid: k.mean,
        kid_std: k.std,
        precision,
        recall,
        count_a,
        count_b,
        class_histogram_a: histogram(ca),
        class_histogram_b: histogram(cb),
    })
}

/// Errors unless every set is whole rows of `dim > 0` features.
fn whole_rows(sets: &[&[f32]], dim: usize) -> Result<()> {
    match sets
        .iter()
        .find(|s| dim == 0 || !s.len().is_multiple_of(dim))
    {
        Some(bad) => Err(Error::Shape(format!(
            "{} values are not whole rows of {dim} features",
            bad.len()
        ))),
        None => Ok(()),
    }
}

fn histogram(classes: &[usize]) -> Vec<usize> {
    let mut counts = vec![0; CLASSES];
    for &c in classes {
        counts[c.min(CLASSES - 1)] += 1;
    }
    counts
}

/// How many of `count` images the classifier puts in each of the ten Fashion-MNIST classes
/// (`crate::tasks::image::data::FASHION_MNIST_CLASSES` order).
pub fn class_histogram(
    extractor: &FeatureExtractor,
    images: &[f32],
    count: usize,
) -> Result<Vec<usize>> {
    Ok(histogram(&extractor.classes(images, count)?))
}

/// The memorisation check on features: the share of `samples` whose nearest `train` row is at
/// most as far as the [`MEMORISATION_PERCENTILE`] of the distances from each `test` row to its
/// nearest `train` row. Real images the model never saw (`test`) thus score about 1%; copies
/// of training images score 1.
pub fn memorised_share_of_features(
    samples: &[f32],
    train: &[f32],
    test: &[f32],
    dim: usize,
) -> Result<f64> {
    whole_rows(&[samples, train, test], dim)?;
    if samples.is_empty() || train.is_empty() || test.is_empty() {
        return Err(Error::Shape(
            "the memorisation check needs samples, training and test images".into(),
        ));
    }
    let mut reference = nearest_distances(test, train, dim);
    reference.sort_by(f32::total_cmp);
    let rank = ((reference.len() - 1) as f64 * MEMORISATION_PERCENTILE).floor() as usize;
    let threshold = reference[rank];
    let near = nearest_distances(samples, train, dim);
    Ok(near.iter().filter(|&&d| d <= threshold).count() as f64 / near.len() as f64)
}

/// The memorisation check on images (see [`memorised_share_of_features`]): nearest training
/// images are searched in the extractor's feature space.
#[allow(clippy::too_many_arguments)]
pub fn memorised_share(
    extractor: &FeatureExtractor,
    samples: &[f32],
    count: usize,
    train: &[f32],
    train_count: usize,
    test: &[f32],
    test_count: usize,
) -> Result<f64> {
    let features = |images, n| extractor.features(images, n);
    memorised_share_of_features(
        &features(samples, count)?,
        &features(train, train_count)?,
        &features(test, test_count)?,
        extractor.dim(),
    )
}
