//! `dae train --task mlm` and `dae eval` on a text run: masked language modeling.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, ValueEnum};
use dae::data::text::{eval_sequences, load_default_text, load_text, read_lines, TextSplits};
use dae::data::tokenizer::TokenizerKind;
use dae::model::transformer::Positions;
use dae::train::mlm::{load_mlm_run, train_mlm, MlmConfig};
use dae::train::{RunDir, Start};
use serde_json::json;

use crate::train_cmd::TrainArgs;

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
pub struct MlmArgs {
    /// Tokenizer, fitted on the training text and saved as vocab.json.
    #[arg(long, value_enum, default_value = "bpe")]
    tokenizer: TokenizerArg,
    /// BPE vocabulary size, special tokens included.
    #[arg(long, default_value_t = 1000)]
    vocab_size: usize,
    /// Tokens per training sequence (also the longest text `dae fill` takes).
    #[arg(long, default_value_t = 64)]
    seq_len: usize,
    /// Transformer width.
    #[arg(long, default_value_t = 128)]
    d_model: usize,
    /// Transformer encoder layers.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Attention heads (must divide --d-model).
    #[arg(long, default_value_t = 4)]
    heads: usize,
    /// Feed-forward width.
    #[arg(long, default_value_t = 512)]
    d_ff: usize,
    /// Position encoding.
    #[arg(long, value_enum, default_value = "sinusoidal")]
    positions: PositionsArg,
}

/// Where text comes from, for messages.
fn text_label(data: &Option<PathBuf>) -> String {
    match data {
        Some(p) => p.display().to_string(),
        None => "embedded King James Bible (Genesis-Acts train, Romans-Revelation held out)".into(),
    }
}

/// Loads `--data FILE|DIR` or the embedded Bible.
fn load_splits(data: &Option<PathBuf>) -> anyhow::Result<TextSplits> {
    match data {
        Some(p) => load_text(p).context("cannot load --data"),
        None => load_default_text().context("cannot load the embedded corpus"),
    }
}

fn fresh_config(c: &TrainArgs) -> MlmConfig {
    let m = &c.mlm;
    let mut cfg = MlmConfig {
        tokenizer: match m.tokenizer {
            TokenizerArg::Char => TokenizerKind::Char,
            TokenizerArg::Bpe => TokenizerKind::Bpe,
        },
        vocab_size: m.vocab_size,
        ..MlmConfig::default()
    };
    cfg.model.max_len = m.seq_len;
    cfg.model.d_model = m.d_model;
    cfg.model.n_layers = m.layers;
    cfg.model.n_heads = m.heads;
    cfg.model.d_ff = m.d_ff;
    cfg.model.dropout = c.dropout;
    cfg.model.positions = match m.positions {
        PositionsArg::Learned => Positions::Learned,
        PositionsArg::Sinusoidal => Positions::Sinusoidal,
    };
    if let Some(n) = &c.noise {
        cfg.noise = n.clone();
    }
    if let Some(e) = c.epochs {
        cfg.epochs = e;
    }
    if let Some(b) = c.batch_size {
        cfg.batch_size = b;
    }
    if let Some(lr) = c.lr {
        cfg.lr = lr;
    }
    if let Some(s) = c.lr_schedule {
        cfg.lr_schedule = s;
    }
    cfg.adamw.weight_decay = c.weight_decay;
    cfg.seed = c.seed;
    cfg.train_limit = c.train_limit;
    cfg.val_limit = c.val_limit;
    cfg.data = c.data.clone();
    cfg.device = c.device.clone();
    cfg
}

