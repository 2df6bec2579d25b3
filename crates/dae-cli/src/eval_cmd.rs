//! `dae eval`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::json;

/// Arguments of `dae eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory written by `dae train`.
    run: PathBuf,
    /// Corruption to evaluate under; repeat for several rows (default: the run's training noise).
    #[arg(long)]
    noise: Vec<String>,
    /// Held-out data: an MNIST-format directory (its t10k split) or PNG folder; for a text run,
    /// a UTF-8 text file or directory, all of it (default: the run's own held-out split).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Evaluate only the first N held-out images.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed of the evaluation corruption.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images per inference batch.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<String>,
    /// One JSON object per noise spec on stdout instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae eval`.
pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    if dae::train::config::read_task(&a.run).ok() == Some(dae::train::config::Task::Mlm) {
        return crate::mlm_cmd::eval(crate::mlm_cmd::EvalOptions {
            run: &a.run,
            noise: &a.noise,
            data: a.data.as_deref(),
            limit: a.limit,
            seed: a.seed,
            batch_size: a.batch_size,
            device: a.device.as_deref(),
            json: a.json,
        });
    }
    let loaded = dae::train::load_run(&a.run, a.device.as_deref())?;
    let specs = if a.noise.is_empty() {
        vec![loaded.config.noise.clone()]
    } else {
        a.noise.clone()
    };
    // Parse every spec before any work, so a typo in the last one fails at once.
    let corruptions = specs
        .iter()
        .map(|s| dae::corrupt::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let data = if a.data.is_some() {
        &a.data
    } else {
        &loaded.config.data
    };
    let splits = crate::load_data(data)?;
    let mut test = splits.test;
    if let Some(n) = a.limit {
        anyhow::ensure!(n > 0, "--limit must be at least 1");
        test = test.take(n);
    }
    loaded
        .config
        .model
        .accepts(test.height, test.width)
        .with_context(|| format!("held-out data {}", crate::data_label(data)))?;
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be at least 1");

    if !a.json {
        println!(
            "{:<32} {:>9} {:>9} {:>7} {:>11} {:>10} {:>7}",
            "noise", "PSNR dB", "noisy dB", "gain", "SSIM", "noisy SSIM", "count"
        );
    }
    for (spec, c) in specs.iter().zip(&corruptions) {
        let r = dae::eval::heldout::evaluate(
            &loaded.model,
            &test,
            c.as_ref(),
            a.seed,
            a.batch_size,
            &loaded.device,
        )?;
        if a.json {
            let row = json!({
                "noise": spec,
                "mse": r.denoised.mse,
                "psnr": r.denoised.psnr,
                "ssim": r.denoised.ssim,
                "noisy_mse": r.noisy.mse,
                "noisy_psnr": r.noisy.psnr,
                "noisy_ssim": r.noisy.ssim,
                "psnr_gain": r.denoised.psnr - r.noisy.psnr,
                "count": r.denoised.count,
            });
            println!("{row}");
        } else {
            println!(
                "{:<32} {:>9.2} {:>9.2} {:>+7.2} {:>11.4} {:>10.4} {:>7}",
                spec,
                r.denoised.psnr,
                r.noisy.psnr,
                r.denoised.psnr - r.noisy.psnr,
                r.denoised.ssim,
                r.noisy.ssim,
                r.denoised.count
            );
        }
    }
    Ok(())
}
