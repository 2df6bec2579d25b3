//! `dae experiment noise-sweep`: flags into a [`SweepPlan`], progress and the table out.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use dae::run::ExperimentDir;
use dae::sweep::family::parse_range;
use dae::sweep::{table, NoiseFamily};
use dae::tasks::image::sweep::{
    run_noise_sweep, train_sweep_share, SweepEvent, SweepPlan, DEFAULT_LEVELS,
};
use dae::tasks::image::{self};
use dae::train::TrainEvent;

use super::{RunArgs, SHARE_TIMEOUT};
use crate::distributed::with_processes;

/// Arguments of `dae experiment noise-sweep`.
#[derive(Args, Debug)]
pub struct NoiseSweepArgs {
    /// Sweep directory: one run directory per level, sweep.json, summary.json, sweep.png.
    #[arg(long)]
    out: PathBuf,
    /// The corruption whose strength is swept: gaussian (level = sigma), mask (hidden
    /// fraction), saltpepper, dropout (replaced fraction), patch (hidden share of 7x7 patches),
    /// erase (erased area).
    #[arg(long, default_value = "gaussian", value_parser = family)]
    noise_family: NoiseFamily,
    /// The levels, one run each (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_LEVELS)]
    levels: Vec<f64>,
    /// Random strength LOW..HIGH (a level drawn per image), trained once and compared with the
    /// best fixed level.
    #[arg(long, default_value = "0.05..0.3", conflicts_with = "no_random")]
    random: String,
    /// Do not train the random-strength run.
    #[arg(long)]
    no_random: bool,
    /// Every model is also measured at this level of the family.
    #[arg(long, default_value_t = 0.3)]
    test_level: f64,
    /// Train the linear probe (and search the k-NN) on the first N training images; 0 = all.
    /// (The probes are most of a level's measuring time: the linear probe on 3136-d conv codes
    /// grows faster than the number of images.)
    #[arg(long, default_value_t = 5_000)]
    probe_train_limit: usize,
    /// Score the probes on the first N held-out images; 0 = all that are evaluated.
    #[arg(long, default_value_t = 5_000)]
    probe_test_limit: usize,
    /// The settings every run shares.
    #[command(flatten)]
    runs: RunArgs,
}

fn family(s: &str) -> Result<NoiseFamily, String> {
    s.parse().map_err(|e: dae::Error| e.to_string())
}

/// Runs `dae experiment noise-sweep`.
pub fn noise_sweep(a: NoiseSweepArgs) -> anyhow::Result<()> {
    let random = match a.no_random {
        true => None,
        false => Some(parse_range(&a.random)?),
    };
    let splits = image::data::load(a.runs.data.as_deref())?;
    let plan = SweepPlan {
        base: a.runs.base_config(&splits),
        family: a.noise_family,
        levels: a.levels.clone(),
        random,
        test_level: a.test_level,
        eval_limit: a.runs.val_limit,
        probe_train_limit: (a.probe_train_limit > 0).then_some(a.probe_train_limit),
        probe_test_limit: (a.probe_test_limit > 0).then_some(a.probe_test_limit),
    };
    plan.check()?;
    eprintln!(
        "dae experiment noise-sweep: {} over {} levels{}, {} model, {} epochs each\n  data: {}\n  directory: {}",
        a.noise_family,
        plan.levels.len(),
        match random {
            Some((lo, hi)) => format!(" and random strength {lo}..{hi}"),
            None => String::new(),
        },
        plan.base.model.kind(),
        a.runs.epochs,
        image::data::describe(a.runs.data.as_deref()),
        a.out.display()
    );
    let mut observer = |event: SweepEvent| match event {
        SweepEvent::Run {
            index,
            total,
            noise,
            dir,
            action,
        } => super::print_run_start(index, total, noise, dir, action, "measuring"),
        SweepEvent::Train(TrainEvent::EpochEnd(record)) => eprintln!("  {record}"),
        SweepEvent::Train(_) => {}
        SweepEvent::Measured(p) => eprintln!(
            "  PSNR {:.2} dB at its level (noisy {:.2}), {:.2} dB at the test level; linear \
             {:.4}, 5-NN {:.4}, NMI {:.4}",
            p.psnr, p.noisy_psnr, p.test_psnr, p.linear_accuracy, p.knn_accuracy, p.nmi
        ),
    };
    with_processes(&a.runs.distributed, SHARE_TIMEOUT, |processes| {
        let (rank, size) = (processes.rank(), processes.size());
        if size > 1 {
            train_sweep_share(&plan, &a.out, &splits, (rank, size), &mut observer)
                .with_context(|| format!("sweep in {}", a.out.display()))?;
            // Process 0 measures every run once every process has trained its share.
            processes.sum_in_rank_order(&mut [0.0])?;
            if rank != 0 {
                return Ok(());
            }
        }
        let (points, summary) = run_noise_sweep(&plan, &a.out, &splits, &mut observer)
            .with_context(|| format!("sweep in {}", a.out.display()))?;
        print!("{}", table(&points, &summary));
        let dir = ExperimentDir::new(&a.out);
        eprintln!(
            "wrote {}, {} and {}",
            dir.sweep_json().display(),
            dir.sweep_summary().display(),
            dir.sweep_png().display()
        );
        Ok(())
    })
}
