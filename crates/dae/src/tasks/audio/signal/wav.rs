//! WAV files in and out through `hound`.
//!
//! Reading takes whatever a recorder or a data set is likely to hold (8-, 16-, 24- or 32-bit
//! integer PCM, 32-bit float, any number of channels, plain or `WAVE_FORMAT_EXTENSIBLE`
//! headers) and gives back one mono signal in [-1, 1]. The file is untrusted: every header field
//! that sizes something is checked against the bytes actually present before a sample is read,
//! and each refusal names one reason. Writing produces one format only, mono 16-bit PCM, the
//! format every audio tool reads.

use std::io::Cursor;
use std::path::Path;

use crate::limits::MAX_AUDIO_SAMPLES;
use crate::{fsio, Error, Result};

/// A decoded WAV file.
#[derive(Clone, Debug, PartialEq)]
pub struct Wav {
    /// Frames per second, as the header declares it (never 0).
    pub sample_rate: u32,
    /// The number of channels the file stores (at least 1); [`Wav::samples`] is their average.
    pub channels: u16,
    /// One value per frame, the mean of the channels: integer samples divided by 2^(bits-1)
    /// (so in [-1, 1)), float samples as stored (finite; a float file may exceed [-1, 1]).
    /// Never empty.
    pub samples: Vec<f32>,
}

/// The message for 64-bit float files, which hound does not decode.
const FLOAT64: &str = "64-bit float WAV is not supported; convert to 16-bit PCM or 32-bit float";

/// Reads the WAV file at `path` (refused above `DAE_MAX_INPUT_BYTES` before it is read, like
/// every input file) and mixes it down to mono; see [`read_wav_bytes`] for what is refused.
pub fn read_wav(path: &Path) -> Result<Wav> {
    let bytes = fsio::read_input(path)?;
    read_wav_bytes(&bytes, path)
}

/// Decodes the WAV file held in `bytes` (a file already read, or one embedded in the binary);
/// `name` stands for it in messages. Refused, each with an [`Error::Format`] naming the reason:
/// bytes that are not a RIFF/WAVE file or whose header ends early, zero channels, a 0 Hz sample
/// rate, encodings other than integer PCM and 32-bit float (64-bit float included), a data
/// chunk that declares more samples than the file holds, an empty data chunk, and non-finite
/// float samples; more than `DAE_MAX_AUDIO_SAMPLES` samples per channel is an
/// [`Error::TooLarge`]. No input makes it panic (fuzz/fuzz_targets/wav.rs).
pub fn read_wav_bytes(bytes: &[u8], name: &Path) -> Result<Wav> {
    let bad = |reason: String| Error::format(name, reason);
    // hound reads the header (and only the header) here: the cursor is left at the first byte
    // of the data chunk, which is where hound will decode from below.
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|e| bad(header_reason(bytes, e)))?;
    let spec = reader.spec();
    let total = u64::from(reader.len());
    let channels = spec.channels;
    let data_start = reader.into_inner().position();

    if spec.sample_rate == 0 {
        return Err(bad("the header declares a sample rate of 0 Hz".into()));
    }
    let float = spec.sample_format == hound::SampleFormat::Float;
    match (float, spec.bits_per_sample) {
        (true, 32) | (false, 8 | 16 | 24 | 32) => {}
        (true, 64) => return Err(bad(FLOAT64.into())),
        (true, bits) => {
            return Err(bad(format!(
                "{bits}-bit float WAV is not supported; convert to 16-bit PCM or 32-bit float"
            )))
        }
        (false, bits) => {
            return Err(bad(format!(
                "{bits}-bit integer WAV is not supported; convert to 16-bit PCM or 32-bit float"
            )))
        }
    }
    if total == 0 {
        return Err(bad("no audio: the data chunk holds 0 samples".into()));
    }
    // hound refuses a data length that is not a whole number of frames, so this is exact.
    let frames = total / u64::from(channels);

    // The data chunk's declared byte length is the 4 bytes just before its first sample.
    let start = usize::try_from(data_start).unwrap_or(usize::MAX);
    let declared_bytes = start
        .checked_sub(4)
        .and_then(|at| bytes.get(at..start))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| bad("malformed header: no data chunk length".into()))?;
    let bytes_per_sample = u64::from(declared_bytes) / total;
    let present = bytes.len().saturating_sub(start) as u64;
    if present < u64::from(declared_bytes) {
        let block = bytes_per_sample * u64::from(channels);
        return Err(bad(format!(
            "truncated data chunk: the header declares {frames} samples per channel \
             ({declared_bytes} bytes) but the file holds {} ({present} bytes)",
            present / block.max(1)
        )));
    }
    // After the truncation check: a header declaring more than the file holds is told so,
    // whatever its size.
    MAX_AUDIO_SAMPLES.check(Some(u128::from(frames)), || {
        format!("the declared length of {}", name.display())
    })?;
    // The (container, bits) pairs hound decodes; anything else would fail on the first sample.
    match (float, bytes_per_sample, spec.bits_per_sample) {
        (true, 4, 32) | (false, 1, 8) | (false, 2, 16) | (false, 3 | 4, 24) | (false, 4, 32) => {}
        (_, width, bits) => {
            return Err(bad(format!(
                "unsupported sample layout: {bits}-bit samples stored in {width}-byte \
                 containers; convert to 16-bit PCM or 32-bit float"
            )))
        }
    }

    let mut reader = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("malformed header: {e}")))?;
    let decode_error = |e: hound::Error| bad(format!("cannot decode a sample: {e}"));
    let values: Box<dyn Iterator<Item = Result<f64>> + '_> = if float {
        Box::new(
            reader
                .samples::<f32>()
                .map(|s| s.map(f64::from).map_err(decode_error)),
        )
    } else {
        let scale = 1.0 / f64::from(1u32 << (spec.bits_per_sample - 1));
        Box::new(
            reader
                .samples::<i32>()
                .map(move |s| s.map(|v| f64::from(v) * scale).map_err(decode_error)),
        )
    };
    mix_down(values, channels, name).map(|samples| Wav {
        sample_rate: spec.sample_rate,
        channels,
        samples,
    })
}

