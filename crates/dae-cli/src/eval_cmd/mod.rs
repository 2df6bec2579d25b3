//! `dae eval`: the flags every task shares and the dispatch; each task's evaluation and its
//! table are in one file here.

mod audio;
mod diffusion;
mod graph;
mod image;
mod tabular;
mod text;

use std::path::PathBuf;

use clap::Args;
use dae::device::DeviceSpec;
use dae::tasks::image::Precision;
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
    /// Tabular runs: evaluation seeds per noise spec, reported as mean ± sd (the GAIN protocol
    /// uses 10).
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Tabular runs: also score N rounds of iterative refinement (re-feeding the imputed table).
    #[arg(long, default_value_t = 0)]
    refine: usize,
    /// Tabular runs: write the hidden entries of every seed and the numeric values to this JSON
    /// file, for scripts/tabular_sklearn.py.
    #[arg(long)]
    write_masks: Option<PathBuf>,
    /// Tabular runs: multiple imputation, the DAE's values averaged over N passes, each further
    /// hiding observed entries with the run's training corruption (1: a single pass).
    #[arg(long, default_value_t = 1)]
    imputations: usize,
    /// Audio runs: write every test clip (clean, noisy, denoised, spectral subtraction) as WAV
    /// files under this folder, one subfolder per noise spec (for scripts/audio_quality.py).
    #[arg(long)]
    write_audio: Option<PathBuf>,
    /// Diffusion runs: also draw N samples (DDIM η = 1, 50 steps) and score them against the held-out
    /// images (Fréchet distance, KID, precision / recall, memorisation); 0 skips them.
    #[arg(long, default_value_t = 256)]
    samples: usize,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

fn task_is_audio(run: &std::path::Path) -> anyhow::Result<bool> {
    Ok(TaskKind::of_run(run)? == TaskKind::Audio)
}

/// Runs `dae eval` on a run of any task.
pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let tabular_only =
        a.seeds != 1 || a.refine != 0 || a.write_masks.is_some() || a.imputations != 1;
    anyhow::ensure!(
        task_is_audio(&a.run)? || a.write_audio.is_none(),
        "--write-audio is for audio runs"
    );
    let task = TaskKind::of_run(&a.run)?;
    anyhow::ensure!(
        task == TaskKind::Tabular || !tabular_only,
        "--seeds, --refine, --write-masks and --imputations are for tabular runs"
    );
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(a.limit != Some(0), "--limit must be at least 1");
    match task {
        TaskKind::Image => image::eval_image(&a),
        TaskKind::Mlm => text::eval_text(&a),
        TaskKind::Graph => graph::eval_graph(&a),
        TaskKind::Tabular => tabular::eval_tabular(&a),
        TaskKind::Audio => audio::eval_audio(&a),
        TaskKind::Diffusion => diffusion::eval_diffusion(&a),
    }
}
