//! `--distributed mpi`: the processes `mpirun` started train one run together (`dae train`) or
//! share an experiment's runs (`dae experiment robustness` and `noise-sweep`), docs/distributed.md.
//! The flag exists in every build; without the `mpi` feature it says how to build a `dae` that
//! has it.

use clap::{Args, ValueEnum};
use dae::train::Collective;

/// How the processes of a data-parallel run talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DistributedArg {
    /// MPI: start with `mpirun -np N dae train ... --distributed mpi`.
    Mpi,
}

/// The flags of a data-parallel run or a fanned-out experiment.
#[derive(Args, Debug)]
#[command(next_help_heading = "Several processes (docs/distributed.md)")]
pub struct DistributedArgs {
    /// Run on the processes `mpirun` started, with the numbers of one process: `dae train` on
    /// each process's share of every batch, an experiment one run per process at a time (needs
    /// dae built with `--features mpi`).
    #[arg(long, value_enum)]
    pub distributed: Option<DistributedArg>,
    /// With --distributed: seconds a process waits for the others (train: within a step, process
    /// 0's evaluation and checkpoint included; experiment: for the slowest process's runs) before
    /// it stops the whole job [default: 600 for train, 86400 for experiments].
    #[arg(long, value_name = "SECONDS", requires = "distributed")]
    pub distributed_timeout: Option<u64>,
}

/// Runs `work` on the processes of `args`' choice: this one alone, or the MPI job's, whose
/// processes wait at most `default_timeout` seconds for each other unless the flags say.
pub fn with_processes(
    args: &DistributedArgs,
    default_timeout: u64,
    work: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match args.distributed {
        None => work(&dae::train::SingleProcess),
        Some(DistributedArg::Mpi) => {
            with_mpi(args.distributed_timeout.unwrap_or(default_timeout), work)
        }
    }
}

#[cfg(not(feature = "mpi"))]
fn with_mpi(
    _timeout: u64,
    _work: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "--distributed mpi: this dae was built without MPI; build it with `cargo build --release \
         -p dae-cli --features mpi` (Debian: apt-get install libopenmpi-dev openmpi-bin \
         libclang-dev) and start it with `mpirun -np N dae train ... --distributed mpi`"
    )
}

#[cfg(feature = "mpi")]
fn with_mpi(
    timeout: u64,
    work: impl FnOnce(&dyn Collective) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::time::Duration;

    use dae::train::MpiCollective;

    /// Printed by a process that gave up waiting for the others, before the job is aborted.
    fn print_fault(error: &dae::Error) {
        eprintln!("Error: {error}");
    }
    let mpi = MpiCollective::init(Duration::from_secs(timeout), print_fault)?;
    let (rank, size) = (mpi.rank(), mpi.size());
    if rank == 0 {
        eprintln!("dae: {size} MPI processes");
    }
    let result = work(&mpi);
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
            "sums over the processes (one per training step): {}, {} bytes sent and received \
             per sum and process, {:.3} ms per sum (waiting for the slowest process included)",
            stats.sums,
            stats.bytes_per_sum,
            1e3 * stats.seconds / stats.sums as f64
        );
    }
    result
}
