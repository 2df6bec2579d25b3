//! # dae: denoising autoencoders on Burn
//!
//! A denoising autoencoder sees a corrupted input x̃ ~ q(x̃|x) and learns to reconstruct the clean
//! x. This crate holds every piece of that loop. Its layout (docs/architecture.md) is a core that
//! knows no modality and one folder per task:
//!
//! - leaves: [`error`], [`seed`] (one seed drives every draw), [`fsio`] (atomic writes),
//!   [`device`] (the compute device, parsed once), [`limits`] (the resource limits checked
//!   before an allocation, docs/limits.md);
//! - the core: [`kernels`] (CPU kernels behind the models' hot paths), [`corrupt`] (the
//!   `--noise` grammar, mixtures and the corruptions of numeric samples), [`run`] (the run
//!   directory: every file by name, config, checkpoints, metrics), [`train`] (the generic
//!   training loop and the [`train::Task`] trait), [`probe`] (linear, k-NN and clustering probes
//!   and PCA on feature rows), [`report`] (figures and the HTML page), [`perf`] (threads, memory),
//!   [`diffusion`] (noise schedules, DDPM/DDIM sampler steps, and the score view), [`torch`]
//!   (PyTorch weights: safetensors files under the twins' `state_dict()` names);
//! - the tasks: [`tasks::image`] (image denoising: data, models, losses, evaluation, robustness,
//!   probes, report, bench) and [`tasks::text`] (masked language modeling), with the registry
//!   [`tasks::TaskKind`].
//!
//! ## The API
//!
//! What is `pub` is the API: everything the `dae` binary does, a program can do through it (the
//! binary is such a program). The entry points:
//!
//! - train: build a task's config ([`tasks::image::ImageConfig`], [`tasks::text::MlmConfig`]),
//!   its task ([`tasks::image::ImageTask`], [`tasks::text::MlmTask`]) and run [`train::fit`]
//!   ([`train::fit_until`] to stop it between steps with a [`train::StopRequest`]); resume with
//!   [`train::resume_config`];
//! - use a run: [`tasks::TaskKind::of_run`], [`tasks::load_image_run`] /
//!   [`tasks::load_text_run`], then [`tasks::image::Predictor`] (denoise),
//!   [`tasks::image::model::Denoiser::encode`] (codes), [`tasks::image::robustness`] (evaluate),
//!   [`tasks::image::report::write_report`], [`tasks::text::fill`]; in-memory batches of images
//!   (denoise, encode, corrupt, as the Python package calls them): [`tasks::image::batch`];
//! - corrupt data: [`corrupt::NoiseSpec`] and [`corrupt::corrupt_batch`];
//! - files of a run: [`run::RunDir`].
//!
//! The CPU kernels, the plotting primitives and the HTML helpers are internal (`pub(crate)`);
//! the models reach the kernels through Burn modules.

#![warn(missing_docs)]

pub mod corrupt;
pub mod device;
pub mod diffusion;
pub mod error;
pub mod fsio;
pub mod json;
pub mod kernels;
pub mod limits;
pub mod perf;
pub mod probe;
pub mod report;
pub mod run;
pub mod seed;
pub mod sweep;
pub mod tasks;
pub mod torch;
pub mod train;

pub use error::{Error, Result};
