//! Closed-form checks of the schedules and steps (the agreement with diffusers is
//! tests/diffusers_agreement.rs).

use super::schedule::MAX_TRAIN_STEPS;
use super::*;

const KINDS: [BetaSchedule; 2] = [BetaSchedule::Linear, BetaSchedule::Cosine];
const PREDICTIONS: [Prediction; 3] = [Prediction::Epsilon, Prediction::Sample, Prediction::V];

/// Fixed data and noise, spread over a few units.
fn data(seed: u32) -> Vec<f32> {
    (0..24)
        .map(|i| (((i * 7 + seed * 13) % 23) as f32 - 11.0) / 5.0)
        .collect()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn alpha_bar_is_the_product_of_one_minus_beta() {
    for kind in KINDS {
        for steps in [1, 2, 50, 1000] {
            let s = NoiseSchedule::new(kind, steps).unwrap();
            assert_eq!(s.train_steps(), steps);
            let mut product = 1.0;
            for t in 0..steps {
                let beta = s.beta(t);
                assert!(
                    beta > 0.0 && beta <= 0.999,
                    "{kind} T={steps} β_{t} = {beta}"
                );
                product *= 1.0 - beta;
                assert!((s.alpha_bar(t) - product).abs() <= 1e-15 * product.max(1e-300));
            }
        }
    }
    let linear = NoiseSchedule::new(BetaSchedule::Linear, 1000).unwrap();
    assert_eq!(linear.beta(0), 1e-4);
    assert!((linear.beta(999) - 0.02).abs() < 1e-15);
    let cosine = NoiseSchedule::new(BetaSchedule::Cosine, 1000).unwrap();
    assert_eq!(cosine.beta(999), 0.999, "the cap");
}

#[test]
fn a_schedule_of_no_or_absurdly_many_steps_is_an_error() {
    for steps in [0, MAX_TRAIN_STEPS + 1] {
        let err = NoiseSchedule::new(BetaSchedule::Cosine, steps).unwrap_err();
        assert!(err.to_string().contains(&steps.to_string()), "{err}");
    }
    assert!(NoiseSchedule::new(BetaSchedule::Linear, MAX_TRAIN_STEPS).is_ok());
    let s = NoiseSchedule::new(BetaSchedule::Linear, 10).unwrap();
    assert!(s.check_timestep(9).is_ok());
    assert!(s
        .check_timestep(10)
        .unwrap_err()
        .to_string()
        .contains("T = 10"));
}

#[test]
fn sigma_and_nearest_timestep_round_trip() {
    for kind in KINDS {
        let s = NoiseSchedule::new(kind, 1000).unwrap();
        for t in 0..1000 {
            assert_eq!(s.nearest_timestep(s.sigma(t)), t, "{kind} t={t}");
            if t > 0 {
                assert!(s.sigma(t) > s.sigma(t - 1));
                // Just past the midpoint between two levels goes to the upper one.
                let mid = 0.5 * (s.sigma(t - 1) + s.sigma(t));
                assert_eq!(s.nearest_timestep(mid * (1.0 + 1e-12)), t);
            }
            let (a, b) = s.scales(t);
            assert!((s.sigma(t) - b / a).abs() <= 1e-9 * s.sigma(t));
        }
        assert_eq!(s.nearest_timestep(0.0), 0);
        assert_eq!(s.nearest_timestep(-1.0), 0);
        assert_eq!(s.nearest_timestep(f64::NAN), 0);
        assert_eq!(s.nearest_timestep(f64::INFINITY), 999);
    }
}

#[test]
fn estimates_invert_add_noise_and_target_for_every_prediction() {
    let (x0, eps) = (data(1), data(2));
    for kind in KINDS {
        let s = NoiseSchedule::new(kind, 1000).unwrap();
        for t in [0, 1, 250, 500, 750, 900, 999] {
            // Exact up to x_t's f32 rounding (~1e-7 here), which the x0 estimate divides by
            // √ᾱ and the ε estimate by √(1 − ᾱ): 1e-5 where both are ≥ 0.05, more at the ends.
            let (a, b) = s.scales(t);
            let tol = 1e-5_f32.max((5e-7 / a.min(b)) as f32);
            let mut xt = vec![0.0; x0.len()];
            s.add_noise(&x0, &eps, t, &mut xt);
            for prediction in PREDICTIONS {
                let mut target = vec![0.0; x0.len()];
                s.target(prediction, &x0, &eps, t, &mut target);
                let (x0_hat, eps_hat) = s.estimates(prediction, &target, &xt, t);
                let what = format!("{kind} t={t} {prediction}");
                assert_close(&x0_hat, &x0, tol, &format!("x0 {what}"));
                assert_close(&eps_hat, &eps, tol, &format!("eps {what}"));
            }
        }
    }
}

#[test]
fn ddim_eta_zero_with_the_true_prediction_follows_the_forward_process() {
    let (x0, eps) = (data(3), data(4));
    let s = NoiseSchedule::new(BetaSchedule::Cosine, 1000).unwrap();
    let visits = timesteps(1000, 10).unwrap();
    let sampler = Sampler::Ddim { eta: 0.0 };
    for prediction in PREDICTIONS {
        let settings = StepSettings {
            prediction,
            clip_sample: None,
        };
        for (i, &t) in visits.iter().enumerate().skip(1) {
            let prev = visits.get(i + 1).copied();
            let mut xt = vec![0.0; x0.len()];
            s.add_noise(&x0, &eps, t, &mut xt);
            let mut output = vec![0.0; x0.len()];
            s.target(prediction, &x0, &eps, t, &mut output);
            let next = step(&s, sampler, &settings, &output, t, prev, &xt, &[]);
            // Deterministic: noise, if passed, is not read.
            let noisy = vec![1e3; x0.len()];
            assert_eq!(
                next,
                step(&s, sampler, &settings, &output, t, prev, &xt, &noisy)
            );
            let want = match prev {
                Some(p) => {
                    let mut x = vec![0.0; x0.len()];
                    s.add_noise(&x0, &eps, p, &mut x);
                    x
                }
                None => x0.clone(), // the last step reaches x0 itself
            };
            assert_close(&next, &want, 1e-5, &format!("{prediction} t={t}"));
        }
    }
}

#[test]
fn ddpm_adds_no_noise_at_t_zero_and_its_variance_otherwise() {
    let s = NoiseSchedule::new(BetaSchedule::Linear, 1000).unwrap();
    let settings = StepSettings {
        prediction: Prediction::Epsilon,
        clip_sample: Some(1.0),
    };
    let (x, out) = (data(5), data(6));
    let zeros = vec![0.0; x.len()];
    let ones = vec![1.0; x.len()];
    let at_zero = step(&s, Sampler::Ddpm, &settings, &out, 0, None, &x, &zeros);
    assert_eq!(
        at_zero,
        step(&s, Sampler::Ddpm, &settings, &out, 0, None, &x, &ones)
    );
    let mean = step(
        &s,
        Sampler::Ddpm,
        &settings,
        &out,
        500,
        Some(499),
        &x,
        &zeros,
    );
    let moved = step(
        &s,
        Sampler::Ddpm,
        &settings,
        &out,
        500,
        Some(499),
        &x,
        &ones,
    );
    // Variance (1 − ᾱ_499)/(1 − ᾱ_500) · β_500 for consecutive timesteps.
    let std = ((1.0 - s.alpha_bar(499)) / (1.0 - s.alpha_bar(500)) * s.beta(500)).sqrt() as f32;
    for (m, n) in mean.iter().zip(&moved) {
        assert!((n - m - std).abs() < 1e-6, "{n} - {m} vs {std}");
    }
    // DDIM with η = 1 adds the same standard deviation.
    let ddim = Sampler::Ddim { eta: 1.0 };
    let d0 = step(&s, ddim, &settings, &out, 500, Some(499), &x, &zeros);
    let d1 = step(&s, ddim, &settings, &out, 500, Some(499), &x, &ones);
    for (m, n) in d0.iter().zip(&d1) {
        assert!((n - m - std).abs() < 1e-6);
    }
}

#[test]
fn timesteps_are_leading_and_reject_zero_or_too_many_steps() {
    assert_eq!(
        timesteps(1000, 1000).unwrap(),
        (0..1000).rev().collect::<Vec<_>>()
    );
    assert_eq!(timesteps(1000, 4).unwrap(), [750, 500, 250, 0]);
    assert_eq!(timesteps(1000, 1).unwrap(), [0]);
    let thirty = timesteps(1000, 30).unwrap();
    assert_eq!((thirty[0], thirty.len(), thirty[28]), (957, 30, 33));
    for steps in [0, 1001] {
        let err = timesteps(1000, steps).unwrap_err().to_string();
        assert!(err.contains("--steps") && err.contains("T = 1000"), "{err}");
    }
}

#[test]
fn checks_reject_bad_eta_and_clip_range() {
    for eta in [-0.5, f64::NAN, f64::INFINITY] {
        let err = Sampler::Ddim { eta }.check().unwrap_err().to_string();
        assert!(err.contains("--eta must be ≥ 0, got"), "{err}");
    }
    for eta in [0.0, 0.5, 1.0, 2.0] {
        assert!(Sampler::Ddim { eta }.check().is_ok());
    }
    assert!(Sampler::Ddpm.check().is_ok());
    let settings = |clip_sample| StepSettings {
        prediction: Prediction::V,
        clip_sample,
    };
    assert!(settings(None).check().is_ok());
    assert!(settings(Some(1.0)).check().is_ok());
    assert!(settings(Some(0.0)).check().is_err());
    assert!(settings(Some(f32::NAN)).check().is_err());
}

#[test]
fn names_parse_print_and_serialize() {
    for kind in KINDS {
        assert_eq!(kind.to_string().parse::<BetaSchedule>().unwrap(), kind);
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{kind}\""));
    }
    let err = "squaredcos"
        .parse::<BetaSchedule>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("linear or cosine"), "{err}");
    for (names, want) in [
        (["epsilon", "eps"], Prediction::Epsilon),
        (["sample", "x0"], Prediction::Sample),
        (["v", "v_prediction"], Prediction::V),
    ] {
        for name in names {
            assert_eq!(name.parse::<Prediction>().unwrap(), want);
        }
        assert_eq!(want.to_string().parse::<Prediction>().unwrap(), want);
        let json = serde_json::to_string(&want).unwrap();
        assert_eq!(serde_json::from_str::<Prediction>(&json).unwrap(), want);
        assert_eq!(json, format!("\"{want}\""));
    }
    let err = "noise".parse::<Prediction>().unwrap_err().to_string();
    assert!(
        err.contains("epsilon") && err.contains("v_prediction"),
        "{err}"
    );
}
