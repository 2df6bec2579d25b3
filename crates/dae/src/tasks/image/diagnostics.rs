//! Failure-mode diagnostics: is the model denoising at all, is it copying its input (identity
//! learning), is it blurring the image (over-smoothing)?
//!
//! Reconstruction error alone does not tell these apart. Three numbers do, each measured on a
//! held-out set with clean images x, corrupted inputs x̃ and outputs x̂ (sums over every pixel of
//! every image):
//!
//! - **gain** (dB) `= PSNR(x̂, x) − PSNR(x̃, x)`: what the model adds over handing back its input.
//!   Below [`GAIN_MIN_DB`] the model "barely denoises".
//! - **input distance ratio** `ρ = ‖x̂ − x̃‖ / ‖x̂ − x‖`: how much closer the output is to its
//!   noisy input than to the clean image. ρ = 0 for a pure copy (x̂ = x̃), ρ < 1 when x̂ is nearer
//!   x̃ than x, large when x̂ is near x. Below [`INPUT_DISTANCE_RATIO_MIN`] (the output at least
//!   twice as close to x̃ as to x) the model mostly hands its input back: identity learning.
//!   Infinite when x̂ = x exactly.
//! - **noise removed** `r = ⟨x̂ − x̃, x − x̃⟩ / ‖x − x̃‖²`, which explains ρ: write
//!   x̂ = x̃ + r (x − x̃) + e with e orthogonal to the corruption x − x̃; r is the fraction of the way
//!   from x̃ back to x that x̂ went: 0 for a copy, 1 when the corruption was undone exactly. It has
//!   no threshold of its own: under weak noise ‖x − x̃‖ is tiny and r is dominated by the model's
//!   own error, while ρ stays near 1 there. Undefined (NaN) when x̃ = x everywhere.
//! - **high-frequency ratio** `h = Σ (Δx̂)² / Σ (Δx)²`, with Δ the 4-neighbour discrete Laplacian
//!   `4 p(i,j) − p(i−1,j) − p(i+1,j) − p(i,j−1) − p(i,j+1)` on interior pixels: the energy of
//!   edges and texture in x̂ relative to the truth. h < 1 means x̂ is smoother than x; below
//!   [`HF_RATIO_MIN`] the output has lost most of the fine detail: over-smoothing. (MSE-trained
//!   DAEs are always somewhat smooth: the document's conv DAE trained on the full Fashion-MNIST
//!   keeps about 0.45-0.5 of it, see BENCHMARKS.md.) The same ratio for x̃
//!   ([`Diagnostics::noisy_hf_ratio`]) is usually far above 1 (noise is high-frequency).
//!   Undefined (NaN) for images under 3x3 or with no edges at all.

use serde::{Deserialize, Serialize};

use super::metrics::ReconstructionMetrics;

/// Below this PSNR gain (dB) over the noisy input, a model "barely denoises".
pub const GAIN_MIN_DB: f64 = 1.0;
/// Below this ratio ‖x̂ − x̃‖ / ‖x̂ − x‖ (the output twice as close to its input as to the truth),
/// the model mostly copies its input.
pub const INPUT_DISTANCE_RATIO_MIN: f64 = 0.5;
/// Below this ratio of high-frequency energy (output over truth), the output is over-smoothed.
pub const HF_RATIO_MIN: f64 = 0.3;

/// The three failure-mode numbers of one evaluation (see the module docs for the formulas).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// PSNR(x̂, x) − PSNR(x̃, x) in dB.
    pub gain_db: f64,
    /// ρ = ‖x̂ − x̃‖ / ‖x̂ − x‖: below 1 the output is nearer its input than the truth.
    pub input_distance_ratio: f64,
    /// r = ⟨x̂ − x̃, x − x̃⟩ / ‖x − x̃‖²: 0 = copies x̃, 1 = undoes the corruption.
    pub noise_removed: f64,
    /// Σ (Δx̂)² / Σ (Δx)²: below 1 the output is smoother than the truth.
    pub hf_ratio: f64,
    /// Σ (Δx̃)² / Σ (Δx)²: the same for the noisy input, for comparison.
    pub noisy_hf_ratio: f64,
}

