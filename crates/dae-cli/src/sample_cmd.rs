//! `dae sample`: images from a diffusion run, drawn from pure noise.

use std::path::PathBuf;

use clap::Args;
use dae::device::DeviceSpec;
use dae::tasks::image::diffusion::output::{check_destination, write_samples};
use dae::tasks::image::diffusion::{sample, SampleOptions, SamplerKind};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `dae sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A diffusion run directory (`dae train --task diffusion`).
    run: PathBuf,
    /// Number of images.
    #[arg(short = 'n', long = "count", default_value_t = 64)]
    count: usize,
    /// ddpm (ancestral), ddim, or chain (a single-level run: noise, denoise, repeat).
    #[arg(long, default_value = "ddim")]
    sampler: String,
    /// Denoising steps [default: T for ddpm, 50 for ddim, 100 for chain].
    #[arg(long)]
    steps: Option<usize>,
    /// DDIM's stochasticity: 0 deterministic, 1 as much noise as DDPM.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    eta: f64,
    /// Seed of the starting noise and every step's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write trajectory.png: the path x_T → x_0 of the first K images.
    #[arg(long, value_name = "K", default_value_t = 0, num_args = 0..=1, default_missing_value = "8")]
    trajectory: usize,
    /// Output folder (new or empty): sample-00000.png, …, grid.png.
    #[arg(short, long)]
    out: PathBuf,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<DeviceSpec>,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae sample`.
pub fn run(a: SampleArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let sampler = SamplerKind::parse(&a.sampler, a.eta)?;
    anyhow::ensure!(
        a.eta == 0.0 || matches!(sampler, SamplerKind::Ddim { .. }),
        "--eta applies to --sampler ddim"
    );
    check_destination(&a.out)?;
    let loaded = dae::tasks::load_diffusion_run(&a.run, a.device)?;
    let options = SampleOptions {
        count: a.count,
        sampler,
        steps: a.steps,
        seed: a.seed,
        trajectory: a.trajectory.min(a.count),
    };
    let bar = ProgressBar::hidden();
    let mut shown = false;
    let samples = sample(
        &loaded.model,
        &loaded.config,
        &options,
        loaded.shape,
        &loaded.device,
        &mut |done, total| {
            if !shown {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(total as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "sampling [{bar:30}] {pos}/{len} steps {elapsed_precise} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                shown = true;
            }
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    let samples = samples?;
    let written = write_samples(&a.out, &samples, loaded.shape)?;
    eprintln!(
        "{} images ({} steps each, {}) in {}: {} … and {}{}",
        written.images.len(),
        samples.steps,
        a.sampler,
        a.out.display(),
        written.images[0].display(),
        written.grid.display(),
        written
            .trajectory
            .map(|t| format!(", {}", t.display()))
            .unwrap_or_default()
    );
    Ok(())
}
