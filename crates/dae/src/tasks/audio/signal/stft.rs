//! The short-time Fourier transform and its inverse, framed exactly like
//! `torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), center=True,
//! pad_mode="constant", return_complex=True)` and `torch.istft(..., center=True, length=len)`:
//! a spectrogram computed here has the frame count and values a PyTorch model or reference
//! would see, so magnitudes and masks can be compared across the two.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::{Error, Result};

/// The periodic Hann window of `n` samples (torch.hann_window's default): the one whose shifted
/// copies at hop n/4 or n/2 add up to a constant, so overlap-add inverts cleanly.
pub fn hann_window(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

/// A planned STFT: frame length, hop and periodic Hann window, with both FFT directions planned
/// once (planning is the expensive part; [`Stft::forward`] and [`Stft::inverse`] reuse it).
#[derive(Clone)]
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .finish_non_exhaustive()
    }
}

/// A one-sided complex spectrogram, frame-major: bin `k` of frame `t` is at `t * bins + k`.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    /// The number of frames (time steps).
    pub frames: usize,
    /// The number of frequency bins per frame, `n_fft / 2 + 1` (DC to Nyquist).
    pub bins: usize,
    /// The real parts, `frames * bins` of them.
    pub re: Vec<f32>,
    /// The imaginary parts, `frames * bins` of them.
    pub im: Vec<f32>,
}

impl Spectrogram {
    /// The magnitude `sqrt(re² + im²)` of every bin, in the same frame-major order.
    pub fn magnitude(&self) -> Vec<f32> {
        self.re
            .iter()
            .zip(&self.im)
            .map(|(&r, &i)| r.hypot(i))
            .collect()
    }
}

impl Stft {
    /// Plans an STFT of `n_fft`-sample frames every `hop` samples; `n_fft` must be even and at
    /// least 2 (the one-sided spectrum then ends on the Nyquist bin) and `1 <= hop <= n_fft`
    /// (a larger hop would skip samples that the inverse cannot recover).
    pub fn new(n_fft: usize, hop: usize) -> Result<Stft> {
        if n_fft < 2 || !n_fft.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "STFT frame length n_fft = {n_fft} must be even and at least 2"
            )));
        }
        if hop == 0 || hop > n_fft {
            return Err(Error::Config(format!(
                "STFT hop {hop} must be between 1 and n_fft = {n_fft}"
            )));
        }
        let mut planner = RealFftPlanner::<f32>::new();
        Ok(Stft {
            n_fft,
            hop,
            window: hann_window(n_fft),
            forward: planner.plan_fft_forward(n_fft),
            inverse: planner.plan_fft_inverse(n_fft),
        })
    }

    /// The frame length in samples.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// The hop between frame starts in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The analysis (and synthesis) window, `n_fft` values.
    pub fn window(&self) -> &[f32] {
        &self.window
    }

    /// The number of bins per frame, `n_fft / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// The number of frames [`Stft::forward`] gives for `len` samples: `1 + len / hop`, torch's
    /// count for a centred transform.
    pub fn frames_for(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// The spectrogram of `x`: `x` zero-padded by `n_fft / 2` on both sides, then frame `t` is
    /// the windowed samples `t * hop ..  t * hop + n_fft` of the padded signal, transformed
    /// without normalization (`X[k] = Σ w[n] x[n] e^(-2πikn/N)`). An empty `x` gives one frame
    /// of zeros.
    pub fn forward(&self, x: &[f32]) -> Spectrogram {
        let (half, bins) = (self.n_fft / 2, self.bins());
        let frames = self.frames_for(x.len());
        let mut re = Vec::with_capacity(frames * bins);
        let mut im = Vec::with_capacity(frames * bins);
        let mut input = self.forward.make_input_vec();
        let mut output = self.forward.make_output_vec();
        let mut scratch = self.forward.make_scratch_vec();
        for t in 0..frames {
            // Padded index p holds x[p - half]; outside x it is zero.
            let start = t * self.hop;
            for (i, slot) in input.iter_mut().enumerate() {
                let sample = (start + i)
                    .checked_sub(half)
                    .and_then(|j| x.get(j))
                    .copied()
                    .unwrap_or(0.0);
                *slot = sample * self.window[i];
            }
            // Both buffers come from this plan, so their lengths are right and process cannot
            // fail; an error would only mean a bug here, and zeros are the safe frame then.
            if self
                .forward
                .process_with_scratch(&mut input, &mut output, &mut scratch)
                .is_err()
            {
                output.fill(Complex::new(0.0, 0.0));
            }
            re.extend(output.iter().map(|c| c.re));
            im.extend(output.iter().map(|c| c.im));
        }
        Spectrogram {
            frames,
            bins,
            re,
            im,
        }
    }

    /// The signal of `len` samples whose spectrogram is `spec`: each frame inverse-transformed
    /// (divided by `n_fft`), windowed and overlap-added, the sum divided by the overlap-added
    /// squared window wherever that exceeds 1e-8, and the padding of [`Stft::forward`] cropped
    /// (zeros past the last frame). `inverse(&forward(x), x.len())` gives `x` back to float
    /// precision. A spectrogram with another bin count is read bin by bin (missing bins as zero,
    /// extra ones ignored), and one whose `re`/`im` are short as if the rest were zero: the
    /// result always has `len` samples.
    pub fn inverse(&self, spec: &Spectrogram, len: usize) -> Vec<f32> {
        let (half, bins) = (self.n_fft / 2, self.bins());
        let mut signal = vec![0.0f64; len];
        let mut envelope = vec![0.0f64; len];
        let mut input = self.inverse.make_input_vec();
        let mut output = self.inverse.make_output_vec();
        let mut scratch = self.inverse.make_scratch_vec();
        let scale = 1.0 / self.n_fft as f64;
        for t in 0..spec.frames {
            let start = t * self.hop;
            // Frames that lie wholly in the cropped-off padding add nothing to the output.
            if start >= len + half {
                break;
            }
            for (k, c) in input.iter_mut().enumerate() {
                let at = t * spec.bins + k;
                let value = |v: &Vec<f32>| {
                    if k < spec.bins {
                        v.get(at).copied()
                    } else {
                        None
                    }
                };
                *c = Complex::new(
                    value(&spec.re).unwrap_or(0.0),
                    value(&spec.im).unwrap_or(0.0),
                );
            }
            // A real signal's DC and Nyquist bins are real; the inverse requires it.
            input[0].im = 0.0;
            input[bins - 1].im = 0.0;
            if self
                .inverse
                .process_with_scratch(&mut input, &mut output, &mut scratch)
                .is_err()
            {
                output.fill(0.0);
            }
            for (i, &y) in output.iter().enumerate() {
                // Padded position start + i is output sample start + i - half.
                let Some(j) = (start + i).checked_sub(half).filter(|&j| j < len) else {
                    continue;
                };
                let w = f64::from(self.window[i]);
                signal[j] += f64::from(y) * scale * w;
                envelope[j] += w * w;
            }
        }
        signal
            .iter()
            .zip(&envelope)
            .map(|(&s, &e)| if e > 1e-8 { (s / e) as f32 } else { 0.0 })
            .collect()
    }
}

#[cfg(test)]
#[path = "stft_tests.rs"]
mod tests;
