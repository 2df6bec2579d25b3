//! Speech denoising: corrupt a clean waveform with noise at a signal-to-noise ratio, learn to
//! give the clean one back (docs/audio.md).
//!
//! - [`signal`]: the signal processing under the task, on plain `f32` slices (no tensors):
//!   WAV reading and writing, resampling, the short-time Fourier transform, the SI-SDR and
//!   segmental-SNR metrics, and the spectral-subtraction baseline.

pub mod signal;

/// The task's name in `--task` and in `config.json`.
pub const TASK_NAME: &str = "audio";
