//! `dae train --task audio`: the audio flags, an audio run's config, its training.

use clap::{Args, ValueEnum};
use dae::run::RunDir;
use dae::tasks::audio::{self, AudioConfig, AudioLoss, AudioModelConfig, AudioNoise, AudioTask};
use dae::train::{Start, Task};

use super::{given, TrainArgs};
use crate::progress::fit_with_progress;

/// The audio denoisers on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AudioModelArg {
    /// A 1-D U-Net on the waveform (Wave-U-Net / Demucs style).
    Wave,
    /// STFT magnitude masking by an MLP, noisy phase kept.
    Spectral,
}

/// The flags of `dae train` that only `--task audio` reads.
#[derive(Args, Debug)]
#[command(next_help_heading = "Speech denoising (--task audio)")]
pub(super) struct AudioArgs {
    /// The denoiser [default: spectral].
    #[arg(long, value_enum)]
    audio_model: Option<AudioModelArg>,
    /// The loss: l1, mse, mrstft (multi-resolution STFT), l1+mrstft, sisdr, snr (per-segment
    /// ratios), or magnitude (spectral model: masked STFT magnitudes) [default: snr].
    #[arg(long)]
    audio_loss: Option<AudioLoss>,
    /// Samples per training segment [default: 8192, 1 s at 8 kHz].
    #[arg(long)]
    segment: Option<usize>,
    /// Resample every recording to this rate in Hz (needed when the files' rates differ).
    #[arg(long)]
    sample_rate: Option<u32>,
    /// Validation speakers, comma-separated [default: the second-to-last speaker by name].
    #[arg(long, value_delimiter = ',')]
    val_speakers: Vec<String>,
    /// Test speakers, comma-separated [default: the last speaker by name].
    #[arg(long, value_delimiter = ',')]
    test_speakers: Vec<String>,
    /// Shortest evaluation clip in seconds (a speaker's recordings joined) [default: 4].
    #[arg(long)]
    eval_seconds: Option<f64>,
    /// Wave model: channels at full rate, doubled at each level [default: 16].
    #[arg(long)]
    wave_width: Option<usize>,
    /// Wave model: number of 2x down-samplings [default: 4].
    #[arg(long)]
    wave_depth: Option<usize>,
    /// Spectral model: FFT size [default: 256].
    #[arg(long)]
    n_fft: Option<usize>,
    /// Spectral model: samples between frames [default: 64].
    #[arg(long)]
    hop: Option<usize>,
    /// Spectral model: width of the hidden layers [default: 512].
    #[arg(long)]
    mask_hidden: Option<usize>,
    /// Spectral model: frames read on each side of the frame whose gains are computed
    /// [default: 2].
    #[arg(long)]
    mask_context: Option<usize>,
}

impl TrainArgs {
    /// An audio run's config from the flags.
    fn audio_config(&self) -> anyhow::Result<AudioConfig> {
        let a = &self.audio;
        let model = match a.audio_model.unwrap_or(AudioModelArg::Spectral) {
            AudioModelArg::Wave => {
                anyhow::ensure!(
                    a.n_fft.is_none()
                        && a.hop.is_none()
                        && a.mask_hidden.is_none()
                        && a.mask_context.is_none(),
                    "--n-fft, --hop, --mask-hidden and --mask-context are for --audio-model \
                     spectral"
                );
                let AudioModelConfig::Wave {
                    width,
                    depth,
                    kernel,
                    decoder_kernel,
                } = AudioModelConfig::wave()
                else {
                    unreachable!()
                };
                AudioModelConfig::Wave {
                    width: a.wave_width.unwrap_or(width),
                    depth: a.wave_depth.unwrap_or(depth),
                    kernel,
                    decoder_kernel,
                }
            }
            AudioModelArg::Spectral => {
                anyhow::ensure!(
                    a.wave_width.is_none() && a.wave_depth.is_none(),
                    "--wave-width and --wave-depth are for --audio-model wave"
                );
                let AudioModelConfig::Spectral {
                    n_fft,
                    hop,
                    context,
                    hidden,
                } = AudioModelConfig::spectral()
                else {
                    unreachable!()
                };
                AudioModelConfig::Spectral {
                    n_fft: a.n_fft.unwrap_or(n_fft),
                    hop: a.hop.unwrap_or(hop),
                    context: a.mask_context.unwrap_or(context),
                    hidden: a.mask_hidden.unwrap_or(hidden),
                }
            }
        };
        let mut config = AudioConfig::for_model(model);
        config.loss = a.audio_loss.unwrap_or(config.loss);
        config.segment = a.segment.unwrap_or(config.segment);
        config.sample_rate = a.sample_rate;
        config.val_speakers = a.val_speakers.clone();
        config.test_speakers = a.test_speakers.clone();
        config.eval_seconds = a.eval_seconds.unwrap_or(config.eval_seconds);
        if let Some(spec) = &self.noise {
            config.noise = AudioNoise::parse(spec)?;
        }
        anyhow::ensure!(
            self.dropout.is_none(),
            "--dropout is not used by the audio models"
        );
        config.run = self.settings(config.run);
        Ok(config)
    }
}

impl AudioArgs {
    /// The audio flags given on the command line.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--audio-model", self.audio_model.is_some()),
            ("--audio-loss", self.audio_loss.is_some()),
            ("--segment", self.segment.is_some()),
            ("--sample-rate", self.sample_rate.is_some()),
            ("--val-speakers", !self.val_speakers.is_empty()),
            ("--test-speakers", !self.test_speakers.is_empty()),
            ("--eval-seconds", self.eval_seconds.is_some()),
            ("--wave-width", self.wave_width.is_some()),
            ("--wave-depth", self.wave_depth.is_some()),
            ("--n-fft", self.n_fft.is_some()),
            ("--hop", self.hop.is_some()),
            ("--mask-hidden", self.mask_hidden.is_some()),
            ("--mask-context", self.mask_context.is_some()),
        ];
        given(flags)
    }
}

pub(super) fn train_audio(a: &TrainArgs, start: Start) -> anyhow::Result<()> {
    let (config, run, data) = match &a.resume {
        Some(dir) => {
            let (config, data) = audio::task::prepare_resume(dir, &a.overrides())?;
            (config, RunDir::new(dir), data)
        }
        None => {
            let config = a.audio_config()?;
            let data = audio::task::load_data(&config)?;
            let run = a.out(config.model.name());
            (config, run, data)
        }
    };
    let recordings = data.recordings.len();
    let source = data.source.clone();
    let task = AudioTask::new(config, data)?;
    let config = task.config();
    let split = task.split();
    eprintln!(
        "dae train --task audio: {} model, loss {}, noise {}, segments of {} samples, {}\n  \
         data: {source}: {recordings} recordings at {} Hz; speakers: train {} / validation {} / \
         test {}\n  {} training segments, {} validation clips\n  run directory: {}",
        config.model.name(),
        config.loss,
        config.noise,
        config.segment,
        config.run,
        task.sample_rate(),
        split.train.join(","),
        split.val.join(","),
        split.test.join(","),
        task.train_len(),
        task.validation_clips().len(),
        run.root.display()
    );
    fit_with_progress(&task, &run, start)?;
    eprintln!(
        "done: {} (config.json, metrics.jsonl, model.bpk, model.safetensors); `dae eval {}` \
         measures it, `dae denoise {} IN.wav -o OUT` applies it",
        run.root.display(),
        run.root.display(),
        run.root.display()
    );
    Ok(())
}
