//! Diffusion on images: one noise-conditioned denoiser for every noise level, trained with the
//! DDPM objective and sampled from pure noise x_T back to x_0 — the bridge from the document's
//! denoising autoencoders to generative models (docs/diffusion.md).
//!
//! - [`model`]: the level-conditioned U-Net on dae's conv kernels;
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`] (with the
//!   weights' moving average);
//! - [`mod@sample`]: DDPM, DDIM and the single-level DAE chain from noise to images;
//! - [`torch`]: the network under its PyTorch twin's names (`model.safetensors` holds the
//!   averaged weights).
//!
//! The schedules and single steps are the core's ([`crate::diffusion`]).

pub mod config;
pub mod eval;
pub mod model;
pub mod output;
pub mod report;
pub mod sample;
pub mod task;
pub mod torch;

use std::path::Path;

use burn::prelude::*;

pub use config::DiffusionConfig;
pub use model::{TimeUnet, TimeUnetSettings};
pub use sample::{sample, SampleOptions, SamplerKind, Samples};
pub use task::{train, DiffusionMetrics, DiffusionModel, DiffusionTask};

use crate::run::checkpoint::load_module;
use crate::run::RunDir;
use crate::train::TaskConfig;
use crate::Result;

/// The `task` value of a diffusion run's `config.json` and of `--task`.
pub const TASK_NAME: &str = "diffusion";

/// A trained diffusion run loaded for sampling: its config, its averaged weights, its images'
/// size.
pub struct LoadedDiffusionRun {
    /// The run's exact training configuration.
    pub config: DiffusionConfig,
    /// The exponential moving average of the weights (what samples come from).
    pub model: TimeUnet,
    /// The device the model lives on.
    pub device: Device,
    /// Height and width of the run's images.
    pub shape: (usize, usize),
}

/// Loads the diffusion run at `root` on `device` (`None`: the device it trained on). Its final
/// model, or its last checkpoint's if it has not finished.
pub fn load_diffusion_run(
    root: &Path,
    device: Option<crate::device::DeviceSpec>,
) -> Result<LoadedDiffusionRun> {
    let run = RunDir::new(root);
    let config: DiffusionConfig =
        run.read_task_config(DiffusionConfig::TASK, DiffusionConfig::RUN_NAME)?;
    config.check()?;
    let device = device.unwrap_or(config.run.device).device()?;
    let fresh = DiffusionModel {
        net: config.model.init(1, &device),
        ema: config.model.init(1, &device),
    };
    let model = load_module(&run.trained_model()?, fresh, "diffusion U-Net")?;
    Ok(LoadedDiffusionRun {
        shape: (config.height, config.width),
        config,
        model: model.ema,
        device,
    })
}
