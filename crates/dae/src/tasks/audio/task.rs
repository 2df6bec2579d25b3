//! The audio task on dae's training loop: segments of the training speakers' speech, each
//! corrupted afresh every epoch; after every epoch the validation speakers' clips (corrupted
//! once, the same every epoch) are denoised and scored.

use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::AudioConfig;
use super::config::AudioLoss;
use super::corrupt::NoiseBank;
use super::data::{self, concatenate, joined_clips, split_speakers, AudioData, SpeakerSplit};
use super::denoise::{denoise, level};
use super::loss::{inverse_stft, wave_loss};
use super::model::{AudioDenoiser, AudioModelConfig};
use super::signal::metrics::ClipScores;
use super::signal::stft::Stft;
use super::spectral::features;
use crate::corrupt::Rng;
use crate::limits::{product, MAX_ACTIVATIONS};
use crate::run::metrics::EpochRecord;
use crate::seed::{self, Purpose};
use crate::train::{resume_config, EpochTotals, ResumeOverrides, Task, TaskConfig};
use crate::{Error, Result};

/// The audio task: a checked config with its speech, split by speaker.
pub struct AudioTask {
    config: AudioConfig,
    sample_rate: u32,
    split: SpeakerSplit,
    /// The training speakers' speech end to end.
    train: Arc<Vec<f32>>,
    /// First sample of each training segment.
    starts: Vec<usize>,
    /// Validation clips, clean and corrupted (once, from the run's seed).
    val: Vec<(Vec<f32>, Vec<f32>)>,
    bank: NoiseBank,
    stft: Option<Stft>,
}

/// One training batch.
pub enum AudioBatch {
    /// Clean and noisy segments `[count, len]` for the waveform model.
    Wave {
        /// Clean samples.
        clean: Vec<f32>,
        /// Corrupted samples.
        noisy: Vec<f32>,
        /// Segments.
        count: usize,
        /// Samples per segment.
        len: usize,
    },
    /// The masking model's input and its targets, one row per frame of every segment.
    Spectral {
        /// Features `[rows, width]`.
        features: Vec<f32>,
        /// Noisy magnitudes `[rows, bins]`.
        noisy: Vec<f32>,
        /// Clean magnitudes `[rows, bins]` (the `magnitude` loss).
        clean: Vec<f32>,
        /// The noisy spectrum's real and imaginary parts `[rows, bins]` and the clean segments
        /// `[segments, len]` (the waveform losses; empty for `magnitude`).
        waveform: Option<(Vec<f32>, Vec<f32>, Vec<f32>)>,
        /// Segments and samples per segment.
        segments: (usize, usize),
        /// Frames in the batch.
        rows: usize,
        /// Feature width.
        width: usize,
        /// Frequency bins.
        bins: usize,
    },
}

/// One line of an audio run's `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioEpochMetrics {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean SI-SDR (dB) of the denoised validation clips.
    pub val_si_sdr: f64,
    /// Mean SI-SDR (dB) of the noisy validation clips (the same every epoch).
    pub val_noisy_si_sdr: f64,
    /// Mean segmental SNR (dB) of the denoised validation clips.
    pub val_seg_snr: f64,
    /// Mean absolute error of the denoised validation samples.
    pub val_l1: f64,
    /// Seconds of the epoch's training steps.
    pub train_seconds: f64,
}

impl EpochRecord for AudioEpochMetrics {
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn validation_loss(&self) -> Option<f64> {
        Some(self.val_l1)
    }
}

impl std::fmt::Display for AudioEpochMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {:>3}  loss {:.5}  val SI-SDR {:.2} dB (noisy {:.2})  segSNR {:.2} dB  ({:.1}s)",
            self.epoch,
            self.train_loss,
            self.val_si_sdr,
            self.val_noisy_si_sdr,
            self.val_seg_snr,
            self.train_seconds
        )
    }
}

