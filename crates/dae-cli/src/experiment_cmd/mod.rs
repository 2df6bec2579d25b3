//! `dae experiment robustness`, `dae experiment score-2d` and `dae experiment noise-sweep`
//! (`sweep.rs`).

mod sweep;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use dae::corrupt::NoiseSpec;
use dae::device::DeviceSpec;
use dae::diffusion::score::experiment::{self as score, RunAction as ScoreAction, ScoreEvent};
use dae::diffusion::score::ScorePlan;
use dae::run::ExperimentDir;
use dae::tasks::image::experiment::{ExperimentEvent, RobustnessPlan, RunAction};
use dae::tasks::image::model::{ModelConfig, ModelKind};
use dae::tasks::image::{self, ImageConfig};
use dae::train::TrainEvent;

use crate::args::ModelArg;
use crate::distributed::{with_processes, DistributedArgs};

/// Experiments: several runs and one comparison.
#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// Train one model per training corruption and print / plot the train-noise x test-noise
    /// PSNR matrix (DIR/matrix.json, DIR/matrix.png). Resumable: finished runs are reused.
    Robustness(RobustnessArgs),
    /// Train a small noise-conditioned MLP by denoising score matching on a 2-D Gaussian mixture
    /// and on a Gaussian, and compare its score and its Tweedie estimate with the closed forms
    /// (DIR/score.json, DIR/score_field.png; docs/diffusion.md). Resumable: finished runs are
    /// only measured again.
    #[command(name = "score-2d")]
    Score2d(Score2dArgs),
    /// Train one model per noise level (and one with random strength) and measure each on
    /// reconstruction, failure modes and linear / k-NN / k-means probes; mark the document's four
    /// regimes and recommend the level with the best linear probe (DIR/sweep.json,
    /// DIR/summary.json, DIR/sweep.png). Resumable: finished runs are only measured again.
    #[command(name = "noise-sweep")]
    NoiseSweep(sweep::NoiseSweepArgs),
}

/// Arguments of `dae experiment score-2d`.
#[derive(Args, Debug)]
pub struct Score2dArgs {
    /// Experiment directory: the runs `mixture/` and `gaussian/`, score.json, score_field.png.
    #[arg(long)]
    out: PathBuf,
    /// Seed of both runs and of the measurement's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epochs of each run (16,384 points, 64 steps each).
    #[arg(long, default_value_t = EPOCHS_2D)]
    epochs: usize,
}

/// The default epochs of `score-2d` (BENCHMARKS.md, "Score view").
const EPOCHS_2D: usize = 150;

/// Arguments of `dae experiment robustness`.
#[derive(Args, Debug)]
pub struct RobustnessArgs {
    /// Experiment directory: one run directory per training noise, matrix.json, matrix.png.
    #[arg(long)]
    out: PathBuf,
    /// Training corruption (repeat). Default: gaussian:sigma=0.3, gaussian:sigma=0.05..0.5,
    /// mask:keep=0.7, saltpepper:p=0.1, patch:size=7,ratio=0.5 and their mixture.
    #[arg(long, value_parser = crate::args::image_noise)]
    train_noise: Vec<NoiseSpec>,
    /// Test corruption (repeat). Default: the standard suite of `dae eval --suite standard`.
    #[arg(long, value_parser = crate::args::image_noise)]
    test_noise: Vec<NoiseSpec>,
    /// The settings every run shares.
    #[command(flatten)]
    runs: RunArgs,
}

/// The settings every run of an image experiment shares.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Epochs per run.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Use only the first N training images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N held-out images (per-epoch validation, the matrix, the sweep).
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
    device: DeviceSpec,
    #[command(flatten)]
    distributed: DistributedArgs,
}

impl RunArgs {
    /// The configuration of every run (its noise is the experiment's to set), for `splits`.
    fn base_config(&self, splits: &image::data::Splits) -> ImageConfig {
        let kind = ModelKind::from(self.model);
        let mut base = ImageConfig::new(ModelConfig::new(
            kind,
            1,
            splits.train.height,
            splits.train.width,
        ));
        base.run.epochs = self.epochs;
        base.run.train_limit = self.train_limit;
        base.run.val_limit = self.val_limit;
        base.run.data = self.data.clone();
        base.run.seed = self.seed;
        base.run.device = self.device;
        base
    }
}

/// How long a process of a fanned-out experiment waits for the others by default: the slowest
/// process's share of the runs, a day.
const SHARE_TIMEOUT: u64 = 86_400;

/// Prints the line that starts run `index` of `total` of an image experiment: what is done with
/// it; a finished run is only `then` (evaluated, measured).
fn print_run_start(
    index: usize,
    total: usize,
    noise: &str,
    dir: &std::path::Path,
    action: RunAction,
    then: &str,
) {
    let what = match action {
        RunAction::Train => "training".to_string(),
        RunAction::Resume { done } => format!("resuming after epoch {done}"),
        RunAction::Finished => format!("already trained, {then}"),
    };
    eprintln!("[{index}/{total}] {noise}: {what} ({})", dir.display());
}

