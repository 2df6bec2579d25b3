//! What a task gives the generic training loop ([`super::fit`]).
//!
//! A task owns its data, its corruption draw, its model, its loss and its per-epoch evaluation;
//! the loop owns everything else: epochs, the shuffled order, batches drawn one ahead, AdamW with
//! the learning-rate schedule, the stop on a non-finite loss, metrics lines, checkpoints and exact
//! resume. Image denoising and masked language modeling are the first two tasks; docs/
//! architecture.md ("Adding a task") says how to add one.

use std::ops::Range;

use burn::module::Module;
use burn::prelude::*;

use super::settings::TaskConfig;
use crate::corrupt::Rng;
use crate::run::metrics::EpochRecord;
use crate::run::RunDir;
use crate::Result;

/// What the loop measured of one epoch's training steps, for the task's record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochTotals {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded).
    pub train_seconds: f64,
}

/// A learning problem the generic loop can train.
pub trait Task: Sync {
    /// The configuration stored as the run's `config.json`.
    type Config: TaskConfig;
    /// The model trained: a Burn module, on the autodiff device while training.
    type Model: Module + 'static;
    /// One training batch, gathered and corrupted on a helper thread one batch ahead.
    type Batch: Send;
    /// One line of `metrics.jsonl`.
    type Record: EpochRecord;

    /// The configuration to write into `config.json`.
    fn config(&self) -> &Self::Config;
    /// What the model is called in errors ("conv", "masked language").
    fn model_name(&self) -> String;
    /// Number of training samples (the loop shuffles `0..train_len()` each epoch).
    fn train_len(&self) -> usize;
    /// A freshly initialized model on `device` (the loop seeds the device first).
    fn init_model(&self, device: &Device) -> Self::Model;
    /// Files a new run directory gets besides the config (e.g. the tokenizer); called once,
    /// after the directory is created.
    fn write_new_run_files(&self, _run: &RunDir) -> Result<()> {
        Ok(())
    }
    /// Gathers the samples `indices` and draws their corruption from `rng`.
    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<Self::Batch>;
    /// The samples at positions `range` of `batch`, in order, for one process of a data-parallel
    /// run (every process draws the whole global batch, so that it corrupts each sample exactly
    /// as one process would, and keeps its share). `None`, the default, where the task's batches
    /// cannot be split: such a task trains in one process only.
    fn shard(&self, _batch: Self::Batch, _range: Range<usize>) -> Option<Self::Batch> {
        None
    }
    /// How many entries the loss of `batch` averages over, where that count is not the same for
    /// every sample (a loss over the masked entries only). `None`, the default, where every
    /// sample weighs the same. A data-parallel step weights each process's mean loss by its
    /// share of this count, so that the weighted sum is the global batch's mean loss.
    fn loss_terms(&self, _batch: &Self::Batch) -> Option<usize> {
        None
    }
    /// Refuses, with the reason, a configuration that [`shard`](Task::shard) splits but whose
    /// numbers several processes could not reproduce (a draw made inside the model, not in
    /// [`draw_batch`](Task::draw_batch)). Called before a data-parallel run writes anything.
    fn check_data_parallel(&self) -> Result<()> {
        Ok(())
    }
    /// The training loss of `model` on `batch`, a scalar tensor on `device`.
    fn loss(&self, model: &Self::Model, batch: Self::Batch, device: &Device) -> Tensor<1>;
    /// The model after optimizer step `step` (1-based, counted over the whole run): where a task
    /// updates state that follows the weights without a gradient, such as an
    /// [`Ema`](super::Ema) average kept inside its model (and so in every checkpoint).
    fn after_step(&self, model: Self::Model, _step: u64) -> Self::Model {
        model
    }
    /// Evaluates `model` (without autodiff, on `device`) on the held-out data and builds the
    /// epoch's record.
    fn record(
        &self,
        model: &Self::Model,
        device: &Device,
        totals: EpochTotals,
    ) -> Result<Self::Record>;
    /// Writes what a finished run keeps besides `model.bpk` (PyTorch weights, figures).
    fn finish(&self, _run: &RunDir, _model: &Self::Model, _device: &Device) -> Result<()> {
        Ok(())
    }
}

/// Where a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new run in an empty (or new) directory.
    Fresh,
    /// Continue from the run directory's last checkpoint.
    Resume,
}

/// What the loop reports while it runs, for progress bars and logs.
pub enum TrainEvent<'a> {
    /// An epoch begins.
    EpochStart {
        /// Epoch number, 1-based.
        epoch: usize,
        /// Total epochs of the run.
        epochs: usize,
        /// Optimizer steps in this epoch.
        batches: usize,
    },
    /// One optimizer step finished.
    Batch {
        /// The step's loss.
        loss: f64,
    },
    /// An epoch finished, was evaluated and checkpointed; its record prints as one line.
    EpochEnd(&'a dyn std::fmt::Display),
}

impl std::fmt::Debug for TrainEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainEvent::EpochStart {
                epoch,
                epochs,
                batches,
            } => write!(f, "EpochStart({epoch}/{epochs}, {batches} batches)"),
            TrainEvent::Batch { loss } => write!(f, "Batch(loss {loss})"),
            TrainEvent::EpochEnd(record) => write!(f, "EpochEnd({record})"),
        }
    }
}
