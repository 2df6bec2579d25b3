//! # dae: denoising autoencoders on Burn
//!
//! A denoising autoencoder sees a corrupted input x̃ ~ q(x̃|x) and learns to reconstruct the clean
//! x. This crate holds every piece of that loop. Its layout (docs/architecture.md) is a core that
//! knows no modality and one folder per task:
//!
//! - leaves: [`error`], [`seed`] (one seed drives every draw), [`fsio`] (atomic writes),
//!   [`device`] (the compute device, parsed once);
//! - the core: [`kernels`] (CPU kernels behind the models' hot paths), [`corrupt`] (the
//!   `--noise` grammar, mixtures and the corruptions of numeric samples), [`run`] (the run
//!   directory: every file by name, config, checkpoints, metrics), [`train`] (the generic
//!   training loop and the [`train::Task`] trait), [`probe`] (linear, k-NN and clustering probes
//!   and PCA on feature rows), [`report`] (figures and the HTML page), [`perf`] (threads, memory);
//! - the tasks: [`tasks::image`] (image denoising: data, models, losses, evaluation, robustness,
//!   probes, report, bench) and [`tasks::text`] (masked language modeling), with the registry
//!   [`tasks::TaskKind`].

#![warn(missing_docs)]

pub mod corrupt;
pub mod device;
pub mod error;
pub mod fsio;
pub mod kernels;
pub mod perf;
pub mod probe;
pub mod report;
pub mod run;
pub mod seed;
pub mod tasks;
pub mod train;

pub use error::{Error, Result};
