use super::super::test_signals::{sine, uniform};
use super::*;

/// The RMS of `x[from..to]`.
fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn lengths_are_the_rounded_rate_ratio() {
    let x = vec![0.25f32; 1001];
    assert_eq!(resample(&x, 8000, 16000).len(), 2002);
    assert_eq!(resample(&x, 16000, 8000).len(), 501); // 500.5 rounds up
    assert_eq!(resample(&x, 44100, 16000).len(), 363); // 363.17
    assert_eq!(resample(&x[..3], 16000, 8000).len(), 2); // 1.5 rounds up
    assert_eq!(resample(&x, 8000, 8000), x);
    assert!(resample(&[], 8000, 16000).is_empty());
    assert!(resample(&x, 0, 16000).is_empty());
    assert!(resample(&x, 8000, 0).is_empty());
}

#[test]
fn a_sine_survives_8k_to_16k_and_back() {
    let x = sine(8000, 440.0, 8000.0, 0.5);
    let up = resample(&x, 8000, 16000);
    let expected_up = sine(16000, 440.0, 16000.0, 0.5);
    let back = resample(&up, 16000, 8000);
    assert_eq!(back.len(), x.len());
    // Away from the edges, where the zero padding outside the signal is inside the filter.
    let err_up: Vec<f32> = up[400..15600]
        .iter()
        .zip(&expected_up[400..15600])
        .map(|(a, b)| a - b)
        .collect();
    assert!(rms(&err_up) < 1e-3, "upsampled RMS error {}", rms(&err_up));
    let err: Vec<f32> = back[200..7800]
        .iter()
        .zip(&x[200..7800])
        .map(|(a, b)| a - b)
        .collect();
    assert!(rms(&err) < 1e-3, "round-trip RMS error {}", rms(&err));
}

#[test]
fn downsampling_keeps_the_band_and_removes_what_would_alias() {
    // 16 kHz to 8 kHz: the new Nyquist frequency is 4 kHz.
    let pass = resample(&sine(16000, 3500.0, 16000.0, 0.5), 16000, 8000);
    let stop = resample(&sine(16000, 6000.0, 16000.0, 0.5), 16000, 8000);
    let input_rms = 0.5 / 2f64.sqrt();
    let pass_db = 20.0 * (rms(&pass[200..7800]) / input_rms).log10();
    let stop_db = 20.0 * (rms(&stop[200..7800]) / input_rms).log10();
    assert!(pass_db.abs() < 0.5, "3.5 kHz changed by {pass_db:.2} dB");
    assert!(stop_db < -40.0, "6 kHz only attenuated by {stop_db:.1} dB");
}

#[test]
fn the_untabled_path_filters_the_same_way() {
    // 16000 -> 8001 Hz has 8001 phases, more than the table holds: the taps are computed per
    // output sample. A 440 Hz tone passes, a 6 kHz tone is removed.
    let y = resample(&sine(16000, 440.0, 16000.0, 0.5), 16000, 8001);
    assert_eq!(y.len(), 8001);
    let expected = sine(8001, 440.0, 8001.0, 0.5);
    let err: Vec<f32> = y[200..7800]
        .iter()
        .zip(&expected[200..7800])
        .map(|(a, b)| a - b)
        .collect();
    assert!(rms(&err) < 1e-3, "RMS error {}", rms(&err));
    let stop = resample(&sine(16000, 6000.0, 16000.0, 0.5), 16000, 8001);
    assert!(20.0 * (rms(&stop[200..7800]) / 0.3536).log10() < -40.0);
}

#[test]
fn dc_and_noise_keep_their_level() {
    // DC gain 1 (away from the zero-padded edges); white noise at 44.1 kHz to 16 kHz keeps
    // about the fraction of its power below the new cutoff (16/44.1 of it, times the roll-off).
    let dc = resample(&vec![0.5f32; 4410], 44100, 16000);
    assert!(
        dc[200..1400].iter().all(|&v| (v - 0.5).abs() < 1e-3),
        "{:?}",
        &dc[200..210]
    );
    let noise = uniform(44100, 5);
    let y = resample(&noise, 44100, 16000);
    let ratio = rms(&y[500..15500]).powi(2) / rms(&noise).powi(2);
    let expected = 16000.0 / 44100.0 * ROLLOFF;
    assert!(
        (ratio / expected - 1.0).abs() < 0.1,
        "power ratio {ratio} vs {expected}"
    );
}