/// A failure mode that a diagnostic crossed its threshold for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// Gain below [`GAIN_MIN_DB`].
    BarelyDenoises,
    /// Input distance ratio below [`INPUT_DISTANCE_RATIO_MIN`].
    IdentityLearning,
    /// High-frequency ratio below [`HF_RATIO_MIN`].
    OverSmoothing,
}

/// A plain-language warning: which failure mode, and a sentence with the number behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// The failure mode.
    pub mode: FailureMode,
    /// One sentence for people, with the measured value and the threshold.
    pub message: String,
}

impl Diagnostics {
    /// Combines the metrics of x̂ and x̃ against x with the sums of [`DiagnosticsAccumulator`].
    pub fn new(
        denoised: &ReconstructionMetrics,
        noisy: &ReconstructionMetrics,
        sums: &DiagnosticsAccumulator,
    ) -> Self {
        Self {
            gain_db: denoised.psnr - noisy.psnr,
            input_distance_ratio: sums.input_distance_ratio(),
            noise_removed: sums.noise_removed(),
            hf_ratio: sums.hf_ratio(),
            noisy_hf_ratio: sums.noisy_hf_ratio(),
        }
    }

    /// The warnings these numbers raise, in the order gain, identity, smoothing. NaN values (an
    /// undefined diagnostic) raise none.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        if self.gain_db < GAIN_MIN_DB {
            out.push(Warning {
                mode: FailureMode::BarelyDenoises,
                message: format!(
                    "barely denoises: the output is only {:+.2} dB better than the noisy input \
                     (threshold {GAIN_MIN_DB} dB)",
                    self.gain_db
                ),
            });
        }
        if self.input_distance_ratio < INPUT_DISTANCE_RATIO_MIN {
            out.push(Warning {
                mode: FailureMode::IdentityLearning,
                message: format!(
                    "identity learning: the output is {:.1}x closer to its noisy input than to \
                     the clean image and undoes only {:.0}% of the corruption (threshold: \
                     distance ratio {INPUT_DISTANCE_RATIO_MIN})",
                    1.0 / self.input_distance_ratio.max(1e-9),
                    100.0 * self.noise_removed
                ),
            });
        }
        if self.hf_ratio < HF_RATIO_MIN {
            out.push(Warning {
                mode: FailureMode::OverSmoothing,
                message: format!(
                    "over-smoothing: the output keeps only {:.0}% of the clean images' \
                     high-frequency energy (threshold {:.0}%)",
                    100.0 * self.hf_ratio,
                    100.0 * HF_RATIO_MIN
                ),
            });
        }
        out
    }
}

/// Accumulates the sums behind [`Diagnostics`] over batches of (x, x̃, x̂).
#[derive(Clone, Debug, Default)]
pub struct DiagnosticsAccumulator {
    /// Σ ⟨x̂ − x̃, x − x̃⟩.
    toward_clean: f64,
    /// Σ ‖x − x̃‖².
    corruption_energy: f64,
    /// Σ ‖x̂ − x̃‖².
    to_input: f64,
    /// Σ ‖x̂ − x‖².
    to_clean: f64,
    /// Σ (Δx)².
    hf_clean: f64,
    /// Σ (Δx̂)².
    hf_denoised: f64,
    /// Σ (Δx̃)².
    hf_noisy: f64,
}

