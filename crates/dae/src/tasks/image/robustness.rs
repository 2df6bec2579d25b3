//! Robustness: one model evaluated under many corruptions, with the failure-mode diagnostics of
//! each, and the train-noise x test-noise matrix of several models.
//!
//! "Trained on Gaussian, fails on masking" is a statement about a matrix: rows are the corruption
//! a model was trained on, columns the corruption it is tested on, cells the held-out PSNR. The
//! standard list of test corruptions is [`STANDARD_SUITE`].

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use super::diagnostics::{Diagnostics, DiagnosticsAccumulator, Warning};
use super::heldout::{evaluate_each, HeldOut};
use super::predictor::Predictor;
use crate::corrupt::{Corruption, NoiseSpec};
use crate::tasks::image::data::ImageSet;
use crate::{Error, Result};

/// The standard robustness suite (`dae eval --suite standard`): Gaussian noise of four
/// strengths, pixel masking, salt-and-pepper, random erasing and patch masking.
pub const STANDARD_SUITE: [&str; 8] = [
    "gaussian:sigma=0.1",
    "gaussian:sigma=0.2",
    "gaussian:sigma=0.3",
    "gaussian:sigma=0.5",
    "mask:keep=0.8",
    "saltpepper:p=0.1",
    "erase:frac=0.25",
    "patch:size=7,ratio=0.5",
];

/// The noise specs of a named suite; `None` for an unknown name. Known: `standard`.
pub fn suite(name: &str) -> Option<Vec<NoiseSpec>> {
    let parse = |s: &&str| NoiseSpec::parse(s).expect("the suites' specs parse");
    match name {
        "standard" => Some(STANDARD_SUITE.iter().map(parse).collect()),
        _ => None,
    }
}

/// Like [`super::heldout::evaluate`] (same corruption draws for the same seed, so the same
/// metrics), and also the failure-mode [`Diagnostics`] of the same images.
pub fn evaluate_with_diagnostics(
    predictor: &Predictor,
    set: &ImageSet,
    corruption: &dyn Corruption,
    seed: u64,
    batch: usize,
) -> Result<(HeldOut, Diagnostics)> {
    let mut sums = DiagnosticsAccumulator::new();
    let held = evaluate_each(
        predictor,
        set,
        corruption,
        seed,
        batch,
        |clean: &[f32], noisy: &[f32], x_hat: &[f32]| {
            sums.add_batch(clean, noisy, x_hat, set.height, set.width)
        },
    )?;
    let diagnostics = Diagnostics::new(&held.denoised, &held.noisy, &sums);
    Ok((held, diagnostics))
}

/// One evaluated noise spec: a line of `eval.jsonl` and of `dae eval --json`.
///
/// Non-finite values (NaN, e.g. `noise_removed` under `none`; infinity, e.g. `noisy_psnr` under
/// `none`) are written as JSON `null` and read back as NaN; a diagnostic missing from an older
/// file reads as NaN too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// The noise spec as given.
    pub noise: String,
    /// MSE of the denoised output x̂ against x.
    #[serde(deserialize_with = "nan_if_null")]
    pub mse: f64,
    /// PSNR (dB) of x̂.
    #[serde(deserialize_with = "nan_if_null")]
    pub psnr: f64,
    /// Mean SSIM of x̂.
    #[serde(deserialize_with = "nan_if_null")]
    pub ssim: f64,
    /// MSE of the noisy input x̃ against x.
    #[serde(deserialize_with = "nan_if_null")]
    pub noisy_mse: f64,
    /// PSNR (dB) of x̃.
    #[serde(deserialize_with = "nan_if_null")]
    pub noisy_psnr: f64,
    /// Mean SSIM of x̃.
    #[serde(deserialize_with = "nan_if_null")]
    pub noisy_ssim: f64,
    /// `psnr − noisy_psnr` (the diagnostics' gain).
    #[serde(deserialize_with = "nan_if_null")]
    pub psnr_gain: f64,
    /// ‖x̂ − x̃‖ / ‖x̂ − x‖ (see [`Diagnostics::input_distance_ratio`]).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub input_distance_ratio: f64,
    /// Fraction of the corruption undone (see [`Diagnostics::noise_removed`]).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub noise_removed: f64,
    /// High-frequency energy of x̂ over that of x.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub hf_ratio: f64,
    /// High-frequency energy of x̃ over that of x.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub noisy_hf_ratio: f64,
    /// Number of images.
    pub count: usize,
    /// The failure-mode warnings the diagnostics raise.
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

fn nan() -> f64 {
    f64::NAN
}

fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl EvalRecord {
    /// The record of `noise` from its metrics and diagnostics.
    pub fn new(noise: &str, held: &HeldOut, diagnostics: &Diagnostics) -> Self {
        Self {
            noise: noise.to_string(),
            mse: held.denoised.mse,
            psnr: held.denoised.psnr,
            ssim: held.denoised.ssim,
            noisy_mse: held.noisy.mse,
            noisy_psnr: held.noisy.psnr,
            noisy_ssim: held.noisy.ssim,
            psnr_gain: diagnostics.gain_db,
            input_distance_ratio: diagnostics.input_distance_ratio,
            noise_removed: diagnostics.noise_removed,
            hf_ratio: diagnostics.hf_ratio,
            noisy_hf_ratio: diagnostics.noisy_hf_ratio,
            count: held.denoised.count,
            warnings: diagnostics.warnings(),
        }
    }
}

