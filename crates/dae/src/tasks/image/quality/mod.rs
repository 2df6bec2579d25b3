//! Sample quality without Inception: metrics on the features of a small Fashion-MNIST classifier
//! trained by dae (docs/quality.md). The numbers are comparable with each other, not with
//! Inception-based FID or KID.
//!
//! - [`extractor`]: the classifier, its weights file and the embedded weights;
//! - [`train`]: its training recipe (`dae train-extractor`);
//! - [`frechet`], [`kid`], [`neighbours`]: the Fréchet distance, KID, and the nearest-neighbour
//!   searches behind precision / recall and the memorisation check;
//! - [`scores`]: all of them on images ([`compare`], [`class_histogram`], [`memorised_share`]);
//! - [`sets`]: the image sets `dae fid` reads.

pub mod extractor;
pub mod frechet;
pub mod kid;
pub mod neighbours;
pub mod scores;
pub mod sets;
pub mod train;

pub use extractor::FeatureExtractor;
pub use scores::{
    class_histogram, compare, compare_features, memorised_share, memorised_share_of_features,
    precision_recall, QualityScores,
};
pub use sets::{load_images, IdxSplit};
pub use train::{save_extractor, train_extractor, ExtractorEpoch, ExtractorTraining};

#[cfg(test)]
mod tests;
