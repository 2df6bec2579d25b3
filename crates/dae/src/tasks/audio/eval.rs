//! Evaluating an audio run on its test speakers (or a folder of recordings): for each noise
//! spec, the test clips are corrupted (from the run's seed), denoised by the model and by
//! spectral subtraction, and scored by SI-SDR and segmental SNR against the clean clips.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::AudioConfig;
use super::corrupt::{AudioNoise, NoiseBank};
use super::data::{self, concatenate, joined_clips, split_speakers};
use super::denoise::denoise;
use super::model::AudioDenoiser;
use super::signal::metrics::ClipScores;
use super::signal::subtraction::spectral_subtraction;
use super::signal::wav::write_wav;
use super::task::{corrupt_clips, load_data};
use crate::device::DeviceSpec;
use crate::run::checkpoint::load_module;
use crate::run::RunDir;
use crate::train::TaskConfig;
use crate::{Error, Result};

/// The model name in checkpoint errors.
const MODEL_NAME: &str = "audio denoiser";

/// A trained audio run, ready to denoise.
pub struct LoadedAudioRun {
    /// The run's configuration.
    pub config: AudioConfig,
    /// The trained model.
    pub model: AudioDenoiser,
    /// Where it runs.
    pub device: Device,
}

/// Loads the audio run at `root` (its final model, or its last checkpoint) on `device`
/// (default: the run's).
pub fn load_audio_run(root: &Path, device: Option<DeviceSpec>) -> Result<LoadedAudioRun> {
    let run = RunDir::new(root);
    let config: AudioConfig = run.read_task_config(AudioConfig::TASK, AudioConfig::RUN_NAME)?;
    config.check()?;
    let device = device.unwrap_or(config.run.device).device()?;
    let model = load_module(
        &run.trained_model()?,
        config.model.init(&device),
        MODEL_NAME,
    )?;
    Ok(LoadedAudioRun {
        config,
        model,
        device,
    })
}

/// One row of `dae eval` on an audio run: one noise spec over the test clips.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioEvalRow {
    /// The noise spec.
    pub noise: String,
    /// Mean SI-SDR of the denoised clips (dB).
    pub si_sdr: f64,
    /// Mean SI-SDR of the noisy clips (dB).
    pub noisy_si_sdr: f64,
    /// Mean segmental SNR of the denoised clips (dB; 256-sample frames, each clamped to
    /// [−10, 35] dB, silent frames skipped).
    pub seg_snr: f64,
    /// Mean segmental SNR of the noisy clips (dB).
    pub noisy_seg_snr: f64,
    /// Mean SI-SDR of spectral subtraction's output (the classical baseline).
    pub subtraction_si_sdr: f64,
    /// Mean segmental SNR of spectral subtraction's output.
    pub subtraction_seg_snr: f64,
    /// Test clips scored.
    pub count: usize,
}

/// The robustness matrix `dae eval` runs when no `--noise` is given: white, pink, brown noise
/// and babble, each at 0, 5 and 10 dB.
pub fn default_specs() -> Vec<AudioNoise> {
    let mut specs = Vec::new();
    for kind in ["", ",type=pink", ",type=brown", ",type=babble"] {
        for snr in [0, 5, 10] {
            specs.push(AudioNoise::parse(&format!("noise:snr={snr}{kind}")).expect("parses"));
        }
    }
    specs
}

/// What to evaluate on and what to keep.
#[derive(Clone, Debug, Default)]
pub struct AudioEvalOptions {
    /// A folder of recordings to use whole instead of the run's test speakers.
    pub data: Option<PathBuf>,
    /// The specs (empty: [`default_specs`]).
    pub specs: Vec<AudioNoise>,
    /// Seed of the evaluation corruption.
    pub seed: u64,
    /// Write every clip (clean, noisy, denoised, spectral subtraction) as WAV files under this
    /// folder, one subfolder per spec, for the PESQ/STOI script.
    pub write_audio: Option<PathBuf>,
}

/// Evaluates `run` (see the module documentation); one row per spec, in order.
pub fn evaluate_audio_run(
    run: &LoadedAudioRun,
    options: &AudioEvalOptions,
) -> Result<Vec<AudioEvalRow>> {
    let config = &run.config;
    let train_data = load_data(config)?;
    let split = split_speakers(
        &train_data.speakers(),
        &config.val_speakers,
        &config.test_speakers,
    )?;
    // Babble is always the training speakers' speech, whatever the test material.
    let babble = Arc::new(concatenate(&train_data.of_speakers(&split.train)));
    let rate = train_data.sample_rate;
    let min_len = (config.eval_seconds * rate as f64).round() as usize;
    let clips = match &options.data {
        Some(dir) => {
            let test = data::load(Some(dir), Some(rate))?;
            joined_clips(&test.recordings.iter().collect::<Vec<_>>(), min_len)
        }
        None => joined_clips(&train_data.of_speakers(&split.test), min_len),
    };
    if clips.is_empty() {
        return Err(Error::Config("no test clips to evaluate".into()));
    }
    let specs = if options.specs.is_empty() {
        default_specs()
    } else {
        options.specs.clone()
    };
    let bank = NoiseBank::new(rate, babble, specs.iter().map(|s| s.get()))?;
    let mut rows = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let mut with_spec = config.clone();
        with_spec.noise = spec.clone();
        with_spec.run.seed = options.seed;
        // Index 1 + k: the validation clips of training use index 0.
        let pairs = corrupt_clips(clips.clone(), &with_spec, &bank, 1 + index as u64);
        let mut denoised = Vec::with_capacity(pairs.len());
        let model = ClipScores::of(&pairs, |noisy| {
            let y = denoise(&run.model, &config.model, noisy, &run.device);
            denoised.push(y.clone());
            y
        });
        let mut subtracted = Vec::with_capacity(pairs.len());
        let baseline = ClipScores::of(&pairs, |noisy| {
            let y = spectral_subtraction(noisy, rate);
            subtracted.push(y.clone());
            y
        });
        if let Some(dir) = &options.write_audio {
            write_clips(
                &dir.join(format!("{:02}", index)),
                rate,
                &pairs,
                &denoised,
                &subtracted,
                spec,
            )?;
        }
        rows.push(AudioEvalRow {
            noise: spec.to_string(),
            si_sdr: model.si_sdr,
            noisy_si_sdr: model.noisy_si_sdr,
            seg_snr: model.seg_snr,
            noisy_seg_snr: model.noisy_seg_snr,
            subtraction_si_sdr: baseline.si_sdr,
            subtraction_seg_snr: baseline.seg_snr,
            count: pairs.len(),
        });
    }
    Ok(rows)
}

fn write_clips(
    dir: &Path,
    rate: u32,
    pairs: &[(Vec<f32>, Vec<f32>)],
    denoised: &[Vec<f32>],
    subtracted: &[Vec<f32>],
    spec: &AudioNoise,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    crate::fsio::write_atomic(&dir.join("noise.txt"), format!("{spec}\n").as_bytes())?;
    for (k, ((clean, noisy), (y, sub))) in pairs
        .iter()
        .zip(denoised.iter().zip(subtracted))
        .enumerate()
    {
        for (what, samples) in [
            ("clean", clean),
            ("noisy", noisy),
            ("denoised", y),
            ("subtraction", sub),
        ] {
            write_wav(&dir.join(format!("clip{k:03}-{what}.wav")), rate, samples)?;
        }
    }
    Ok(())
}
