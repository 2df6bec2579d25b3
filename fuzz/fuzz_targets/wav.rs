//! WAV files (`dae::tasks::audio::signal::wav::read_wav_bytes`) on hostile bytes: whatever the
//! header declares, reading must return (never panic, never reserve memory for samples the file
//! does not hold), and a file that reads must keep the invariants callers rely on: a positive
//! rate and channel count, at least one sample, every sample finite, and no more frames than
//! the bytes could hold (a sample takes at least one byte per channel).

#![no_main]

use std::path::Path;

use dae::tasks::audio::signal::wav::read_wav_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(wav) = read_wav_bytes(data, Path::new("fuzz.wav")) else {
        return;
    };
    assert!(wav.sample_rate > 0, "a 0 Hz file was accepted");
    assert!(wav.channels > 0, "a file without channels was accepted");
    assert!(!wav.samples.is_empty(), "an empty file was accepted");
    assert!(
        wav.samples.iter().all(|v| v.is_finite()),
        "a non-finite sample was returned"
    );
    assert!(
        wav.samples.len() * usize::from(wav.channels) <= data.len(),
        "more samples than the bytes can hold"
    );
});
