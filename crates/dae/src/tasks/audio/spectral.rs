//! The spectral model's input and output: log magnitudes of the noisy STFT with context frames
//! in, one gain per bin out, applied to the noisy spectrum (noisy phase kept).

use super::signal::stft::{Spectrogram, Stft};

/// Magnitudes are floored here before the logarithm (−60 dB of a full-scale bin at n_fft 256).
const FLOOR: f32 = 1e-3;

/// The model's input `[frames, bins · (2 · context + 1)]` for the magnitudes `magnitude`
/// `[frames, bins]`: for each frame, the scaled log magnitudes (ln(|X| + 10⁻³) / 4 + 1, which
/// puts speech and silence near [−0.7, 2]) of frames f − context ..= f + context, frames beyond
/// the ends repeating the floor.
pub fn features(magnitude: &[f32], frames: usize, bins: usize, context: usize) -> Vec<f32> {
    let log: Vec<f32> = magnitude.iter().map(|&m| scaled_log(m)).collect();
    let floor = scaled_log(0.0);
    let width = bins * (2 * context + 1);
    let mut out = vec![floor; frames * width];
    for f in 0..frames {
        for (slot, offset) in (-(context as isize)..=context as isize).enumerate() {
            let g = f as isize + offset;
            if g < 0 || g >= frames as isize {
                continue;
            }
            let g = g as usize;
            out[f * width + slot * bins..f * width + (slot + 1) * bins]
                .copy_from_slice(&log[g * bins..(g + 1) * bins]);
        }
    }
    out
}

fn scaled_log(m: f32) -> f32 {
    (m + FLOOR).ln() / 4.0 + 1.0
}

/// The noisy spectrum with each bin multiplied by its gain `gains` `[frames, bins]`, back to
/// `len` samples.
pub fn apply_gains(stft: &Stft, noisy: &Spectrogram, gains: &[f32], len: usize) -> Vec<f32> {
    let mut masked = noisy.clone();
    for ((re, im), g) in masked.re.iter_mut().zip(masked.im.iter_mut()).zip(gains) {
        *re *= g;
        *im *= g;
    }
    stft.inverse(&masked, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_frames_sit_side_by_side_and_the_ends_repeat_the_floor() {
        // 3 frames of 2 bins, context 1: width 6.
        let mag = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0];
        let f = features(&mag, 3, 2, 1);
        let floor = scaled_log(0.0);
        assert_eq!(&f[0..2], &[floor, floor]);
        assert_eq!(&f[2..4], &[floor, floor]);
        assert_eq!(f[4], scaled_log(1.0));
        assert_eq!(
            &f[6..12],
            &[
                floor,
                floor,
                scaled_log(1.0),
                scaled_log(1.0),
                scaled_log(2.0),
                scaled_log(2.0)
            ]
        );
        assert_eq!(&f[16..18], &[floor, floor]);
    }

    #[test]
    fn unit_gains_give_the_input_back() {
        let stft = Stft::new(64, 16).unwrap();
        let x: Vec<f32> = (0..1000)
            .map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5)
            .collect();
        let spec = stft.forward(&x);
        let y = apply_gains(&stft, &spec, &vec![1.0; spec.frames * spec.bins], x.len());
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-4, "{err}");
    }
}
