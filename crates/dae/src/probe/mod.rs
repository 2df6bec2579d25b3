//! Probes of representation quality on feature rows, whatever the modality produced them:
//! a linear classifier, k-nearest neighbours with retrieval, k-means clustering, and PCA as the
//! classical baseline code.

pub mod cluster;
pub mod knn;
pub mod linear;
pub mod pca;
