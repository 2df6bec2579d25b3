//! `dae eval` on a text run.

use dae::tasks::image::Precision;
use dae::tasks::text::heldout::{evaluate_run, TextEvalData, TextEvalOptions, TextEvalRecord};
use dae::tasks::text::{self, TokenNoise};

use super::EvalArgs;

/// `dae eval` on a text run: held-out masked-token accuracy, NLL, perplexity and the unigram
/// baseline, per noise spec.
pub(super) fn eval_text(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.precision == Precision::F32,
        "--precision {} is for image runs; text runs evaluate in f32",
        a.precision
    );
    let loaded = text::load_mlm_run(&a.run, a.device)?;
    let options = TextEvalOptions {
        noise: a
            .noise
            .iter()
            .map(|s| TokenNoise::parse(s))
            .collect::<Result<_, _>>()?,
        data: a.data.clone(),
        limit: a.limit,
        seed: a.seed,
        batch_size: a.batch_size,
    };
    let on_data = &mut |d: &TextEvalData| {
        if !a.json {
            println!(
                "data: {} ({} sequences of {} tokens)",
                d.label, d.sequences, d.seq_len
            );
            println!(
                "{:<40} {:>10} {:>9} {:>11} {:>9} {:>8}",
                "noise", "masked acc", "NLL", "perplexity", "unigram", "masked"
            );
        }
    };
    let on_record = &mut |r: &TextEvalRecord| {
        if a.json {
            println!("{}", dae::json::to_string(r).unwrap_or_default());
        } else {
            println!(
                "{:<40} {:>10.4} {:>9.4} {:>11.2} {:>9.4} {:>8}",
                r.noise,
                r.val_masked_accuracy,
                r.val_nll,
                r.val_perplexity,
                r.unigram_accuracy,
                r.masked_tokens
            );
        }
    };
    evaluate_run(&loaded, &options, on_data, on_record)?;
    Ok(())
}
