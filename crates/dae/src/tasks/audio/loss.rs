//! The waveform model's losses on `[batch, length]` tensors: L1, MSE and the multi-resolution
//! STFT loss (Yamamoto et al. 2020, "Parallel WaveGAN"), whose STFT is written with Burn's own
//! ops (a gather of the frames, the Hann window, and the DFT as two matrix products) so that it
//! is differentiable on every backend.

use std::f64::consts::PI;

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::config::AudioLoss;
use super::signal::stft::hann_window;

/// The `(n_fft, hop)` pairs of the multi-resolution STFT loss at 8 kHz: 64, 32 and 16 ms
/// frames, hop a quarter of each (Parallel WaveGAN's 1024/2048/512 at 24 kHz, scaled down).
pub const RESOLUTIONS: [(usize, usize); 3] = [(512, 128), (256, 64), (128, 32)];

/// `loss` of the estimate `y` against the clean `s`, both `[batch, length]`.
pub fn wave_loss(loss: AudioLoss, y: Tensor<2>, s: Tensor<2>) -> Tensor<1> {
    match loss {
        AudioLoss::L1 => (y - s).abs().mean(),
        AudioLoss::Mse => (y - s).powi_scalar(2).mean(),
        AudioLoss::Mrstft => multi_resolution_stft_loss(y, s),
        AudioLoss::L1Mrstft => {
            (y.clone() - s.clone()).abs().mean() + multi_resolution_stft_loss(y, s)
        }
        AudioLoss::Sisdr => -si_sdr(y, s).mean(),
        AudioLoss::Snr => -snr(y, s).mean(),
        // Not a waveform loss: the spectral task computes it on magnitudes.
        AudioLoss::Magnitude => (y - s).powi_scalar(2).mean(),
    }
}

/// SNR in dB `[batch]` of each row of `y` against `s`: 10·log10((‖s‖² + 10⁻⁸) / (‖s − y‖² + 10⁻⁸)).
pub fn snr(y: Tensor<2>, s: Tensor<2>) -> Tensor<1> {
    let [batch, _] = y.dims();
    let error = (s.clone() - y).powi_scalar(2).sum_dim(1) + 1e-8;
    let ratio = (s.powi_scalar(2).sum_dim(1) + 1e-8) / error;
    (ratio.log() * (10.0 / std::f32::consts::LN_10)).reshape([batch])
}

/// SI-SDR in dB `[batch]` of each row of `y` against `s` `[batch, length]`: both made zero-mean,
/// α = ⟨s, y⟩ / (⟨s, s⟩ + 10⁻⁸), 10·log10((‖αs‖² + 10⁻⁸) / (‖αs − y‖² + 10⁻⁸)) (the small terms
/// keep a silent segment finite).
pub fn si_sdr(y: Tensor<2>, s: Tensor<2>) -> Tensor<1> {
    let [batch, _] = y.dims();
    let s = s.clone() - s.mean_dim(1);
    let y = y.clone() - y.mean_dim(1);
    let alpha = (s.clone() * y.clone()).sum_dim(1) / (s.clone().powi_scalar(2).sum_dim(1) + 1e-8);
    let target = s * alpha;
    let error = target.clone() - y;
    let ratio =
        (target.powi_scalar(2).sum_dim(1) + 1e-8) / (error.powi_scalar(2).sum_dim(1) + 1e-8);
    (ratio.log() * (10.0 / std::f32::consts::LN_10)).reshape([batch])
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
    let index = frame_positions(frames, n_fft, hop, &device);
    let framed = padded.select(1, index).reshape([batch * frames, n_fft]);
    let (cos, sin) = dft_matrices(n_fft, &device);
    let windowed = framed * window_row(n_fft, &device);
    let re = windowed.clone().matmul(cos);
    let im = windowed.matmul(sin);
    (re.powi_scalar(2) + im.powi_scalar(2))
        .clamp_min(1e-7)
        .sqrt()
}

/// The signals `[batch, len]` whose centred STFTs (periodic Hann, `n_fft`, `hop`, as
/// [`stft_magnitude`] and `signal::stft`) have the real and imaginary parts `re`, `im`
/// `[batch · frames, n_fft/2 + 1]`: each frame inverse-transformed (two matrix products; the
/// imaginary parts of the DC and Nyquist bins ignored, as a real inverse FFT does), windowed,
/// overlap-added by a scatter-add, divided by the overlap-added squared window and cropped —
/// `signal::stft::Stft::inverse` written with differentiable tensor ops.
pub fn inverse_stft(
    re: Tensor<2>,
    im: Tensor<2>,
    batch: usize,
    len: usize,
    n_fft: usize,
    hop: usize,
) -> Tensor<2> {
    let device = re.device();
    let frames = 1 + len / hop;
    let (icos, isin) = inverse_dft_matrices(n_fft, &device);
    let time = (re.matmul(icos) + im.matmul(isin)) * window_row(n_fft, &device);
    let flat = time.reshape([batch, frames * n_fft]);
    let index = frame_positions(frames, n_fft, hop, &device);
    let total = (frames - 1) * hop + n_fft;
    let summed = Tensor::<2>::zeros([batch, total], &device).select_assign(
        1,
        index,
        flat,
        IndexingUpdateOp::Add,
    );
    let pad = n_fft / 2;
    let cropped = summed.slice([0..batch, pad..pad + len]);
    // 1 / Σ w² over the frames covering each output sample (0 where no frame reaches).
    let w = hann_window(n_fft);
    let mut envelope = vec![0f64; total];
    for f in 0..frames {
        for (i, wi) in w.iter().enumerate() {
            envelope[f * hop + i] += (*wi as f64) * (*wi as f64);
        }
    }
    let inverse: Vec<f32> = envelope[pad..pad + len]
        .iter()
        .map(|&e| if e > 1e-8 { (1.0 / e) as f32 } else { 0.0 })
        .collect();
    cropped * Tensor::<2>::from_data(TensorData::new(inverse, [1, len]), &device)
}

