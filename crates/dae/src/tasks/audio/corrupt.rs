//! Corruptions of speech in the `--noise` grammar (docs/audio.md):
//!
//! | spec | corruption q(x̃ \| x) |
//! |---|---|
//! | `noise:snr=5` | white noise added at 5 dB signal-to-noise ratio (the clip's power over the noise's) |
//! | `noise:snr=0..10,type=pink` | pink (1/f) noise at an SNR drawn per clip; `type=brown` (1/f²), `type=white` |
//! | `noise:snr=5,type=babble,talkers=4` | babble: the sum of `talkers` stretches of the training speakers' speech |
//! | `noise:snr=5,file=rain.wav` | a random stretch of a WAV file (looped when shorter), resampled to the run's rate |
//! | `dropout:p=0.1` | each sample set to 0 with probability p (lost samples) |
//! | `timemask:ms=50,count=2` | `count` spans of `ms` milliseconds set to 0 (lost packets) |
//! | `none` | nothing |
//!
//! `a+b` applies both in order (`noise:snr=5+timemask:ms=50,count=1`); `0.5*a+0.5*b` draws one
//! per clip. A file name may not contain `,` or `+` (they separate keys and components).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use super::signal::{resample::resample, wav::read_wav};
use crate::corrupt::Strength;
use crate::corrupt::{parse_components, spec_error, Components, Params, Rng, Spec, SpecKind};
use crate::Result;

/// The colour or source of additive noise.
#[derive(Clone, Debug, PartialEq)]
pub enum NoiseKind {
    /// Flat spectrum.
    White,
    /// Power falling 3 dB per octave (1/f).
    Pink,
    /// Power falling 6 dB per octave (1/f², integrated white noise).
    Brown,
    /// The sum of this many stretches of the training speakers' speech.
    Babble(usize),
    /// Stretches of a WAV file.
    File(PathBuf),
}

impl std::fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoiseKind::White => f.write_str("white"),
            NoiseKind::Pink => f.write_str("pink"),
            NoiseKind::Brown => f.write_str("brown"),
            NoiseKind::Babble(t) => write!(f, "babble ({t} talkers)"),
            NoiseKind::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One component of an audio corruption.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioComponent {
    /// No corruption.
    Identity,
    /// Additive noise at a signal-to-noise ratio in dB.
    Noise {
        /// The SNR in dB (a range is drawn per clip).
        snr: Strength,
        /// What is added.
        kind: NoiseKind,
    },
    /// Each sample zeroed with this probability.
    Dropout(Strength),
    /// `count` spans of this many milliseconds zeroed.
    TimeMask {
        /// Span length in milliseconds.
        ms: Strength,
        /// Number of spans.
        count: usize,
    },
}

/// A parsed audio corruption.
pub type AudioCorruption = Components<AudioComponent>;

/// An audio run's `--noise`, parsed once.
pub type AudioNoise = Spec<AudioCorruption>;

impl SpecKind for AudioCorruption {
    fn parse_spec(text: &str) -> Result<Arc<Self>> {
        parse_audio_noise(text).map(Arc::new)
    }
}

/// The names of the audio corruptions.
pub fn known_audio_names() -> Vec<&'static str> {
    vec!["noise", "dropout", "timemask", "none"]
}

/// Parses an audio `--noise` spec such as `noise:snr=0..10,type=pink`.
pub fn parse_audio_noise(spec: &str) -> Result<AudioCorruption> {
    if spec.trim().is_empty() {
        return Err(spec_error(
            spec,
            "empty spec; expected e.g. `noise:snr=5` (known for audio: noise, dropout, \
             timemask, none)"
                .to_string(),
        ));
    }
    parse_components(spec, component).map_err(|reason| spec_error(spec.trim(), reason))
}

fn component(text: &str) -> std::result::Result<AudioComponent, String> {
    let (head, body) = match text.split_once(':') {
        Some((h, b)) => (h, Some(b)),
        None => (text, None),
    };
    let probability = |p: &Params, key: &str| -> std::result::Result<Strength, String> {
        let s = p.strength(key, None)?;
        if !(s.lo() >= 0.0 && s.hi() < 1.0) {
            return Err(format!("{key} must lie in [0, 1), got {s}"));
        }
        Ok(s)
    };
    match head.trim().to_ascii_lowercase().as_str() {
        "none" | "identity" => {
            Params::parse("none", body, &[])?;
            Ok(AudioComponent::Identity)
        }
        "noise" => {
            let p = Params::parse("noise", body, &["snr", "type", "talkers", "file"])?;
            let snr = p.strength("snr", None)?;
            if !(snr.lo() >= -30.0 && snr.hi() <= 60.0) {
                return Err(format!("snr must lie in [-30, 60] dB, got {snr}"));
            }
            let kind = noise_kind(&p)?;
            Ok(AudioComponent::Noise { snr, kind })
        }
        "dropout" => {
            let p = Params::parse("dropout", body, &["p"])?;
            Ok(AudioComponent::Dropout(probability(&p, "p")?))
        }
        "timemask" => {
            let p = Params::parse("timemask", body, &["ms", "count"])?;
            let ms = p.strength("ms", None)?;
            if !(ms.lo() > 0.0 && ms.hi() <= 10_000.0) {
                return Err(format!("ms must lie in (0, 10000], got {ms}"));
            }
            let count = p.strength("count", Some(1.0))?;
            let count = match count {
                Strength::Fixed(c) if c.fract() == 0.0 && (1.0..=100.0).contains(&c) => c as usize,
                other => return Err(format!("count must be a whole number 1..100, got {other}")),
            };
            Ok(AudioComponent::TimeMask { ms, count })
        }
        other => {
            let image = crate::corrupt::known_names().contains(&other);
            let known = known_audio_names().join(", ");
            Err(if image {
                format!("`{other}` is an image corruption; an audio run takes: {known}")
            } else {
                format!("unknown noise `{other}`; known for audio: {known}")
            })
        }
    }
}

