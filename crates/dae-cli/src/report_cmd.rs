//! `dae report`.

use std::path::PathBuf;

use clap::Args;
use dae::tasks::TaskKind;

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
    let path = match TaskKind::of_run(&a.run)? {
        TaskKind::Image => dae::tasks::image::report::write_report(&a.run, a.matrix.as_deref())?,
        TaskKind::Mlm => {
            anyhow::ensure!(
                a.matrix.is_none(),
                "--matrix is for image runs: a text run has no robustness matrix"
            );
            dae::tasks::text::report::write_report(&a.run)?
        }
        TaskKind::Graph => {
            anyhow::ensure!(
                a.matrix.is_none(),
                "--matrix is for image runs: a graph run has no robustness matrix"
            );
            dae::tasks::graph::report::write_report(&a.run)?
        }
        TaskKind::Audio => {
            anyhow::ensure!(
                a.matrix.is_none(),
                "--matrix is for image runs: an audio run's robustness matrix is `dae eval --save`"
            );
            dae::tasks::audio::report::write_report(&a.run)?
        }
        TaskKind::Diffusion => {
            anyhow::ensure!(
                a.matrix.is_none(),
                "--matrix is for image runs: a diffusion run has no robustness matrix"
            );
            dae::tasks::image::diffusion::report::write_report(&a.run)?
        }
        TaskKind::Tabular => anyhow::bail!(
            "dae report has no page for tabular runs yet; `dae eval {}` measures the run",
            a.run.display()
        ),
    };
    println!("{}", path.display());
    Ok(())
}
