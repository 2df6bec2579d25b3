//! `report.html` of an audio run: configuration, training curves (loss; validation SI-SDR of
//! the denoised and the noisy clips), a validation clip clean / noisy / denoised as waveforms
//! and spectrograms, and the evaluation `dae eval --save` kept (the model beside spectral
//! subtraction over noise types and levels).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::config::AudioConfig;
use super::denoise::denoise;
use super::eval::{load_audio_run, AudioEvalRow};
use super::signal::stft::Stft;
use super::task::{AudioEpochMetrics, AudioTask};
use crate::fsio::write_atomic;
use crate::report::charts::{epoch_charts, EpochChart};
use crate::report::page::{escape, num, page, png_figure};
use crate::report::plot::{render_png, Canvas, DrawResult, FONT};
use crate::run::metrics::read_records;
use crate::run::RunDir;
use crate::Result;

/// Writes `RUN_DIR/audio_examples.png` and `RUN_DIR/report.html` for the audio run at
/// `run_dir`; returns the report's path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let (config, config_text): (AudioConfig, String) = run.read_config_with_text("audio run")?;
    let metrics: Vec<AudioEpochMetrics> = read_records(&run, usize::MAX)?;
    let s = &config.run;
    let mut body = String::new();
    let _ = write!(
        body,
        "<h2 id=\"config\">Configuration</h2><table>\
         <tr><th>model</th><td>{}</td></tr><tr><th>loss</th><td>{}</td></tr>\
         <tr><th>training noise</th><td>{}</td></tr>\
         <tr><th>segments</th><td>{} samples at {} Hz, batch {}</td></tr>\
         <tr><th>learning rate</th><td>{} ({})</td></tr><tr><th>seed</th><td>{}</td></tr>\
         <tr><th>data</th><td>{}</td></tr></table>\
         <details><summary>config.json</summary><pre>{}</pre></details>",
        escape(&format!("{:?}", config.model)),
        config.loss,
        escape(config.noise.as_str()),
        config.segment,
        config.sample_rate.unwrap_or(0),
        s.batch_size,
        s.lr,
        s.lr_schedule,
        s.seed,
        escape(
            &s.data
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "the embedded FSDD subset".into())
        ),
        escape(&config_text)
    );
    body.push_str("<h2 id=\"training\">Training</h2>");
    if metrics.is_empty() {
        body.push_str("<p class=\"muted\">No epoch has finished yet.</p>");
    } else {
        body.push_str(&training_section(&metrics)?);
    }
    body.push_str("<h2 id=\"examples\">A validation clip</h2>");
    if run.trained_model().is_ok() {
        write_examples(&run)?;
        if let Some(figure) = png_figure(
            &run.audio_examples(),
            "Waveforms and spectrograms of a validation clip: clean, noisy, denoised",
        )? {
            body.push_str(&figure);
        }
    } else {
        body.push_str("<p class=\"muted\">No model has been saved yet.</p>");
    }
    body.push_str("<h2 id=\"eval\">Evaluation</h2>");
    let rows = read_eval(&run)?;
    if rows.is_empty() {
        body.push_str(
            "<p class=\"muted\">Run <code>dae eval RUN --save</code> to add the robustness \
             matrix (noise types × SNRs) with spectral subtraction beside the model.</p>",
        );
    } else {
        body.push_str(&eval_section(&rows));
    }
    let subtitle = format!(
        "Speech denoiser ({}) trained on <code>{}</code> for {} epochs.",
        config.model.name(),
        escape(config.noise.as_str()),
        metrics.len()
    );
    let html = page(&run.name(), &subtitle, &[], &body);
    let out = run.report();
    write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

fn read_eval(run: &RunDir) -> Result<Vec<AudioEvalRow>> {
    let path = run.eval_records();
    if !path.exists() {
        return Ok(Vec::new());
    }
    crate::fsio::read_json_lines(&path)
}

/// Writes `rows` to `path` (`RUN/eval.jsonl`), one JSON line each, replacing what was there.
pub fn write_eval_rows(path: &Path, rows: &[AudioEvalRow]) -> Result<()> {
    crate::fsio::write_json_lines(path, rows)
}

fn eval_section(rows: &[AudioEvalRow]) -> String {
    let mut s = String::from(
        "<p>Mean over the test clips; SI-SDR and segmental SNR (256-sample frames clamped to \
         [−10, 35] dB, silent frames skipped) in dB.</p><table><tr><th>noise</th>\
         <th>clips</th><th>noisy SI-SDR</th><th><b>model SI-SDR</b></th>\
         <th>spectral subtraction SI-SDR</th><th>noisy segSNR</th><th><b>model segSNR</b></th>\
         <th>subtraction segSNR</th></tr>",
    );
    for r in rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td>\
             <td><b>{}</b></td><td>{}</td></tr>",
            escape(&r.noise),
            r.count,
            num(r.noisy_si_sdr, 2),
            num(r.si_sdr, 2),
            num(r.subtraction_si_sdr, 2),
            num(r.noisy_seg_snr, 2),
            num(r.seg_snr, 2),
            num(r.subtraction_seg_snr, 2)
        );
    }
    s.push_str("</table>");
    s
}

