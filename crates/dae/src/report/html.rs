//! `report.html`: one self-contained page per run directory (no external files, no network):
//! config, training curves and metrics, the clean | noisy | denoised grid, evaluations with
//! their failure-mode diagnostics and warnings, the robustness matrix and the latent map.
//!
//! Images are inlined as `data:` URIs (PNG as they are on disk, charts as SVG). A small script
//! records on `<body>` how many figures there are (`data-figures`), how many loaded
//! (`data-figures-loaded`, images with `complete && naturalWidth > 0`) and how many script or
//! resource errors happened (`data-errors`), so a headless browser can check the page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::charts::{line_chart_svg, Series, PALETTE};
use crate::eval::diagnostics::{GAIN_MIN_DB, HF_RATIO_MIN, INPUT_DISTANCE_RATIO_MIN};
use crate::eval::robustness::{read_records, EvalRecord};
use crate::train::experiment::{
    read_matrix, DIAGNOSTICS_JSON, EVAL_JSONL, MATRIX_JSON, MATRIX_PNG,
};
use crate::train::trainer::read_metrics;
use crate::train::{RunDir, TrainConfig};
use crate::{Error, Result};

/// The report's file name inside the run directory.
pub const REPORT_HTML: &str = "report.html";
/// The latent map the probe command writes into a run directory (included when present).
pub const LATENT_MAP_PNG: &str = "latent_map.png";
/// The probe results written beside it (included when present).
pub const PROBE_JSON: &str = "probe.json";

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// A `data:` URI holding `bytes` of MIME type `mime`, base64-encoded.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn img(uri: &str, alt: &str) -> String {
    format!(
        "<figure><img src=\"{uri}\" alt=\"{}\"></figure>",
        escape(alt)
    )
}

