//! Masked language modeling as a [`Task`] of the generic loop: corrupt token sequences with token
//! masking, predict the originals at the chosen positions M with a Transformer encoder, minimize
//! −(1/|M|) Σ_{t∈M} log p(x_t | x̃); after each epoch, measure held-out masked-token accuracy, NLL
//! and perplexity beside the unigram baseline.

use std::path::Path;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::MlmConfig;
use super::corrupt::{corrupt_tokens_batch, TokenSpace};
use super::data::{sequences, token_counts, Sequences, TextSplits};
use super::eval::{evaluate_mlm, nll_rows, MaskedEval};
use super::model::{token_tensor, MaskedLanguageModel};
use super::tokenizer::{Tokenizer, FIRST_REGULAR};
use crate::corrupt::Rng;
use crate::device::DeviceSpec;
use crate::run::checkpoint::load_module;
use crate::run::metrics::EpochRecord;
use crate::run::RunDir;
use crate::train::{resume_config, EpochTotals, ResumeOverrides, Start, Task, TaskConfig};
use crate::{Error, Result};

/// Sequences per held-out inference batch.
const EVAL_BATCH: usize = 64;
/// What the model is called in errors.
const MODEL_NAME: &str = "masked language";

/// One line of a text run's `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MlmEpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss (masked-position NLL) over the epoch's batches.
    pub train_loss: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub train_seconds: f64,
    /// Training tokens (all positions) per second.
    pub tokens_per_second: f64,
    /// Held-out masked-token accuracy.
    pub val_masked_accuracy: f64,
    /// Held-out mean NLL on masked positions (nats).
    pub val_nll: f64,
    /// exp(val_nll).
    pub val_perplexity: f64,
    /// Held-out accuracy of always predicting the most frequent training token.
    pub unigram_accuracy: f64,
    /// Held-out masked positions measured.
    pub val_masked_tokens: usize,
}

impl EpochRecord for MlmEpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_nll)
    }
}

impl std::fmt::Display for MlmEpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  train loss {:.4}  {:.1} s ({:.0} tok/s)  val masked acc {:.4} (unigram \
             {:.4})  NLL {:.4}  perplexity {:.2}",
            self.epoch,
            self.train_loss,
            self.train_seconds,
            self.tokens_per_second,
            self.val_masked_accuracy,
            self.unigram_accuracy,
            self.val_nll,
            self.val_perplexity
        )
    }
}

/// One training batch: the corrupted sequences and the positions to predict.
pub struct TokenBatch {
    sequences: usize,
    noisy: Vec<u32>,
    rows: Vec<usize>,
    targets: Vec<u32>,
}

/// A text run ready to train: its config (vocabulary filled in), tokenizer and sequences.
pub struct MlmTask {
    config: MlmConfig,
    tokenizer: Tokenizer,
    train_set: Sequences,
    val_set: Sequences,
    space: TokenSpace,
}

impl MlmTask {
    /// Training sequences per epoch (after `train_limit`).
    pub fn train_sequences(&self) -> usize {
        self.train_set.len()
    }

    /// Fits the tokenizer on the training text (a fresh run) or loads the run's (`Resume`), cuts
    /// the text into sequences and completes the config (vocabulary size, unigram token).
    pub fn new(config: MlmConfig, run: &RunDir, start: Start, data: &TextSplits) -> Result<Self> {
        config.check()?;
        let mut config = config;
        let tokenizer = match start {
            Start::Fresh => Tokenizer::fit(config.tokenizer, &data.train, config.vocab_size)?,
            Start::Resume => Tokenizer::load(&run.vocab())?,
        };
        config.model.vocab_size = tokenizer.vocab_size();
        config.model.check()?;
        let len = config.model.max_len;
        let mut train_set = sequences(&tokenizer, &data.train, len, "the training text")?;
        let mut val_set = sequences(&tokenizer, &data.val, len, "the held-out text")?;
        if let Some(n) = config.run.train_limit {
            train_set = train_set.take(n);
        }
        if let Some(n) = config.run.val_limit {
            val_set = val_set.take(n);
        }
        if start == Start::Fresh {
            config.unigram_token = most_frequent(&train_set, tokenizer.vocab_size());
        }
        let space = config.token_space();
        Ok(MlmTask {
            config,
            tokenizer,
            train_set,
            val_set,
            space,
        })
    }
}

impl Task for MlmTask {
    type Config = MlmConfig;
    type Model = MaskedLanguageModel;
    type Batch = TokenBatch;
    type Record = MlmEpochMetrics;

