//! `dae denoise`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use dae::device::DeviceSpec;
use dae::tasks::image::denoise;

/// Arguments of `dae denoise`.
#[derive(Args, Debug)]
pub struct DenoiseArgs {
    /// A run directory written by `dae train`.
    run: PathBuf,
    /// PNG images to denoise (grayscale; colour is converted), or WAV files for an audio run
    /// (each written at its own rate and length).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory; each result keeps its input's file name.
    #[arg(short, long)]
    out: PathBuf,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<DeviceSpec>,
    /// Inference arithmetic: f32, or bf16 (MLP on the CPU: weights and inputs rounded to
    /// bfloat16, sums in f32; about twice as fast on processors with AVX-512 BF16).
    #[arg(long, default_value = "f32")]
    precision: dae::tasks::image::Precision,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae denoise`.
pub fn run(a: DenoiseArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    if dae::tasks::TaskKind::of_run(&a.run)? == dae::tasks::TaskKind::Audio {
        anyhow::ensure!(
            a.precision == dae::tasks::image::Precision::F32,
            "--precision {} is for image runs; audio runs denoise in f32",
            a.precision
        );
        let loaded = dae::tasks::load_audio_run(&a.run, a.device)?;
        for file in dae::tasks::audio::denoise_files(&loaded, &a.inputs, &a.out)? {
            eprintln!(
                "{} ({} samples at {} Hz)",
                file.output.display(),
                file.samples,
                file.sample_rate
            );
        }
        return Ok(());
    }
    let loaded = dae::tasks::load_image_run(&a.run, a.device)?;
    let predictor = crate::print::predictor(&loaded, a.precision)?;
    let model_config = &loaded.config.model;
    // Where each result goes, refused if two would collide or one would replace an input; then
    // every input is read and checked, all before anything is written.
    let outputs = denoise::output_paths(&a.inputs, &a.out)?;
    let mut images = Vec::new();
    for path in &a.inputs {
        let (pixels, h, w) = dae::tasks::image::data::image_folder::read_png(path)?;
        denoise::check_size(model_config, h, w).with_context(|| format!("{}", path.display()))?;
        images.push((pixels, h, w));
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    for (dest, (pixels, h, w)) in outputs.iter().zip(images) {
        let denoised = denoise::denoise_image(&predictor, model_config, &pixels, h, w)?;
        dae::tasks::image::data::image_folder::write_png_gray(dest, &denoised, h, w)?;
        eprintln!("{}", dest.display());
    }
    Ok(())
}
