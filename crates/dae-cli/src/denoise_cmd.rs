//! `dae denoise`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use dae::corrupt::SampleShape;

/// Arguments of `dae denoise`.
#[derive(Args, Debug)]
pub struct DenoiseArgs {
    /// A run directory written by `dae train`.
    run: PathBuf,
    /// PNG images to denoise (grayscale; colour is converted).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory; each result keeps its input's file name.
    #[arg(short, long)]
    out: PathBuf,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<String>,
    /// Inference arithmetic: f32, or bf16 (MLP on the CPU: weights and inputs rounded to
    /// bfloat16, sums in f32; about twice as fast on processors with AVX-512 BF16).
    #[arg(long, default_value = "f32")]
    precision: dae::eval::Precision,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Pads an image on the bottom and right by repeating the edge, to `ph x pw`.
fn pad_edge(img: &[f32], h: usize, w: usize, ph: usize, pw: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(ph * pw);
    for y in 0..ph {
        let row = &img[y.min(h - 1) * w..][..w];
        out.extend((0..pw).map(|x| row[x.min(w - 1)]));
    }
    out
}

/// Runs `dae denoise`.
pub fn run(a: DenoiseArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let loaded = dae::train::load_run(&a.run, a.device.as_deref())?;
    let predictor = crate::predictor(&loaded, a.precision)?;
    let model_config = &loaded.config.model;
    // Read and check every input before writing anything.
    let mut images = Vec::new();
    for path in &a.inputs {
        let (pixels, h, w) = dae::data::image_folder::read_png(path)?;
        let Some(name) = path.file_name() else {
            bail!("{}: not a file name", path.display());
        };
        let (ph, pw) = model_config.padded_size(h, w);
        model_config
            .accepts(ph, pw)
            .with_context(|| format!("{}", path.display()))?;
        images.push((name.to_owned(), pixels, h, w, ph, pw));
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    for (name, pixels, h, w, ph, pw) in images {
        let padded = pad_edge(&pixels, h, w, ph, pw);
        let shape = SampleShape::new(1, ph, pw);
        let out = predictor.reconstruct(&padded, shape);
        let cropped: Vec<f32> = (0..h)
            .flat_map(|y| out[y * pw..y * pw + w].to_vec())
            .collect();
        let dest = a.out.join(&name);
        dae::data::image_folder::write_png_gray(&dest, &cropped, h, w)?;
        eprintln!("{}", dest.display());
    }
    Ok(())
}
