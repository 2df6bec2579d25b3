//! Training: losses, the loop, checkpoints and run directories.

pub mod adamw;
mod batches;
pub mod checkpoint;
pub mod config;
pub mod experiment;
pub mod loss;
pub mod mlm;
pub mod ssim;
pub mod trainer;

pub use checkpoint::{load_run, LoadedRun, RunDir};
pub use config::TrainConfig;
pub use loss::Loss;
pub use trainer::{train, EpochMetrics, Start, TrainEvent};