/// The inverse real DFT's matrices `[n_fft/2 + 1, n_fft]` (x_i = Σ_k c_k (Re_k cos(2πki/N) −
/// Im_k sin(2πki/N)) / N, c_k = 1 at DC and Nyquist, else 2).
fn inverse_dft_matrices(n_fft: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let bins = n_fft / 2 + 1;
    let (mut cos, mut sin) = (
        Vec::with_capacity(n_fft * bins),
        Vec::with_capacity(n_fft * bins),
    );
    for k in 0..bins {
        let weight = if k == 0 || 2 * k == n_fft { 1.0 } else { 2.0 } / n_fft as f64;
        for i in 0..n_fft {
            let phase = 2.0 * PI * ((i * k) % n_fft) as f64 / n_fft as f64;
            cos.push((weight * phase.cos()) as f32);
            sin.push((-weight * phase.sin()) as f32);
        }
    }
    (
        Tensor::from_data(TensorData::new(cos, [bins, n_fft]), device),
        Tensor::from_data(TensorData::new(sin, [bins, n_fft]), device),
    )
}

/// The periodic Hann window as a `[1, n_fft]` row, to multiply frames by.
fn window_row(n_fft: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(hann_window(n_fft), [1, n_fft]), device)
}

/// The padded-signal position of every sample of every frame, frame-major `[frames · n_fft]`.
fn frame_positions(frames: usize, n_fft: usize, hop: usize, device: &Device) -> Tensor<1, Int> {
    let index: Vec<i64> = (0..frames)
        .flat_map(|f| (0..n_fft).map(move |i| (f * hop + i) as i64))
        .collect();
    Tensor::from_data(TensorData::new(index, [frames * n_fft]), device)
}

/// The real DFT's cosine and sine matrices `[n_fft, n_fft/2 + 1]`.
fn dft_matrices(n_fft: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let bins = n_fft / 2 + 1;
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
    fn the_tensor_inverse_stft_is_signal_stft_inverse() {
        let device = Device::default();
        let stft = crate::tasks::audio::signal::stft::Stft::new(64, 16).unwrap();
        let x: Vec<f32> = (0..500)
            .map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5)
            .collect();
        let spec = stft.forward(&x);
        let shape = [spec.frames, spec.bins];
        let re = Tensor::<2>::from_data(TensorData::new(spec.re.clone(), shape), &device);
        let im = Tensor::<2>::from_data(TensorData::new(spec.im.clone(), shape), &device);
        let y: Vec<f32> = inverse_stft(re, im, 1, 500, 64, 16)
            .into_data()
            .try_to_vec()
            .unwrap();
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-5, "{err}");
    }

    #[test]
    fn sample_losses_are_their_closed_forms() {
        let device = Device::default();
        let y = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -1.0, 0.5, 0.0], [1, 4]),
            &device,
        );
        let s = Tensor::<2>::zeros([1, 4], &device);
        let l1: f32 = wave_loss(AudioLoss::L1, y.clone(), s.clone()).into_scalar();
        let mse: f32 = wave_loss(AudioLoss::Mse, y, s).into_scalar();
        assert!(
            (l1 - 0.625).abs() < 1e-7 && (mse - 0.5625).abs() < 1e-7,
            "{l1} {mse}"
        );
        // y = s + e with e ⟂ s (both zero-mean) and ‖e‖² = ‖s‖² / 10: exactly 10 dB.
        let s = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -1.0, 1.0, -1.0], [1, 4]),
            &device,
        );
        let e = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, 0.5, -0.5, -0.5], [1, 4]),
            &device,
        ) * 0.4f32.sqrt();
        let db: f32 = si_sdr(s.clone() + e, s.clone()).into_scalar();
        assert!((db - 10.0).abs() < 1e-4, "{db}");
        let loss: f32 = wave_loss(AudioLoss::Sisdr, s.clone() * 3.0, s).into_scalar();
        assert!(loss < -70.0, "a scaled copy is near-perfect: {loss}");
    }
}
