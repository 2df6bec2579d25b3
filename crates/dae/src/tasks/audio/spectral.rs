//! The spectral model's input and output: log magnitudes of the noisy STFT with context frames
//! and the clip's noise floor in, one gain per bin out, applied to the noisy spectrum (noisy
//! phase kept).

use super::signal::stft::{Spectrogram, Stft};
use super::signal::subtraction::noise_power;

/// Magnitudes are floored here before the logarithm (−60 dB of a full-scale bin at n_fft 256).
const FLOOR: f32 = 1e-3;

/// The model's input `[frames, bins · (2 · context + 2)]` for the noisy spectrum `spec`: for
/// each frame, the scaled log magnitudes (ln(|X| + 10⁻³) / 4 + 1, which puts speech and
/// silence near [−0.7, 2]) of frames f − context ..= f + context (frames beyond the ends at the
/// floor value), then the same scaling of the clip's noise floor: the root of spectral
/// subtraction's noise power (the mean power of the quietest tenth of the frames). A frame and
/// its neighbours span tens of milliseconds; the floor tells the model what the noise is over
/// the whole clip, as spectral subtraction knows it.
pub fn features(spec: &Spectrogram, context: usize) -> Vec<f32> {
    let (frames, bins) = (spec.frames, spec.bins);
    let log: Vec<f32> = spec.magnitude().iter().map(|&m| scaled_log(m)).collect();
    let noise: Vec<f32> = noise_power(spec)
        .iter()
        .map(|&p| scaled_log(p.sqrt() as f32))
        .collect();
    let floor = scaled_log(0.0);
    let slots = 2 * context + 1;
    let width = bins * (slots + 1);
    let mut out = vec![floor; frames * width];
    for f in 0..frames {
        let row = &mut out[f * width..(f + 1) * width];
        for (slot, offset) in (-(context as isize)..=context as isize).enumerate() {
            let g = f as isize + offset;
            if g < 0 || g >= frames as isize {
                continue;
            }
            let g = g as usize;
            row[slot * bins..(slot + 1) * bins].copy_from_slice(&log[g * bins..(g + 1) * bins]);
        }
        row[slots * bins..].copy_from_slice(&noise);
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
    fn context_frames_sit_side_by_side_then_the_noise_floor() {
        // 3 frames of 2 bins (magnitudes 0, 1, 2), context 1: width 2 · 4 = 8.
        let spec = Spectrogram {
            frames: 3,
            bins: 2,
            re: vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
            im: vec![0.0; 6],
        };
        let f = features(&spec, 1);
        let (floor, one, two) = (scaled_log(0.0), scaled_log(1.0), scaled_log(2.0));
        assert_eq!(f.len(), 24);
        assert_eq!(&f[0..6], &[floor, floor, floor, floor, one, one]);
        assert_eq!(&f[8..14], &[floor, floor, one, one, two, two]);
        assert_eq!(&f[16..22], &[one, one, two, two, floor, floor]);
        // The quietest tenth of 3 frames is one frame, the silent one.
        assert_eq!(&f[6..8], &[floor, floor]);
        assert_eq!(&f[22..24], &[floor, floor]);
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