fn noise_kind(p: &Params) -> std::result::Result<NoiseKind, String> {
    let talkers = p.strength("talkers", None).ok();
    let kind = match (p.raw("type").map(str::to_ascii_lowercase), p.raw("file")) {
        (Some(_), Some(_)) => return Err("give `type` or `file`, not both".into()),
        (None, Some(file)) if !file.is_empty() => NoiseKind::File(PathBuf::from(file)),
        (None, Some(_)) => return Err("`file=` needs a WAV file's path".into()),
        (None, None) => NoiseKind::White,
        (Some(t), None) => match t.as_str() {
            "white" => NoiseKind::White,
            "pink" => NoiseKind::Pink,
            "brown" => NoiseKind::Brown,
            "babble" => {
                let n = match talkers {
                    None => 4,
                    Some(Strength::Fixed(n)) if n.fract() == 0.0 && (1.0..=32.0).contains(&n) => {
                        n as usize
                    }
                    Some(other) => {
                        return Err(format!("talkers must be a whole number 1..32, got {other}"))
                    }
                };
                return Ok(NoiseKind::Babble(n));
            }
            other => {
                return Err(format!(
                    "unknown noise type `{other}`; expected white, pink, brown or babble (or \
                     file=PATH)"
                ))
            }
        },
    };
    if talkers.is_some() || p.raw("talkers").is_some() {
        return Err("`talkers` goes with type=babble".into());
    }
    Ok(kind)
}

impl std::fmt::Display for AudioComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AudioComponent::Identity => f.write_str("none"),
            AudioComponent::Noise { snr, kind } => match kind {
                NoiseKind::White => write!(f, "noise:snr={snr}"),
                NoiseKind::Pink => write!(f, "noise:snr={snr},type=pink"),
                NoiseKind::Brown => write!(f, "noise:snr={snr},type=brown"),
                NoiseKind::Babble(t) => write!(f, "noise:snr={snr},type=babble,talkers={t}"),
                NoiseKind::File(p) => write!(f, "noise:snr={snr},file={}", p.display()),
            },
            AudioComponent::Dropout(p) => write!(f, "dropout:p={p}"),
            AudioComponent::TimeMask { ms, count } => write!(f, "timemask:ms={ms},count={count}"),
        }
    }
}

/// What additive noise is drawn from besides the generators: the training speakers' speech
/// (babble) and the WAV files the specs name, each at the run's sample rate.
#[derive(Clone, Debug, Default)]
pub struct NoiseBank {
    /// The run's sample rate.
    pub sample_rate: u32,
    /// The training speakers' speech, concatenated.
    pub babble: Arc<Vec<f32>>,
    /// The noise files, read and resampled once.
    files: Vec<(PathBuf, Arc<Vec<f32>>)>,
}

impl NoiseBank {
    /// A bank of `babble` speech at `sample_rate`, with every file that `specs` name read and
    /// resampled (an unreadable or silent file is refused here, before training starts).
    pub fn new<'a>(
        sample_rate: u32,
        babble: Arc<Vec<f32>>,
        specs: impl IntoIterator<Item = &'a AudioCorruption>,
    ) -> Result<NoiseBank> {
        let mut files: Vec<(PathBuf, Arc<Vec<f32>>)> = Vec::new();
        for spec in specs {
            for (_, c) in &spec.parts {
                if let AudioComponent::Noise {
                    kind: NoiseKind::File(path),
                    ..
                } = c
                {
                    if files.iter().any(|(p, _)| p == path) {
                        continue;
                    }
                    files.push((path.clone(), Arc::new(noise_file(path, sample_rate)?)));
                }
            }
        }
        Ok(NoiseBank {
            sample_rate,
            babble,
            files,
        })
    }

    fn file(&self, path: &Path) -> &[f32] {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| s.as_slice())
            .unwrap_or(&[])
    }
}