impl DiagnosticsAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds images of `h`x`w`, one after another in each slice: the clean `x`, the noisy inputs
    /// `x̃` and the outputs `x̂`. The three slices must have the same length, a multiple of h·w.
    ///
    /// # Panics
    /// If the lengths differ or are not a multiple of `h * w` (callers check shapes first).
    pub fn add_batch(
        &mut self,
        clean: &[f32],
        noisy: &[f32],
        denoised: &[f32],
        h: usize,
        w: usize,
    ) {
        assert!(
            clean.len() == noisy.len() && clean.len() == denoised.len(),
            "diagnostics: slices differ in length"
        );
        assert!(
            h * w > 0 && clean.len().is_multiple_of(h * w),
            "diagnostics: not {h}x{w} images"
        );
        for ((&x, &xn), &xh) in clean.iter().zip(noisy).zip(denoised) {
            let (x, xn, xh) = (f64::from(x), f64::from(xn), f64::from(xh));
            self.toward_clean += (xh - xn) * (x - xn);
            self.corruption_energy += (x - xn) * (x - xn);
            self.to_input += (xh - xn) * (xh - xn);
            self.to_clean += (xh - x) * (xh - x);
        }
        for ((c, n), d) in clean
            .chunks_exact(h * w)
            .zip(noisy.chunks_exact(h * w))
            .zip(denoised.chunks_exact(h * w))
        {
            self.hf_clean += laplacian_energy(c, h, w);
            self.hf_noisy += laplacian_energy(n, h, w);
            self.hf_denoised += laplacian_energy(d, h, w);
        }
    }

    /// ρ = √(Σ‖x̂ − x̃‖² / Σ‖x̂ − x‖²); infinite when x̂ = x, NaN when also x̂ = x̃.
    pub fn input_distance_ratio(&self) -> f64 {
        if self.to_clean > 0.0 {
            (self.to_input / self.to_clean).sqrt()
        } else if self.to_input > 0.0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    }

    /// r = Σ⟨x̂ − x̃, x − x̃⟩ / Σ‖x − x̃‖²; NaN when nothing was corrupted.
    pub fn noise_removed(&self) -> f64 {
        ratio(self.toward_clean, self.corruption_energy)
    }

    /// Σ (Δx̂)² / Σ (Δx)²; NaN when the clean images have no high-frequency energy.
    pub fn hf_ratio(&self) -> f64 {
        ratio(self.hf_denoised, self.hf_clean)
    }

    /// Σ (Δx̃)² / Σ (Δx)²; NaN when the clean images have no high-frequency energy.
    pub fn noisy_hf_ratio(&self) -> f64 {
        ratio(self.hf_noisy, self.hf_clean)
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        f64::NAN
    }
}

