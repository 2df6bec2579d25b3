//! Evaluation of reconstructions: metrics (MSE, PSNR, SSIM), held-out evaluation, failure-mode
//! diagnostics and robustness over many corruptions.

pub mod diagnostics;
pub mod heldout;
pub mod metrics;
pub mod robustness;

pub use metrics::{mse, psnr_from_mse, ssim, MetricsAccumulator, ReconstructionMetrics};
