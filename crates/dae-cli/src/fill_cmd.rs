//! `dae fill`: predict the tokens hidden behind `[MASK]` with a trained text run.

use std::path::PathBuf;

use clap::Args;
use dae::data::tokenizer::{TokenizerKind, MASK_TEXT};
use serde_json::json;

/// Arguments of `dae fill`.
#[derive(Args, Debug)]
pub struct FillArgs {
    /// A run directory written by `dae train --task mlm`.
    run: PathBuf,
    /// Text with one or more `[MASK]`, e.g. "In the beginning God created the [MASK]".
    text: String,
    /// Predictions to print per mask.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Compute device (default: the run's).
    #[arg(long)]
    device: Option<String>,
    /// One JSON object per mask on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `dae fill`.
pub fn run(a: FillArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.text.contains(MASK_TEXT),
        "the text has no {MASK_TEXT}: write {MASK_TEXT} where a token should be predicted, e.g. \
         \"In the beginning God created the {MASK_TEXT}\""
    );
    anyhow::ensure!(a.top_k > 0, "--top-k must be at least 1");
    let loaded = dae::train::mlm::load_mlm_run(&a.run, a.device.as_deref())?;
    let tok = &loaded.tokenizer;
    let max_len = loaded.config.model.max_len;
    let masks = dae::eval::text::fill_masks(
        &loaded.model,
        tok,
        max_len,
        &a.text,
        a.top_k,
        &loaded.device,
    )?;
    let mut filled = a.text.clone();
    for (k, m) in masks.iter().enumerate() {
        if a.json {
            let preds: Vec<_> = m
                .predictions
                .iter()
                .map(|(t, p)| json!({"token": t, "probability": p}))
                .collect();
            println!(
                "{}",
                json!({"mask": k + 1, "position": m.position, "predictions": preds})
            );
        } else {
            let preds: Vec<String> = m
                .predictions
                .iter()
                .map(|(t, p)| format!("{t:?} {p:.3}"))
                .collect();
            println!("{MASK_TEXT} {}: {}", k + 1, preds.join("  "));
        }
        let best = m.predictions.first().map_or("", |(t, _)| t.as_str());
        // BPE tokens carry their leading space, which encode_with_masks took from the text.
        let at = filled.find(MASK_TEXT).unwrap_or(filled.len());
        let bpe = tok.kind == TokenizerKind::Bpe;
        let start = if bpe && best.starts_with(' ') && filled[..at].ends_with(' ') {
            at - 1
        } else {
            at
        };
        filled.replace_range(start..(at + MASK_TEXT.len()).min(filled.len()), best);
    }
    if !a.json {
        println!("top-1: {filled}");
    }
    Ok(())
}
