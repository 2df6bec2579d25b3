//! `report.html` of a text run: configuration, training curves (loss; held-out masked-token
//! accuracy beside the unigram baseline) and the per-epoch table, on the core's report page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::MlmConfig;
use super::task::MlmEpochMetrics;
use crate::fsio::write_atomic;
use crate::report::charts::{epoch_charts, EpochChart};
use crate::report::page::{escape, num, page};
use crate::run::metrics::read_records;
use crate::run::RunDir;
use crate::Result;

/// Writes `RUN_DIR/report.html` for the text run at `run_dir` and returns its path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let (config, config_text): (MlmConfig, String) = run.read_config_with_text("text run")?;
    let metrics: Vec<MlmEpochMetrics> = read_records(&run, usize::MAX)?;
    let name = run.name();
    let m = &config.model;
    let s = &config.run;

    let mut body = String::new();
    let _ = write!(
        body,
        "<h2 id=\"config\">Configuration</h2><table>\
         <tr><th>model</th><td>Transformer encoder: layers {}, width {}, heads {}, \
         feed-forward {}, {} positions</td></tr>\
         <tr><th>tokenizer</th><td>{} ({} tokens)</td></tr><tr><th>sequence length</th>\
         <td>{}</td></tr><tr><th>training noise</th><td>{}</td></tr>\
         <tr><th>epochs</th><td>{}</td></tr><tr><th>batch size</th><td>{}</td></tr>\
         <tr><th>learning rate</th><td>{} ({})</td></tr><tr><th>seed</th><td>{}</td></tr>\
         <tr><th>data</th><td>{}</td></tr></table>\
         <details><summary>config.json</summary><pre>{}</pre></details>",
        m.n_layers,
        m.d_model,
        m.n_heads,
        m.d_ff,
        m.positions,
        config.tokenizer,
        m.vocab_size,
        m.max_len,
        escape(config.noise.as_str()),
        s.epochs,
        s.batch_size,
        s.lr,
        s.lr_schedule,
        s.seed,
        escape(&super::data::describe(s.data.as_deref())),
        escape(&config_text)
    );

    let mut warnings = Vec::new();
    body.push_str("<h2 id=\"training\">Training</h2>");
    if metrics.is_empty() {
        body.push_str("<p class=\"muted\">No epoch has finished yet.</p>");
    } else {
        body.push_str(&training_section(&metrics)?);
        if let Some(last) = metrics.last() {
            // A model that predicts no better than the most frequent token has learned nothing
            // of the context: the masked-modeling analogue of an identity-learning denoiser.
            if last.val_masked_accuracy <= last.unigram_accuracy {
                warnings.push(format!(
                    "held-out masked-token accuracy {:.4} is not above the unigram baseline \
                     {:.4}: the model has not learned to use the context (train longer or with \
                     a higher learning rate)",
                    last.val_masked_accuracy, last.unigram_accuracy
                ));
            }
        }
    }

    let subtitle = format!(
        "Masked language model trained on <code>{}</code> for {} epochs.",
        escape(config.noise.as_str()),
        metrics.len()
    );
    let html = page(&name, &subtitle, &warnings, &body);
    let out = run.report();
    write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// The loss and accuracy charts and the per-epoch table.
fn training_section(metrics: &[MlmEpochMetrics]) -> Result<String> {
    let mut s = epoch_charts(
        metrics,
        &[
            EpochChart {
                title: "Loss (masked-position NLL)",
                y_label: "nats",
                alt: "Training and held-out loss per epoch",
                lines: vec![
                    ("train", |m: &MlmEpochMetrics| m.train_loss),
                    ("held-out", |m: &MlmEpochMetrics| m.val_nll),
                ],
            },
            EpochChart {
                title: "Held-out masked-token accuracy",
                y_label: "accuracy",
                alt: "Held-out masked-token accuracy per epoch, beside the unigram baseline",
                lines: vec![
                    ("model", |m: &MlmEpochMetrics| m.val_masked_accuracy),
                    ("unigram baseline", |m: &MlmEpochMetrics| m.unigram_accuracy),
                ],
            },
        ],
    )?;
    s.push_str(
        "<table><tr><th>epoch</th><th>train loss</th><th>held-out NLL</th><th>perplexity</th>\
         <th>masked acc</th><th>unigram</th><th>masked tokens</th><th>seconds</th>\
         <th>tok/s</th></tr>",
    );
    for m in metrics {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            m.epoch,
            num(m.train_loss, 4),
            num(m.val_nll, 4),
            num(m.val_perplexity, 2),
            num(m.val_masked_accuracy, 4),
            num(m.unigram_accuracy, 4),
            m.val_masked_tokens,
            num(m.train_seconds, 1),
            num(m.tokens_per_second, 0)
        );
    }
    s.push_str("</table>");
    Ok(s)
}