/// Evaluates `predictor` on `set` under every spec of `specs`, calling `on_record` as each
/// finishes. Every spec sees the corruption
/// draws of the same `seed`.
pub fn evaluate_specs(
    predictor: &Predictor,
    set: &ImageSet,
    specs: &[NoiseSpec],
    seed: u64,
    batch: usize,
    on_record: &mut dyn FnMut(&EvalRecord),
) -> Result<Vec<EvalRecord>> {
    if batch == 0 {
        return Err(Error::Config(
            "evaluation batch size must be at least 1".into(),
        ));
    }
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let (held, diag) = evaluate_with_diagnostics(predictor, set, spec.get(), seed, batch)?;
        let record = EvalRecord::new(spec.as_str(), &held, &diag);
        on_record(&record);
        out.push(record);
    }
    Ok(out)
}

/// Writes `records` as JSON lines to `path`, atomically.
pub fn write_records(path: &Path, records: &[EvalRecord]) -> Result<()> {
    crate::fsio::write_json_lines(path, records)
}

/// Reads the JSON lines of [`write_records`].
pub fn read_records(path: &Path) -> Result<Vec<EvalRecord>> {
    crate::fsio::read_json_lines(path)
}

/// Held-out PSNR of models trained on different corruptions (rows) under different test
/// corruptions (columns): `matrix.json` of `dae experiment robustness`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessMatrix {
    /// The training corruption of each row.
    pub train_noise: Vec<String>,
    /// The run directory of each row, relative to the experiment directory.
    pub runs: Vec<String>,
    /// The test corruption of each column.
    pub test_noise: Vec<String>,
    /// `psnr[row][col]`: PSNR (dB) of the row's model under the column's corruption.
    pub psnr: Vec<Vec<f64>>,
    /// `ssim[row][col]`: mean SSIM, laid out as `psnr`.
    pub ssim: Vec<Vec<f64>>,
    /// PSNR (dB) of the noisy input of each column (the same images for every row).
    pub noisy_psnr: Vec<f64>,
    /// Mean SSIM of the noisy input of each column.
    pub noisy_ssim: Vec<f64>,
    /// Held-out images behind each cell.
    pub count: usize,
}

impl RobustnessMatrix {
    /// Builds the matrix from each row's evaluation records (every row must hold the same test
    /// specs in the same order).
    pub fn from_records(
        train_noise: Vec<String>,
        runs: Vec<String>,
        rows: &[Vec<EvalRecord>],
    ) -> Result<Self> {
        let first = rows
            .first()
            .ok_or_else(|| Error::Config("a robustness matrix needs at least one row".into()))?;
        let test_noise: Vec<String> = first.iter().map(|r| r.noise.clone()).collect();
        for row in rows {
            let specs: Vec<&String> = row.iter().map(|r| &r.noise).collect();
            if specs != test_noise.iter().collect::<Vec<_>>() {
                return Err(Error::Config(
                    "robustness matrix rows were evaluated on different noise specs".into(),
                ));
            }
        }
        let pick = |f: fn(&EvalRecord) -> f64| -> Vec<Vec<f64>> {
            rows.iter().map(|row| row.iter().map(f).collect()).collect()
        };
        Ok(Self {
            psnr: pick(|r| r.psnr),
            ssim: pick(|r| r.ssim),
            noisy_psnr: first.iter().map(|r| r.noisy_psnr).collect(),
            noisy_ssim: first.iter().map(|r| r.noisy_ssim).collect(),
            count: first.first().map_or(0, |r| r.count),
            train_noise,
            runs,
            test_noise,
        })
    }

    /// A plain-text table: one row per training noise, one column per test noise (numbered,
    /// with a legend below, since specs are long), a last row with the noisy input's PSNR and
    /// each column's best row marked with `*`.
    pub fn table(&self) -> String {
        let mut s = format!("{:<28}", "PSNR dB: train \\ test");
        for j in 0..self.test_noise.len() {
            s.push_str(&format!(" {:>8}", format!("[{}]", j + 1)));
        }
        s.push('\n');
        for (i, name) in self.train_noise.iter().enumerate() {
            s.push_str(&format!("{:<28}", short(name, 28)));
            for j in 0..self.test_noise.len() {
                let best = self.best_row(j) == Some(i);
                let cell = format!("{:.2}{}", self.psnr[i][j], if best { "*" } else { " " });
                s.push_str(&format!(" {cell:>8}"));
            }
            s.push('\n');
        }
        s.push_str(&format!("{:<28}", "(noisy input)"));
        for v in &self.noisy_psnr {
            s.push_str(&format!(" {:>8}", format!("{v:.2} ")));
        }
        s.push('\n');
        for (j, t) in self.test_noise.iter().enumerate() {
            s.push_str(&format!("[{}] {t}\n", j + 1));
        }
        s
    }

    /// The row with the highest PSNR in column `col` (NaN cells never win).
    pub fn best_row(&self, col: usize) -> Option<usize> {
        (0..self.psnr.len())
            .filter(|&i| self.psnr[i][col].is_finite())
            .max_by(|&a, &b| self.psnr[a][col].total_cmp(&self.psnr[b][col]))
    }
}

/// `text` cut to `max` characters, with `…` where it was cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
#[path = "robustness_tests.rs"]
mod tests;