impl AudioTask {
    /// Checks `config` against `data`, splits the speakers and corrupts the validation clips.
    pub fn new(mut config: AudioConfig, data: AudioData) -> Result<AudioTask> {
        // The rate is stored, so that `dae denoise` knows it without reading the data.
        config.sample_rate = Some(data.sample_rate);
        config.check()?;
        check_activations(&config)?;
        let split = split_speakers(
            &data.speakers(),
            &config.val_speakers,
            &config.test_speakers,
        )?;
        let train = Arc::new(concatenate(&data.of_speakers(&split.train)));
        if train.len() < config.segment {
            return Err(Error::Config(format!(
                "the training speakers' speech is {} samples, shorter than one --segment of {}",
                train.len(),
                config.segment
            )));
        }
        let mut starts: Vec<usize> = (0..=train.len() - config.segment)
            .step_by(config.segment)
            .collect();
        if let Some(limit) = config.run.train_limit {
            starts.truncate(limit);
        }
        let bank = NoiseBank::new(data.sample_rate, train.clone(), [config.noise.get()])?;
        let min_len = (config.eval_seconds * data.sample_rate as f64).round() as usize;
        let mut clips = joined_clips(&data.of_speakers(&split.val), min_len);
        if let Some(limit) = config.run.val_limit {
            clips.truncate(limit);
        }
        let val = corrupt_clips(clips, &config, &bank, 0);
        let stft = match config.model {
            AudioModelConfig::Spectral { n_fft, hop, .. } => Some(Stft::new(n_fft, hop)?),
            AudioModelConfig::Wave { .. } => None,
        };
        Ok(AudioTask {
            config,
            sample_rate: data.sample_rate,
            split,
            train,
            starts,
            val,
            bank,
            stft,
        })
    }

    /// The speakers of each split.
    pub fn split(&self) -> &SpeakerSplit {
        &self.split
    }

    /// The validation clips, clean and corrupted.
    pub fn validation_clips(&self) -> &[(Vec<f32>, Vec<f32>)] {
        &self.val
    }

    /// Samples per second of the run's audio.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
}

/// `clips` paired with their corruption by the run's `--noise`, drawn from the run's seed and
/// `index` (so every epoch and `dae eval` see the same noisy clips).
pub fn corrupt_clips(
    clips: Vec<Vec<f32>>,
    config: &AudioConfig,
    bank: &NoiseBank,
    index: u64,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut rng = seed::rng(config.run.seed, Purpose::EvalNoise, index);
    clips
        .into_iter()
        .map(|clean| {
            let noisy = config.noise.get().apply(&clean, bank, &mut rng);
            (clean, noisy)
        })
        .collect()
}

/// Errors unless one training step fits `DAE_MAX_ACTIVATIONS` (the waveform U-Net keeps about
/// `4 · width` values per sample at each of its `depth + 1` levels; the masking MLP three layers
/// of `hidden` per frame).
pub fn check_activations(config: &AudioConfig) -> Result<()> {
    let (batch, segment) = (config.run.batch_size, config.segment);
    let values = match config.model {
        AudioModelConfig::Wave { width, depth, .. } => {
            product(&[batch, segment, width, 4 * (depth + 1)])
        }
        AudioModelConfig::Spectral {
            hop,
            hidden,
            n_fft,
            context,
        } => product(&[
            batch,
            1 + segment / hop,
            3 * hidden + AudioModelConfig::spectral_input(n_fft, context),
        ]),
    };
    MAX_ACTIVATIONS.check(values, || {
        format!("a training step of {batch} segments of {segment} samples")
    })
}

impl Task for AudioTask {
    type Config = AudioConfig;
    type Model = AudioDenoiser;
    type Batch = AudioBatch;
    type Record = AudioEpochMetrics;

    fn config(&self) -> &AudioConfig {
        &self.config
    }

    fn model_name(&self) -> String {
        format!("audio ({})", self.config.model.name())
    }

    fn train_len(&self) -> usize {
        self.starts.len()
    }

    fn init_model(&self, device: &Device) -> AudioDenoiser {
        self.config.model.init(device)
    }

