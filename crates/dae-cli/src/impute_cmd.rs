//! `dae impute`: fill the missing cells of a CSV table with a trained tabular run.

use std::path::PathBuf;

use clap::Args;
use dae::tasks::tabular::impute::{impute_file, ImputeOptions};

/// Arguments of `dae impute`.
#[derive(Args, Debug)]
pub struct ImputeArgs {
    /// A run directory written by `dae train --task tabular`.
    run: PathBuf,
    /// The CSV table to fill (the run's columns, in the same order).
    input: PathBuf,
    /// Where to write the filled table (written whole or not at all).
    #[arg(short, long)]
    output: PathBuf,
    /// Rounds of iterative refinement: re-feed the imputed table and take the model's new
    /// values for the filled cells [default: 0; `dae eval --refine` measures the effect].
    #[arg(long, default_value_t = 0)]
    refine: usize,
    /// Multiple imputation: average this many passes, each further hiding observed entries
    /// with the run's training corruption [default: 1, a single pass; `dae eval --imputations`
    /// measures the effect].
    #[arg(long, default_value_t = 1)]
    imputations: usize,
    /// Seed of the passes' further corruption (with --imputations above 1).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    threads: crate::threads::ThreadArgs,
}

/// Runs `dae impute`.
pub fn run(a: ImputeArgs) -> anyhow::Result<()> {
    a.threads.apply()?;
    let loaded = dae::tasks::load_tabular_run(&a.run, None)?;
    let options = ImputeOptions {
        refine: a.refine,
        samples: a.imputations,
        seed: a.seed,
    };
    let summary = impute_file(&loaded, &a.input, &a.output, options)?;
    eprintln!(
        "filled {} missing cell(s) in {} row(s): {}",
        summary.filled,
        summary.rows,
        a.output.display()
    );
    if summary.target_missing > 0 {
        eprintln!(
            "note: {} missing cell(s) of the target column are left as they are (the target is \
             not an input)",
            summary.target_missing
        );
    }
    Ok(())
}
