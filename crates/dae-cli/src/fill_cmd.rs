//! `dae fill`: predict the tokens hidden behind `[MASK]` with a trained text run.

use std::path::PathBuf;

use clap::Args;
use dae::device::DeviceSpec;
use dae::tasks::text::tokenizer::MASK_TEXT;
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
    device: Option<DeviceSpec>,
    /// One JSON object per mask on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `dae fill`.
pub fn run(a: FillArgs) -> anyhow::Result<()> {
    let loaded = dae::tasks::load_text_run(&a.run, a.device)?;
    let filled = dae::tasks::text::fill::fill(
        &loaded.model,
        &loaded.tokenizer,
        loaded.config.model.max_len,
        &a.text,
        a.top_k,
        &loaded.device,
    )?;
    for (k, m) in filled.masks.iter().enumerate() {
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
    }
    if !a.json {
        println!("top-1: {}", filled.text);
    }
    Ok(())
}
