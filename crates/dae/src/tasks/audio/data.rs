//! Speech recordings: a folder of WAV files (`--data DIR`) or the embedded subset of the Free
//! Spoken Digit Dataset (`data/fsdd/`), each recording with its speaker, split by whole speakers
//! into training, validation and test (docs/audio.md).
//!
//! A recording's speaker is the name of the subfolder it sits in; at the top level of the folder
//! it is the middle field of an FSDD-style name `{label}_{speaker}_{index}.wav`, else the file's
//! own name (each such file is its own speaker).

use std::path::{Path, PathBuf};

use super::signal::resample::resample;
use super::signal::wav::{read_wav, read_wav_bytes, Wav};
use crate::limits::MAX_INPUT_BYTES;
use crate::{Error, Result};

/// The embedded default: 470 FSDD recordings (data/fsdd/README.md), an uncompressed tar.
const FSDD_SUBSET: &[u8] = include_bytes!("../../../../../data/fsdd/fsdd-subset.tar");

/// One recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// Who speaks.
    pub speaker: String,
    /// The file's path inside the data folder (or the tar).
    pub name: String,
    /// Mono samples in [-1, 1] at the data set's rate.
    pub samples: Vec<f32>,
}

/// A data set of recordings at one sample rate, sorted by speaker and name.
#[derive(Clone, Debug)]
pub struct AudioData {
    /// Samples per second of every recording.
    pub sample_rate: u32,
    /// The recordings.
    pub recordings: Vec<Recording>,
    /// Where they came from, for messages.
    pub source: String,
}

impl AudioData {
    /// The speakers, sorted, each once.
    pub fn speakers(&self) -> Vec<String> {
        let mut s: Vec<String> = self.recordings.iter().map(|r| r.speaker.clone()).collect();
        s.dedup();
        s
    }

    /// The recordings of `speakers`, in the data set's order.
    pub fn of_speakers(&self, speakers: &[String]) -> Vec<&Recording> {
        self.recordings
            .iter()
            .filter(|r| speakers.contains(&r.speaker))
            .collect()
    }
}

/// The data of a run: the folder `data` (every recording resampled to `sample_rate` when one
/// is given, else all at one rate) or the embedded subset.
pub fn load(data: Option<&Path>, sample_rate: Option<u32>) -> Result<AudioData> {
    let data = match data {
        Some(dir) => read_folder(dir, sample_rate)?,
        None => read_embedded(sample_rate)?,
    };
    if data.recordings.is_empty() {
        return Err(Error::Format {
            path: PathBuf::from(&data.source),
            reason: "holds no WAV files".into(),
        });
    }
    Ok(data)
}

/// The embedded FSDD subset.
pub fn read_embedded(sample_rate: Option<u32>) -> Result<AudioData> {
    let mut files = Vec::new();
    for (name, bytes) in tar_entries(FSDD_SUBSET)? {
        if name.ends_with(".wav") {
            files.push((name.clone(), read_wav_bytes(bytes, Path::new(&name))?));
        }
    }
    assemble(files, sample_rate, "the embedded FSDD subset".into())
}

/// Every `.wav` file of `dir` and of its immediate subfolders (other files are skipped).
pub fn read_folder(dir: &Path, sample_rate: Option<u32>) -> Result<AudioData> {
    let mut paths = Vec::new();
    for entry in list(dir)? {
        if entry.is_dir() {
            paths.extend(list(&entry)?.into_iter().filter(|p| is_wav(p)));
        } else if is_wav(&entry) {
            paths.push(entry);
        }
    }
    paths.sort();
    let mut files = Vec::new();
    let mut bytes = 0u64;
    for path in paths {
        let wav = read_wav(&path)?;
        bytes += wav.samples.len() as u64 * 4;
        MAX_INPUT_BYTES.check(Some(bytes as u128), || {
            format!("the audio of {} (as 32-bit floats)", dir.display())
        })?;
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        files.push((name, wav));
    }
    assemble(files, sample_rate, dir.display().to_string())
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    entries
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect()
}

