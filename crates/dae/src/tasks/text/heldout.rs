//! Evaluating a trained text run on held-out text under one or more token corruptions (what
//! `dae eval` does with a text run).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::corrupt::TokenNoise;
use super::data::{describe, eval_sequences, load, read_lines};
use super::eval::{evaluate_mlm, MaskedEval};
use super::task::LoadedMlm;
use crate::{Error, Result};

/// What to evaluate a text run on.
#[derive(Clone, Debug)]
pub struct TextEvalOptions {
    /// The corruptions, one record each (empty: the run's training noise).
    pub noise: Vec<TokenNoise>,
    /// A text file or directory to evaluate on, all of it (`None`: the run's held-out split).
    pub data: Option<PathBuf>,
    /// Evaluate only the first N sequences.
    pub limit: Option<usize>,
    /// Seed of the evaluation corruption.
    pub seed: u64,
    /// Sequences per inference batch.
    pub batch_size: usize,
}

/// The held-out text an evaluation reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEvalData {
    /// Where it comes from, for messages.
    pub label: String,
    /// Sequences evaluated.
    pub sequences: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
}

/// The metrics of one corruption (fields in the order `dae eval --json` has always printed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextEvalRecord {
    /// Where the held-out text comes from.
    pub data: String,
    /// |M| summed over the sequences.
    pub masked_tokens: usize,
    /// The corruption's spec.
    pub noise: String,
    /// Sequences evaluated.
    pub sequences: usize,
    /// Accuracy of always predicting the most frequent training token.
    pub unigram_accuracy: f64,
    /// Fraction of masked positions whose most probable token is the original.
    pub val_masked_accuracy: f64,
    /// Mean NLL on masked positions (nats).
    pub val_nll: f64,
    /// exp(val_nll).
    pub val_perplexity: f64,
}

/// Evaluates `loaded` per `options`: reads and cuts the held-out text, checks every corruption
/// against the sequence length before any work, tells `on_data` what it reads, then measures each
/// corruption, calling `on_record` as each finishes.
pub fn evaluate_run(
    loaded: &LoadedMlm,
    options: &TextEvalOptions,
    on_data: &mut dyn FnMut(&TextEvalData),
    on_record: &mut dyn FnMut(&TextEvalRecord),
) -> Result<Vec<TextEvalRecord>> {
    if options.batch_size == 0 || options.limit == Some(0) {
        return Err(Error::Config(
            "--batch-size and --limit must be at least 1".into(),
        ));
    }
    let config = &loaded.config;
    let specs = match options.noise.is_empty() {
        true => vec![config.noise.clone()],
        false => options.noise.clone(),
    };
    let stored = config.run.data.as_deref();
    let (lines, label) = match &options.data {
        Some(p) => (read_lines(p)?, p.display().to_string()),
        None => (
            load(stored)?.val,
            format!("held-out split of {}", describe(stored)),
        ),
    };
    let mut seqs = eval_sequences(&loaded.tokenizer, &lines, config.model.max_len);
    if let Some(n) = options.limit {
        seqs = seqs.take(n);
    }
    for spec in &specs {
        spec.get()
            .check_len(seqs.seq_len)
            .map_err(|e| Error::Config(format!("evaluation text {label}: {e}")))?;
    }
    on_data(&TextEvalData {
        label: label.clone(),
        sequences: seqs.len(),
        seq_len: seqs.seq_len,
    });
    let mut records = Vec::with_capacity(specs.len());
    for spec in &specs {
        let setup = MaskedEval {
            corruption: spec.get(),
            space: config.token_space(),
            unigram_token: config.unigram_token,
            seed: options.seed,
            batch: options.batch_size,
        };
        let m = evaluate_mlm(&loaded.model, &seqs, setup, &loaded.device)?;
        let record = TextEvalRecord {
            data: label.clone(),
            masked_tokens: m.masked_tokens,
            noise: spec.to_string(),
            sequences: m.sequences,
            unigram_accuracy: m.unigram_accuracy,
            val_masked_accuracy: m.masked_accuracy,
            val_nll: m.nll,
            val_perplexity: m.perplexity,
        };
        on_record(&record);
        records.push(record);
    }
    Ok(records)
}
