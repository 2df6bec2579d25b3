//! Evaluation of reconstructions: metrics (MSE, PSNR, SSIM) and held-out evaluation; and of
//! representations: linear, k-NN and clustering probes of the code against pixels and PCA.

pub mod cluster;
pub mod heldout;
pub mod knn;
pub mod linear;
pub mod metrics;
pub mod pca;
pub mod probe;
pub mod text;

pub use metrics::{mse, psnr_from_mse, ssim, MetricsAccumulator, ReconstructionMetrics};
