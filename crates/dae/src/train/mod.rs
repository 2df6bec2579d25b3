//! Training, for every task: the generic loop ([`fit`]), the [`Task`] trait each task implements,
//! the settings every run shares, AdamW and the learning-rate schedule.

pub mod adamw;
mod ahead;
mod ema;
mod fit;
mod settings;
mod stop;
mod task;

pub use ema::Ema;
pub use fit::{fit, fit_until};
pub use settings::{resume_config, LrSchedule, ResumeOverrides, RunSettings, TaskConfig};
pub use stop::StopRequest;
pub use task::{EpochTotals, Start, Task, TrainEvent};
