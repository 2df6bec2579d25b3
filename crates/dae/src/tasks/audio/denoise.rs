//! A trained audio model applied to a recording of any length: the waveform U-Net on windows
//! of [`WINDOW`] samples that overlap by [`OVERLAP`] and are cross-faded (memory bounded by the
//! window, not the recording), the masking MLP on the whole STFT in blocks of frames.

use burn::prelude::*;

use std::path::{Path, PathBuf};

use super::corrupt::power;
use super::eval::LoadedAudioRun;
use super::model::{AudioDenoiser, AudioModelConfig};
use super::signal::resample::resample;
use super::signal::stft::Stft;
use super::signal::wav::{read_wav, write_wav};
use super::spectral::{apply_gains, features};
use crate::{Error, Result};

/// Samples per window of the waveform model (4.1 s at 8 kHz).
pub const WINDOW: usize = 1 << 15;
/// Samples shared by consecutive windows, faded linearly from one to the next.
pub const OVERLAP: usize = 1024;
/// Windows (or blocks of 8,192 frames) per forward pass.
const PER_PASS: usize = 4;

/// The denoised `samples`, as many as given.
pub fn denoise(
    model: &AudioDenoiser,
    config: &AudioModelConfig,
    samples: &[f32],
    device: &Device,
) -> Vec<f32> {
    if samples.is_empty() {
        return Vec::new();
    }
    // The models see every recording at one level (see [`level`]) and give it back at its own.
    let gain = level(samples);
    let scaled: Vec<f32> = samples.iter().map(|v| v / gain).collect();
    let mut out = denoise_at_unit_level(model, config, &scaled, device);
    out.iter_mut().for_each(|v| *v *= gain);
    out
}

/// The level a recording is divided by before a model reads it, and multiplied by after: its
/// root mean square, at least [`LEVEL_FLOOR`]. Speakers are recorded at very different levels
/// (in FSDD the held-out speakers are 12 to 22 dB quieter than the training ones), and neither model
/// is scale-equivariant; at one level, the level is not something they have to learn.
pub fn level(samples: &[f32]) -> f32 {
    (power(samples).sqrt() as f32).max(LEVEL_FLOOR)
}

/// The smallest level a recording is divided by (−80 dBFS): near-silent input is not amplified
/// without bound.
pub const LEVEL_FLOOR: f32 = 1e-4;

fn denoise_at_unit_level(
    model: &AudioDenoiser,
    config: &AudioModelConfig,
    samples: &[f32],
    device: &Device,
) -> Vec<f32> {
    match (model, config) {
        (AudioDenoiser::Wave(net), AudioModelConfig::Wave { depth, .. }) => {
            let multiple = 1usize << depth;
            let window = WINDOW.max(OVERLAP * 2).div_ceil(multiple) * multiple;
            let starts = window_starts(samples.len(), window);
            let mut out = vec![0f32; samples.len()];
            let mut weight = vec![0f32; samples.len()];
            for chunk in starts.chunks(PER_PASS) {
                // Every window of a pass padded to the longest one (zeros after the end).
                let len = chunk
                    .iter()
                    .map(|&s| (samples.len() - s).min(window))
                    .max()
                    .unwrap_or(0)
                    .div_ceil(multiple)
                    * multiple;
                let mut input = vec![0f32; chunk.len() * len];
                for (i, &s) in chunk.iter().enumerate() {
                    let n = (samples.len() - s).min(len);
                    input[i * len..i * len + n].copy_from_slice(&samples[s..s + n]);
                }
                let x = Tensor::<4>::from_data(
                    TensorData::new(input, [chunk.len(), 1, 1, len]),
                    device,
                );
                let y: Vec<f32> = net.forward(x).into_data().try_to_vec().unwrap_or_default();
                for (i, &s) in chunk.iter().enumerate() {
                    let n = (samples.len() - s).min(len);
                    for j in 0..n {
                        let w = fade(j, n, s == 0, s + n == samples.len());
                        out[s + j] += w * y[i * len + j];
                        weight[s + j] += w;
                    }
                }
            }
            out.iter()
                .zip(&weight)
                .map(|(v, w)| if *w > 0.0 { v / w } else { 0.0 })
                .collect()
        }
        (
            AudioDenoiser::Spectral(net),
            AudioModelConfig::Spectral {
                n_fft,
                hop,
                context,
                ..
            },
        ) => {
            let stft = Stft::new(*n_fft, *hop).expect("the config was checked");
            let spec = stft.forward(samples);
            let input = features(&spec, *context);
            let width = input.len() / spec.frames.max(1);
            let block = 8192;
            let mut gains = Vec::with_capacity(spec.frames * spec.bins);
            for start in (0..spec.frames).step_by(block * PER_PASS) {
                let rows = (spec.frames - start).min(block * PER_PASS);
                let x = Tensor::<2>::from_data(
                    TensorData::new(
                        input[start * width..(start + rows) * width].to_vec(),
                        [rows, width],
                    ),
                    device,
                );
                gains.extend(
                    net.forward(x)
                        .into_data()
                        .try_to_vec::<f32>()
                        .unwrap_or_default(),
                );
            }
            apply_gains(&stft, &spec, &gains, samples.len())
        }
        _ => unreachable!("a run's model is built from its own config"),
    }
}

