//! Evaluation of reconstructions: metrics (MSE, PSNR, SSIM), held-out evaluation, failure-mode
//! diagnostics and robustness over many corruptions; and of representations: linear, k-NN and
//! clustering probes of the code against pixels and PCA.

pub mod cluster;
pub mod diagnostics;
pub mod heldout;
pub mod knn;
pub mod linear;
pub mod metrics;
pub mod pca;
pub mod predictor;
pub mod probe;
pub mod robustness;
pub mod text;

pub use metrics::{mse, psnr_from_mse, ssim, MetricsAccumulator, ReconstructionMetrics};
pub use predictor::{Precision, Predictor};
