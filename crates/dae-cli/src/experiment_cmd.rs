//! `dae experiment robustness`, and the diagnostics lines `dae train` prints.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use dae::eval::diagnostics::{GAIN_MIN_DB, HF_RATIO_MIN, INPUT_DISTANCE_RATIO_MIN};
use dae::eval::robustness::EvalRecord;
use dae::model::{ModelConfig, ModelKind};
use dae::train::experiment::{ExperimentEvent, RobustnessPlan, RunAction};
use dae::train::{TrainConfig, TrainEvent};

use crate::train_cmd::ModelArg;

/// Experiments: several runs and one comparison.
#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// Train one model per training corruption and print / plot the train-noise x test-noise
    /// PSNR matrix (DIR/matrix.json, DIR/matrix.png). Resumable: finished runs are reused.
    Robustness(RobustnessArgs),
}

/// Arguments of `dae experiment robustness`.
#[derive(Args, Debug)]
pub struct RobustnessArgs {
    /// Experiment directory: one run directory per training noise, matrix.json, matrix.png.
    #[arg(long)]
    out: PathBuf,
    /// Training corruption (repeat). Default: gaussian:sigma=0.3, gaussian:sigma=0.05..0.5,
    /// mask:keep=0.7, saltpepper:p=0.1, patch:size=7,ratio=0.5 and their mixture.
    #[arg(long)]
    train_noise: Vec<String>,
    /// Test corruption (repeat). Default: the standard suite of `dae eval --suite standard`.
    #[arg(long)]
    test_noise: Vec<String>,
    /// Epochs per run.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Use only the first N training images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N held-out images (per-epoch validation and the matrix).
    #[arg(long)]
    val_limit: Option<usize>,
    /// MNIST-format directory or PNG folder (default: the embedded Fashion-MNIST split).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Architecture.
    #[arg(long, value_enum, default_value = "conv")]
    model: ModelArg,
    /// Seed of every run (and of the evaluation corruption).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Compute device: cpu, cuda or vulkan (the GPU ones need dae built with that feature).
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs `dae experiment ...`.
pub fn run(command: ExperimentCommand) -> anyhow::Result<()> {
    match command {
        ExperimentCommand::Robustness(a) => robustness(a),
    }
}

fn robustness(a: RobustnessArgs) -> anyhow::Result<()> {
    let splits = crate::load_data(&a.data)?;
    let kind = ModelKind::from(a.model);
    let mut base = TrainConfig::new(ModelConfig::new(
        kind,
        1,
        splits.train.height,
        splits.train.width,
    ));
    base.epochs = a.epochs;
    base.train_limit = a.train_limit;
    base.val_limit = a.val_limit;
    base.data = a.data.clone();
    base.seed = a.seed;
    base.device = a.device.clone();
    let plan = RobustnessPlan {
        base,
        train_noise: if a.train_noise.is_empty() {
            dae::train::experiment::default_train_noise()
        } else {
            a.train_noise.clone()
        },
        test_noise: if a.test_noise.is_empty() {
            dae::eval::robustness::suite("standard").unwrap_or_default()
        } else {
            a.test_noise.clone()
        },
        eval_limit: a.val_limit,
        eval_seed: a.seed,
    };
    plan.check()?;
    eprintln!(
        "dae experiment robustness: {} runs x {} test noises, {} model, {} epochs each\n  data: {}\n  directory: {}",
        plan.train_noise.len(),
        plan.test_noise.len(),
        kind,
        a.epochs,
        crate::data_label(&a.data),
        a.out.display()
    );
    let mut observer = |event: ExperimentEvent| match event {
        ExperimentEvent::Run {
            index,
            total,
            noise,
            dir,
            action,
        } => {
            let what = match action {
                RunAction::Train => "training".to_string(),
                RunAction::Resume { done } => format!("resuming after epoch {done}"),
                RunAction::Finished => "already trained, evaluating".to_string(),
            };
            eprintln!("[{index}/{total}] {noise}: {what} ({})", dir.display());
        }
        ExperimentEvent::Train(TrainEvent::EpochEnd(m)) => eprintln!(
            "  epoch {:>3}  train loss {:.5}  {:.1} s  val PSNR {:.2} dB (noisy {:.2})",
            m.epoch, m.train_loss, m.train_seconds, m.val_psnr, m.noisy_psnr
        ),
        ExperimentEvent::Train(_) => {}
        ExperimentEvent::Evaluated(r) => eprintln!(
            "  test {:<28} PSNR {:>6.2} dB (noisy {:>6.2}, gain {:+.2})",
            r.noise, r.psnr, r.noisy_psnr, r.psnr_gain
        ),
    };
    let matrix = dae::train::experiment::run_robustness(&plan, &a.out, &splits, &mut observer)
        .with_context(|| format!("experiment in {}", a.out.display()))?;
    print!("{}", matrix.table());
    eprintln!(
        "wrote {} and {}",
        a.out.join(dae::train::experiment::MATRIX_JSON).display(),
        a.out.join(dae::train::experiment::MATRIX_PNG).display()
    );
    Ok(())
}

/// Prints the failure-mode diagnostics of a finished run (after `dae train`) and its warnings.
pub fn print_diagnostics(r: &EvalRecord) {
    eprintln!(
        "diagnostics ({} held-out images, {}):\n  \
         gain over the noisy input     {:+.2} dB  (warn below {GAIN_MIN_DB} dB)\n  \
         to input : to clean distance  {:.2}      (0 = copies its input; warn below \
         {INPUT_DISTANCE_RATIO_MIN}); corruption undone {:.2}\n  \
         high-frequency energy         {:.2}      (output / clean; noisy input {:.2}; warn \
         below {HF_RATIO_MIN})",
        r.count,
        r.noise,
        r.psnr_gain,
        r.input_distance_ratio,
        r.noise_removed,
        r.hf_ratio,
        r.noisy_hf_ratio
    );
    for w in &r.warnings {
        eprintln!("warning: {}", w.message);
    }
}