fn is_wav(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

/// Recordings from `(name, wav)` pairs: one rate (resampled to `sample_rate` if given; else
/// two rates are refused, naming a file of each), speakers from the names, sorted.
fn assemble(
    files: Vec<(String, Wav)>,
    sample_rate: Option<u32>,
    source: String,
) -> Result<AudioData> {
    if sample_rate == Some(0) {
        return Err(Error::Config("--sample-rate must be above 0 Hz".into()));
    }
    let rate = match (sample_rate, files.first()) {
        (Some(r), _) => r,
        (None, Some((_, wav))) => wav.sample_rate,
        (None, None) => 8000,
    };
    if sample_rate.is_none() {
        if let Some((first, odd)) = files.first().and_then(|(first, _)| {
            files
                .iter()
                .find(|(_, w)| w.sample_rate != rate)
                .map(|odd| (first, odd))
        }) {
            return Err(Error::Format {
                path: PathBuf::from(&source),
                reason: format!(
                    "its files have different sample rates ({first}: {rate} Hz, {}: {} Hz); \
                     give --sample-rate to resample them all to one",
                    odd.0, odd.1.sample_rate
                ),
            });
        }
    }
    let mut recordings: Vec<Recording> = files
        .into_iter()
        .map(|(name, wav)| Recording {
            speaker: speaker_of(&name),
            // Most folders have one rate: their samples move, not copied through the resampler.
            samples: if wav.sample_rate == rate {
                wav.samples
            } else {
                resample(&wav.samples, wav.sample_rate, rate)
            },
            name,
        })
        .collect();
    recordings.sort_by(|a, b| (&a.speaker, &a.name).cmp(&(&b.speaker, &b.name)));
    Ok(AudioData {
        sample_rate: rate,
        recordings,
        source,
    })
}

/// The speaker of the recording at `name` (a path relative to the data folder).
pub fn speaker_of(name: &str) -> String {
    let path = Path::new(name);
    let mut parts = path.components();
    if path.components().count() > 1 {
        if let Some(dir) = parts.next() {
            return dir.as_os_str().to_string_lossy().into_owned();
        }
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fields: Vec<&str> = stem.split('_').collect();
    match fields.as_slice() {
        [_, speaker, _] if !speaker.is_empty() => speaker.to_string(),
        _ => stem,
    }
}

/// The speakers of each split.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeakerSplit {
    /// Speakers the model trains on.
    pub train: Vec<String>,
    /// Speakers of the per-epoch validation.
    pub val: Vec<String>,
    /// Speakers of `dae eval`.
    pub test: Vec<String>,
}

/// Splits `speakers` (sorted) into whole-speaker sets: `val` and `test` as given, or by default
/// the last speaker for test and the one before it for validation; the rest train. At least
/// three speakers are needed, and every named speaker must exist.
pub fn split_speakers(
    speakers: &[String],
    val: &[String],
    test: &[String],
) -> Result<SpeakerSplit> {
    for name in val.iter().chain(test) {
        if !speakers.contains(name) {
            return Err(Error::Config(format!(
                "speaker `{name}` is not in the data (its speakers: {})",
                speakers.join(", ")
            )));
        }
    }
    if let Some(both) = val.iter().find(|v| test.contains(v)) {
        return Err(Error::Config(format!(
            "speaker `{both}` is given for both validation and test"
        )));
    }
    // Speakers not named for validation or test, in order; the defaults come off its end.
    let mut free: Vec<String> = speakers
        .iter()
        .filter(|s| !val.contains(s) && !test.contains(s))
        .cloned()
        .collect();
    let test = if test.is_empty() {
        free.pop().into_iter().collect()
    } else {
        test.to_vec()
    };
    let val = if val.is_empty() {
        free.pop().into_iter().collect()
    } else {
        val.to_vec()
    };
    let train: Vec<String> = speakers
        .iter()
        .filter(|s| !val.contains(s) && !test.contains(s))
        .cloned()
        .collect();
    if train.is_empty() || val.is_empty() || test.is_empty() {
        return Err(Error::Config(format!(
            "the audio task splits by whole speakers and needs at least three (training, \
             validation, test); the data has {}: {} (a recording's speaker is its subfolder \
             or the middle field of `label_speaker_index.wav`)",
            speakers.len(),
            speakers.join(", ")
        )));
    }
    Ok(SpeakerSplit { train, val, test })
}

/// The recordings' samples end to end.
pub fn concatenate(recordings: &[&Recording]) -> Vec<f32> {
    recordings
        .iter()
        .flat_map(|r| r.samples.iter().copied())
        .collect()
}

/// Clips of at least `min_len` samples made by joining consecutive recordings of each speaker
/// (single digits are too short for speech metrics); a speaker's remainder shorter than
/// `min_len` joins the speaker's last clip, or is a clip of its own if it is the only one.
pub fn joined_clips(recordings: &[&Recording], min_len: usize) -> Vec<Vec<f32>> {
    let mut clips: Vec<Vec<f32>> = Vec::new();
    let mut current: Vec<f32> = Vec::new();
    let mut speaker_first_clip = 0;
    for (i, r) in recordings.iter().enumerate() {
        if i > 0 && recordings[i - 1].speaker != r.speaker {
            flush(&mut clips, &mut current, speaker_first_clip);
            speaker_first_clip = clips.len();
        }
        current.extend_from_slice(&r.samples);
        if current.len() >= min_len {
            clips.push(std::mem::take(&mut current));
        }
    }
    flush(&mut clips, &mut current, speaker_first_clip);
    clips
}

fn flush(clips: &mut Vec<Vec<f32>>, current: &mut Vec<f32>, speaker_first_clip: usize) {
    if current.is_empty() {
        return;
    }
    if clips.len() > speaker_first_clip {
        if let Some(last) = clips.last_mut() {
            last.append(current);
            return;
        }
    }
    clips.push(std::mem::take(current));
}

/// The regular files of a ustar/GNU tar archive as `(name, bytes)`; anything malformed is an
/// error naming the embedded archive.
fn tar_entries(tar: &[u8]) -> Result<Vec<(String, &[u8])>> {
    let bad = |reason: String| Error::Format {
        path: PathBuf::from("data/fsdd/fsdd-subset.tar (embedded)"),
        reason,
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).into_owned();
        let size_text = String::from_utf8_lossy(&header[124..136]);
        let size = usize::from_str_radix(size_text.trim_matches(|c| c == '\0' || c == ' '), 8)
            .map_err(|_| bad(format!("entry `{name}` has a bad size field")))?;
        let start = at + 512;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= tar.len())
            .ok_or_else(|| bad(format!("entry `{name}` runs past the end")))?;
        if matches!(header[156], b'0' | 0) {
            out.push((name, &tar[start..end]));
        }
        at = start + size.div_ceil(512) * 512;
    }
    Ok(out)
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
