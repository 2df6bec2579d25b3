//! Signal processing for the audio task on plain `f32` slices: nothing here knows tensors or
//! Burn, so each piece is tested against closed forms and a numpy reference on its own.
//!
//! - [`wav`]: WAV files in (any channel count, 8–32-bit PCM or 32-bit float, averaged to mono)
//!   and out (mono 16-bit PCM, written atomically).
//! - [`resample`]: band-limited (windowed-sinc) sample-rate conversion.
//! - [`stft`]: the centred short-time Fourier transform and its overlap-add inverse, framed like
//!   `torch.stft`/`torch.istft` so that models and references agree on frame counts.
//! - [`metrics`]: SI-SDR and segmental SNR, the measures speech enhancement reports.
//! - [`subtraction`]: spectral subtraction (Berouti et al. 1979), the classical baseline a
//!   learned denoiser has to beat.

pub mod metrics;
pub mod resample;
pub mod stft;
pub mod subtraction;
pub mod wav;

#[cfg(test)]
mod test_signals;
