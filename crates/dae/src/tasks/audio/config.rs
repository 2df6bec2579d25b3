//! The configuration of an audio run, stored as its `config.json` with `"task": "audio"`.

use serde::{Deserialize, Serialize};

use super::corrupt::AudioNoise;
use super::model::AudioModelConfig;
use crate::train::{RunSettings, TaskConfig};
use crate::{Error, Result};

/// The `task` field of an audio run's `config.json`: always `"audio"` ([`super::TASK_NAME`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AudioTag {
    /// Speech denoising.
    #[default]
    #[serde(rename = "audio")]
    Audio,
}

/// The training loss. Every loss but `magnitude` compares waveforms: the spectral model's output
/// is brought back to samples by a differentiable inverse STFT for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioLoss {
    /// Mean absolute error of the samples.
    L1,
    /// Mean squared error of the samples.
    Mse,
    /// The multi-resolution STFT loss (spectral convergence + log-magnitude L1 at three FFT
    /// sizes; Yamamoto et al. 2020).
    Mrstft,
    /// L1 plus the multi-resolution STFT loss (Demucs's choice).
    #[serde(rename = "l1+mrstft")]
    L1Mrstft,
    /// Negative scale-invariant SDR of each segment, averaged (Conv-TasNet's): every segment
    /// counts by its ratio, whatever its loudness, and silence cannot dominate as it does L1;
    /// the output's scale is left free.
    Sisdr,
    /// Negative SNR of each segment, averaged: like `sisdr`, but the output's level must match
    /// the clean one's.
    Snr,
    /// The squared error of the masked STFT magnitudes against the clean ones (spectral model
    /// only; no inverse STFT).
    Magnitude,
}

impl AudioLoss {
    /// The names `--loss` takes.
    pub const NAMES: &'static str = "l1, mse, mrstft, l1+mrstft, sisdr, snr or magnitude";
}

impl std::fmt::Display for AudioLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AudioLoss::L1 => "l1",
            AudioLoss::Mse => "mse",
            AudioLoss::Mrstft => "mrstft",
            AudioLoss::L1Mrstft => "l1+mrstft",
            AudioLoss::Sisdr => "sisdr",
            AudioLoss::Snr => "snr",
            AudioLoss::Magnitude => "magnitude",
        })
    }
}

impl std::str::FromStr for AudioLoss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "l1" => Ok(AudioLoss::L1),
            "mse" => Ok(AudioLoss::Mse),
            "mrstft" => Ok(AudioLoss::Mrstft),
            "l1+mrstft" => Ok(AudioLoss::L1Mrstft),
            "sisdr" => Ok(AudioLoss::Sisdr),
            "snr" => Ok(AudioLoss::Snr),
            "magnitude" => Ok(AudioLoss::Magnitude),
            _ => Err(Error::Config(format!(
                "unknown audio loss `{s}`; expected {}",
                AudioLoss::NAMES
            ))),
        }
    }
}

/// Everything that determines an audio run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Marks the run as an audio run.
    pub task: AudioTag,
    /// The denoiser and its sizes.
    pub model: AudioModelConfig,
    /// The corruption of each training segment (and of the validation clips).
    pub noise: AudioNoise,
    /// The training loss.
    pub loss: AudioLoss,
    /// Samples per training segment (cut from the training speakers' speech end to end).
    pub segment: usize,
    /// Resample every recording to this rate (`None`: the data's own, which must be one).
    pub sample_rate: Option<u32>,
    /// Validation speakers (empty: the default rule of docs/audio.md).
    pub val_speakers: Vec<String>,
    /// Test speakers (empty: the default rule).
    pub test_speakers: Vec<String>,
    /// Shortest evaluation clip in seconds (consecutive recordings of a speaker joined).
    pub eval_seconds: f64,
    /// The settings every task shares.
    #[serde(flatten)]
    pub run: RunSettings,
}

