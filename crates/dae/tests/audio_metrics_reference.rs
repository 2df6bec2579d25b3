//! Agreement with numpy for the audio metrics: `si_sdr` and `seg_snr` on the four signal pairs
//! of `tests/fixtures/audio_metrics.json` give the values `scripts/audio_metrics_reference.py`
//! computed for them in float64 (SI-SDR as asteroid/torchmetrics define it; segmental SNR with
//! 256-sample frames, [-10, 35] dB clamp, silent frames skipped), to 1e-6 dB.
//!
//! The fixture stores samples as integers in millionths; each is divided by 1e6 and rounded to
//! `f32` here exactly as the script does before computing, so both sides see the same samples.

use std::collections::BTreeMap;

use dae::tasks::audio::signal::metrics::{seg_snr, si_sdr, SEG_SNR_FRAME};
use serde::Deserialize;

const TOL_DB: f64 = 1e-6;

#[derive(Deserialize)]
struct Fixture {
    scale: f64,
    frame: usize,
    references: BTreeMap<String, Vec<i64>>,
    pairs: Vec<Pair>,
}

#[derive(Deserialize)]
struct Pair {
    name: String,
    reference: String,
    estimate: Vec<i64>,
    si_sdr: f64,
    seg_snr: f64,
}

fn samples(ints: &[i64], scale: f64) -> Vec<f32> {
    ints.iter().map(|&v| (v as f64 / scale) as f32).collect()
}

#[test]
fn si_sdr_and_seg_snr_match_the_numpy_reference() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/audio_metrics.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    let fixture: Fixture = serde_json::from_str(&text).expect("fixture parses");
    assert_eq!(fixture.frame, SEG_SNR_FRAME);
    assert_eq!(fixture.pairs.len(), 4);
    let mut clamped_low = false;
    for pair in &fixture.pairs {
        let reference = samples(&fixture.references[&pair.reference], fixture.scale);
        let estimate = samples(&pair.estimate, fixture.scale);
        assert_eq!(reference.len(), estimate.len(), "{}", pair.name);
        let got = si_sdr(&reference, &estimate);
        assert!(
            (got - pair.si_sdr).abs() < TOL_DB,
            "{}: SI-SDR {got} vs numpy {}",
            pair.name,
            pair.si_sdr
        );
        let got = seg_snr(&reference, &estimate, SEG_SNR_FRAME);
        assert!(
            (got - pair.seg_snr).abs() < TOL_DB,
            "{}: segmental SNR {got} vs numpy {}",
            pair.name,
            pair.seg_snr
        );
        clamped_low |= pair.seg_snr < -5.0;
    }
    // The pairs span the regimes: the fixture must exercise the low clamp, not only mild SNRs.
    assert!(
        clamped_low,
        "no pair with a strongly negative segmental SNR"
    );
}
