//! Training, for every task: the generic loop ([`fit`]), the [`Task`] trait each task implements,
//! the settings every run shares, AdamW and the learning-rate schedule, and data parallelism over
//! several processes ([`fit_data_parallel`], a [`Collective`]).

pub mod adamw;
mod ahead;
mod collective;
mod data_parallel;
mod ema;
mod fit;
#[cfg(feature = "mpi")]
mod mpi;
mod settings;
mod stop;
mod task;

pub use collective::{shard_range, Collective, SingleProcess};
pub use ema::Ema;
pub use fit::{fit, fit_data_parallel, fit_until};
#[cfg(feature = "mpi")]
pub use mpi::{MpiCollective, SumStats};
pub use settings::{resume_config, LrSchedule, ResumeOverrides, RunSettings, TaskConfig};
pub use stop::StopRequest;
pub use task::{EpochTotals, Start, Task, TrainEvent};