/// Averages each frame of `channels` interleaved values into one sample, refusing a non-finite
/// value (a float file's NaN would otherwise poison every later sum, loss and metric).
fn mix_down(
    values: impl Iterator<Item = Result<f64>>,
    channels: u16,
    name: &Path,
) -> Result<Vec<f32>> {
    // Grown as samples arrive, not reserved from the header: the length was checked against the
    // bytes present, but the allocation still follows what is actually decoded.
    let mut samples = Vec::new();
    let mut sum = 0.0f64;
    for (i, value) in values.enumerate() {
        let v = value?;
        if !v.is_finite() {
            return Err(Error::format(
                name,
                format!("sample {i} is not a finite number ({v})"),
            ));
        }
        sum += v;
        if (i + 1) % usize::from(channels) == 0 {
            samples.push((sum / f64::from(channels)) as f32);
            sum = 0.0;
        }
    }
    Ok(samples)
}

/// The reason to give for a header hound refused: hound's own words where they are clear, a
/// reworded one where they are not (its "bits per sample is not 32" is about floats).
fn header_reason(bytes: &[u8], e: hound::Error) -> String {
    let riff = bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE";
    match e {
        _ if !riff => "not a WAV file: it does not start with a RIFF/WAVE header".into(),
        hound::Error::IoError(_) => {
            "truncated header: the file ends before its `fmt ` and `data` chunks are complete"
                .into()
        }
        hound::Error::FormatError("file contains zero channels") => {
            "the header declares 0 channels".into()
        }
        hound::Error::FormatError("bits per sample is not 32") => {
            match fmt_fields(bytes) {
                Some((_, 64)) | None => FLOAT64.into(),
                Some((_, bits)) => {
                    format!("{bits}-bit float WAV is not supported; convert to 16-bit PCM or 32-bit float")
                }
            }
        }
        hound::Error::FormatError("missing fmt chunk") => {
            "malformed header: the data chunk comes before any `fmt ` chunk".into()
        }
        hound::Error::Unsupported => match fmt_fields(bytes) {
            Some((tag, _)) => format!(
                "unsupported encoding (format tag {tag:#06x}); only integer PCM and 32-bit \
                 float WAV can be read; convert to 16-bit PCM"
            ),
            None => "unsupported encoding; convert to 16-bit PCM".into(),
        },
        other => format!("malformed header: {other}"),
    }
}

/// The format tag and bits per sample of the first `fmt ` chunk, found by walking the chunks the
/// way hound does (a `fact` chunk is read as 4 bytes whatever its length); for an extensible
/// header, the sub-format's tag and the valid bits. Only for wording messages.
fn fmt_fields(bytes: &[u8]) -> Option<(u16, u16)> {
    // Checked offsets throughout: a chunk length near 4 GiB must end the walk, not wrap.
    let field = |at: usize, n: usize| bytes.get(at..at.checked_add(n)?);
    let u16_at = |at: usize| Some(u16::from_le_bytes(field(at, 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(field(at, 4)?.try_into().ok()?));
    let mut pos = 12usize;
    loop {
        let id = field(pos, 4)?;
        let len = u32_at(pos.checked_add(4)?)? as usize;
        match id {
            b"fmt " => {
                let body = pos + 8;
                let (tag, bits) = (u16_at(body)?, u16_at(body + 14)?);
                if tag != 0xfffe {
                    return Some((tag, bits));
                }
                let valid = u16_at(body + 18)?;
                let sub = u16_at(body + 24)?;
                return Some((sub, if valid > 0 { valid } else { bits }));
            }
            b"fact" => pos = pos.checked_add(12)?,
            b"data" => return None,
            _ => pos = pos.checked_add(8)?.checked_add(len)?,
        }
    }
}

/// Writes `samples` to `path` as a mono 16-bit PCM WAV at `sample_rate`, atomically
/// ([`fsio::write_atomic`]): each sample is clipped to [-1, 1], scaled by 32768 (the inverse of
/// [`read_wav`]'s scaling, so a sample on the 16-bit grid reads back exactly), rounded, and
/// clipped to the 16-bit range (+1.0 becomes 32767); NaN is written as 0.
pub fn write_wav(path: &Path, sample_rate: u32, samples: &[f32]) -> Result<()> {
    if sample_rate == 0 {
        return Err(Error::Config(format!(
            "{}: cannot write a WAV file at 0 Hz",
            path.display()
        )));
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |e: hound::Error| Error::format(path, format!("cannot encode WAV: {e}"));
    let mut cursor = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).map_err(fail)?;
    for &s in samples {
        // `as` saturates and maps NaN to 0, which is the behaviour documented above.
        let v = (f64::from(s.clamp(-1.0, 1.0)) * 32768.0).round() as i16;
        writer.write_sample(v).map_err(fail)?;
    }
    writer.finalize().map_err(fail)?;
    fsio::write_atomic(path, cursor.get_ref())
}

#[cfg(test)]
#[path = "wav_tests.rs"]
mod tests;
