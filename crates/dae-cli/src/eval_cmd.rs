//! `dae eval`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use dae::corrupt::NoiseSpec;
use dae::device::DeviceSpec;
use dae::tasks::image::{self, Precision};
use dae::tasks::text::heldout::{evaluate_run, TextEvalData, TextEvalOptions, TextEvalRecord};
use dae::tasks::text::{self, TokenNoise};
use dae::tasks::TaskKind;

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
    device: Option<DeviceSpec>,
    /// Inference arithmetic: f32, or bf16 (MLP on the CPU: weights and inputs rounded to
    /// bfloat16, sums in f32; about twice as fast on processors with AVX-512 BF16).
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// One JSON object per noise spec on stdout instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae eval` on an image or a text run.
pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(a.limit != Some(0), "--limit must be at least 1");
    match TaskKind::of_run(&a.run)? {
        TaskKind::Image => eval_image(&a),
        TaskKind::Mlm => eval_text(&a),
    }
}

/// `dae eval` on an image run: PSNR, SSIM and the failure-mode diagnostics per noise.
fn eval_image(a: &EvalArgs) -> anyhow::Result<()> {
    let loaded = image::load_run(&a.run, a.device)?;
    let predictor = crate::print::predictor(&loaded, a.precision)?;
    // Every spec parses before any work, so a typo in the last one fails at once.
    let mut specs = a
        .noise
        .iter()
        .map(|s| dae::tasks::parse_image_noise(s))
        .collect::<Result<Vec<NoiseSpec>, _>>()?;
    if let Some(name) = &a.suite {
        specs.extend(
            image::robustness::suite(name).with_context(|| format!("unknown --suite `{name}`"))?,
        );
    }
    if specs.is_empty() {
        specs.push(loaded.config.noise.clone());
    }
    let data = a.data.as_deref().or(loaded.config.run.data.as_deref());
    let mut test = image::data::load(data)?.test;
    if let Some(n) = a.limit {
        test = test.take(n);
    }
    loaded
        .config
        .model
        .accepts(test.height, test.width)
        .with_context(|| format!("held-out data {}", image::data::describe(data)))?;
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
    let records = image::robustness::evaluate_specs(
        &predictor,
        &test,
        &specs,
        a.seed,
        a.batch_size,
        &mut |r| {
            if a.json {
                println!("{}", dae::json::to_string(r).unwrap_or_default());
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
            image::diagnostics::GAIN_MIN_DB,
            image::diagnostics::INPUT_DISTANCE_RATIO_MIN,
            image::diagnostics::HF_RATIO_MIN
        );
    }
    if a.save {
        let path = dae::run::RunDir::new(&a.run).eval_records();
        image::robustness::write_records(&path, &records)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `dae eval` on a text run: held-out masked-token accuracy, NLL, perplexity and the unigram
/// baseline, per noise spec.
fn eval_text(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.precision == Precision::F32,
        "--precision {} is for image runs; text runs evaluate in f32",
        a.precision
    );
    let loaded = text::load_mlm_run(&a.run, a.device)?;
    let options = TextEvalOptions {
        noise: a
            .noise
            .iter()
            .map(|s| TokenNoise::parse(s))
            .collect::<Result<_, _>>()?,
        data: a.data.clone(),
        limit: a.limit,
        seed: a.seed,
        batch_size: a.batch_size,
    };
    let on_data = &mut |d: &TextEvalData| {
        if !a.json {
            println!(
                "data: {} ({} sequences of {} tokens)",
                d.label, d.sequences, d.seq_len
            );
            println!(
                "{:<40} {:>10} {:>9} {:>11} {:>9} {:>8}",
                "noise", "masked acc", "NLL", "perplexity", "unigram", "masked"
            );
        }
    };
    let on_record = &mut |r: &TextEvalRecord| {
        if a.json {
            println!("{}", dae::json::to_string(r).unwrap_or_default());
        } else {
            println!(
                "{:<40} {:>10.4} {:>9.4} {:>11.2} {:>9.4} {:>8}",
                r.noise,
                r.val_masked_accuracy,
                r.val_nll,
                r.val_perplexity,
                r.unigram_accuracy,
                r.masked_tokens
            );
        }
    };
    evaluate_run(&loaded, &options, on_data, on_record)?;
    Ok(())
}
