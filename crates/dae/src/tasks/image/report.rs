//! `report.html`: one self-contained page per run directory (no external files, no network):
//! config, training curves and metrics, the clean | noisy | denoised grid, evaluations with
//! their failure-mode diagnostics and warnings, the robustness matrix and the latent map.
//! The page, its figures and its scripts are the core `report::page`'s; this file writes the
//! sections of an image run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::ImageConfig;
use super::diagnostics::{GAIN_MIN_DB, HF_RATIO_MIN, INPUT_DISTANCE_RATIO_MIN};
use super::experiment::read_matrix;
use super::probe::ProbeReport;
use super::robustness::{read_records, EvalRecord};
use super::EpochMetrics;
use crate::report::charts::{epoch_charts, EpochChart};
use crate::report::page::{escape, num, png_figure};
use crate::run::metrics::read_records as read_epochs;
use crate::run::{ExperimentDir, RunDir};
use crate::{Error, Result};

/// Writes `RUN_DIR/report.html` and returns its path. `matrix_dir` is an experiment directory
/// whose `matrix.json` / `matrix.png` to show; without it, the run's parent directory is used
/// when it holds a `matrix.json` (a run inside `dae experiment robustness`).
pub fn write_report(run_dir: &Path, matrix_dir: Option<&Path>) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let (config, config_text): (ImageConfig, String) = run.read_config_with_text("image run")?;
    let metrics: Vec<EpochMetrics> = read_epochs(&run, usize::MAX)?;
    let name = run.name();

    let mut body = String::new();
    let mut warnings: Vec<String> = Vec::new();

    // Config.
    let _ = write!(
        body,
        "<h2 id=\"config\">Configuration</h2><table><tr><th>model</th><td>{}</td></tr>\
         <tr><th>training noise</th><td>{}</td></tr><tr><th>loss</th><td>{}{}</td></tr>\
         <tr><th>epochs</th><td>{}</td></tr><tr><th>batch size</th><td>{}</td></tr>\
         <tr><th>learning rate</th><td>{}</td></tr><tr><th>seed</th><td>{}</td></tr>\
         <tr><th>data</th><td>{}</td></tr></table>\
         <details><summary>config.json</summary><pre>{}</pre></details>",
        escape(&config.model.kind().to_string()),
        escape(config.noise.as_str()),
        format!("{:?}", config.loss).to_lowercase(),
        if config.masked_loss {
            " (masked entries only)"
        } else {
            ""
        },
        config.run.epochs,
        config.run.batch_size,
        config.run.lr,
        config.run.seed,
        escape(
            &config
                .run
                .data
                .as_ref()
                .map_or("embedded Fashion-MNIST test split".into(), |p| p
                    .display()
                    .to_string())
        ),
        escape(&config_text)
    );

    // Training curves and metrics.
    body.push_str("<h2 id=\"training\">Training</h2>");
    if metrics.is_empty() {
        body.push_str("<p class=\"muted\">No epoch has finished yet.</p>");
    } else {
        body.push_str(&epoch_charts(
            &metrics,
            &[
                EpochChart {
                    title: "Training loss",
                    y_label: "loss",
                    alt: "Training loss per epoch",
                    lines: vec![("train loss", |m: &EpochMetrics| m.train_loss)],
                },
                EpochChart {
                    title: "Held-out PSNR",
                    y_label: "PSNR (dB)",
                    alt: "Held-out PSNR per epoch (denoised output and noisy input)",
                    lines: vec![
                        ("denoised", |m: &EpochMetrics| m.val_psnr),
                        ("noisy input", |m: &EpochMetrics| m.noisy_psnr),
                    ],
                },
            ],
        )?);
        body.push_str(
            "<table><tr><th>epoch</th><th>train loss</th><th>PSNR dB</th><th>noisy dB</th>\
             <th>gain</th><th>SSIM</th><th>noisy SSIM</th><th>seconds</th><th>img/s</th></tr>",
        );
        for m in &metrics {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.2}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                m.epoch,
                num(m.train_loss, 5),
                num(m.val_psnr, 2),
                num(m.noisy_psnr, 2),
                m.val_psnr - m.noisy_psnr,
                num(m.val_ssim, 4),
                num(m.noisy_ssim, 4),
                num(m.train_seconds, 1),
                num(m.images_per_second, 0)
            );
        }
        body.push_str("</table>");
    }

    // Examples.
    if let Some(fig) = png_figure(&run.grid(), "Held-out images: clean, noisy, denoised")? {
        let _ = write!(
            body,
            "<h2 id=\"examples\">Examples</h2><p class=\"muted\">Rows: clean x, noisy x̃ ({}), \
             denoised x̂.</p>{fig}",
            escape(config.noise.as_str())
        );
    }

    // Diagnostics and evaluations.
    let mut records: Vec<(String, EvalRecord)> = Vec::new();
    let diag_path = run.diagnostics();
    if diag_path.is_file() {
        let text = crate::fsio::read_input_text(&diag_path)?;
        let r: EvalRecord =
            crate::json::from_str(&text).map_err(|e| Error::format(&diag_path, e.to_string()))?;
        records.push(("after training".into(), r));
    }
    let eval_path = run.eval_records();
    if eval_path.is_file() {
        records.extend(
            read_records(&eval_path)?
                .into_iter()
                .map(|r| ("eval".to_string(), r)),
        );
    }
    if !records.is_empty() {
        body.push_str(&diagnostics_section(&records));
        for (_, r) in &records {
            warnings.extend(
                r.warnings
                    .iter()
                    .map(|w| format!("{}: {}", r.noise, w.message)),
            );
        }
    }

    // Robustness matrix.
    let parent_matrix = run_dir
        .parent()
        .filter(|p| ExperimentDir::holds_matrix(p))
        .map(Path::to_path_buf);
    if let Some(dir) = matrix_dir.map(Path::to_path_buf).or(parent_matrix) {
        let experiment = ExperimentDir::new(dir);
        let matrix = read_matrix(&experiment.matrix_json())?;
        body.push_str(
            "<h2 id=\"robustness\">Robustness matrix</h2><p class=\"muted\">Held-out \
             PSNR (dB) of models trained on one corruption (rows) and tested on another \
             (columns).</p>",
        );
        if let Some(fig) = png_figure(
            &experiment.matrix_png(),
            "Robustness matrix: PSNR by training noise (rows) and test noise (columns)",
        )? {
            body.push_str(&fig);
        }
        let _ = write!(
            body,
            "<details><summary>as text</summary><pre>{}</pre></details>",
            escape(&matrix.table())
        );
    }

    // Latent map and probes.
    let latent = png_figure(&run.latent_map(), "Latent map of the held-out codes")?;
    let probe_path = run.probe();
    if latent.is_some() || probe_path.is_file() {
        body.push_str("<h2 id=\"latent\">Latent space</h2>");
        if let Some(fig) = latent {
            body.push_str(&fig);
        }
        if probe_path.is_file() {
            body.push_str(&probe_section(&probe_path)?);
        }
    }

    let subtitle = format!(
        "{kind} model trained on <code>{noise}</code> for {epochs} epochs.",
        kind = escape(&config.model.kind().to_string()),
        noise = escape(config.noise.as_str()),
        epochs = metrics.len(),
    );
    let page = crate::report::page::page(&name, &subtitle, &warnings, &body);
    let out = run.report();
    crate::fsio::write_atomic(&out, page.as_bytes())?;
    Ok(out)
}

