use rand::SeedableRng;

use super::*;

fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

fn bank() -> NoiseBank {
    let speech: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
    NoiseBank::new(8000, Arc::new(speech), []).unwrap()
}

#[test]
fn specs_parse_print_and_refuse_naming_the_spec() {
    for text in [
        "noise:snr=5",
        "noise:snr=0..10,type=pink",
        "noise:snr=5,type=brown",
        "noise:snr=5,type=babble,talkers=3",
        "dropout:p=0.1",
        "timemask:ms=50,count=2",
        "none",
        "noise:snr=5+timemask:ms=20,count=1",
        "0.5*noise:snr=5+0.5*noise:snr=5,type=pink",
    ] {
        let parsed = parse_audio_noise(text).unwrap();
        assert_eq!(
            parse_audio_noise(&parsed.to_string()).unwrap(),
            parsed,
            "{text}"
        );
    }
    assert_eq!(
        parse_audio_noise("noise:snr=5,file=rain.wav")
            .unwrap()
            .parts[0]
            .1,
        AudioComponent::Noise {
            snr: Strength::Fixed(5.0),
            kind: NoiseKind::File("rain.wav".into())
        }
    );
    for (bad, says) in [
        ("", "empty spec"),
        ("noise", "requires `snr`"),
        ("noise:snr=100", "[-30, 60]"),
        ("noise:snr=5,type=violet", "unknown noise type `violet`"),
        ("noise:snr=5,type=pink,file=a.wav", "not both"),
        ("noise:snr=5,talkers=3", "goes with type=babble"),
        ("noise:snr=5,type=babble,talkers=0", "1..32"),
        ("dropout:p=1", "[0, 1)"),
        ("timemask:ms=0", "(0, 10000]"),
        ("timemask:ms=10,count=1.5", "whole number"),
        ("gaussian:sigma=0.1", "is an image corruption"),
        ("hiss", "unknown noise `hiss`"),
    ] {
        let e = parse_audio_noise(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
        assert!(e.contains(&format!("`{}`", bad.trim())), "{bad}: {e}");
    }
}

#[test]
fn noise_is_added_at_exactly_the_requested_snr() {
    let clean: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
    for spec in [
        "noise:snr=5",
        "noise:snr=-3,type=pink",
        "noise:snr=12,type=babble",
    ] {
        let noisy = parse_audio_noise(spec)
            .unwrap()
            .apply(&clean, &bank(), &mut rng(1));
        let noise: Vec<f32> = noisy.iter().zip(&clean).map(|(a, b)| a - b).collect();
        let snr = 10.0 * (power(&clean) / power(&noise)).log10();
        let want: f64 = spec[10..].split(',').next().unwrap().parse().unwrap();
        assert!((snr - want).abs() < 1e-3, "{spec}: {snr}");
    }
    // No SNR is defined for silence: nothing is added.
    let mut silent = vec![0f32; 100];
    add_at_snr(&mut silent, &[1.0; 100], 5.0);
    assert!(silent.iter().all(|&v| v == 0.0));
}

#[test]
fn colours_are_ordered_by_their_correlation() {
    let lag1 = |kind: NoiseKind| {
        let x = draw_noise(&kind, 20_000, &bank(), &mut rng(3));
        let num: f64 = x.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum();
        num / x.iter().map(|&v| v as f64 * v as f64).sum::<f64>()
    };
    let (white, pink, brown) = (
        lag1(NoiseKind::White),
        lag1(NoiseKind::Pink),
        lag1(NoiseKind::Brown),
    );
    assert!(white.abs() < 0.03, "{white}");
    assert!(pink > 0.5 && pink < 0.99, "{pink}");
    assert!(brown > 0.99, "{brown}");
}

#[test]
fn draws_follow_the_rng_and_masks_zero_what_they_say() {
    let clean: Vec<f32> = (0..8000).map(|i| 0.1 + (i % 7) as f32 * 0.01).collect();
    let spec = parse_audio_noise("noise:snr=0..10,type=babble+dropout:p=0.2").unwrap();
    let a = spec.apply(&clean, &bank(), &mut rng(5));
    assert_eq!(a, spec.apply(&clean, &bank(), &mut rng(5)));
    assert_ne!(a, spec.apply(&clean, &bank(), &mut rng(6)));
    let dropped = parse_audio_noise("dropout:p=0.25")
        .unwrap()
        .apply(&clean, &bank(), &mut rng(2));
    let share = dropped.iter().filter(|&&v| v == 0.0).count() as f64 / 8000.0;
    assert!((share - 0.25).abs() < 0.02, "{share}");
    let masked =
        parse_audio_noise("timemask:ms=10,count=1")
            .unwrap()
            .apply(&clean, &bank(), &mut rng(2));
    // 10 ms at 8 kHz: exactly 80 samples, one contiguous span.
    let zeros: Vec<usize> = (0..8000).filter(|&i| masked[i] == 0.0).collect();
    assert_eq!(zeros.len(), 80);
    assert_eq!(zeros[79] - zeros[0], 79);
}

#[test]
fn a_missing_or_silent_noise_file_is_refused_before_training() {
    let spec = parse_audio_noise("noise:snr=5,file=/nonexistent/rain.wav").unwrap();
    let e = NoiseBank::new(8000, Arc::new(vec![]), [&spec]).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/rain.wav"), "{e}");
}
