//! `--threads N`, shared by every command that computes.

use clap::Args;

/// The CPU thread option; flatten it into a command's arguments and call [`ThreadArgs::apply`]
/// before any tensor work.
#[derive(Args, Debug, Clone)]
pub struct ThreadArgs {
    /// CPU threads for the tensor kernels (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ThreadArgs {
    /// Sizes the kernels' thread pool, if `--threads` was given.
    pub fn apply(&self) -> anyhow::Result<()> {
        if let Some(n) = self.threads {
            dae::perf::set_threads(n)?;
        }
        Ok(())
    }
}
