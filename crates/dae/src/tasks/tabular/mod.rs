//! Tables: missing-value imputation and representation with denoising autoencoders (MIDA-style
//! DAEs, swap-noise pretraining) on CSV tables of numeric and categorical columns.
//!
//! - [`csv`], [`data`]: the CSV dialect, the embedded Breast Cancer Wisconsin table, the split;
//! - [`preprocess`]: column types, standardization and one-hot labels fitted on the training
//!   rows (`preprocess.json`), values written back in original units and labels; [`transform`]:
//!   log and Gaussian-rank maps of skewed columns on the model's input;
//! - [`corrupt`]: `missing`, `swap` and `gaussian` in the `--noise` grammar, with mixtures;
//! - [`model`]: the MLP DAE with a numeric head (MSE) and categorical heads (cross-entropy);
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`];
//! - [`baselines`], [`eval`], [`heldout`], [`probe`]: the GAIN protocol beside column means and
//!   k-NN, the downstream probes, the export for scikit-learn;
//! - [`impute`]: `dae impute`, filling a table's missing cells.

pub mod baselines;
pub mod config;
pub mod corrupt;
pub mod csv;
pub mod data;
pub mod eval;
pub mod heldout;
pub mod impute;
pub mod model;
pub mod preprocess;
pub mod probe;
pub mod task;
pub mod torch;
pub mod transform;

/// The `task` value of a tabular run's `config.json` and of `--task`.
pub const TASK_NAME: &str = "tabular";

pub use config::TabularConfig;
pub use corrupt::{parse_table_noise, TableNoise};
pub use task::{load_tabular_run, LoadedTabular, TabularEpochMetrics, TabularTask};