impl AudioConfig {
    /// The defaults for `model` (BENCHMARKS.md, "Speech"): white noise at 0 to 10 dB drawn per
    /// segment, segments of 8,192 samples (1 s at 8 kHz), batch 16, the per-segment SNR loss
    /// (L1 and the magnitude loss measured worse on SI-SDR), lr 0.001 (wave) or 0.0005
    /// (spectral), evaluation clips of at least 4 s.
    pub fn for_model(model: AudioModelConfig) -> AudioConfig {
        let (lr, loss) = match model {
            AudioModelConfig::Wave { .. } => (1e-3, AudioLoss::Snr),
            AudioModelConfig::Spectral { .. } => (5e-4, AudioLoss::Snr),
        };
        AudioConfig {
            task: AudioTag::Audio,
            model,
            noise: AudioNoise::parse("noise:snr=0..10").expect("the default audio noise parses"),
            loss,
            segment: 8192,
            sample_rate: None,
            val_speakers: Vec::new(),
            test_speakers: Vec::new(),
            eval_seconds: 4.0,
            run: RunSettings::new(10, 16, lr),
        }
    }
}

impl TaskConfig for AudioConfig {
    const RUN_NAME: &'static str = "audio run";
    const TASK: Option<&'static str> = Some(super::TASK_NAME);

    fn settings(&self) -> &RunSettings {
        &self.run
    }

    fn settings_mut(&mut self) -> &mut RunSettings {
        &mut self.run
    }

    fn check(&self) -> Result<()> {
        let refuse = |m: String| Err(Error::Config(m));
        if !(256..=1 << 20).contains(&self.segment) {
            return refuse(format!(
                "--segment must be 256 to 1048576 samples, got {}",
                self.segment
            ));
        }
        let multiple = self.model.length_multiple();
        if !self.segment.is_multiple_of(multiple) {
            return refuse(format!(
                "--segment must be a multiple of 2^depth = {multiple} for the wave model, got {}",
                self.segment
            ));
        }
        if let AudioModelConfig::Spectral { n_fft, .. } = self.model {
            if self.segment < n_fft {
                return refuse(format!(
                    "--segment ({}) must be at least the FFT size ({n_fft})",
                    self.segment
                ));
            }
        }
        if !(self.eval_seconds.is_finite() && self.eval_seconds > 0.0 && self.eval_seconds <= 600.0)
        {
            return refuse(format!(
                "--eval-seconds must lie in (0, 600], got {}",
                self.eval_seconds
            ));
        }
        if self.sample_rate == Some(0) || self.sample_rate.is_some_and(|r| r > 384_000) {
            return refuse(format!(
                "--sample-rate must be 1 to 384000 Hz, got {}",
                self.sample_rate.unwrap_or(0)
            ));
        }
        if self.loss == AudioLoss::Magnitude
            && !matches!(self.model, AudioModelConfig::Spectral { .. })
        {
            return refuse(
                "--audio-loss magnitude compares STFT magnitudes and needs --audio-model spectral"
                    .into(),
            );
        }
        self.model.check()?;
        self.run.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_round_trip_with_the_task_tag() {
        for model in [AudioModelConfig::wave(), AudioModelConfig::spectral()] {
            let c = AudioConfig::for_model(model);
            c.check().unwrap();
            let json = serde_json::to_value(&c).unwrap();
            assert_eq!(json["task"], "audio");
            assert_eq!(serde_json::from_value::<AudioConfig>(json).unwrap(), c);
        }
        for loss in [
            "l1",
            "mse",
            "mrstft",
            "l1+mrstft",
            "sisdr",
            "snr",
            "magnitude",
        ] {
            let parsed: AudioLoss = loss.parse().unwrap();
            assert_eq!(parsed.to_string(), loss);
            let json = serde_json::to_string(&parsed).unwrap();
            assert_eq!(json, format!("\"{loss}\""));
        }
        assert!("l2"
            .parse::<AudioLoss>()
            .unwrap_err()
            .to_string()
            .contains("l1+mrstft"));
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let refused = |edit: fn(&mut AudioConfig), needle: &str| {
            let mut c = AudioConfig::for_model(AudioModelConfig::wave());
            edit(&mut c);
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        refused(|c| c.segment = 100, "--segment");
        refused(|c| c.segment = 8200, "multiple of 2^depth = 16");
        refused(|c| c.eval_seconds = f64::NAN, "--eval-seconds");
        refused(|c| c.sample_rate = Some(0), "--sample-rate");
        refused(|c| c.run.epochs = 0, "epochs");
        refused(
            |c| c.loss = AudioLoss::Magnitude,
            "needs --audio-model spectral",
        );
    }
}
