//! `dae train --distributed mpi`: the processes `mpirun` started train one run together
//! (docs/distributed.md). The flag exists in every build; without the `mpi` feature it says how
//! to build a `dae` that has it.

use anyhow::bail;
use clap::{Args, ValueEnum};
use dae::train::Collective;

/// How the processes of a data-parallel run talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DistributedArg {
    /// MPI: start with `mpirun -np N dae train ... --distributed mpi`.
    Mpi,
}

/// The flags of a data-parallel run.
#[derive(Args, Debug)]
#[command(next_help_heading = "Data-parallel training (docs/distributed.md)")]
pub(super) struct DistributedArgs {
    /// Train on the processes `mpirun` started, each on its share of every batch, with the
    /// numbers of one process (needs dae built with `--features mpi`).
    #[arg(long, value_enum)]
    pub distributed: Option<DistributedArg>,
    /// With --distributed: seconds a process waits for the others within a step (process 0's
    /// evaluation and checkpoint included) before it stops the whole job [default: 600].
    #[arg(long, value_name = "SECONDS", requires = "distributed")]
    pub distributed_timeout: Option<u64>,
}

/// Runs `train` on the processes of `args`' choice: this one alone, or the MPI job's.
pub(super) fn with_processes(
    args: &DistributedArgs,
    train: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match args.distributed {
        None => train(&dae::train::SingleProcess),
        Some(DistributedArg::Mpi) => with_mpi(args, train),
    }
}

#[cfg(not(feature = "mpi"))]
fn with_mpi(
    _args: &DistributedArgs,
    _train: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    bail!(
        "--distributed mpi: this dae was built without MPI; build it with `cargo build --release \
         -p dae-cli --features mpi` (Debian: apt-get install libopenmpi-dev openmpi-bin \
         libclang-dev) and start it with `mpirun -np N dae train ... --distributed mpi`"
    )
}

#[cfg(feature = "mpi")]
fn with_mpi(
    args: &DistributedArgs,
    train: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::time::Duration;

    use dae::train::MpiCollective;

    /// Printed by a process that gave up waiting for the others, before the job is aborted.
    fn print_fault(error: &dae::Error) {
        eprintln!("Error: {error}");
    }
    let timeout = Duration::from_secs(args.distributed_timeout.unwrap_or(600));
    let mpi = MpiCollective::init(timeout, print_fault)?;
    let (rank, size) = (mpi.rank(), mpi.size());
    if rank == 0 {
        eprintln!("dae train: data-parallel over {size} MPI processes");
    }
    let result = train(&mpi);
    if let Err(e) = &result {
        if size > 1 {
            // The others would wait for this process in their next step: end the whole job.
            eprintln!("Error (process {rank} of {size}): {e:#}");
            mpi.abort(1);
        }
    }
    let stats = mpi.stats();
    if rank == 0 && stats.sums > 0 {
        eprintln!(
            "gradient sums: {} steps, {} bytes sent and received per step and process, {:.3} ms \
             per step (waiting for the slowest process included)",
            stats.sums,
            stats.bytes_per_sum,
            1e3 * stats.seconds / stats.sums as f64
        );
    }
    result
}

/// Refuses what a data-parallel run cannot do, before MPI starts.
pub(super) fn check(
    args: &DistributedArgs,
    task: dae::tasks::TaskKind,
    named_run: bool,
) -> anyhow::Result<()> {
    if args.distributed.is_none() {
        return Ok(());
    }
    use dae::tasks::TaskKind;
    if !matches!(task, TaskKind::Image | TaskKind::Diffusion) {
        bail!(
            "--distributed applies to --task image and --task diffusion, not to --task {}",
            task.name()
        );
    }
    if !named_run {
        bail!("--distributed needs --out (or --resume): every process must name the same run");
    }
    Ok(())
}
