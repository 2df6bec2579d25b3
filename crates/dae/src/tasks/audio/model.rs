//! The two speech denoisers (docs/audio.md), both on dae's CPU kernels:
//!
//! **wave**, a 1-D U-Net on the waveform in the spirit of Wave-U-Net and Demucs. Samples are a
//! `[batch, channels, 1, length]` map, so every convolution is a `1 × k` 2-D one (dae's im2col
//! kernel):
//!
//! ```text
//! level l = 0..depth has width · 2^l channels
//! encoder: Conv1×k(1 → c0) ReLU ─ fold ─ Conv1×k(c1 → c1) ReLU ─ fold ─ … ─ Conv1×k(c_depth) ReLU
//!          fold: [c, L] → [2c, L/2], sample pairs side by side (space-to-depth; with the next
//!          convolution it is a learned stride-2 down-sampling that drops nothing)
//! decoder: ConvTranspose1×2/2(c_{l+1} → c_l), concatenate level l's encoder output (the skip),
//!          Conv1×k'(2 c_l → c_l) ReLU, up to level 0
//! head:    Conv1×1(c0 → 1): the noise; x̂ = x̃ − head   (training starts from the identity)
//! ```
//!
//! **spectral**, STFT magnitude masking: an MLP reads the log magnitudes of a frame, of
//! `context` frames on each side and of the clip's noise floor, and gives one gain in (0, 1)
//! per frequency bin; the denoised
//! spectrum is the gain times the noisy one, with the noisy phase, back to samples by the
//! inverse STFT.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use crate::kernels::{conv2d, conv_transpose2d, linear, Activation};
use crate::limits::MAX_MODEL_PARAMS;
use crate::{Error, Result};

/// Which denoiser, with its sizes; stored in an audio run's `config.json` as `model`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AudioModelConfig {
    /// The waveform U-Net.
    Wave {
        /// Channels at full rate; each level below doubles them.
        width: usize,
        /// Number of 2x down-samplings (a clip's length is padded to a multiple of 2^depth).
        depth: usize,
        /// Kernel width of the encoder's convolutions (odd).
        kernel: usize,
        /// Kernel width of the decoder's convolutions (odd).
        decoder_kernel: usize,
    },
    /// STFT magnitude masking.
    Spectral {
        /// FFT size (a frame of `n_fft` samples, `n_fft/2 + 1` bins).
        n_fft: usize,
        /// Samples between frames.
        hop: usize,
        /// Frames read on each side of the frame whose gains are computed.
        context: usize,
        /// Width of the two hidden layers.
        hidden: usize,
    },
}

impl AudioModelConfig {
    /// The default waveform U-Net: width 16, depth 4, kernels 9 and 5 (BENCHMARKS.md, "Audio").
    pub fn wave() -> Self {
        AudioModelConfig::Wave {
            width: 16,
            depth: 4,
            kernel: 9,
            decoder_kernel: 5,
        }
    }

    /// The default masking MLP: 32 ms frames at 8 kHz (256), hop 64, two frames of context on
    /// each side, hidden layers of 1,024 (0.3 dB of SI-SDR above 512 on held-out speakers;
    /// BENCHMARKS.md, "Speech").
    pub fn spectral() -> Self {
        AudioModelConfig::Spectral {
            n_fft: 256,
            hop: 64,
            context: 2,
            hidden: 1024,
        }
    }