/// Runs `dae experiment ...`.
pub fn run(command: ExperimentCommand) -> anyhow::Result<()> {
    match command {
        ExperimentCommand::Robustness(a) => robustness(a),
        ExperimentCommand::Score2d(a) => score_2d(a),
        ExperimentCommand::NoiseSweep(a) => sweep::noise_sweep(a),
    }
}

fn score_2d(a: Score2dArgs) -> anyhow::Result<()> {
    let plan = ScorePlan::new(a.seed, a.epochs)?;
    plan.check()?;
    eprintln!(
        "dae experiment score-2d: 2 runs of {} epochs (seed {}), {} levels x {} fresh points\n  directory: {}",
        a.epochs,
        a.seed,
        plan.levels,
        plan.samples_per_level,
        a.out.display()
    );
    // Every tenth epoch's line (and the first and last): a run has 150 of them.
    let mut show = false;
    let mut observer = |event: ScoreEvent| match event {
        ScoreEvent::Run { name, dir, action } => {
            let what = match action {
                ScoreAction::Train => "training".to_string(),
                ScoreAction::Resume { done } => format!("resuming after epoch {done}"),
                ScoreAction::Finished => "already trained, measuring".to_string(),
            };
            eprintln!("{name}: {what} ({})", dir.display());
        }
        ScoreEvent::Train(TrainEvent::EpochStart { epoch, epochs, .. }) => {
            show = epoch == 1 || epoch % 10 == 0 || epoch == epochs;
        }
        ScoreEvent::Train(TrainEvent::EpochEnd(record)) if show => eprintln!("  {record}"),
        ScoreEvent::Train(_) => {}
    };
    let report = score::run_score_2d(&plan, &a.out, &mut observer)
        .with_context(|| format!("experiment in {}", a.out.display()))?;
    print!("{}", report.table());
    eprintln!(
        "wrote {} and {}",
        score::score_json(&a.out).display(),
        score::score_field_png(&a.out).display()
    );
    Ok(())
}

fn robustness(a: RobustnessArgs) -> anyhow::Result<()> {
    let splits = image::data::load(a.runs.data.as_deref())?;
    let kind = ModelKind::from(a.runs.model);
    let plan = RobustnessPlan {
        base: a.runs.base_config(&splits),
        train_noise: if a.train_noise.is_empty() {
            image::experiment::default_train_noise()
        } else {
            a.train_noise.clone()
        },
        test_noise: if a.test_noise.is_empty() {
            image::robustness::suite("standard").unwrap_or_default()
        } else {
            a.test_noise.clone()
        },
        eval_limit: a.runs.val_limit,
        eval_seed: a.runs.seed,
    };
    plan.check()?;
    eprintln!(
        "dae experiment robustness: {} runs x {} test noises, {} model, {} epochs each\n  data: {}\n  directory: {}",
        plan.train_noise.len(),
        plan.test_noise.len(),
        kind,
        a.runs.epochs,
        image::data::describe(a.runs.data.as_deref()),
        a.out.display()
    );
    let mut observer = |event: ExperimentEvent| match event {
        ExperimentEvent::Run {
            index,
            total,
            noise,
            dir,
            action,
        } => print_run_start(index, total, noise, dir, action, "evaluating"),
        ExperimentEvent::Train(TrainEvent::EpochEnd(record)) => eprintln!("  {record}"),
        ExperimentEvent::Train(_) => {}
        ExperimentEvent::Evaluated(r) => eprintln!(
            "  test {:<28} PSNR {:>6.2} dB (noisy {:>6.2}, gain {:+.2})",
            r.noise, r.psnr, r.noisy_psnr, r.psnr_gain
        ),
    };
    with_processes(&a.runs.distributed, SHARE_TIMEOUT, |processes| {
        let (rank, size) = (processes.rank(), processes.size());
        if size > 1 {
            image::experiment::train_robustness_share(
                &plan,
                &a.out,
                &splits,
                (rank, size),
                &mut observer,
            )
            .with_context(|| format!("experiment in {}", a.out.display()))?;
            // Process 0 evaluates every run once every process has trained its share.
            processes.sum_in_rank_order(&mut [0.0])?;
            if rank != 0 {
                return Ok(());
            }
        }
        let matrix = image::experiment::run_robustness(&plan, &a.out, &splits, &mut observer)
            .with_context(|| format!("experiment in {}", a.out.display()))?;
        print!("{}", matrix.table());
        let experiment = ExperimentDir::new(&a.out);
        eprintln!(
            "wrote {} and {}",
            experiment.matrix_json().display(),
            experiment.matrix_png().display()
        );
        Ok(())
    })
}
