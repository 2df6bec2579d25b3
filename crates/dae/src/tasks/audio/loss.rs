//! The waveform model's losses on `[batch, length]` tensors: L1, MSE and the multi-resolution
//! STFT loss (Yamamoto et al. 2020, "Parallel WaveGAN"), whose STFT is written with Burn's own
//! ops (a gather of the frames, the Hann window, and the DFT as two matrix products) so that it
//! is differentiable on every backend.

use std::f64::consts::PI;

use burn::prelude::*;

use super::config::WaveLoss;

/// The `(n_fft, hop)` pairs of the multi-resolution STFT loss at 8 kHz: 64, 32 and 16 ms
/// frames, hop a quarter of each (Parallel WaveGAN's 1024/2048/512 at 24 kHz, scaled down).
pub const RESOLUTIONS: [(usize, usize); 3] = [(512, 128), (256, 64), (128, 32)];

/// `loss` of the estimate `y` against the clean `s`, both `[batch, length]`.
pub fn wave_loss(loss: WaveLoss, y: Tensor<2>, s: Tensor<2>) -> Tensor<1> {
    match loss {
        WaveLoss::L1 => (y - s).abs().mean(),
        WaveLoss::Mse => (y - s).powi_scalar(2).mean(),
        WaveLoss::Mrstft => multi_resolution_stft_loss(y, s),
        WaveLoss::L1Mrstft => {
            (y.clone() - s.clone()).abs().mean() + multi_resolution_stft_loss(y, s)
        }
    }
}

/// The mean over [`RESOLUTIONS`] (those no longer than the signal) of spectral convergence
/// ‖|S| − |Ŷ|‖_F / ‖|S|‖_F plus the mean absolute difference of the log magnitudes.
pub fn multi_resolution_stft_loss(y: Tensor<2>, s: Tensor<2>) -> Tensor<1> {
    let [_, len] = y.dims();
    let device = y.device();
    let mut total = Tensor::zeros([1], &device);
    let mut count = 0;
    for (n_fft, hop) in RESOLUTIONS {
        if n_fft > len {
            continue;
        }
        let ym = stft_magnitude(y.clone(), n_fft, hop);
        let sm = stft_magnitude(s.clone(), n_fft, hop);
        let convergence = (sm.clone() - ym.clone()).powi_scalar(2).sum().sqrt()
            / sm.clone().powi_scalar(2).sum().sqrt().clamp_min(1e-7);
        let log_mag = (sm.log() - ym.log()).abs().mean();
        total = total + convergence + log_mag;
        count += 1;
    }
    total / count.max(1) as f32
}

/// |STFT(x)| `[batch · frames, n_fft/2 + 1]` of `x` `[batch, length]`, centred (zero padding of
/// n_fft/2 at both ends, `1 + length / hop` frames, as `torch.stft(center=True,
/// pad_mode="constant")`), periodic Hann window, floored at 1e-7 before the square root.
pub fn stft_magnitude(x: Tensor<2>, n_fft: usize, hop: usize) -> Tensor<2> {
    let [batch, len] = x.dims();
    let device = x.device();
    let pad = n_fft / 2;
    let padded = Tensor::cat(
        vec![
            Tensor::zeros([batch, pad], &device),
            x,
            Tensor::zeros([batch, pad], &device),
        ],
        1,
    );
    let frames = 1 + len / hop;
    let index: Vec<i64> = (0..frames)
        .flat_map(|f| (0..n_fft).map(move |i| (f * hop + i) as i64))
        .collect();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [frames * n_fft]), &device);
    let framed = padded.select(1, index).reshape([batch * frames, n_fft]);
    let (window, cos, sin) = dft_matrices(n_fft, &device);
    let windowed = framed * window.unsqueeze_dim(0);
    let re = windowed.clone().matmul(cos);
    let im = windowed.matmul(sin);
    (re.powi_scalar(2) + im.powi_scalar(2))
        .clamp_min(1e-7)
        .sqrt()
}

/// The periodic Hann window `[n_fft]` and the real DFT's cosine and sine matrices
/// `[n_fft, n_fft/2 + 1]`.
fn dft_matrices(n_fft: usize, device: &Device) -> (Tensor<1>, Tensor<2>, Tensor<2>) {
    let bins = n_fft / 2 + 1;
    let window: Vec<f32> = (0..n_fft)
        .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / n_fft as f64).cos()) as f32)
        .collect();
    let (mut cos, mut sin) = (
        Vec::with_capacity(n_fft * bins),
        Vec::with_capacity(n_fft * bins),
    );
    for i in 0..n_fft {
        for k in 0..bins {
            // The phase reduced modulo n_fft first, so that large i·k keeps full precision.
            let phase = 2.0 * PI * ((i * k) % n_fft) as f64 / n_fft as f64;
            cos.push(phase.cos() as f32);
            sin.push(-phase.sin() as f32);
        }
    }
    (
        Tensor::from_data(TensorData::new(window, [n_fft]), device),
        Tensor::from_data(TensorData::new(cos, [n_fft, bins]), device),
        Tensor::from_data(TensorData::new(sin, [n_fft, bins]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stft_magnitude_of_a_tone_peaks_in_its_bin_and_the_loss_is_zero_on_itself() {
        let device = Device::default();
        // A tone at bin 8 of a 64-point FFT, 512 samples.
        let tone: Vec<f32> = (0..512)
            .map(|i| (2.0 * std::f32::consts::PI * 8.0 * i as f32 / 64.0).sin())
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(tone, [1, 512]), &device);
        let mag = stft_magnitude(x.clone(), 64, 16);
        assert_eq!(mag.dims(), [33, 33]);
        let middle: Vec<f32> = mag.slice([16..17, 0..33]).into_data().try_to_vec().unwrap();
        let peak = (0..33)
            .max_by(|&a, &b| middle[a].total_cmp(&middle[b]))
            .unwrap();
        assert_eq!(peak, 8);
        // A full-scale tone under a Hann window: |X[k]| = N/4.
        assert!((middle[8] - 16.0).abs() < 1e-3, "{}", middle[8]);
        let zero: f32 = multi_resolution_stft_loss(x.clone(), x.clone()).into_scalar();
        assert!(zero.abs() < 1e-6, "{zero}");
        let half: f32 = multi_resolution_stft_loss(x.clone() * 0.5, x).into_scalar();
        assert!(half > 0.5, "{half}");
    }

    #[test]
    fn sample_losses_are_their_closed_forms() {
        let device = Device::default();
        let y = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -1.0, 0.5, 0.0], [1, 4]),
            &device,
        );
        let s = Tensor::<2>::zeros([1, 4], &device);
        let l1: f32 = wave_loss(WaveLoss::L1, y.clone(), s.clone()).into_scalar();
        let mse: f32 = wave_loss(WaveLoss::Mse, y, s).into_scalar();
        assert!(
            (l1 - 0.625).abs() < 1e-7 && (mse - 0.5625).abs() < 1e-7,
            "{l1} {mse}"
        );
    }
}
