//! Masked language modeling as a denoising task: corrupt token sequences with token masking,
//! predict the originals at the chosen positions M with a Transformer encoder, minimize
//! −(1/|M|) Σ_{t∈M} log p(x_t | x̃) with AdamW; after each epoch, measure held-out masked-token
//! accuracy, NLL and perplexity beside the unigram baseline, append to `metrics.jsonl` and
//! checkpoint. Same run directory, seeds, checkpoints and progress events as image training.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::adamw::AdamWSettings;
use super::checkpoint::{model_bytes, write_atomic, RunDir};
use super::config::{LrSchedule, Task};
use super::trainer::{Start, TrainEvent};
use crate::corrupt::parse_tokens;
use crate::corrupt::tokens::{corrupt_tokens_batch, TokenSpace};
use crate::data::text::{sequences, token_counts, Sequences, TextSplits};
use crate::data::tokenizer::{Tokenizer, TokenizerKind, FIRST_REGULAR, MASK_ID};
use crate::eval::text::{evaluate_mlm, nll_rows, MaskedEval};
use crate::model::transformer::{token_tensor, MaskedLanguageModel, TransformerConfig};
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// Sequences per held-out inference batch.
const EVAL_BATCH: usize = 64;

/// Everything that determines a text run; stored as its `config.json` (with `"task": "mlm"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlmConfig {
    /// Always [`Task::Mlm`]; `dae eval` and `dae fill` dispatch on it.
    pub task: Task,
    /// The Transformer's sizes (`vocab_size` is filled in from the fitted tokenizer).
    pub model: TransformerConfig,
    /// Character-level or BPE tokens.
    pub tokenizer: TokenizerKind,
    /// Requested BPE vocabulary size, specials included (ignored for characters).
    pub vocab_size: usize,
    /// The token corruption, a `--noise` spec such as `tokens:rate=0.15`.
    pub noise: String,
    /// Passes over the training sequences.
    pub epochs: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// How the rate changes over the run (absent in runs written before it existed: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// AdamW's other settings (stored beside `lr`).
    #[serde(flatten)]
    pub adamw: AdamWSettings,
    /// The seed every random draw flows from.
    pub seed: u64,
    /// Use only the first N training sequences.
    pub train_limit: Option<usize>,
    /// Use only the first N held-out sequences for the per-epoch validation.
    pub val_limit: Option<usize>,
    /// The text file or directory, or `None` for the embedded King James Bible.
    pub data: Option<PathBuf>,
    /// `cpu`, `cuda` or `vulkan`.
    pub device: String,
    /// The most frequent token of the training sequences (the unigram baseline's prediction);
    /// set when the tokenizer is fitted.
    #[serde(default)]
    pub unigram_token: u32,
}

impl Default for MlmConfig {
    /// Small defaults for 2 CPU cores: see [`TransformerConfig::default`]; BPE with 1,000
    /// tokens, BERT masking, 3 epochs of batch 32 at lr 2e-3 (measured on the Bible: 4x fewer
    /// steps to leave the unigram plateau than 5e-4; BENCHMARKS.md).
    fn default() -> Self {
        MlmConfig {
            task: Task::Mlm,
            model: TransformerConfig::default(),
            tokenizer: TokenizerKind::Bpe,
            vocab_size: 1000,
            noise: "tokens:rate=0.15,mask=0.8,random=0.1".into(),
            epochs: 3,
            batch_size: 32,
            lr: 2e-3,
            lr_schedule: LrSchedule::Constant,
            adamw: AdamWSettings::default(),
            seed: 0,
            train_limit: None,
            val_limit: None,
            data: None,
            device: "cpu".into(),
            unigram_token: FIRST_REGULAR,
        }
    }
}

