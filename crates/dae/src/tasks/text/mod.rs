//! Masked language modeling: the document's denoising objective on text. Token sequences are
//! corrupted by BERT-style masking and a Transformer encoder predicts the originals.
//!
//! - [`data`], [`tokenizer`]: text files and the embedded King James Bible; character and BPE
//!   tokenizers;
//! - [`corrupt`]: token corruptions in the `--noise` grammar;
//! - [`model`]: the Transformer encoder;
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`];
//! - [`eval`]: masked-token accuracy, NLL and perplexity; top-k predictions for `[MASK]`;
//! - [`heldout`]: evaluating a trained run on held-out text under several corruptions;
//! - [`fill`]: filling the masks of a text, as `dae fill` prints it;
//! - [`report`]: the self-contained HTML report of a run;
//! - [`torch`]: the model under its PyTorch twin's names (`model.safetensors`).

pub mod bench;
pub mod config;
pub mod corrupt;
pub mod data;
pub mod eval;
pub mod fill;
pub mod heldout;
pub mod model;
pub mod report;
pub mod task;
pub mod tokenizer;
pub mod torch;

/// The `task` value of a text run's `config.json` and of `--task`.
pub const TASK_NAME: &str = "mlm";

pub use config::MlmConfig;
pub use corrupt::{parse_tokens, TokenNoise};
pub use task::{load_mlm_run, LoadedMlm, MlmEpochMetrics, MlmTask};
