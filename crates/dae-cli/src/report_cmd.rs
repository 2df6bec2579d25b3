//! `dae report`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `dae report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run directory written by `dae train` (or inside `dae experiment robustness --out DIR`).
    run: PathBuf,
    /// An experiment directory whose robustness matrix to include (default: the run's parent,
    /// when it holds a matrix.json).
    #[arg(long)]
    matrix: Option<PathBuf>,
}

/// Runs `dae report`: writes RUN/report.html and prints its path.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let path = dae::tasks::image::report::write_report(&a.run, a.matrix.as_deref())?;
    println!("{}", path.display());
    Ok(())
}