impl MlmConfig {
    /// Validates every value that can be checked before the tokenizer is fitted.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let corruption = parse_tokens(&self.noise)?;
        corruption.check_len(self.model.max_len)?;
        let mut model = self.model.clone();
        model.vocab_size = model.vocab_size.max(3);
        model.check()?;
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs and batch size must be at least 1".into());
        }
        self.adamw.check(self.lr)?;
        if self.train_limit == Some(0) || self.val_limit == Some(0) {
            return bad("--train-limit / --val-limit must be at least 1".into());
        }
        Ok(())
    }

    /// The AdamW optimizer this config describes.
    pub fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        self.adamw.optimizer()
    }

    /// The ids the corruption may write, for this run's vocabulary.
    pub fn token_space(&self) -> TokenSpace {
        TokenSpace {
            vocab_size: self.model.vocab_size as u32,
            mask_id: MASK_ID,
            first_regular: FIRST_REGULAR,
        }
    }
}

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

/// Trains a masked language model per `config` on `data`, writing into `run`: `config.json`,
/// `vocab.json`, `metrics.jsonl`, checkpoints and `model.bpk`. Returns this call's epochs.
pub fn train_mlm(
    config: &MlmConfig,
    run: &RunDir,
    start: Start,
    data: &TextSplits,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<MlmEpochMetrics>> {
    config.check()?;
    let corruption = parse_tokens(&config.noise)?;
    let mut config = config.clone();
    let base = crate::model::device(&config.device)?;
    let device = base.clone().autodiff();
    let tokenizer = match start {
        Start::Fresh => {
            if run.checkpoint_dir().join("state.json").exists() {
                return Err(Error::Config(format!(
                    "{} already holds a run; use --resume to continue it or choose another --out",
                    run.root.display()
                )));
            }
            Tokenizer::fit(config.tokenizer, &data.train, config.vocab_size)?
        }
        Start::Resume => Tokenizer::load(&run.vocab())?,
    };
    config.model.vocab_size = tokenizer.vocab_size();
    config.model.check()?;
    let len = config.model.max_len;
    let mut train_set = sequences(&tokenizer, &data.train, len, "the training text")?;
    let mut val_set = sequences(&tokenizer, &data.val, len, "the held-out text")?;
    if let Some(n) = config.train_limit {
        train_set = train_set.take(n);
    }
    if let Some(n) = config.val_limit {
        val_set = val_set.take(n);
    }
    let (mut model, mut optim, done) = match start {
        Start::Fresh => {
            config.unigram_token = most_frequent(&train_set, tokenizer.vocab_size());
            run.create()?;
            tokenizer.save(&run.vocab())?;
            write_atomic(&run.metrics(), b"")?;
            device.seed(seed::derive(config.seed, Purpose::Init, 0));
            (config.model.init(&device), config.optimizer(), 0)
        }
        Start::Resume => run.load_checkpoint_into(
            config.model.init(&device),
            "masked language",
            config.optimizer(),
        )?,
    };
    let json = serde_json::to_vec_pretty(&config).map_err(|e| Error::Config(e.to_string()))?;
    write_atomic(&run.config(), &json)?;
    let mut history = read_mlm_metrics(run, done)?;

    let space = config.token_space();
    let batches = train_set.len().div_ceil(config.batch_size);
    let mut new_metrics = Vec::new();
    for epoch in done + 1..=config.epochs {
        observer(TrainEvent::EpochStart {
            epoch,
            epochs: config.epochs,
            batches,
        });
        let (order, mut noise_rng) =
            super::trainer::epoch_draws(config.seed, epoch, train_set.len(), &device);
        let timer = Instant::now();
        let mut loss_sum = 0.0;
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            let mut clean = Vec::with_capacity(chunk.len() * len);
            for &i in chunk {
                clean.extend_from_slice(train_set.get(i));
            }
            let corrupted =
                corrupt_tokens_batch(corruption.as_ref(), &clean, len, space, &mut noise_rng)?;
            let rows: Vec<usize> = (0..clean.len()).filter(|&i| corrupted.chosen[i]).collect();
            let targets: Vec<u32> = rows.iter().map(|&r| clean[r]).collect();
            let x = token_tensor(&corrupted.noisy, chunk.len(), len, &device);
            let loss = nll_rows(model.logits_at(model.hidden(x), &rows), &targets);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let value = loss.into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(Error::Diverged(format!(
                    "loss became {value} in epoch {epoch}; the last checkpoint in {} is kept. \
                     Try a lower --lr.",
                    run.checkpoint_dir().display()
                )));
            }
            let lr = config
                .lr_schedule
                .rate_at(config.lr, epoch, b, batches, config.epochs);
            model = optim.step(lr, model, grads);
            loss_sum += value;
            observer(TrainEvent::Batch { loss: value });
        }
        let train_seconds = timer.elapsed().as_secs_f64();
        let setup = MaskedEval {
            corruption: corruption.as_ref(),
            space,
            unigram_token: config.unigram_token,
            seed: config.seed,
            batch: EVAL_BATCH,
        };
        let held = evaluate_mlm(&model.valid(), &val_set, setup, &base)?;
        let metrics = MlmEpochMetrics {
            epoch,
            train_loss: loss_sum / batches as f64,
            train_seconds,
            tokens_per_second: (train_set.len() * len) as f64 / train_seconds.max(1e-9),
            val_masked_accuracy: held.masked_accuracy,
            val_nll: held.nll,
            val_perplexity: held.perplexity,
            unigram_accuracy: held.unigram_accuracy,
            val_masked_tokens: held.masked_tokens,
        };
        run.save_checkpoint(&model, &optim, epoch)?;
        history.push(metrics.clone());
        let mut text = String::new();
        for m in &history {
            text.push_str(&serde_json::to_string(m).map_err(|e| Error::Config(e.to_string()))?);
            text.push('\n');
        }
        write_atomic(&run.metrics(), text.as_bytes())?;
        observer(TrainEvent::MlmEpochEnd(&metrics));
        new_metrics.push(metrics);
    }
    write_atomic(&run.model(), &model_bytes(&model.valid())?)?;
    Ok(new_metrics)
}

