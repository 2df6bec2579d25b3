//! `dae train --task image`: the image flags, an image run's config, its training.

use clap::Args;
use dae::run::RunDir;
use dae::tasks::image::model::{ModelConfig, ModelKind, ModelOptions};
use dae::tasks::image::{self, ImageConfig, ImageTask, Loss};
use dae::train::{Collective, Start, Task};

use super::{given, TrainArgs};
use crate::args::ModelArg;
use crate::progress::fit_on_processes;

/// The flags of `dae train` that only image runs read.
#[derive(Args, Debug)]
#[command(next_help_heading = "Image denoising (--task image)")]
pub(super) struct ImageArgs {
    /// Architecture [default: conv].
    #[arg(long, value_enum)]
    model: Option<ModelArg>,
    /// MLP hidden widths, comma-separated, outermost first [default: 256].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// MLP code width [default: 64].
    #[arg(long)]
    latent_dim: Option<usize>,
    /// unet: channels at full resolution (default 32); dncnn: hidden channels (default 32).
    #[arg(long)]
    width: Option<usize>,
    /// unet: number of 2x down-samplings (default 2); dncnn: convolution layers (default 8).
    #[arg(long)]
    depth: Option<usize>,
    /// unet: predict the noise and return x̃ − n̂ instead of a sigmoid image.
    #[arg(long)]
    residual: bool,
    /// Reconstruction loss: mse, l1, ssim (1 - SSIM), msssim (1 - MS-SSIM), or a weighted sum
    /// such as `0.84*ssim+0.16*l1` [default: mse].
    #[arg(long)]
    loss: Option<Loss>,
    /// Loss on the corrupted entries only (masked image modeling, e.g. with
    /// `--noise patch:size=7,ratio=0.5`).
    #[arg(long)]
    masked_loss: bool,
}

impl TrainArgs {
    /// An image run's config from the flags, for images of `height x width`.
    fn image_config(&self, (height, width): (usize, usize)) -> anyhow::Result<ImageConfig> {
        let i = &self.image;
        let options = ModelOptions {
            hidden: i.hidden.clone(),
            latent_dim: i.latent_dim,
            dropout: self.dropout,
            width: i.width,
            depth: i.depth,
            residual: i.residual,
        };
        let kind = ModelKind::from(i.model.unwrap_or(ModelArg::Conv));
        let mut config = ImageConfig::new(ModelConfig::with_options(
            kind,
            (1, height, width),
            &options,
        )?);
        if let Some(spec) = &self.noise {
            config.noise = dae::tasks::parse_image_noise(spec)?;
        }
        config.loss = i.loss.clone().unwrap_or_default();
        config.masked_loss = i.masked_loss;
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl ImageArgs {
    /// The image flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--model", self.model.is_some()),
            ("--hidden", self.hidden.is_some()),
            ("--latent-dim", self.latent_dim.is_some()),
            ("--width", self.width.is_some()),
            ("--depth", self.depth.is_some()),
            ("--residual", self.residual),
            ("--loss", self.loss.is_some()),
            ("--masked-loss", self.masked_loss),
        ];
        given(flags)
    }
}

/// Trains an image run on `processes` (this one alone, or an MPI job's); process 0 prints.
pub(super) fn train_image(
    a: &TrainArgs,
    start: Start,
    processes: &dyn Collective,
) -> anyhow::Result<()> {
    let (config, run, data) = match &a.resume {
        Some(dir) => {
            let (config, data) = image::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let data = image::data::load(a.data.as_deref())?;
            let config = a.image_config((data.train.height, data.train.width))?;
            let run = a.out(&config.model.kind().to_string());
            (config, run, data)
        }
    };
    // The task is the checked config with its data: nothing runs before it exists.
    let task = ImageTask::new(config, &data)?;
    let config = task.config();
    let s = &config.run;
    let n = |limit: Option<usize>, len: usize| limit.map_or(len, |n| n.min(len));
    let lead = processes.rank() == 0;
    if lead {
        eprintln!(
            "dae train: {} model, loss {}, noise {}, {s}\n  \
             data: {} ({} train / {} held-out images of {}x{})\n  run directory: {}",
            config.model.kind(),
            config.loss,
            config.noise,
            image::data::describe(s.data.as_deref()),
            n(s.train_limit, data.train.len()),
            n(s.val_limit, data.test.len()),
            data.train.height,
            data.train.width,
            run.root.display()
        );
    }
    fit_on_processes(&task, &run, start, processes)?;
    if !lead {
        return Ok(());
    }
    let record = image::experiment::final_diagnostics(&run, &data)?;
    crate::print::diagnostics(&record);
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, {}grid.png, diagnostics.json)",
        run.root.display(),
        if run.torch_model().exists() {
            "model.safetensors, "
        } else {
            ""
        }
    );
    Ok(())
}
