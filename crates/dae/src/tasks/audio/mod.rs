//! Speech denoising: corrupt a clean waveform with noise at a signal-to-noise ratio, learn to
//! give the clean one back (docs/audio.md).
//!
//! - [`signal`]: WAV files, resampling, the STFT, SI-SDR and segmental SNR, and spectral
//!   subtraction (the classical baseline): plain signal processing, no tensors;
//! - [`data`]: recordings with their speakers, the speaker split, the embedded FSDD subset;
//! - [`corrupt`]: additive noise at an SNR (white, pink, brown, babble, a file), sample dropout
//!   and time masking in the `--noise` grammar;
//! - [`model`], [`spectral`], [`loss`]: the waveform U-Net and the STFT masking MLP, the
//!   masking model's features, the waveform and multi-resolution STFT losses;
//! - [`config`], [`task`]: the run's configuration and its [`crate::train::Task`];
//! - [`denoise`], [`eval`]: a model applied to recordings of any length (`dae denoise`), and
//!   `dae eval` over noise types and levels with the spectral-subtraction baseline beside it;
//! - [`report`]: the run's HTML page with waveforms and spectrograms;
//! - [`torch`]: the models under their PyTorch twins' names (`model.safetensors`).

pub mod config;
pub mod corrupt;
pub mod data;
pub mod denoise;
pub mod eval;
pub mod loss;
pub mod model;
pub mod report;
pub mod signal;
pub mod spectral;
pub mod task;
pub mod torch;

/// The `task` value of an audio run's `config.json` and of `--task`.
pub const TASK_NAME: &str = "audio";

pub use config::{AudioConfig, AudioLoss};
pub use corrupt::{parse_audio_noise, AudioNoise};
pub use denoise::{denoise_files, DenoisedFile};
pub use eval::{
    evaluate_audio_run, load_audio_run, AudioEvalOptions, AudioEvalRow, LoadedAudioRun,
};
pub use model::AudioModelConfig;
pub use task::{AudioEpochMetrics, AudioTask};
