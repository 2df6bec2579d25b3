use super::super::test_signals::{sine, uniform};
use super::*;

#[test]
fn bad_frame_lengths_and_hops_are_config_errors() {
    for (n_fft, hop) in [(0, 1), (1, 1), (7, 2), (8, 0), (8, 9)] {
        match Stft::new(n_fft, hop) {
            Err(Error::Config(m)) => assert!(m.contains("STFT"), "{m}"),
            other => panic!("({n_fft}, {hop}) gave {other:?}"),
        }
    }
    assert!(Stft::new(2, 2).is_ok());
    assert!(Stft::new(512, 128).is_ok());
}

#[test]
fn the_window_is_the_periodic_hann() {
    let s = Stft::new(8, 2).unwrap();
    let expect = [
        0.0,
        0.146_446_6,
        0.5,
        0.853_553_4,
        1.0,
        0.853_553_4,
        0.5,
        0.146_446_6,
    ];
    for (w, e) in s.window().iter().zip(expect) {
        assert!((w - e).abs() < 1e-6, "{:?}", s.window());
    }
    assert_eq!((s.n_fft(), s.hop(), s.bins()), (8, 2, 5));
}

#[test]
fn frame_counts_follow_torch() {
    let s = Stft::new(64, 16).unwrap();
    for (len, frames) in [(0, 1), (15, 1), (16, 2), (1000, 63), (1001, 63)] {
        assert_eq!(s.frames_for(len), frames);
        let spec = s.forward(&vec![0.0; len]);
        assert_eq!((spec.frames, spec.bins), (frames, 33));
        assert_eq!((spec.re.len(), spec.im.len()), (frames * 33, frames * 33));
    }
}

#[test]
fn forward_matches_a_naive_dft_of_the_centred_frames() {
    let (n_fft, hop) = (64, 16);
    let s = Stft::new(n_fft, hop).unwrap();
    let x = uniform(1000, 7);
    let spec = s.forward(&x);
    let half = n_fft / 2;
    let mut worst = 0.0f64;
    for t in 0..spec.frames {
        for k in 0..spec.bins {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for n in 0..n_fft {
                let p = (t * hop + n) as isize - half as isize;
                let v = if p >= 0 && (p as usize) < x.len() {
                    f64::from(x[p as usize])
                } else {
                    0.0
                };
                let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos();
                let angle = -2.0 * std::f64::consts::PI * (k * n) as f64 / n_fft as f64;
                re += w * v * angle.cos();
                im += w * v * angle.sin();
            }
            let at = t * spec.bins + k;
            worst = worst
                .max((f64::from(spec.re[at]) - re).abs())
                .max((f64::from(spec.im[at]) - im).abs());
        }
    }
    assert!(
        worst < 1e-4,
        "largest difference from the naive DFT: {worst}"
    );
}

#[test]
fn inverse_of_forward_is_the_identity() {
    for (n_fft, hop) in [(64, 16), (64, 32), (256, 64), (256, 128), (8, 2)] {
        let s = Stft::new(n_fft, hop).unwrap();
        for len in [1, 37, 999, 1000, 1001] {
            let x = uniform(len, len as u64);
            let y = s.inverse(&s.forward(&x), len);
            assert_eq!(y.len(), len);
            let worst = x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "n_fft {n_fft} hop {hop} len {len}: {worst}");
        }
    }
}

#[test]
fn inverse_crops_and_pads_to_the_asked_length() {
    let s = Stft::new(16, 4).unwrap();
    let x = uniform(100, 3);
    let spec = s.forward(&x);
    let short = s.inverse(&spec, 50);
    assert_eq!(&short[..], &s.inverse(&spec, 100)[..50]);
    // Past the last frame there is no window to divide by: zeros, not NaN.
    let long = s.inverse(&spec, 200);
    assert_eq!(long.len(), 200);
    assert!(long[120..].iter().all(|&v| v == 0.0));
    assert!(long.iter().all(|v| v.is_finite()));
}

#[test]
fn a_malformed_spectrogram_still_gives_len_finite_samples() {
    let s = Stft::new(16, 4).unwrap();
    let spec = Spectrogram {
        frames: 10,
        bins: 3,
        re: vec![1.0; 7],
        im: vec![f32::MAX; 30],
    };
    let y = s.inverse(&spec, 40);
    assert_eq!(y.len(), 40);
}

#[test]
fn a_pure_tone_peaks_in_its_bin() {
    let (rate, n_fft) = (8000.0, 256);
    let s = Stft::new(n_fft, 64).unwrap();
    // Bin 20 of 256 at 8 kHz is 625 Hz.
    let spec = s.forward(&sine(4000, 625.0, rate, 0.5));
    let mag = spec.magnitude();
    let middle = &mag[(spec.frames / 2) * spec.bins..(spec.frames / 2 + 1) * spec.bins];
    let peak = (0..spec.bins)
        .max_by(|&a, &b| middle[a].total_cmp(&middle[b]))
        .unwrap();
    assert_eq!(peak, 20);
    // A sine of amplitude A under a Hann window of sum N/2 peaks at A·N/4.
    assert!(
        (middle[20] - 0.5 * 256.0 / 4.0).abs() < 0.1,
        "{}",
        middle[20]
    );
}

#[test]
fn magnitude_is_the_modulus() {
    let spec = Spectrogram {
        frames: 1,
        bins: 2,
        re: vec![3.0, 0.0],
        im: vec![4.0, -2.0],
    };
    assert_eq!(spec.magnitude(), vec![5.0, 2.0]);
}
