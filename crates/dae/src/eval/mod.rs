//! Evaluation of reconstructions: metrics (MSE, PSNR, SSIM) and held-out evaluation.

pub mod heldout;
pub mod metrics;
pub mod text;

pub use metrics::{mse, psnr_from_mse, ssim, MetricsAccumulator, ReconstructionMetrics};
