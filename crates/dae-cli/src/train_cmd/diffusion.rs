//! `dae train --task diffusion`: the diffusion flags, a diffusion run's config, its training.

use clap::Args;
use dae::diffusion::{BetaSchedule, Prediction};
use dae::run::RunDir;
use dae::tasks::image::diffusion::{self, DiffusionConfig, DiffusionTask};
use dae::train::{Collective, Start, Task};

use super::{given, TrainArgs};
use crate::progress::fit_on_processes;

/// The flags of `dae train` that only `--task diffusion` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Diffusion on images (--task diffusion)")]
pub(super) struct DiffusionArgs {
    /// Noise schedule: linear (DDPM's betas 1e-4 to 0.02) or cosine (Nichol & Dhariwal)
    /// [default: linear].
    #[arg(long)]
    schedule: Option<BetaSchedule>,
    /// Number of noise levels T [default: 1000].
    #[arg(long)]
    train_steps: Option<usize>,
    /// What the network predicts: epsilon (the noise, DDPM), x0 (the clean image) or v
    /// [default: epsilon].
    #[arg(long)]
    prediction: Option<Prediction>,
    /// Largest decay of the weights' moving average, which sampling uses [default: 0.999].
    #[arg(long)]
    ema_decay: Option<f64>,
    /// Train at this one timestep only (0..T): the document's single-level denoising
    /// autoencoder, sampled with `dae sample --sampler chain`.
    #[arg(long)]
    single_level: Option<usize>,
    /// Channels of the U-Net at full resolution, doubled per level [default: 16].
    #[arg(long)]
    unet_width: Option<usize>,
    /// Number of 2x down-samplings of the U-Net [default: 2].
    #[arg(long)]
    unet_depth: Option<usize>,
    /// Group normalization before every activation.
    #[arg(long)]
    group_norm: bool,
    /// Self-attention at the lowest resolution.
    #[arg(long)]
    attention: bool,
}

impl TrainArgs {
    /// A diffusion run's config from the flags.
    fn diffusion_config(&self) -> anyhow::Result<DiffusionConfig> {
        let d = &self.diffusion;
        let mut config = DiffusionConfig::default();
        config.schedule = d.schedule.unwrap_or(config.schedule);
        config.train_steps = d.train_steps.unwrap_or(config.train_steps);
        config.prediction = d.prediction.unwrap_or(config.prediction);
        config.ema_decay = d.ema_decay.unwrap_or(config.ema_decay);
        config.single_level = d.single_level;
        config.model.width = d.unet_width.unwrap_or(config.model.width);
        config.model.depth = d.unet_depth.unwrap_or(config.model.depth);
        config.model.group_norm = d.group_norm;
        config.model.attention = d.attention;
        anyhow::ensure!(
            self.noise.is_none(),
            "--noise does not apply to --task diffusion: the noise is the schedule's \
             (--schedule, --train-steps)"
        );
        anyhow::ensure!(
            self.dropout.is_none(),
            "--dropout is not used by the diffusion U-Net"
        );
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl DiffusionArgs {
    /// The diffusion flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--schedule", self.schedule.is_some()),
            ("--train-steps", self.train_steps.is_some()),
            ("--prediction", self.prediction.is_some()),
            ("--ema-decay", self.ema_decay.is_some()),
            ("--single-level", self.single_level.is_some()),
            ("--unet-width", self.unet_width.is_some()),
            ("--unet-depth", self.unet_depth.is_some()),
            ("--group-norm", self.group_norm),
            ("--attention", self.attention),
        ];
        given(flags)
    }
}

/// Trains an image diffusion run on `processes` (this one alone, or an MPI job's); process 0 prints.
pub(super) fn train_diffusion(
    a: &TrainArgs,
    start: Start,
    processes: &dyn Collective,
) -> anyhow::Result<()> {
    let (config, run, data) = match &a.resume {
        Some(dir) => {
            let (config, data) = diffusion::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let config = a.diffusion_config()?;
            let data = diffusion::task::load_data(&config)?;
            (config, a.out("diffusion"), data)
        }
    };
    let task = DiffusionTask::new(config, &data)?;
    let config = task.config();
    let levels = match config.single_level {
        Some(t) => format!("one level, t = {t} of {}", config.train_steps),
        None => format!("T = {} levels", config.train_steps),
    };
    let lead = processes.rank() == 0;
    if lead {
        eprintln!(
            "dae train --task diffusion: U-Net width {} depth {}{}{}, {} schedule, {levels}, \
             predicts {}, EMA {}, {}\n  data: {}: {} training images of {}x{}\n  run directory: {}",
            config.model.width,
            config.model.depth,
            if config.model.group_norm {
                ", group norm"
            } else {
                ""
            },
            if config.model.attention {
                ", attention"
            } else {
                ""
            },
            config.schedule,
            config.prediction,
            config.ema_decay,
            config.run,
            dae::tasks::image::data::describe(config.run.data.as_deref()),
            task.train_len(),
            config.height,
            config.width,
            run.root.display()
        );
    }
    fit_on_processes(&task, &run, start, processes)?;
    if !lead {
        return Ok(());
    }
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, model.safetensors, grid.png); \
         `dae sample {} -n 64 -o OUT` draws images",
        run.root.display(),
        run.root.display(),
    );
    Ok(())
}