    fn draw_batch(&self, indices: &[usize], rng: &mut Rng) -> Result<AudioBatch> {
        let len = self.config.segment;
        let mut clean = Vec::with_capacity(indices.len() * len);
        let mut noisy = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            let segment = &self.train[self.starts[i]..self.starts[i] + len];
            let corrupted = self.config.noise.get().apply(segment, &self.bank, rng);
            // Both at the noisy segment's unit level, as `denoise` feeds the model.
            let gain = level(&corrupted);
            clean.extend(segment.iter().map(|v| v / gain));
            noisy.extend(corrupted.iter().map(|v| v / gain));
        }
        let (Some(stft), AudioModelConfig::Spectral { context, .. }) =
            (&self.stft, &self.config.model)
        else {
            return Ok(AudioBatch::Wave {
                clean,
                noisy,
                count: indices.len(),
                len,
            });
        };
        let (mut feats, mut noisy_mag, mut clean_mag) = (Vec::new(), Vec::new(), Vec::new());
        let (mut re, mut im) = (Vec::new(), Vec::new());
        let (mut rows, mut bins) = (0, 0);
        let magnitude_loss = self.config.loss == AudioLoss::Magnitude;
        for k in 0..indices.len() {
            let n = stft.forward(&noisy[k * len..(k + 1) * len]);
            let magnitude = n.magnitude();
            feats.extend(features(&n, *context));
            if magnitude_loss {
                noisy_mag.extend(magnitude);
                clean_mag.extend(stft.forward(&clean[k * len..(k + 1) * len]).magnitude());
            } else {
                re.extend_from_slice(&n.re);
                im.extend_from_slice(&n.im);
            }
            rows += n.frames;
            bins = n.bins;
        }
        Ok(AudioBatch::Spectral {
            width: feats.len() / rows.max(1),
            features: feats,
            noisy: noisy_mag,
            clean: clean_mag,
            waveform: (!magnitude_loss).then_some((re, im, clean)),
            segments: (indices.len(), len),
            rows,
            bins,
        })
    }

    fn loss(&self, model: &AudioDenoiser, batch: AudioBatch, device: &Device) -> Tensor<1> {
        match (model, batch) {
            (
                AudioDenoiser::Wave(net),
                AudioBatch::Wave {
                    clean,
                    noisy,
                    count,
                    len,
                },
            ) => {
                let x = Tensor::<4>::from_data(TensorData::new(noisy, [count, 1, 1, len]), device);
                let s = Tensor::<2>::from_data(TensorData::new(clean, [count, len]), device);
                let y = net.forward(x).reshape([count, len]);
                wave_loss(self.config.loss, y, s)
            }
            (
                AudioDenoiser::Spectral(net),
                AudioBatch::Spectral {
                    features,
                    noisy,
                    clean,
                    waveform,
                    segments: (count, len),
                    rows,
                    width,
                    bins,
                },
            ) => {
                let x = Tensor::<2>::from_data(TensorData::new(features, [rows, width]), device);
                let gains = net.forward(x);
                let tensor = |v: Vec<f32>, shape: [usize; 2]| {
                    Tensor::<2>::from_data(TensorData::new(v, shape), device)
                };
                match (waveform, &self.config.model) {
                    (Some((re, im, clean)), AudioModelConfig::Spectral { n_fft, hop, .. }) => {
                        let re = gains.clone() * tensor(re, [rows, bins]);
                        let im = gains * tensor(im, [rows, bins]);
                        let y = inverse_stft(re, im, count, len, *n_fft, *hop);
                        wave_loss(self.config.loss, y, tensor(clean, [count, len]))
                    }
                    _ => (gains * tensor(noisy, [rows, bins]) - tensor(clean, [rows, bins]))
                        .powi_scalar(2)
                        .mean(),
                }
            }
            _ => unreachable!("batches are drawn for the run's model"),
        }
    }

    fn record(
        &self,
        model: &AudioDenoiser,
        device: &Device,
        totals: EpochTotals,
    ) -> Result<AudioEpochMetrics> {
        let scores = ClipScores::of(&self.val, |noisy| {
            denoise(model, &self.config.model, noisy, device)
        });
        Ok(AudioEpochMetrics {
            epoch: totals.epoch,
            train_loss: totals.train_loss,
            val_si_sdr: scores.si_sdr,
            val_noisy_si_sdr: scores.noisy_si_sdr,
            val_seg_snr: scores.seg_snr,
            val_l1: scores.l1,
            train_seconds: totals.train_seconds,
        })
    }

    /// `model.safetensors`: the model under its PyTorch twin's names (docs/torch.md).
    fn finish(&self, run: &crate::run::RunDir, model: &AudioDenoiser, _: &Device) -> Result<()> {
        crate::torch::write_tensors(&run.torch_model(), &super::torch::export_torch(model))
    }
}

/// The data of an audio run.
pub fn load_data(config: &AudioConfig) -> Result<AudioData> {
    data::load(config.run.data.as_deref(), config.sample_rate)
}

/// An audio run's config, with what `--resume` may change applied, and its data.
pub fn prepare_resume(
    root: &Path,
    overrides: &ResumeOverrides,
) -> Result<(AudioConfig, AudioData)> {
    let config: AudioConfig = resume_config(root, overrides)?;
    let data = load_data(&config)?;
    Ok((config, data))
}