fn png_figure(path: &Path, alt: &str) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(img(&data_uri("image/png", &bytes), alt))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else if v.is_nan() {
        "–".into()
    } else {
        format!("{v}")
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.warn{background:#fde2e1}.ok{background:#e3f1e6}.muted{color:#777;font-size:.9em}
ul.warnings li{color:#a12622;margin:.2em 0}figure{margin:.6em 0}figcaption{color:#555;font-size:.9em}img{max-width:100%;border:1px solid #eee}
.charts{display:flex;flex-wrap:wrap;gap:1em}pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}";

/// Script in `<head>`: counts errors from the start (capture phase also sees failed images).
const HEAD_SCRIPT: &str = "<script>window.daeErrors=[];window.addEventListener('error',function(e){window.daeErrors.push(String(e.message||(e.target&&e.target.tagName)||'error'));if(document.body)document.body.setAttribute('data-errors',String(window.daeErrors.length));},true);</script>";

/// Script at the end of `<body>`: once everything loaded, records the figure counts.
const TAIL_SCRIPT: &str = "<script>window.addEventListener('load',function(){var imgs=Array.prototype.slice.call(document.images);var ok=imgs.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;var b=document.body;b.setAttribute('data-figures',String(imgs.length));b.setAttribute('data-figures-loaded',String(ok));b.setAttribute('data-errors',String(window.daeErrors.length));});</script>";

/// Writes `RUN_DIR/report.html` and returns its path. `matrix_dir` is an experiment directory
/// whose `matrix.json` / `matrix.png` to show; without it, the run's parent directory is used
/// when it holds a `matrix.json` (a run inside `dae experiment robustness`).
pub fn write_report(run_dir: &Path, matrix_dir: Option<&Path>) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let config_path = run.config();
    let config_text = std::fs::read_to_string(&config_path).map_err(|_| Error::Checkpoint {
        path: run_dir.to_path_buf(),
        reason: "not a dae run directory (no config.json)".into(),
    })?;
    let config: TrainConfig = serde_json::from_str(&config_text)
        .map_err(|e| Error::format(&config_path, format!("not a dae run config: {e}")))?;
    let metrics = read_metrics(&run, usize::MAX)?;
    let name = run_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| run_dir.display().to_string());

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
        escape(&config.model.kind.to_string()),
        escape(&config.noise),
        format!("{:?}", config.loss).to_lowercase(),
        if config.masked_loss {
            " (masked entries only)"
        } else {
            ""
        },
        config.epochs,
        config.batch_size,
        config.lr,
        config.seed,
        escape(
            &config
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
        let pts = |f: fn(&crate::train::EpochMetrics) -> f64| -> Vec<(f64, f64)> {
            metrics.iter().map(|m| (m.epoch as f64, f(m))).collect()
        };
        let series = |label: &str, points, i: usize| Series {
            label: label.into(),
            points,
            colour: PALETTE[i],
        };
        let loss = line_chart_svg(
            "Training loss",
            "epoch",
            "loss",
            &[series("train loss", pts(|m| m.train_loss), 0)],
            (520, 320),
        )?;
        let psnr = line_chart_svg(
            "Held-out PSNR",
            "epoch",
            "PSNR (dB)",
            &[
                series("denoised", pts(|m| m.val_psnr), 0),
                series("noisy input", pts(|m| m.noisy_psnr), 1),
            ],
            (520, 320),
        )?;
        let _ = write!(
            body,
            "<div class=\"charts\">{}{}</div>",
            img(
                &data_uri("image/svg+xml", loss.as_bytes()),
                "Training loss per epoch"
            ),
            img(
                &data_uri("image/svg+xml", psnr.as_bytes()),
                "Held-out PSNR per epoch (denoised output and noisy input)"
            )
        );
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
            escape(&config.noise)
        );
    }

    // Diagnostics and evaluations.
    let mut records: Vec<(String, EvalRecord)> = Vec::new();
    let diag_path = run_dir.join(DIAGNOSTICS_JSON);
    if diag_path.is_file() {
        let text = std::fs::read_to_string(&diag_path).map_err(|e| Error::io(&diag_path, e))?;
        let r: EvalRecord =
            serde_json::from_str(&text).map_err(|e| Error::format(&diag_path, e.to_string()))?;
        records.push(("after training".into(), r));
    }
    let eval_path = run_dir.join(EVAL_JSONL);
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
        .filter(|p| p.join(MATRIX_JSON).is_file())
        .map(Path::to_path_buf);
    if let Some(dir) = matrix_dir.map(Path::to_path_buf).or(parent_matrix) {
        let matrix = read_matrix(&dir.join(MATRIX_JSON))?;
        body.push_str(
            "<h2 id=\"robustness\">Robustness matrix</h2><p class=\"muted\">Held-out \
             PSNR (dB) of models trained on one corruption (rows) and tested on another \
             (columns).</p>",
        );
        if let Some(fig) = png_figure(
            &dir.join(MATRIX_PNG),
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
    let latent = png_figure(
        &run_dir.join(LATENT_MAP_PNG),
        "Latent map of the held-out codes",
    )?;
    let probe_path = run_dir.join(PROBE_JSON);
    if latent.is_some() || probe_path.is_file() {
        body.push_str("<h2 id=\"latent\">Latent space</h2>");
        if let Some(fig) = latent {
            body.push_str(&fig);
        }
        if probe_path.is_file() {
            body.push_str(&probe_section(&probe_path)?);
        }
    }

    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>dae report: {title}</title><style>{STYLE}</style>{HEAD_SCRIPT}</head><body>\
         <h1>dae report: {title}</h1><p class=\"muted\">{kind} model trained on <code>{noise}\
         </code> for {epochs} epochs. Written by dae {version}.</p>",
        title = escape(&name),
        kind = escape(&config.model.kind.to_string()),
        noise = escape(&config.noise),
        epochs = metrics.len(),
        version = env!("CARGO_PKG_VERSION"),
    );
    page.push_str("<h2 id=\"warnings\">Warnings</h2>");
    if warnings.is_empty() {
        page.push_str("<p class=\"ok\">No diagnostic crossed its threshold.</p>");
    } else {
        page.push_str("<ul class=\"warnings\">");
        for w in &warnings {
            let _ = write!(page, "<li>{}</li>", escape(w));
        }
        page.push_str("</ul>");
    }
    page.push_str(&body);
    page.push_str(TAIL_SCRIPT);
    page.push_str("</body></html>\n");
    let out = run_dir.join(REPORT_HTML);
    crate::train::checkpoint::write_atomic(&out, page.as_bytes())?;
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

/// A flat JSON object of numbers and strings as a table; anything else pretty-printed.
fn probe_section(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(path, e.to_string()))?;
    if let Some(obj) = value
        .as_object()
        .filter(|o| o.values().all(|v| v.is_number() || v.is_string()))
    {
        let mut s = String::from("<table><tr><th>probe</th><th>value</th></tr>");
        for (k, v) in obj {
            let shown = v
                .as_f64()
                .map_or_else(|| v.as_str().unwrap_or("").to_string(), |f| num(f, 4));
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(k),
                escape(&shown)
            );
        }
        s.push_str("</table>");
        return Ok(s);
    }
    let pretty = serde_json::to_string_pretty(&value).unwrap_or(text);
    Ok(format!("<pre>{}</pre>", escape(&pretty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_data_uris() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            data_uri("text/plain", b"hi!"),
            "data:text/plain;base64,aGkh"
        );
        assert_eq!(num(f64::NAN, 2), "–");
        assert_eq!(num(f64::INFINITY, 2), "inf");
        assert_eq!(num(1.23456, 2), "1.23");
    }
}