/// Σ over interior pixels of the squared 4-neighbour Laplacian of one `h`x`w` image; 0 for
/// images without interior pixels (under 3x3).
pub fn laplacian_energy(img: &[f32], h: usize, w: usize) -> f64 {
    let p = |y: usize, x: usize| f64::from(img[y * w + x]);
    let mut sum = 0.0;
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let lap = 4.0 * p(y, x) - p(y - 1, x) - p(y + 1, x) - p(y, x - 1) - p(y, x + 1);
            sum += lap * lap;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(psnr: f64) -> ReconstructionMetrics {
        ReconstructionMetrics {
            mse: 10f64.powf(-psnr / 10.0),
            psnr,
            psnr_mean_per_image: psnr,
            ssim: 0.5,
            count: 1,
        }
    }

    #[test]
    fn laplacian_energy_closed_form() {
        // A single bright pixel in the middle of a 3x3 image: Δ = 4 at the only interior pixel.
        let mut img = vec![0.0f32; 9];
        img[4] = 1.0;
        assert_eq!(laplacian_energy(&img, 3, 3), 16.0);
        // Linear ramps have zero Laplacian; tiny images have no interior.
        let ramp: Vec<f32> = (0..20).map(|i| (i % 5) as f32 * 0.1).collect();
        assert!(laplacian_energy(&ramp, 4, 5).abs() < 1e-12);
        assert_eq!(laplacian_energy(&[1.0, 0.0, 1.0, 0.0], 2, 2), 0.0);
        // A checkerboard on 4x4: each of the 4 interior pixels has |Δ| = 4.
        let checker: Vec<f32> = (0..16).map(|i| ((i / 4 + i % 4) % 2) as f32).collect();
        assert_eq!(laplacian_energy(&checker, 4, 4), 4.0 * 16.0);
    }

    #[test]
    fn noise_removed_is_zero_for_a_copy_and_one_for_the_truth() {
        let clean: Vec<f32> = (0..18).map(|i| (i % 7) as f32 / 7.0).collect();
        let noisy: Vec<f32> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 0.1 } else { -0.2 })
            .collect();
        let halfway: Vec<f32> = clean
            .iter()
            .zip(&noisy)
            .map(|(c, n)| 0.5 * (c + n))
            .collect();
        let run = |out: &[f32]| {
            let mut acc = DiagnosticsAccumulator::new();
            acc.add_batch(&clean, &noisy, out, 3, 3);
            acc
        };
        assert!(run(&noisy).noise_removed().abs() < 1e-12);
        assert!((run(&clean).noise_removed() - 1.0).abs() < 1e-12);
        assert!((run(&halfway).noise_removed() - 0.5).abs() < 1e-6);
        // Distances: a copy is 0 from its input; halfway is equally far from both; the truth is
        // infinitely nearer x than x̃.
        assert_eq!(run(&noisy).input_distance_ratio(), 0.0);
        assert!((run(&halfway).input_distance_ratio() - 1.0).abs() < 1e-6);
        assert_eq!(run(&clean).input_distance_ratio(), f64::INFINITY);
        // A quarter of the way: ‖x̂ − x̃‖ / ‖x̂ − x‖ = 0.25 / 0.75.
        let quarter: Vec<f32> = clean
            .iter()
            .zip(&noisy)
            .map(|(c, n)| n + 0.25 * (c - n))
            .collect();
        assert!((run(&quarter).input_distance_ratio() - 1.0 / 3.0).abs() < 1e-6);
        // Overshooting past the truth by the same distance gives 2; going away gives < 0.
        let past: Vec<f32> = clean.iter().zip(&noisy).map(|(c, n)| 2.0 * c - n).collect();
        assert!((run(&past).noise_removed() - 2.0).abs() < 1e-6);
        // No corruption: undefined, and no warning.
        let mut acc = DiagnosticsAccumulator::new();
        acc.add_batch(&clean, &clean, &noisy, 3, 3);
        assert!(acc.noise_removed().is_nan());
    }

    #[test]
    fn hf_ratio_closed_form() {
        // Clean: one bright pixel (energy 16). Output: the same at half height (energy 4).
        let mut clean = vec![0.0f32; 9];
        clean[4] = 1.0;
        let half: Vec<f32> = clean.iter().map(|v| v * 0.5).collect();
        let mut acc = DiagnosticsAccumulator::new();
        acc.add_batch(&clean, &clean, &half, 3, 3);
        assert!((acc.hf_ratio() - 0.25).abs() < 1e-12);
        assert!((acc.noisy_hf_ratio() - 1.0).abs() < 1e-12);
        let flat = vec![0.5f32; 9];
        let mut acc = DiagnosticsAccumulator::new();
        acc.add_batch(&flat, &clean, &clean, 3, 3);
        assert!(acc.hf_ratio().is_nan());
    }

    #[test]
    fn warnings_follow_the_thresholds() {
        let sums = |rho: f64, h: f64| {
            // √(to_input / to_clean) = rho, toward_clean / corruption_energy = 0.1,
            // hf_denoised / hf_clean = h.
            DiagnosticsAccumulator {
                toward_clean: 0.1,
                corruption_energy: 1.0,
                to_input: rho * rho,
                to_clean: 1.0,
                hf_clean: 1.0,
                hf_denoised: h,
                hf_noisy: 3.0,
            }
        };
        let good = Diagnostics::new(&metrics(25.0), &metrics(15.0), &sums(1.5, 0.8));
        assert_eq!(good.gain_db, 10.0);
        assert_eq!(good.noisy_hf_ratio, 3.0);
        assert!(good.warnings().is_empty());
        let bad = Diagnostics::new(&metrics(15.5), &metrics(15.0), &sums(0.25, 0.2));
        let modes: Vec<FailureMode> = bad.warnings().iter().map(|w| w.mode).collect();
        assert_eq!(
            modes,
            [
                FailureMode::BarelyDenoises,
                FailureMode::IdentityLearning,
                FailureMode::OverSmoothing
            ]
        );
        assert!(
            bad.warnings()[1].message.contains("10%"),
            "{:?}",
            bad.warnings()
        );
        let undefined = Diagnostics::new(&metrics(25.0), &metrics(15.0), &sums(f64::NAN, f64::NAN));
        assert!(undefined.warnings().is_empty());
        // Exactly at the threshold: no warning.
        let edge = Diagnostics::new(&metrics(16.0), &metrics(15.0), &sums(0.5, 0.3));
        assert!(edge.warnings().is_empty());
    }
}