/// The most frequent regular token of `seqs` (ties: the smallest id).
fn most_frequent(seqs: &Sequences, vocab_size: usize) -> u32 {
    let counts = token_counts(seqs, vocab_size);
    (FIRST_REGULAR as usize..vocab_size)
        .max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a)))
        .unwrap_or(FIRST_REGULAR as usize) as u32
}

/// Reads a text run's `metrics.jsonl`, keeping the epochs up to `done`.
pub fn read_mlm_metrics(run: &RunDir, done: usize) -> Result<Vec<MlmEpochMetrics>> {
    super::trainer::read_epoch_lines(run, done, |m: &MlmEpochMetrics| m.epoch)
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

/// Loads the config, tokenizer and model of the text run at `root` (`device_name` `None`: the
/// run's own device). Errors if it is not a text run.
pub fn load_mlm_run(root: &std::path::Path, device_name: Option<&str>) -> Result<LoadedMlm> {
    if super::config::read_task(root)? != Task::Mlm {
        return Err(Error::Checkpoint {
            path: root.to_path_buf(),
            reason: "is an image run, not a masked language model (train one with --task mlm)"
                .into(),
        });
    }
    let run = RunDir::new(root);
    let text = std::fs::read(run.config()).map_err(|e| Error::io(run.config(), e))?;
    let config: MlmConfig = serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
        path: run.config(),
        reason: format!("not a dae text run config: {e}"),
    })?;
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
    let device = crate::model::device(device_name.unwrap_or(&config.device))?;
    let path = if run.model().exists() {
        run.model()
    } else {
        run.checkpoint_dir().join("model.bpk")
    };
    if !path.exists() {
        return Err(Error::Checkpoint {
            path: root.to_path_buf(),
            reason: "holds no trained model yet (no model.bpk, no checkpoint)".into(),
        });
    }
    let model =
        super::checkpoint::load_module(&path, config.model.init(&device), "masked language")?;
    Ok(LoadedMlm {
        config,
        tokenizer,
        model,
        device,
    })
}
