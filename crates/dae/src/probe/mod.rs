//! Probes of representation quality on feature rows, whatever the modality produced them:
//! a linear classifier, k-nearest neighbours with retrieval, k-means clustering, PCA as the
//! classical baseline code, and [`scores`], which runs them all on one feature set.

pub mod cluster;
pub mod knn;
pub mod linear;
pub mod pca;
pub mod scores;

pub use scores::{default_pca_dims, pca_features, probe_features, ProbeConfig, ProbeScores};
