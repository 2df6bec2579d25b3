//! The noise-level sweep: one model per noise level, each measured on reconstruction, failure
//! modes and representation, and the document's four regimes read off the measurements.
//!
//! The source document's table "Choosing the noise level" says what a level does:
//!
//! | level | effect |
//! |---|---|
//! | very low | nearly trivial reconstruction |
//! | moderate | useful representation learning |
//! | high | strong abstraction, possible blur |
//! | extreme | ambiguous or impossible reconstruction |
//!
//! Here each row is a measurable rule ([`classify`]), checked in this order on the model's
//! held-out results at its own level:
//!
//! - **extreme**: the reconstruction explains less than half of the images' variation around the
//!   data mean, `1 − MSE(x̂) / MSE(mean image) <` [`Thresholds::explained_min`] (0.5): the output
//!   says little more about x than a guess that ignores the input;
//! - **high**: the output keeps less high-frequency energy than [`Thresholds::hf_ratio_min`] of
//!   the truth's: blur (the over-smoothing diagnostic);
//! - **very low**: the model adds less than [`Thresholds::gain_min_db`] over handing back its
//!   input, or its output is more than twice as close to its input as to the truth (the
//!   barely-denoises and identity diagnostics): the task was nearly trivial;
//! - **moderate**: none of the above.
//!
//! The sweep recommends the level whose encoder scores best under the linear probe, and compares
//! it with "random strength" training (a level drawn per sample from `lo..hi`).
//!
//! This module knows no modality: a task measures each level into a [`SweepPoint`]
//! (`tasks/image/sweep.rs` for images) and the rest (regimes, recommendation, `sweep.json`,
//! `summary.json`, the table and the plot [`plot::write_sweep_png`]) is shared.

pub mod family;
pub mod plot;

use serde::{Deserialize, Serialize};

pub use family::NoiseFamily;

/// The four effects of the document's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Very low noise: nearly trivial reconstruction.
    Trivial,
    /// Moderate noise: useful representation learning.
    Useful,
    /// High noise: strong abstraction, possible blur.
    Blur,
    /// Extreme noise: ambiguous or impossible reconstruction.
    Impossible,
}

impl Regime {
    /// The document's words for the regime's level.
    pub fn level_words(self) -> &'static str {
        match self {
            Regime::Trivial => "very low",
            Regime::Useful => "moderate",
            Regime::Blur => "high",
            Regime::Impossible => "extreme",
        }
    }

    /// The document's words for its effect.
    pub fn effect(self) -> &'static str {
        match self {
            Regime::Trivial => "nearly trivial reconstruction",
            Regime::Useful => "useful representation learning",
            Regime::Blur => "strong abstraction, possible blur",
            Regime::Impossible => "ambiguous or impossible reconstruction",
        }
    }
}

/// The thresholds of [`classify`]; a task passes its own diagnostics' thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Below this PSNR gain (dB) over the noisy input: very low (barely denoises).
    pub gain_min_db: f64,
    /// Below this ‖x̂ − x̃‖ / ‖x̂ − x‖: very low (identity learning).
    pub input_distance_ratio_min: f64,
    /// Below this high-frequency energy ratio (output over truth): high (blur).
    pub hf_ratio_min: f64,
    /// Below this share of variance explained over the mean image: extreme.
    pub explained_min: f64,
}

/// One noise level's model, measured: an object of `sweep.json`.
///
/// Reconstruction is measured at the model's own level and at the sweep's fixed test level (the
/// same held-out images and corruption draws for every level); the representation by probes on
/// the encoder's codes of clean images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The noise level the model was trained at (NaN for a random-strength run).
    pub level: f64,
    /// The training noise spec.
    pub noise: String,
    /// Its run directory, relative to the sweep directory.
    pub run: String,
    /// Held-out PSNR (dB) of the output at the model's own level.
    pub psnr: f64,
    /// Held-out mean SSIM of the output at its own level.
    pub ssim: f64,
    /// PSNR (dB) of the noisy input at its own level.
    pub noisy_psnr: f64,
    /// `psnr − noisy_psnr`.
    pub gain_db: f64,
    /// ‖x̂ − x̃‖ / ‖x̂ − x‖ at its own level (identity learning below 0.5).
    pub input_distance_ratio: f64,
    /// High-frequency energy of the output over the truth's, at its own level.
    pub hf_ratio: f64,
    /// `1 − MSE(x̂) / MSE(mean image)` at its own level: the share of the images' variation
    /// around the mean image that the reconstruction recovers.
    pub explained: f64,
    /// Held-out PSNR (dB) at the sweep's fixed test level.
    pub test_psnr: f64,
    /// Held-out mean SSIM at the fixed test level.
    pub test_ssim: f64,
    /// Linear probe accuracy on the codes of clean held-out inputs.
    pub linear_accuracy: f64,
    /// k-NN accuracy on the same codes.
    pub knn_accuracy: f64,
    /// Normalized mutual information of k-means clusters of the codes and the labels.
    pub nmi: f64,
    /// Held-out items behind the reconstruction numbers.
    pub count: usize,
    /// Training items the linear probe was fitted on (and the k-NN searched).
    pub probe_train_count: usize,
    /// Held-out items the probes were scored on.
    pub probe_test_count: usize,
    /// The regime [`classify`] reads off these numbers.
    pub regime: Regime,
    /// Whether this level is the sweep's recommendation (best linear probe).
    pub recommended: bool,
}