    fn config(&self) -> &MlmConfig {
        &self.config
    }
    fn model_name(&self) -> String {
        MODEL_NAME.into()
    }
    fn train_len(&self) -> usize {
        self.train_set.len()
    }
    fn init_model(&self, device: &Device) -> MaskedLanguageModel {
        self.config.model.init(device)
    }
    fn write_new_run_files(&self, run: &RunDir) -> Result<()> {
        self.tokenizer.save(&run.vocab())
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<TokenBatch> {
        let len = self.config.model.max_len;
        let mut clean = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            clean.extend_from_slice(self.train_set.get(i));
        }
        let corrupted =
            corrupt_tokens_batch(self.config.noise.get(), &clean, len, self.space, rng)?;
        let rows: Vec<usize> = (0..clean.len()).filter(|&i| corrupted.chosen[i]).collect();
        let targets = rows.iter().map(|&r| clean[r]).collect();
        Ok(TokenBatch {
            sequences: indices.len(),
            noisy: corrupted.noisy,
            rows,
            targets,
        })
    }

    fn loss(&self, model: &MaskedLanguageModel, batch: TokenBatch, device: &Device) -> Tensor<1> {
        let len = self.config.model.max_len;
        let x = token_tensor(&batch.noisy, batch.sequences, len, device);
        nll_rows(
            model.logits_at(model.hidden(x), &batch.rows),
            &batch.targets,
        )
    }

    fn record(
        &self,
        model: &MaskedLanguageModel,
        device: &Device,
        t: EpochTotals,
    ) -> Result<MlmEpochMetrics> {
        let setup = MaskedEval {
            corruption: self.config.noise.get(),
            space: self.space,
            unigram_token: self.config.unigram_token,
            seed: self.config.run.seed,
            batch: EVAL_BATCH,
        };
        let held = evaluate_mlm(model, &self.val_set, setup, device)?;
        let tokens = self.train_set.len() * self.config.model.max_len;
        Ok(MlmEpochMetrics {
            epoch: t.epoch,
            train_loss: t.train_loss,
            train_seconds: t.train_seconds,
            tokens_per_second: tokens as f64 / t.train_seconds.max(1e-9),
            val_masked_accuracy: held.masked_accuracy,
            val_nll: held.nll,
            val_perplexity: held.perplexity,
            unigram_accuracy: held.unigram_accuracy,
            val_masked_tokens: held.masked_tokens,
        })
    }

    /// `model.safetensors`: the model under its PyTorch twin's names (docs/torch.md).
    fn finish(&self, run: &RunDir, model: &MaskedLanguageModel, _: &Device) -> Result<()> {
        crate::torch::write_tensors(&run.torch_model(), &super::torch::export_torch(model))
    }
}

/// The most frequent regular token of `seqs` (ties: the smallest id).
fn most_frequent(seqs: &Sequences, vocab_size: usize) -> u32 {
    let counts = token_counts(seqs, vocab_size);
    (FIRST_REGULAR as usize..vocab_size)
        .max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a)))
        .unwrap_or(FIRST_REGULAR as usize) as u32
}

/// The stored config of the text run at `root` with what `--resume` may change applied, and its
/// text: what [`MlmTask::new`] needs to continue the run.
pub fn prepare_resume(root: &Path, overrides: &ResumeOverrides) -> Result<(MlmConfig, TextSplits)> {
    let config: MlmConfig = resume_config(root, overrides)?;
    let data = super::data::load(config.run.data.as_deref())?;
    Ok((config, data))
}

/// A trained text run loaded for inference.
pub struct LoadedMlm {
    /// The run's configuration.
    pub config: MlmConfig,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// The final model, or the last checkpoint's if the run has not finished.
    pub model: MaskedLanguageModel,
    /// The device the model lives on.
    pub device: Device,
}

/// Loads the config, tokenizer and model of the text run at `root` (`device` `None`: the run's
/// own device). Errors if it is not a text run.
pub fn load_mlm_run(root: &Path, device: Option<DeviceSpec>) -> Result<LoadedMlm> {
    let run = RunDir::new(root);
    let config: MlmConfig = run.read_task_config(MlmConfig::TASK, MlmConfig::RUN_NAME)?;
    // The checks `dae train` made, again: a config.json edited since is refused here, before a
    // model is built from it.
    config.check()?;
    config.model.check()?;
    let tokenizer = Tokenizer::load(&run.vocab())?;
    if tokenizer.vocab_size() != config.model.vocab_size {
        return Err(Error::Checkpoint {
            path: run.vocab(),
            reason: format!(
                "holds {} tokens but the model was built for {}",
                tokenizer.vocab_size(),
                config.model.vocab_size
            ),
        });
    }
    let device = device.unwrap_or(config.run.device).device()?;
    let model = load_module(
        &run.trained_model()?,
        config.model.init(&device),
        MODEL_NAME,
    )?;
    Ok(LoadedMlm {
        config,
        tokenizer,
        model,
        device,
    })
}
