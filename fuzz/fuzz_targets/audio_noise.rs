//! Audio corruption specs (`dae::tasks::audio::parse_audio_noise`) on hostile text: a spec that
//! parses prints as a spec that parses to the same corruption, and applied to a short clip (file
//! noise excepted: it reads a file) it keeps the clip's length and gives finite samples.

#![no_main]

use std::sync::Arc;

use dae::seed::{self, Purpose};
use dae::tasks::audio::corrupt::{AudioComponent, NoiseBank, NoiseKind};
use dae::tasks::audio::parse_audio_noise;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(noise) = parse_audio_noise(text) else {
        return;
    };
    let printed = noise.to_string();
    let again = parse_audio_noise(&printed).expect("a printed spec parses");
    assert_eq!(again, noise, "`{printed}` parses to another corruption");
    let reads_a_file = noise.parts.iter().any(|(_, c)| {
        matches!(
            c,
            AudioComponent::Noise {
                kind: NoiseKind::File(_),
                ..
            }
        )
    });
    if reads_a_file {
        return;
    }
    let speech: Vec<f32> = (0..500).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    let bank = NoiseBank::new(8000, Arc::new(speech), []).expect("no files to read");
    let clean: Vec<f32> = (0..300).map(|i| (i as f32 * 0.11).cos() * 0.2).collect();
    let mut rng = seed::rng(1, Purpose::TrainNoise, 0);
    let noisy = noise.apply(&clean, &bank, &mut rng);
    assert_eq!(noisy.len(), clean.len());
    assert!(noisy.iter().all(|v| v.is_finite()), "`{printed}` gave a non-finite sample");
});