fn training_section(metrics: &[AudioEpochMetrics]) -> Result<String> {
    let mut s = epoch_charts(
        metrics,
        &[
            EpochChart {
                title: "Loss",
                y_label: "loss",
                alt: "Training loss per epoch",
                lines: vec![("train", |m: &AudioEpochMetrics| m.train_loss)],
            },
            EpochChart {
                title: "Validation SI-SDR",
                y_label: "dB",
                alt: "SI-SDR of the denoised and the noisy validation clips per epoch",
                lines: vec![
                    ("denoised", |m: &AudioEpochMetrics| m.val_si_sdr),
                    ("noisy", |m: &AudioEpochMetrics| m.val_noisy_si_sdr),
                ],
            },
        ],
    )?;
    s.push_str(
        "<table><tr><th>epoch</th><th>train loss</th><th>val SI-SDR</th><th>noisy SI-SDR</th>\
         <th>val segSNR</th><th>seconds</th></tr>",
    );
    for m in metrics {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.epoch,
            num(m.train_loss, 5),
            num(m.val_si_sdr, 2),
            num(m.val_noisy_si_sdr, 2),
            num(m.val_seg_snr, 2),
            num(m.train_seconds, 2)
        );
    }
    s.push_str("</table>");
    Ok(s)
}

/// The first validation clip, clean / noisy / denoised: a waveform and a spectrogram each.
fn write_examples(run: &RunDir) -> Result<()> {
    let loaded = load_audio_run(&run.root, None)?;
    let data = super::task::load_data(&loaded.config)?;
    let task = AudioTask::new(loaded.config.clone(), data)?;
    let Some((clean, noisy)) = task.validation_clips().first().cloned() else {
        return Ok(());
    };
    let denoised = denoise(&loaded.model, &loaded.config.model, &noisy, &loaded.device);
    let rate = task.sample_rate();
    let rows = [("clean", clean), ("noisy", noisy), ("denoised", denoised)];
    let stft = Stft::new(256, 64)?;
    // One amplitude scale for the three rows (the clip's peak), so that they compare at a glance
    // however quiet the speaker is.
    let peak = rows
        .iter()
        .flat_map(|(_, x)| x.iter())
        .fold(1e-6f32, |m, v| m.max(v.abs())) as f64;
    render_png(&run.audio_examples(), 1200, 660, |area| {
        let panels = area.split_evenly((3, 2));
        for (r, (name, x)) in rows.iter().enumerate() {
            draw_waveform(&panels[2 * r], name, x, rate, peak)?;
            draw_spectrogram(&panels[2 * r + 1], name, &stft, x, rate)?;
        }
        Ok(())
    })
}

fn draw_waveform(area: &Canvas<'_>, name: &str, x: &[f32], rate: u32, peak: f64) -> DrawResult {
    let seconds = x.len() as f64 / rate as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{name}: waveform"), (FONT, 16))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(36)
        .build_cartesian_2d(0f64..seconds, -peak..peak)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style((FONT, 11))
        .x_desc("s")
        .draw()?;
    // One vertical stroke per pixel column from its minimum to its maximum.
    let columns = 560usize;
    let per = x.len().div_ceil(columns).max(1);
    chart.draw_series(x.chunks(per).enumerate().map(|(i, c)| {
        let (lo, hi) = c
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let t = (i * per) as f64 / rate as f64;
        PathElement::new(vec![(t, lo as f64), (t, hi as f64)], RGBColor(0, 114, 178))
    }))?;
    Ok(())
}

fn draw_spectrogram(
    area: &Canvas<'_>,
    name: &str,
    stft: &Stft,
    x: &[f32],
    rate: u32,
) -> DrawResult {
    let spec = stft.forward(x);
    let db: Vec<f32> = spec
        .magnitude()
        .iter()
        .map(|m| 20.0 * (m + 1e-6).log10())
        .collect();
    let top = db.iter().copied().fold(f32::MIN, f32::max);
    let seconds = x.len() as f64 / rate as f64;
    let nyquist = rate as f64 / 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{name}: spectrogram (80 dB range)"), (FONT, 16))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..seconds, 0f64..nyquist)?;
    chart
        .configure_mesh()
        .label_style((FONT, 11))
        .x_desc("s")
        .y_desc("Hz")
        .draw()?;
    let frame_s = stft.hop() as f64 / rate as f64;
    let bin_hz = nyquist / (spec.bins - 1).max(1) as f64;
    chart.draw_series((0..spec.frames).flat_map(|f| {
        let db = &db;
        (0..spec.bins).map(move |b| {
            let level = ((db[f * spec.bins + b] - top + 80.0) / 80.0).clamp(0.0, 1.0);
            let t = f as f64 * frame_s;
            let hz = b as f64 * bin_hz;
            Rectangle::new([(t, hz), (t + frame_s, hz + bin_hz)], magma(level).filled())
        })
    }))?;
    Ok(())
}

/// A dark-to-bright colour ramp (black, purple, orange, pale yellow) for level in [0, 1].
fn magma(level: f32) -> RGBColor {
    let stops = [
        (0.0, [0, 0, 4]),
        (0.35, [114, 31, 129]),
        (0.7, [241, 96, 93]),
        (1.0, [252, 253, 191]),
    ];
    let mut i = 0;
    while i + 2 < stops.len() && level > stops[i + 1].0 {
        i += 1;
    }
    let (a, b) = (stops[i], stops[i + 1]);
    let t = ((level - a.0) / (b.0 - a.0)).clamp(0.0, 1.0);
    let mix = |k: usize| (a.1[k] as f32 + t * (b.1[k] as f32 - a.1[k] as f32)).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}