fn diagnostics_section(records: &[(String, EvalRecord)]) -> String {
    let mut s = format!(
        "<h2 id=\"diagnostics\">Evaluation and diagnostics</h2><p class=\"muted\">gain: PSNR of \
         the output minus that of the noisy input (warn below {GAIN_MIN_DB} dB); in:clean: \
         distance of the output to its noisy input over its distance to the clean image, 0 = a \
         copy of its input (identity learning, warn below {INPUT_DISTANCE_RATIO_MIN}); removed: \
         fraction of the corruption undone (0 = none, 1 = all); hf: high-frequency (Laplacian) \
         energy of the output over the clean images' (over-smoothing, warn below \
         {HF_RATIO_MIN}).</p><table><tr><th>noise</th><th>source</th><th>PSNR dB</th>\
         <th>noisy dB</th><th>gain</th><th>SSIM</th><th>noisy SSIM</th><th>in:clean</th>\
         <th>removed</th><th>hf</th><th>images</th></tr>"
    );
    for (source, r) in records {
        let cls = |bad: bool| if bad { " class=\"warn\"" } else { "" };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{:+.2}</td><td>{}</td>\
             <td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{}</td></tr>",
            escape(&r.noise),
            escape(source),
            num(r.psnr, 2),
            num(r.noisy_psnr, 2),
            cls(r.psnr_gain < GAIN_MIN_DB),
            r.psnr_gain,
            num(r.ssim, 4),
            num(r.noisy_ssim, 4),
            cls(r.input_distance_ratio < INPUT_DISTANCE_RATIO_MIN),
            num(r.input_distance_ratio, 2),
            num(r.noise_removed, 2),
            cls(r.hf_ratio < HF_RATIO_MIN),
            num(r.hf_ratio, 2),
            r.count
        );
    }
    s.push_str("</table>");
    s
}

/// The table of `probe.json` (see [`ProbeReport`]): what was probed, then one row per feature
/// set. A file that is not a `probe.json` is an error naming it, rather than a broken section.
fn probe_section(path: &Path) -> Result<String> {
    let p = ProbeReport::read(path)?;
    // Every row of one `dae probe` shares its k's; the first row's name the columns.
    let (knn, retrieval) = p.rows.first().map_or(("k-NN".into(), "P@k".into()), |r| {
        (format!("{}-NN", r.knn_k), format!("P@{}", r.retrieval_k))
    });
    let mut s = format!(
        "<p class=\"muted\">Probes of the {model} codes of {encoded}: {train} train and {test} \
         held-out images of {data} (training noise <code>{noise}</code>{masked}, seed {seed}). \
         linear: logistic regression accuracy; {knn}: k-NN accuracy (cosine); {retrieval}: \
         retrieval precision; NMI, ARI: k-means clusters against the labels.</p><table>\
         <tr><th>features</th><th>dim</th><th>linear</th><th>{knn}</th><th>{retrieval}</th>\
         <th>NMI</th><th>ARI</th></tr>",
        model = escape(&p.model.to_string()),
        encoded = escape(&p.encoded),
        train = p.train_count,
        test = p.test_count,
        data = escape(&p.data),
        noise = escape(&p.train_noise),
        masked = if p.masked_loss { ", masked loss" } else { "" },
        seed = p.seed,
    );
    for r in &p.rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             </tr>",
            escape(&r.features),
            r.dim,
            num(r.linear_accuracy, 4),
            num(r.knn_accuracy, 4),
            num(r.precision_at_k, 4),
            num(r.nmi, 4),
            num(r.ari, 4)
        );
    }
    s.push_str("</table>");
    Ok(s)
}
