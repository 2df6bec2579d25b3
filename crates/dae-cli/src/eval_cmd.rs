//! `dae eval`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Arguments of `dae eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory written by `dae train`.
    run: PathBuf,
    /// Corruption to evaluate under; repeat for several rows (default: the run's training noise).
    #[arg(long)]
    noise: Vec<String>,
    /// Add a named list of corruptions: `standard` = Gaussian 0.1/0.2/0.3/0.5, mask:keep=0.8,
    /// saltpepper:p=0.1, erase:frac=0.25, patch:size=7,ratio=0.5 (the robustness suite).
    #[arg(long, value_parser = ["standard"])]
    suite: Option<String>,
    /// Also write the rows to RUN/eval.jsonl (read by `dae report`).
    #[arg(long)]
    save: bool,
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
    /// Inference arithmetic: f32, or bf16 (MLP on the CPU: weights and inputs rounded to
    /// bfloat16, sums in f32; about twice as fast on processors with AVX-512 BF16).
    #[arg(long, default_value = "f32")]
    precision: dae::eval::Precision,
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
        anyhow::ensure!(
            a.precision == dae::eval::Precision::F32,
            "--precision {} is for image runs; text runs evaluate in f32",
            a.precision
        );
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
    let predictor = crate::predictor(&loaded, a.precision)?;
    let mut specs = a.noise.clone();
    if let Some(name) = &a.suite {
        specs.extend(
            dae::eval::robustness::suite(name)
                .with_context(|| format!("unknown --suite `{name}`"))?,
        );
    }
    if specs.is_empty() {
        specs.push(loaded.config.noise.clone());
    }
    // Parse every spec before any work, so a typo in the last one fails at once.
    for s in &specs {
        dae::corrupt::parse(s)?;
    }
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
            "{:<32} {:>9} {:>9} {:>7} {:>11} {:>10} {:>8} {:>8} {:>6} {:>7}",
            "noise",
            "PSNR dB",
            "noisy dB",
            "gain",
            "SSIM",
            "noisy SSIM",
            "in:clean",
            "removed",
            "hf",
            "count"
        );
    }
    let records = dae::eval::robustness::evaluate_specs(
        &predictor,
        &test,
        &specs,
        a.seed,
        a.batch_size,
        &mut |r| {
            if a.json {
                println!("{}", serde_json::to_string(r).unwrap_or_default());
            } else {
                println!(
                    "{:<32} {:>9.2} {:>9.2} {:>+7.2} {:>11.4} {:>10.4} {:>8.2} {:>8.2} {:>6.2} {:>7}",
                    r.noise,
                    r.psnr,
                    r.noisy_psnr,
                    r.psnr_gain,
                    r.ssim,
                    r.noisy_ssim,
                    r.input_distance_ratio,
                    r.noise_removed,
                    r.hf_ratio,
                    r.count
                );
                // Warnings go to stderr: stdout stays one table row per spec.
                for w in &r.warnings {
                    eprintln!("warning: {}: {}", r.noise, w.message);
                }
            }
        },
    )?;
    if !a.json {
        eprintln!(
            "gain: PSNR over the noisy input's (warn < {} dB); in:clean: distance of the output to \
             its input over its distance to the clean image (0 = copies its input: identity \
             learning, warn < {}); removed: fraction of the corruption undone; hf: \
             high-frequency energy of the output over the clean images' (over-smoothing, warn < \
             {})",
            dae::eval::diagnostics::GAIN_MIN_DB,
            dae::eval::diagnostics::INPUT_DISTANCE_RATIO_MIN,
            dae::eval::diagnostics::HF_RATIO_MIN
        );
    }
    if a.save {
        let path = a.run.join(dae::train::experiment::EVAL_JSONL);
        dae::eval::robustness::write_records(&path, &records)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
