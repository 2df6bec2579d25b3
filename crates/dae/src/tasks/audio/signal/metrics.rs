//! The two measures speech enhancement reports, computed in `f64` on `f32` signals and checked
//! against a numpy reference (scripts/audio_metrics_reference.py,
//! crates/dae/tests/audio_metrics_reference.rs).
//!
//! - [`si_sdr`]: scale-invariant signal-to-distortion ratio (Le Roux et al., "SDR – half-baked
//!   or well done?", ICASSP 2019), the definition of asteroid and of torchmetrics'
//!   `scale_invariant_signal_distortion_ratio(zero_mean=True)` without their `eps` terms.
//! - [`seg_snr`]: segmental SNR (Quackenbush et al. 1988; the ITU-T P.862 era definition) on
//!   non-overlapping frames, each frame's SNR clamped to [[`SEG_SNR_MIN_DB`],
//!   [`SEG_SNR_MAX_DB`]], silent frames skipped.
//!
//! Results that use them name the mode (frame length, clamp, silence rule), since published
//! segmental SNRs differ in exactly these choices.

/// The segmental-SNR frame the audio task uses: 256 samples, 32 ms at 8 kHz.
pub const SEG_SNR_FRAME: usize = 256;

/// The lowest per-frame SNR counted, in dB: below it a frame is noise either way, and one
/// lost frame must not outweigh many good ones.
pub const SEG_SNR_MIN_DB: f64 = -10.0;

/// The highest per-frame SNR counted, in dB: above it differences are inaudible, and a frame
/// reproduced exactly must not count as +inf.
pub const SEG_SNR_MAX_DB: f64 = 35.0;

/// A frame whose clean energy (sum of squares) is below this is silence and is skipped; the
/// same value guards the division by the error energy.
pub const SEG_SNR_SILENCE: f64 = 1e-10;

/// The SI-SDR of `estimate` against `reference`, in dB.
///
/// Both signals are made zero-mean, then with `α = <s, ŝ> / ‖s‖²` (the scaling of the reference
/// that best explains the estimate) the result is `10·log10(‖αs‖² / ‖αs − ŝ‖²)`: a gain or an
/// offset of the estimate does not change it. Special cases: `+inf` for an estimate that is the
/// reference times a power of two, itself included (no distortion at all; other multiples give
/// a few hundred dB, the rounding of the scaling); `-inf` for an
/// estimate with no energy after the mean is removed (nothing recovered; the formula itself
/// would be 0/0); `NaN` when the lengths differ, the signals are empty, or the reference has no
/// energy after the mean is removed (there is nothing to measure against), and when an input
/// holds a non-finite value.
pub fn si_sdr(reference: &[f32], estimate: &[f32]) -> f64 {
    if reference.len() != estimate.len() || reference.is_empty() {
        return f64::NAN;
    }
    let n = reference.len() as f64;
    let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (ms, me) = (mean(reference), mean(estimate));
    let (mut ss, mut se, mut ee) = (0.0f64, 0.0f64, 0.0f64);
    for (&s, &e) in reference.iter().zip(estimate) {
        let (s, e) = (f64::from(s) - ms, f64::from(e) - me);
        ss += s * s;
        se += s * e;
        ee += e * e;
    }
    if ss == 0.0 || !ss.is_finite() || !ee.is_finite() {
        return f64::NAN;
    }
    if ee == 0.0 {
        return f64::NEG_INFINITY;
    }
    let alpha = se / ss;
    // ‖αs‖² = α²‖s‖² and, expanding, ‖αs − ŝ‖² = ‖ŝ‖² − α²‖s‖²; the error is summed directly
    // instead, since the subtraction would cancel catastrophically for good estimates.
    let target = alpha * alpha * ss;
    let mut distortion = 0.0f64;
    for (&s, &e) in reference.iter().zip(estimate) {
        let d = alpha * (f64::from(s) - ms) - (f64::from(e) - me);
        distortion += d * d;
    }
    10.0 * (target / distortion).log10()
}

/// The segmental SNR of `estimate` against `reference`, in dB, on non-overlapping frames of
/// `frame` samples (the task uses [`SEG_SNR_FRAME`]).
///
/// Per frame: `10·log10(Σs² / (Σ(s − ŝ)² + 1e-10))`, clamped to [[`SEG_SNR_MIN_DB`],
/// [`SEG_SNR_MAX_DB`]]; the result is the mean over frames. Choices, which a reported value
/// should name: no mean removal and no scaling (unlike [`si_sdr`], a gain error counts); a
/// frame whose clean energy Σs² is below [`SEG_SNR_SILENCE`] is skipped rather than counted at
/// the floor (speech pauses say nothing about the denoiser's SNR); a trailing partial frame
/// counts as a frame of its own length. `NaN` when the lengths differ, `frame` is 0, no frame
/// has energy, or an input holds a non-finite value.
pub fn seg_snr(reference: &[f32], estimate: &[f32], frame: usize) -> f64 {
    if reference.len() != estimate.len() || frame == 0 {
        return f64::NAN;
    }
    let (mut total, mut counted) = (0.0f64, 0usize);
    for (s, e) in reference.chunks(frame).zip(estimate.chunks(frame)) {
        let (mut signal, mut error) = (0.0f64, 0.0f64);
        for (&s, &e) in s.iter().zip(e) {
            let (s, e) = (f64::from(s), f64::from(e));
            signal += s * s;
            error += (s - e) * (s - e);
        }
        if signal < SEG_SNR_SILENCE {
            continue;
        }
        let snr = 10.0 * (signal / (error + SEG_SNR_SILENCE)).log10();
        total += snr.clamp(SEG_SNR_MIN_DB, SEG_SNR_MAX_DB);
        counted += 1;
    }
    if counted == 0 {
        f64::NAN
    } else {
        total / counted as f64
    }
}

/// Mean scores of an estimate over clips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipScores {
    /// Mean SI-SDR of the estimates (dB).
    pub si_sdr: f64,
    /// Mean SI-SDR of the noisy clips (dB).
    pub noisy_si_sdr: f64,
    /// Mean segmental SNR of the estimates (dB).
    pub seg_snr: f64,
    /// Mean segmental SNR of the noisy clips (dB).
    pub noisy_seg_snr: f64,
    /// Mean absolute error of the estimates' samples.
    pub l1: f64,
}

impl ClipScores {
    /// Scores `estimate(noisy)` against the clean clip of each `(clean, noisy)` pair.
    pub fn of(
        clips: &[(Vec<f32>, Vec<f32>)],
        mut estimate: impl FnMut(&[f32]) -> Vec<f32>,
    ) -> Self {
        let n = clips.len().max(1) as f64;
        let mut s = ClipScores {
            si_sdr: 0.0,
            noisy_si_sdr: 0.0,
            seg_snr: 0.0,
            noisy_seg_snr: 0.0,
            l1: 0.0,
        };
        for (clean, noisy) in clips {
            let y = estimate(noisy);
            s.si_sdr += si_sdr(clean, &y) / n;
            s.noisy_si_sdr += si_sdr(clean, noisy) / n;
            s.seg_snr += seg_snr(clean, &y, SEG_SNR_FRAME) / n;
            s.noisy_seg_snr += seg_snr(clean, noisy, SEG_SNR_FRAME) / n;
            s.l1 += clean
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs() as f64)
                .sum::<f64>()
                / clean.len().max(1) as f64
                / n;
        }
        s
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
