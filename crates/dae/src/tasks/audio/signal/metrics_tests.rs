use super::super::test_signals::gaussian;
use super::*;

/// `s = [1, -1, 1, -1, ...]` and `e = [1, 1, -1, -1, ...]`: both zero-mean over a multiple of 4
/// samples and exactly orthogonal, so closed forms hold to the last bit.
fn orthogonal_pair(len: usize) -> (Vec<f32>, Vec<f32>) {
    let s = (0..len)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let e = (0..len)
        .map(|i| if i % 4 < 2 { 1.0 } else { -1.0 })
        .collect();
    (s, e)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_perfect_or_power_of_two_scaled_estimate_is_infinite() {
    let s = gaussian(1000, 1);
    assert_eq!(si_sdr(&s, &s), f64::INFINITY);
    let doubled: Vec<f32> = s.iter().map(|v| 2.0 * v).collect();
    assert_eq!(si_sdr(&s, &doubled), f64::INFINITY);
    let negated: Vec<f32> = s.iter().map(|v| -0.5 * v).collect();
    assert_eq!(si_sdr(&s, &negated), f64::INFINITY);
    let tripled: Vec<f32> = s.iter().map(|v| 3.0 * v).collect();
    assert!(si_sdr(&s, &tripled) > 100.0);
}

#[test]
fn orthogonal_noise_of_known_energy_gives_the_exact_ratio() {
    let (s, e) = orthogonal_pair(1000);
    // Coefficients whose products and sums are exact in f32.
    for c in [0.5f32, 1.0, 0.125, 3.0] {
        let est: Vec<f32> = s.iter().zip(&e).map(|(a, b)| a + c * b).collect();
        // ‖s‖² = ‖e‖² = N, so SI-SDR = 10 log10(1 / c²).
        let expected = -20.0 * f64::from(c).log10();
        assert!(
            close(si_sdr(&s, &est), expected),
            "c = {c}: {}",
            si_sdr(&s, &est)
        );
    }
    // 0.5 → 6.0206 dB, the textbook value.
    let est: Vec<f32> = s.iter().zip(&e).map(|(a, b)| a + 0.5 * b).collect();
    assert!((si_sdr(&s, &est) - 6.020_599_913).abs() < 1e-8);
}

#[test]
fn gain_and_offset_of_the_estimate_do_not_change_si_sdr() {
    let s = gaussian(2000, 2);
    let noise = gaussian(2000, 3);
    let est: Vec<f32> = s.iter().zip(&noise).map(|(a, b)| a + 0.3 * b).collect();
    let moved: Vec<f32> = est.iter().map(|v| 0.25 * v + 0.7).collect();
    let (a, b) = (si_sdr(&s, &est), si_sdr(&s, &moved));
    assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    // White noise at 0.3 times the signal's level: about 10.5 dB.
    assert!((a - 10.46).abs() < 0.3, "{a}");
    // An offset of the reference is removed too.
    let shifted: Vec<f32> = s.iter().map(|v| v - 5.0).collect();
    assert!((si_sdr(&shifted, &est) - a).abs() < 1e-4);
}

#[test]
fn si_sdr_edge_cases() {
    let s = gaussian(100, 4);
    assert!(si_sdr(&s, &s[..99]).is_nan(), "lengths differ");
    assert!(si_sdr(&[], &[]).is_nan(), "empty");
    assert!(
        si_sdr(&[0.3; 100], &s).is_nan(),
        "a constant reference has no energy"
    );
    assert_eq!(
        si_sdr(&s, &[0.0; 100]),
        f64::NEG_INFINITY,
        "nothing recovered"
    );
    let mut bad = s.clone();
    bad[5] = f32::NAN;
    assert!(si_sdr(&s, &bad).is_nan());
    assert!(si_sdr(&bad, &s).is_nan());
}

#[test]
fn seg_snr_averages_clamped_frame_snrs() {
    let (s, _) = orthogonal_pair(1024);
    // Silence as the estimate: every frame's error equals its signal, 0 dB.
    assert!(close(seg_snr(&s, &[0.0; 1024], 256), 0.0));
    // Half the signal: error s/2, 10 log10(4) = 6.02 dB in every frame.
    let half: Vec<f32> = s.iter().map(|v| 0.5 * v).collect();
    assert!(close(seg_snr(&s, &half, 256), 20.0 * 2f64.log10()));
    // Perfect: the guard keeps it finite and the clamp caps it at 35 dB.
    assert_eq!(seg_snr(&s, &s, 256), SEG_SNR_MAX_DB);
    // Badly wrong (error 11 s, -20.8 dB): clamped at -10 dB.
    let wrong: Vec<f32> = s.iter().map(|v| -10.0 * v).collect();
    assert_eq!(seg_snr(&s, &wrong, 256), SEG_SNR_MIN_DB);
    // Mixed frames: perfect in the first two, -20.8 dB in the last two → (35 + 35 - 10 - 10) / 4.
    let mixed: Vec<f32> = s
        .iter()
        .enumerate()
        .map(|(i, &v)| if i < 512 { v } else { -10.0 * v })
        .collect();
    assert!(close(seg_snr(&s, &mixed, 256), 12.5));
}

#[test]
fn silent_frames_are_skipped_and_partial_frames_counted() {
    let (mut s, _) = orthogonal_pair(1000);
    s[..256].fill(0.0); // frame 0 silent
    let est: Vec<f32> = s.iter().map(|v| 0.5 * v + 0.01).collect();
    // Frames 1, 2 and the partial 232-sample frame 3 are counted; frame 0 (error 0.01² * 256 but
    // no signal) is not, else it would pull the mean down to the floor.
    let frame_snr = |lo: usize, hi: usize| {
        let sig: f64 = s[lo..hi].iter().map(|&v| f64::from(v).powi(2)).sum();
        let err: f64 = s[lo..hi]
            .iter()
            .zip(&est[lo..hi])
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        (10.0 * (sig / (err + 1e-10)).log10()).clamp(-10.0, 35.0)
    };
    let expected = (frame_snr(256, 512) + frame_snr(512, 768) + frame_snr(768, 1000)) / 3.0;
    assert!(close(seg_snr(&s, &est, 256), expected));
    assert!(
        seg_snr(&[0.0; 300], &[0.1; 300], 256).is_nan(),
        "all silent"
    );
    assert!(seg_snr(&s, &est[..999], 256).is_nan(), "lengths differ");
    assert!(seg_snr(&s, &est, 0).is_nan(), "no frame length");
}

#[test]
fn clip_scores_average_over_clips_and_score_the_noisy_input_beside() {
    let clean: Vec<f32> = (0..512).map(|i| (i as f32 * 0.1).sin()).collect();
    let noisy: Vec<f32> = clean
        .iter()
        .enumerate()
        .map(|(i, v)| v + if i % 2 == 0 { 0.1 } else { -0.1 })
        .collect();
    let clips = vec![
        (clean.clone(), noisy.clone()),
        (clean.clone(), clean.clone()),
    ];
    let identity = ClipScores::of(&clips, |x| x.to_vec());
    assert_eq!(identity.si_sdr, identity.noisy_si_sdr);
    assert_eq!(identity.seg_snr, identity.noisy_seg_snr);
    // Half the clips are off by 0.1 everywhere, half exact: a mean absolute error of 0.05.
    assert!((identity.l1 - 0.05).abs() < 1e-6, "{}", identity.l1);
    let perfect = ClipScores::of(&clips[..1], |_| clean.clone());
    assert_eq!(perfect.si_sdr, f64::INFINITY);
    assert_eq!(perfect.l1, 0.0);
}