fn noise_file(path: &Path, sample_rate: u32) -> Result<Vec<f32>> {
    let wav = read_wav(path)?;
    let samples = resample(&wav.samples, wav.sample_rate, sample_rate);
    if power(&samples) <= 0.0 {
        return Err(crate::Error::Format {
            path: path.to_path_buf(),
            reason: "the noise file is silent (all samples zero)".into(),
        });
    }
    Ok(samples)
}

/// Mean square of `x` in f64 (0 for an empty slice).
pub fn power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len() as f64
}

impl AudioCorruption {
    /// Corrupts `clean`, drawing from `rng` only: the same rng state gives the same x̃.
    pub fn apply(&self, clean: &[f32], bank: &NoiseBank, rng: &mut Rng) -> Vec<f32> {
        let mut x = clean.to_vec();
        for c in self.choose(rng) {
            match c {
                AudioComponent::Identity => {}
                AudioComponent::Noise { snr, kind } => {
                    let snr = snr.sample(rng);
                    let noise = draw_noise(kind, x.len(), bank, rng);
                    add_at_snr(&mut x, &noise, snr as f64);
                }
                AudioComponent::Dropout(p) => {
                    let p = p.sample(rng);
                    for v in &mut x {
                        if rng.gen::<f32>() < p {
                            *v = 0.0;
                        }
                    }
                }
                AudioComponent::TimeMask { ms, count } => {
                    for _ in 0..*count {
                        let span = (ms.sample(rng) as f64 * bank.sample_rate as f64 / 1000.0)
                            .round() as usize;
                        let span = span.min(x.len());
                        let start = rng.gen_range(0..=x.len() - span);
                        x[start..start + span].fill(0.0);
                    }
                }
            }
        }
        x
    }
}

/// Adds `noise` scaled so that 10·log10(P(x) / P(scaled noise)) = `snr_db`; a silent `x` or
/// noise is left unchanged (no SNR is defined).
pub fn add_at_snr(x: &mut [f32], noise: &[f32], snr_db: f64) {
    let (ps, pn) = (power(x), power(noise));
    if ps <= 0.0 || pn <= 0.0 {
        return;
    }
    let gain = (ps / (pn * 10f64.powf(snr_db / 10.0))).sqrt() as f32;
    for (v, n) in x.iter_mut().zip(noise) {
        *v += gain * n;
    }
}

/// `len` samples of noise of `kind`, at any scale (the caller sets the SNR).
pub fn draw_noise(kind: &NoiseKind, len: usize, bank: &NoiseBank, rng: &mut Rng) -> Vec<f32> {
    let mut white = || -> f32 { StandardNormal.sample(rng) };
    match kind {
        NoiseKind::White => (0..len).map(|_| white()).collect(),
        NoiseKind::Pink => {
            // Paul Kellet's economy pink filter: three one-pole sections whose sum is within
            // 0.5 dB of 1/f from 1/1000 of the sample rate up.
            let (mut b0, mut b1, mut b2) = (0f32, 0f32, 0f32);
            (0..len)
                .map(|_| {
                    let w = white();
                    b0 = 0.99765 * b0 + w * 0.0990460;
                    b1 = 0.96300 * b1 + w * 0.2965164;
                    b2 = 0.57000 * b2 + w * 1.0526913;
                    b0 + b1 + b2 + w * 0.1848
                })
                .collect()
        }
        NoiseKind::Brown => {
            // Leaky integration (pole 0.995: 1/f² above 6 Hz at 8 kHz) with the mean removed,
            // so that no DC offset carries the noise's power.
            let mut y = 0f32;
            let mut out: Vec<f32> = (0..len)
                .map(|_| {
                    y = 0.995 * y + white();
                    y
                })
                .collect();
            let mean = out.iter().map(|&v| v as f64).sum::<f64>() / len.max(1) as f64;
            out.iter_mut().for_each(|v| *v -= mean as f32);
            out
        }
        NoiseKind::Babble(talkers) => {
            let mut out = vec![0f32; len];
            for _ in 0..*talkers {
                let stretch = stretch_of(&bank.babble, len, rng);
                let p = power(&stretch);
                // Each talker at the same level, so that no one voice dominates the babble.
                let g = if p > 0.0 {
                    (1.0 / p).sqrt() as f32
                } else {
                    0.0
                };
                out.iter_mut().zip(&stretch).for_each(|(o, s)| *o += g * s);
            }
            out
        }
        NoiseKind::File(path) => stretch_of(bank.file(path), len, rng),
    }
}

/// A random stretch of `len` samples of `source`, looped when shorter (zeros when empty).
fn stretch_of(source: &[f32], len: usize, rng: &mut Rng) -> Vec<f32> {
    if source.is_empty() {
        return vec![0.0; len];
    }
    let start = rng.gen_range(0..source.len());
    (0..len)
        .map(|i| source[(start + i) % source.len()])
        .collect()
}

#[cfg(test)]
#[path = "corrupt_tests.rs"]
mod tests;
