//! # dae: denoising autoencoders on Burn
//!
//! A denoising autoencoder sees a corrupted input x̃ ~ q(x̃|x) and learns to reconstruct the clean
//! x. This crate holds every piece of that loop, each in the module the source document would
//! name it by:
//!
//! - [`corrupt`]: the corruption processes q(x̃|x) and the `--noise` spec grammar;
//! - [`data`]: readers for the data sets and the embedded default (Fashion-MNIST test split);
//! - [`model`]: the document's MLP and convolutional autoencoders; every model returns (x̂, z);
//! - [`train`]: losses, the training loop, checkpoints and run directories;
//! - [`eval`]: metrics (MSE, PSNR, SSIM) and held-out evaluation;
//! - [`report`]: image grids;
//! - [`kernels`]: custom CPU kernels (Burn backend extensions) behind the models' hot paths;
//! - [`perf`]: thread count, peak memory and the `dae bench` throughput benchmark.

pub mod corrupt;
pub mod data;
pub mod error;
pub mod eval;
pub mod kernels;
pub mod model;
pub mod perf;
pub mod report;
pub mod seed;
pub mod train;

pub use error::{Error, Result};