/// The regime of a model from its numbers at its own level (rules in the module docs).
pub fn classify(point: &SweepPoint, t: &Thresholds) -> Regime {
    // A NaN fails every `<` test below: an undefined number never moves a model out of moderate.
    if point.explained < t.explained_min {
        Regime::Impossible
    } else if point.hf_ratio < t.hf_ratio_min {
        Regime::Blur
    } else if point.gain_db < t.gain_min_db
        || point.input_distance_ratio < t.input_distance_ratio_min
    {
        Regime::Trivial
    } else {
        Regime::Useful
    }
}

/// The index of the point with the best linear probe (the first of equals); `None` when no
/// point has a finite accuracy.
pub fn best_by_probe(points: &[SweepPoint]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, p) in points.iter().enumerate() {
        if !p.linear_accuracy.is_finite() {
            continue;
        }
        if best.is_none_or(|b| p.linear_accuracy > points[b].linear_accuracy) {
            best = Some(i);
        }
    }
    best
}

/// Sets every point's regime and marks the recommendation; returns its index.
pub fn conclude(points: &mut [SweepPoint], thresholds: &Thresholds) -> Option<usize> {
    for p in points.iter_mut() {
        p.regime = classify(p, thresholds);
        p.recommended = false;
    }
    let best = best_by_probe(points);
    if let Some(b) = best {
        points[b].recommended = true;
    }
    best
}

/// Random-strength training against the best fixed level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomComparison {
    /// Low end of the drawn level.
    pub lo: f64,
    /// High end of the drawn level.
    pub hi: f64,
    /// The random-strength model, measured like every level (its `level` is NaN; its own-level
    /// numbers are under the drawn strengths).
    pub point: SweepPoint,
    /// The fixed level it is compared with: the recommendation.
    pub best_fixed_level: f64,
    /// Its test-level PSNR minus the best fixed level's (dB).
    pub test_psnr_delta: f64,
    /// Its linear probe accuracy minus the best fixed level's.
    pub linear_delta: f64,
    /// Its k-NN accuracy minus the best fixed level's.
    pub knn_delta: f64,
}

impl RandomComparison {
    /// Compares `point` (trained on `lo..hi`) with `best`.
    pub fn new(lo: f64, hi: f64, point: SweepPoint, best: &SweepPoint) -> Self {
        Self {
            lo,
            hi,
            best_fixed_level: best.level,
            test_psnr_delta: point.test_psnr - best.test_psnr,
            linear_delta: point.linear_accuracy - best.linear_accuracy,
            knn_delta: point.knn_accuracy - best.knn_accuracy,
            point,
        }
    }
}

/// `summary.json`: what was swept, the input-free baseline, the recommendation and the
/// random-strength comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The task the runs belong to (`image`).
    pub task: String,
    /// The noise family swept.
    pub family: NoiseFamily,
    /// The levels, in the order of `sweep.json`.
    pub levels: Vec<f64>,
    /// The fixed test level every model is also measured at.
    pub test_level: f64,
    /// Its spec.
    pub test_noise: String,
    /// PSNR (dB) of the training set's mean image on the held-out set: what ignoring the input
    /// achieves (the extreme regime's reference).
    pub mean_image_psnr: f64,
    /// The level with the best linear probe.
    pub recommended_level: Option<f64>,
    /// The thresholds the regimes were read with.
    pub thresholds: Thresholds,
    /// Random-strength training against the recommendation, if it was run.
    pub random: Option<RandomComparison>,
}

/// The sweep as a plain-text table: one line per level, then the random-strength run.
pub fn table(points: &[SweepPoint], summary: &SweepSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>8}  {:<9} {:>7} {:>7} {:>6} {:>6} {:>5} {:>6} {:>8} {:>7} {:>6} {:>6}",
        summary
            .family
            .level_name()
            .split(' ')
            .next()
            .unwrap_or("level"),
        "regime",
        "PSNR",
        "noisy",
        "gain",
        "rho",
        "hf",
        "expl",
        format!("@{}", summary.test_level),
        "linear",
        "5-NN",
        "NMI"
    );
    let row = |out: &mut String, label: &str, p: &SweepPoint, regime: &str, mark: &str| {
        let _ = writeln!(
            out,
            "{label:>8}  {regime:<9} {:>7.2} {:>7.2} {:>+6.2} {:>6.2} {:>5.2} {:>6.3} {:>8.2} {:>7.4} {:>6.4} {:>6.4}{mark}",
            p.psnr,
            p.noisy_psnr,
            p.gain_db,
            p.input_distance_ratio,
            p.hf_ratio,
            p.explained,
            p.test_psnr,
            p.linear_accuracy,
            p.knn_accuracy,
            p.nmi,
        );
    };
    for p in points {
        let mark = if p.recommended {
            "  <- recommended"
        } else {
            ""
        };
        row(
            &mut out,
            &format!("{}", p.level),
            p,
            p.regime.level_words(),
            mark,
        );
    }
    if let Some(r) = &summary.random {
        row(
            &mut out,
            &format!("{}..{}", r.lo, r.hi),
            &r.point,
            "random",
            "",
        );
        let _ = writeln!(
            out,
            "random strength {}..{} against the best fixed level {}: PSNR@{} {:+.2} dB, \
             linear {:+.4}, 5-NN {:+.4}",
            r.lo,
            r.hi,
            r.best_fixed_level,
            summary.test_level,
            r.test_psnr_delta,
            r.linear_delta,
            r.knn_delta
        );
    }
    let _ = writeln!(
        out,
        "mean image (ignores the input): {:.2} dB",
        summary.mean_image_psnr
    );
    if let Some(level) = summary.recommended_level {
        let _ = writeln!(
            out,
            "recommended level (best linear probe): {} = {level}",
            summary.family.level_name()
        );
    }
    out
}

#[cfg(test)]
mod tests;