    /// The name in `--model`.
    pub fn name(&self) -> &'static str {
        match self {
            AudioModelConfig::Wave { .. } => "wave",
            AudioModelConfig::Spectral { .. } => "spectral",
        }
    }

    /// What a clip's length must be a multiple of (the wave model's down-samplings).
    pub fn length_multiple(&self) -> usize {
        match self {
            AudioModelConfig::Wave { depth, .. } => 1 << depth,
            AudioModelConfig::Spectral { .. } => 1,
        }
    }

    /// The spectral model's input width: `bins · (2 · context + 2)` (the frame, its context
    /// and the clip's noise floor).
    pub fn spectral_input(n_fft: usize, context: usize) -> usize {
        (n_fft / 2 + 1) * (2 * context + 2)
    }

    /// Validates the sizes; the message names the setting.
    pub fn check(&self) -> Result<()> {
        let params = match *self {
            AudioModelConfig::Wave {
                width,
                depth,
                kernel,
                decoder_kernel,
            } => {
                if width == 0 || !(1..=10).contains(&depth) {
                    return Err(Error::Config(format!(
                        "wave model: width must be at least 1 and depth 1..10, got width \
                         {width}, depth {depth}"
                    )));
                }
                if kernel % 2 == 0
                    || decoder_kernel % 2 == 0
                    || kernel > 255
                    || decoder_kernel > 255
                {
                    return Err(Error::Config(format!(
                        "wave model: kernels must be odd and at most 255, got {kernel} and \
                         {decoder_kernel}"
                    )));
                }
                let c = |l: usize| (width as u128) << l;
                let mut p = c(0) * kernel as u128;
                for l in 1..=depth {
                    p += c(l) * c(l) * kernel as u128;
                    p += c(l) * c(l - 1) * 2 + 2 * c(l - 1) * c(l - 1) * decoder_kernel as u128;
                }
                p
            }
            AudioModelConfig::Spectral {
                n_fft,
                hop,
                context,
                hidden,
            } => {
                if !(16..=8192).contains(&n_fft) || n_fft % 2 != 0 || hop == 0 || hop > n_fft {
                    return Err(Error::Config(format!(
                        "spectral model: n_fft must be even in 16..8192 and hop in 1..=n_fft, \
                         got n_fft {n_fft}, hop {hop}"
                    )));
                }
                if context > 32 || hidden == 0 {
                    return Err(Error::Config(format!(
                        "spectral model: context must be at most 32 and hidden at least 1, got \
                         {context} and {hidden}"
                    )));
                }
                let input = Self::spectral_input(n_fft, context) as u128;
                let h = hidden as u128;
                input * h + h * h + h * (n_fft as u128 / 2 + 1)
            }
        };
        MAX_MODEL_PARAMS.check(Some(params), || {
            format!("the {} model's {params} parameters", self.name())
        })
    }

    /// Builds the model with Burn's default initialization on `device`.
    pub fn init(&self, device: &Device) -> AudioDenoiser {
        match *self {
            AudioModelConfig::Wave {
                width,
                depth,
                kernel,
                decoder_kernel,
            } => AudioDenoiser::Wave(WaveUnet::new(width, depth, kernel, decoder_kernel, device)),
            AudioModelConfig::Spectral {
                n_fft,
                context,
                hidden,
                ..
            } => AudioDenoiser::Spectral(MaskNet::new(
                Self::spectral_input(n_fft, context),
                hidden,
                n_fft / 2 + 1,
                device,
            )),
        }
    }
}

/// An audio denoiser.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum AudioDenoiser {
    /// The waveform U-Net.
    Wave(WaveUnet),
    /// The STFT masking MLP.
    Spectral(MaskNet),
}

/// The waveform U-Net (module documentation).
#[derive(Module, Debug)]
pub struct WaveUnet {
    /// Encoder convolutions, full rate first; the last one is the bottleneck (`depth + 1`).
    pub down: Vec<Conv2d>,
    /// 1×2 stride-2 up-convolutions, deepest first (`depth`).
    pub up: Vec<ConvTranspose2d>,
    /// Decoder convolutions after each skip concatenation, deepest first (`depth`).
    pub merge: Vec<Conv2d>,
    /// 1×1 convolution to the predicted noise.
    pub head: Conv2d,
}

fn conv_1xk(c_in: usize, c_out: usize, k: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [1, k])
        .with_padding(PaddingConfig2d::Explicit(0, k / 2, 0, k / 2))
        .init(device)
}

impl WaveUnet {
    fn new(
        width: usize,
        depth: usize,
        kernel: usize,
        decoder_kernel: usize,
        device: &Device,
    ) -> Self {
        let c = |l: usize| width << l;
        let mut down = vec![conv_1xk(1, c(0), kernel, device)];
        for l in 1..=depth {
            // The fold doubles c_{l-1} into c_l channels.
            down.push(conv_1xk(c(l), c(l), kernel, device));
        }
        let (mut up, mut merge) = (Vec::new(), Vec::new());
        for l in (0..depth).rev() {
            up.push(
                ConvTranspose2dConfig::new([c(l + 1), c(l)], [1, 2])
                    .with_stride([1, 2])
                    .init(device),
            );
            merge.push(conv_1xk(2 * c(l), c(l), decoder_kernel, device));
        }
        WaveUnet {
            down,
            up,
            merge,
            head: Conv2dConfig::new([c(0), 1], [1, 1]).init(device),
        }
    }

