//! Image denoising: the document's denoising autoencoders on images.
//!
//! - [`data`]: IDX (MNIST-format) and PNG-folder readers and the embedded Fashion-MNIST split;
//! - [`model`]: the document's MLP and convolutional autoencoders, a U-Net and a DnCNN; PyTorch
//!   weight interchange;
//! - [`loss`]: MSE, L1, SSIM and MS-SSIM losses and their mixtures;
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`];
//! - [`metrics`], [`heldout`], [`predictor`]: MSE / PSNR / SSIM, held-out evaluation, f32 and
//!   bf16 inference;
//! - [`diagnostics`], [`robustness`], [`experiment`]: failure-mode diagnostics, evaluation under
//!   many corruptions, the train-noise x test-noise experiment;
//! - [`probe`]: representation probes of the encoder's codes;
//! - [`denoise`]: denoising images of any size (pad, denoise, crop); [`batch`]: denoising,
//!   encoding and corrupting batches held in memory (the Python package);
//! - [`report`]: the self-contained HTML report of a run;
//! - [`diffusion`]: one denoiser for every noise level, sampled from noise to images;
//! - [`mod@bench`]: the throughput benchmark of `dae bench`;
//! - [`torch_run`]: run directories to and from PyTorch weights (`dae import-torch`,
//!   `dae export-torch`).

pub mod batch;
pub mod bench;
pub mod config;
pub mod data;
pub mod denoise;
pub mod diagnostics;
pub mod diffusion;
pub mod experiment;
pub(crate) mod grid;
pub(crate) mod heatmap;
pub mod heldout;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod packed_mlp;
pub mod predictor;
pub mod probe;
pub mod quality;
pub mod report;
pub mod robustness;
pub mod ssim;
pub mod sweep;
pub mod task;
pub mod torch_run;

pub use config::ImageConfig;
pub use loss::Loss;
pub use metrics::{mse, psnr_from_mse, ssim, MetricsAccumulator, ReconstructionMetrics};
pub use predictor::{Precision, Predictor};
pub use task::{load_run, train, EpochMetrics, ImageTask, LoadedRun};