/// Runs `dae train --task mlm` (or resumes a text run).
pub fn train(c: &TrainArgs) -> anyhow::Result<()> {
    let (config, run_dir, start) = if let Some(dir) = &c.resume {
        let path = dir.join("config.json");
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "{}: not a dae run directory (cannot read config.json)",
                dir.display()
            )
        })?;
        let mut cfg: MlmConfig = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a dae text run config", path.display()))?;
        if let Some(e) = c.epochs {
            cfg.epochs = e;
        }
        if let Some(lr) = c.lr {
            cfg.lr = lr;
        }
        if let Some(s) = c.lr_schedule {
            cfg.lr_schedule = s;
        }
        (cfg, RunDir::new(dir), Start::Resume)
    } else {
        let cfg = fresh_config(c);
        let out = c.out.clone().unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(format!("runs/mlm-{secs}"))
        });
        (cfg, RunDir::new(out), Start::Fresh)
    };
    config.check()?;
    let splits = load_splits(&config.data)?;
    eprintln!(
        "dae train --task mlm: {} tokenizer, transformer {}x{} ({} heads, {} positions), seq {}, noise {}, {} epochs, batch {}, lr {} ({}), seed {}\n  data: {} ({} train / {} held-out lines)\n  run directory: {}",
        config.tokenizer,
        config.model.n_layers,
        config.model.d_model,
        config.model.n_heads,
        config.model.positions,
        config.model.max_len,
        config.noise,
        config.epochs,
        config.batch_size,
        config.lr,
        config.lr_schedule,
        config.seed,
        text_label(&config.data),
        splits.train.len(),
        splits.val.len(),
        run_dir.root.display()
    );
    let mut progress = crate::train_cmd::Progress::default();
    let mut observer = |e: dae::train::TrainEvent| progress.event(e);
    let result = train_mlm(&config, &run_dir, start, &splits, &mut observer);
    progress.abandon();
    result?;
    eprintln!(
        "done: {} (config.json, vocab.json, metrics.jsonl, model.bpk)",
        run_dir.root.display()
    );
    Ok(())
}

/// The options of `dae eval` that a text run reads.
pub struct EvalOptions<'a> {
    pub run: &'a Path,
    pub noise: &'a [String],
    pub data: Option<&'a Path>,
    pub limit: Option<usize>,
    pub seed: u64,
    pub batch_size: usize,
    pub device: Option<&'a str>,
    pub json: bool,
}

/// Runs `dae eval` on a text run: held-out masked-token accuracy, NLL, perplexity and the unigram
/// baseline, per noise spec.
pub fn eval(o: EvalOptions) -> anyhow::Result<()> {
    let loaded = load_mlm_run(o.run, o.device)?;
    let cfg = &loaded.config;
    let specs = if o.noise.is_empty() {
        vec![cfg.noise.clone()]
    } else {
        o.noise.to_vec()
    };
    let corruptions = specs
        .iter()
        .map(|s| dae::corrupt::parse_tokens(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (lines, label) = match o.data {
        Some(p) => (read_lines(p)?, p.display().to_string()),
        None => (
            load_splits(&cfg.data)?.val,
            format!("held-out split of {}", text_label(&cfg.data)),
        ),
    };
    let mut seqs = eval_sequences(&loaded.tokenizer, &lines, cfg.model.max_len);
    if let Some(n) = o.limit {
        anyhow::ensure!(n > 0, "--limit must be at least 1");
        seqs = seqs.take(n);
    }
    anyhow::ensure!(o.batch_size > 0, "--batch-size must be at least 1");
    for c in &corruptions {
        c.check_len(seqs.seq_len)
            .with_context(|| format!("evaluation text {label}"))?;
    }
    if !o.json {
        println!(
            "data: {label} ({} sequences of {} tokens)",
            seqs.len(),
            seqs.seq_len
        );
        println!(
            "{:<40} {:>10} {:>9} {:>11} {:>9} {:>8}",
            "noise", "masked acc", "NLL", "perplexity", "unigram", "masked"
        );
    }
    for (spec, c) in specs.iter().zip(&corruptions) {
        let setup = dae::eval::text::MaskedEval {
            corruption: c.as_ref(),
            space: cfg.token_space(),
            unigram_token: cfg.unigram_token,
            seed: o.seed,
            batch: o.batch_size,
        };
        let r = dae::eval::text::evaluate_mlm(&loaded.model, &seqs, setup, &loaded.device)?;
        if o.json {
            let row = json!({
                "noise": spec,
                "data": label,
                "val_masked_accuracy": r.masked_accuracy,
                "val_nll": r.nll,
                "val_perplexity": r.perplexity,
                "unigram_accuracy": r.unigram_accuracy,
                "masked_tokens": r.masked_tokens,
                "sequences": r.sequences,
            });
            println!("{row}");
        } else {
            println!(
                "{:<40} {:>10.4} {:>9.4} {:>11.2} {:>9.4} {:>8}",
                spec, r.masked_accuracy, r.nll, r.perplexity, r.unigram_accuracy, r.masked_tokens
            );
        }
    }
    Ok(())
}