    /// x̂ for `x` `[batch, 1, 1, length]`, length a multiple of 2^depth.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut h = x.clone();
        for (l, conv) in self.down.iter().enumerate() {
            if l > 0 {
                h = fold(h);
            }
            h = relu(conv2d(conv, h));
            skips.push(h.clone());
        }
        skips.pop();
        for (up, merge) in self.up.iter().zip(&self.merge) {
            let skip = skips.pop().expect("one skip per level");
            h = relu(conv2d(
                merge,
                Tensor::cat(vec![conv_transpose2d(up, h, Activation::Identity), skip], 1),
            ));
        }
        x - conv2d(&self.head, h)
    }
}

/// `[n, c, 1, L]` → `[n, 2c, 1, L/2]`: each channel's even samples, then its odd ones (channel
/// `2i` holds channel i's even samples, `2i + 1` its odd ones).
pub fn fold(x: Tensor<4>) -> Tensor<4> {
    let [n, c, _, l] = x.dims();
    x.reshape([n, c, l / 2, 2])
        .swap_dims(2, 3)
        .reshape([n, 2 * c, 1, l / 2])
}

/// The masking MLP (module documentation).
#[derive(Module, Debug)]
pub struct MaskNet {
    /// Log magnitudes of the frame and its context → hidden.
    pub input: Linear,
    /// Hidden → hidden.
    pub hidden: Linear,
    /// Hidden → one gain per bin (before the sigmoid).
    pub output: Linear,
}

impl MaskNet {
    fn new(input: usize, hidden: usize, bins: usize, device: &Device) -> Self {
        MaskNet {
            input: LinearConfig::new(input, hidden).init(device),
            hidden: LinearConfig::new(hidden, hidden).init(device),
            output: LinearConfig::new(hidden, bins).init(device),
        }
    }

    /// The gains `[frames, bins]` in (0, 1) for `features` `[frames, input]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let h = linear(&self.input, features, Activation::Relu);
        let h = linear(&self.hidden, h, Activation::Relu);
        linear(&self.output, h, Activation::Sigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_puts_sample_pairs_side_by_side() {
        let device = Device::default();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..8).map(|v| v as f32).collect(), [1, 2, 1, 4]),
            &device,
        );
        let y: Vec<f32> = fold(x).into_data().try_to_vec().unwrap();
        // channel 0 = [0 1 2 3] → [0 2], [1 3]; channel 1 = [4 5 6 7] → [4 6], [5 7]
        assert_eq!(y, vec![0., 2., 1., 3., 4., 6., 5., 7.]);
    }

    #[test]
    fn the_wave_model_keeps_the_length_and_starts_near_the_identity_scale() {
        let device = Device::default();
        let model = AudioModelConfig::wave().init(&device);
        let AudioDenoiser::Wave(net) = model else {
            unreachable!()
        };
        let x = Tensor::<4>::random([2, 1, 1, 256], burn::tensor::Distribution::Default, &device);
        assert_eq!(net.forward(x).dims(), [2, 1, 1, 256]);
    }

    #[test]
    fn sizes_are_checked() {
        for (bad, says) in [
            (
                AudioModelConfig::Wave {
                    width: 16,
                    depth: 0,
                    kernel: 9,
                    decoder_kernel: 5,
                },
                "depth 1..10",
            ),
            (
                AudioModelConfig::Wave {
                    width: 16,
                    depth: 3,
                    kernel: 8,
                    decoder_kernel: 5,
                },
                "odd",
            ),
            (
                AudioModelConfig::Spectral {
                    n_fft: 255,
                    hop: 64,
                    context: 2,
                    hidden: 8,
                },
                "even",
            ),
            (
                AudioModelConfig::Wave {
                    width: 4096,
                    depth: 8,
                    kernel: 9,
                    decoder_kernel: 5,
                },
                "DAE_MAX_MODEL_PARAMS",
            ),
        ] {
            let e = bad.check().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        AudioModelConfig::wave().check().unwrap();
        AudioModelConfig::spectral().check().unwrap();
    }
}