/// One file `dae denoise` wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct DenoisedFile {
    /// The input.
    pub input: PathBuf,
    /// The output (same file name, in the output folder).
    pub output: PathBuf,
    /// The input's sample rate, kept by the output.
    pub sample_rate: u32,
    /// Samples, the same in both.
    pub samples: usize,
}

/// Denoises each of `inputs` with `run` into `out_dir/<file name>`: mono 16-bit PCM at the
/// input's rate and length (resampled to the run's rate for the model and back). Every input is
/// read and checked before anything is written; two inputs of one file name are refused.
pub fn denoise_files(
    run: &LoadedAudioRun,
    inputs: &[PathBuf],
    out_dir: &Path,
) -> Result<Vec<DenoisedFile>> {
    let rate = run.config.sample_rate.unwrap_or(8000);
    let mut read = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let name = input
            .file_name()
            .ok_or_else(|| Error::Config(format!("{}: not a file path", input.display())))?;
        if inputs[..i].iter().any(|p| p.file_name() == Some(name)) {
            return Err(Error::Config(format!(
                "two inputs are named {}; their outputs would overwrite each other",
                name.to_string_lossy()
            )));
        }
        read.push((input, out_dir.join(name), read_wav(input)?));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut written = Vec::with_capacity(read.len());
    for (input, output, wav) in read {
        let at_model_rate = resample(&wav.samples, wav.sample_rate, rate);
        let clean = denoise(&run.model, &run.config.model, &at_model_rate, &run.device);
        let mut back = resample(&clean, rate, wav.sample_rate);
        back.resize(wav.samples.len(), 0.0);
        write_wav(&output, wav.sample_rate, &back)?;
        written.push(DenoisedFile {
            input: input.clone(),
            output,
            sample_rate: wav.sample_rate,
            samples: back.len(),
        });
    }
    Ok(written)
}

/// The first sample of each window: consecutive windows share [`OVERLAP`] samples and the last
/// one ends at the recording's end.
fn window_starts(len: usize, window: usize) -> Vec<usize> {
    if len <= window {
        return vec![0];
    }
    let step = window - OVERLAP;
    let mut starts: Vec<usize> = (0..)
        .map(|k| k * step)
        .take_while(|&s| s + window < len)
        .collect();
    starts.push(len - window);
    starts
}

/// The cross-fade weight of sample `j` of a window of `n`: a linear ramp over the first and last
/// [`OVERLAP`] samples, except at the recording's own start and end.
fn fade(j: usize, n: usize, first: bool, last: bool) -> f32 {
    let ramp = |k: usize| ((k + 1) as f32 / (OVERLAP + 1) as f32).min(1.0);
    let mut w = 1.0;
    if !first {
        w = ramp(j);
    }
    if !last {
        w = f32::min(w, ramp(n - 1 - j));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denoising_follows_the_input_level() {
        let device = Device::default();
        for config in [
            AudioModelConfig::Wave {
                width: 2,
                depth: 2,
                kernel: 3,
                decoder_kernel: 3,
            },
            AudioModelConfig::Spectral {
                n_fft: 64,
                hop: 16,
                context: 1,
                hidden: 8,
            },
        ] {
            let model = config.init(&device);
            let x: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.013).sin() * 0.02).collect();
            let loud: Vec<f32> = x.iter().map(|v| v * 16.0).collect();
            let (y, y_loud) = (
                denoise(&model, &config, &x, &device),
                denoise(&model, &config, &loud, &device),
            );
            // x and 16x (a power of two: exact in floats) reach the model as the same samples.
            for (a, b) in y.iter().zip(&y_loud) {
                assert!((a * 16.0 - b).abs() <= 1e-5 * b.abs().max(1e-3), "{a} {b}");
            }
        }
        assert_eq!(level(&[0.0; 10]), LEVEL_FLOOR);
        assert_eq!(level(&[0.5, -0.5]), 0.5);
    }

    #[test]
    fn windows_cover_every_sample_and_weights_never_vanish() {
        for len in [1, 100, WINDOW, WINDOW + 1, 3 * WINDOW + 17] {
            let starts = window_starts(len, WINDOW);
            let mut weight = vec![0f32; len];
            for &s in &starts {
                let n = (len - s).min(WINDOW);
                for j in 0..n {
                    weight[s + j] += fade(j, n, s == 0, s + n == len);
                }
            }
            assert!(weight.iter().all(|&w| w > 0.0), "{len}");
            assert_eq!(*starts.last().unwrap() + WINDOW.min(len), len);
        }
    }

    #[test]
    fn a_recording_of_any_length_comes_back_at_its_length() {
        let device = Device::default();
        let config = AudioModelConfig::Wave {
            width: 2,
            depth: 2,
            kernel: 3,
            decoder_kernel: 3,
        };
        let model = config.init(&device);
        let x: Vec<f32> = (0..WINDOW + 5000)
            .map(|i| (i as f32 * 0.01).sin() * 0.5)
            .collect();
        let y = denoise(&model, &config, &x, &device);
        assert_eq!(y.len(), x.len());
        assert!(y.iter().all(|v| v.is_finite()));
        let spectral = AudioModelConfig::Spectral {
            n_fft: 64,
            hop: 16,
            context: 1,
            hidden: 8,
        };
        let model = spectral.init(&device);
        assert_eq!(denoise(&model, &spectral, &x[..999], &device).len(), 999);
    }
}
