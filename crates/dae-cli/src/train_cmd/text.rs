//! `dae train --task mlm`: the text flags, a text run's config, its training.

use clap::{Args, ValueEnum};
use dae::run::RunDir;
use dae::tasks::text::data::TextSplits;
use dae::tasks::text::model::Positions;
use dae::tasks::text::tokenizer::TokenizerKind;
use dae::tasks::text::{self, MlmConfig, MlmTask, TokenNoise};
use dae::train::{Start, Task};

use super::{given, TrainArgs};
use crate::progress::fit_with_progress;

/// Tokenizers on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenizerArg {
    /// One token per character.
    Char,
    /// Byte-pair-encoding subwords learned from the training text.
    Bpe,
}

/// Position encodings on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PositionsArg {
    /// A learned embedding per position.
    Learned,
    /// Fixed sinusoids.
    Sinusoidal,
}

/// The flags of `dae train` that only `--task mlm` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Masked language modeling (--task mlm)")]
pub(super) struct MlmArgs {
    /// Tokenizer, fitted on the training text and saved as vocab.json [default: bpe].
    #[arg(long, value_enum)]
    tokenizer: Option<TokenizerArg>,
    /// BPE vocabulary size, special tokens included [default: 1000].
    #[arg(long)]
    vocab_size: Option<usize>,
    /// Tokens per training sequence (also the longest text `dae fill` takes) [default: 64].
    #[arg(long)]
    seq_len: Option<usize>,
    /// Transformer width [default: 128].
    #[arg(long)]
    d_model: Option<usize>,
    /// Transformer encoder layers [default: 2].
    #[arg(long)]
    layers: Option<usize>,
    /// Attention heads (must divide --d-model) [default: 4].
    #[arg(long)]
    heads: Option<usize>,
    /// Feed-forward width [default: 512].
    #[arg(long)]
    d_ff: Option<usize>,
    /// Position encoding [default: sinusoidal].
    #[arg(long, value_enum)]
    positions: Option<PositionsArg>,
}

impl TrainArgs {
    /// A text run's config from the flags.
    fn mlm_config(&self) -> anyhow::Result<MlmConfig> {
        let m = &self.mlm;
        let mut config = MlmConfig::default();
        if let Some(t) = m.tokenizer {
            config.tokenizer = match t {
                TokenizerArg::Char => TokenizerKind::Char,
                TokenizerArg::Bpe => TokenizerKind::Bpe,
            };
        }
        config.vocab_size = m.vocab_size.unwrap_or(config.vocab_size);
        let model = &mut config.model;
        model.max_len = m.seq_len.unwrap_or(model.max_len);
        model.d_model = m.d_model.unwrap_or(model.d_model);
        model.n_layers = m.layers.unwrap_or(model.n_layers);
        model.n_heads = m.heads.unwrap_or(model.n_heads);
        model.d_ff = m.d_ff.unwrap_or(model.d_ff);
        model.dropout = self.dropout.unwrap_or(model.dropout);
        if let Some(p) = m.positions {
            model.positions = match p {
                PositionsArg::Learned => Positions::Learned,
                PositionsArg::Sinusoidal => Positions::Sinusoidal,
            };
        }
        if let Some(spec) = &self.noise {
            config.noise = TokenNoise::parse(spec)?;
        }
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl MlmArgs {
    /// The text flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--tokenizer", self.tokenizer.is_some()),
            ("--vocab-size", self.vocab_size.is_some()),
            ("--seq-len", self.seq_len.is_some()),
            ("--d-model", self.d_model.is_some()),
            ("--layers", self.layers.is_some()),
            ("--heads", self.heads.is_some()),
            ("--d-ff", self.d_ff.is_some()),
            ("--positions", self.positions.is_some()),
        ];
        given(flags)
    }
}

pub(super) fn train_text(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, data): (MlmConfig, RunDir, TextSplits) = match &a.resume {
        Some(dir) => {
            let (config, data) = text::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let config = a.mlm_config()?;
            let data = text::data::load(a.data.as_deref())?;
            (config, a.out(text::TASK_NAME), data)
        }
    };
    let task = MlmTask::new(config, &run, start, &data)?;
    let config = task.config();
    let s = &config.run;
    let m = &config.model;
    eprintln!(
        "dae train --task mlm: {} tokenizer, transformer {}x{} ({} heads, {} positions), seq {}, \
         noise {}, {s}\n  data: {} ({} train / {} held-out lines)\n  run directory: {}",
        config.tokenizer,
        m.n_layers,
        m.d_model,
        m.n_heads,
        m.positions,
        m.max_len,
        config.noise,
        text::data::describe(s.data.as_deref()),
        data.train.len(),
        data.val.len(),
        run.root.display()
    );
    fit_with_progress(&task, &run, start)?;
    eprintln!(
        "done: {} (config.json, vocab.json, metrics.jsonl, model.bpk, model.safetensors)",
        run.root.display()
    );
    Ok(())
}
