//! Agreement with Python diffusers' DDPMScheduler and DDIMScheduler (eta 0 and 1): the golden
//! values of `tests/fixtures/diffusers_schedulers.json`, written by
//! `scripts/diffusers_golden.py` (its docstring says how each was computed), against
//! `dae::diffusion`. Needs no Python.
//!
//! - schedules: diffusers' own float32 betas and alphas_cumprod, to 1e-6 absolute (their float32
//!   rounding is 3.3e-7 at most); its float64-built alphas_cumprod (T = 50) to 1e-12;
//! - timesteps: exactly;
//! - add_noise, the v target, single steps (prev_sample) and their x0 estimate
//!   (pred_original_sample, clipped or not): to 1e-6 absolute for values within [−1, 1] and
//!   1e-6 relative beyond, since dae returns `f32`, whose rounding alone is 6e-8 relative: the
//!   x0 estimate reaches ~2e4 near t = T with the cosine schedule, where an `f32` cannot hold
//!   1e-6 absolute.

use dae::diffusion::{
    step, timesteps, BetaSchedule, NoiseSchedule, Prediction, Sampler, StepSettings,
};
use serde::Deserialize;

const TOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Fixture {
    inputs: Inputs,
    schedules: Vec<Schedule>,
    timesteps: Vec<Timesteps>,
    forward: Vec<Forward>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Inputs {
    sample: Vec<f64>,
    model_output: Vec<f64>,
    noise: Vec<f64>,
    x0: Vec<f64>,
}

#[derive(Deserialize)]
struct Schedule {
    kind: BetaSchedule,
    train_steps: usize,
    betas: Vec<f64>,
    alphas_cumprod: Vec<f64>,
    alphas_cumprod_f64: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct Timesteps {
    sampler: String,
    train_steps: usize,
    steps: usize,
    timesteps: Vec<usize>,
}

#[derive(Deserialize)]
struct Forward {
    kind: BetaSchedule,
    train_steps: usize,
    t: usize,
    add_noise: Vec<f64>,
    velocity: Vec<f64>,
}

#[derive(Deserialize)]
struct Step {
    kind: BetaSchedule,
    sampler: String,
    eta: Option<f64>,
    train_steps: usize,
    steps: usize,
    prediction: Prediction,
    clip_sample: bool,
    t: usize,
    prev: Option<usize>,
    prev_sample: Vec<f64>,
    pred_original_sample: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/diffusers_schedulers.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    // diffusers' name for the v prediction.
    let text = text.replace("\"v_prediction\"", "\"v\"");
    serde_json::from_str(&text).expect("fixture parses")
}

fn f32s(values: &[f64]) -> Vec<f32> {
    // The script wrote float32 values exactly, so this conversion is exact.
    values.iter().map(|&v| v as f32).collect()
}

/// The largest differences seen, absolute and relative (for the report).
#[derive(Default)]
struct Worst {
    absolute: f64,
    relative: f64,
}

impl Worst {
    /// Checks `got` against `want` to `tol` absolute, or relative where |want| > 1 and
    /// `relative` is set.
    fn check(&mut self, got: &[f64], want: &[f64], tol: f64, relative: bool, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let diff = (g - w).abs();
            let scale = if relative { w.abs().max(1.0) } else { 1.0 };
            assert!(diff <= tol * scale, "{what}[{i}]: dae {g} vs diffusers {w}");
            self.absolute = self.absolute.max(diff);
            self.relative = self.relative.max(diff / w.abs().max(1.0));
        }
    }
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| v as f64).collect()
}

#[test]
fn schedules_and_timesteps_match_diffusers() {
    let fixture = fixture();
    let mut worst = Worst::default();
    assert_eq!(fixture.schedules.len(), 4);
    for s in &fixture.schedules {
        let schedule = NoiseSchedule::new(s.kind, s.train_steps).unwrap();
        let what = format!("{} T={}", s.kind, s.train_steps);
        let betas: Vec<f64> = (0..s.train_steps).map(|t| schedule.beta(t)).collect();
        let bars: Vec<f64> = (0..s.train_steps).map(|t| schedule.alpha_bar(t)).collect();
        worst.check(&betas, &s.betas, TOL, false, &format!("betas {what}"));
        worst.check(&bars, &s.alphas_cumprod, TOL, false, &format!("ᾱ {what}"));
        if let Some(f64_bars) = &s.alphas_cumprod_f64 {
            let mut exact = Worst::default();
            exact.check(&bars, f64_bars, 1e-12, false, &format!("f64 ᾱ {what}"));
        }
    }
    println!(
        "schedules: max |dae − diffusers float32| = {:.2e}",
        worst.absolute
    );
    assert_eq!(fixture.timesteps.len(), 14);
    for ts in &fixture.timesteps {
        assert_eq!(
            timesteps(ts.train_steps, ts.steps).unwrap(),
            ts.timesteps,
            "{} T={} steps={}",
            ts.sampler,
            ts.train_steps,
            ts.steps
        );
    }
}

#[test]
fn add_noise_and_the_v_target_match_diffusers() {
    let fixture = fixture();
    let (x0, noise) = (f32s(&fixture.inputs.x0), f32s(&fixture.inputs.noise));
    let mut worst = Worst::default();
    assert_eq!(fixture.forward.len(), 8);
    for f in &fixture.forward {
        let schedule = NoiseSchedule::new(f.kind, f.train_steps).unwrap();
        let mut out = vec![0.0; x0.len()];
        schedule.add_noise(&x0, &noise, f.t, &mut out);
        let what = format!("{} t={}", f.kind, f.t);
        worst.check(
            &widen(&out),
            &f.add_noise,
            TOL,
            true,
            &format!("add_noise {what}"),
        );
        schedule.target(Prediction::V, &x0, &noise, f.t, &mut out);
        worst.check(&widen(&out), &f.velocity, TOL, true, &format!("v {what}"));
    }
    println!("forward: max |dae − diffusers| = {:.2e}", worst.absolute);
}

#[test]
fn single_steps_match_diffusers() {
    let fixture = fixture();
    let sample = f32s(&fixture.inputs.sample);
    let output = f32s(&fixture.inputs.model_output);
    let noise = f32s(&fixture.inputs.noise);
    let (mut worst_step, mut worst_x0) = (Worst::default(), Worst::default());
    // 2 schedules × 7 samplers × 3 predictions × clip on/off × 3 timesteps.
    assert_eq!(fixture.steps.len(), 252);
    let mut last_steps = 0;
    for s in &fixture.steps {
        let schedule = NoiseSchedule::new(s.kind, s.train_steps).unwrap();
        let sampler = match (s.sampler.as_str(), s.eta) {
            ("ddpm", None) => Sampler::Ddpm,
            ("ddim", Some(eta)) => Sampler::Ddim { eta },
            other => panic!("unknown sampler {other:?}"),
        };
        sampler.check().unwrap();
        let settings = StepSettings {
            prediction: s.prediction,
            clip_sample: s.clip_sample.then_some(1.0),
        };
        // The step's previous timestep is the next one `timesteps` visits.
        let visits = timesteps(s.train_steps, s.steps).unwrap();
        let i = visits.iter().position(|&v| v == s.t).expect("t is visited");
        assert_eq!(visits.get(i + 1).copied(), s.prev);
        last_steps += usize::from(s.prev.is_none());

        let what = format!(
            "{} T={} {:?} steps={} {} clip={} t={}",
            s.kind, s.train_steps, sampler, s.steps, s.prediction, s.clip_sample, s.t
        );
        let got = step(
            &schedule, sampler, &settings, &output, s.t, s.prev, &sample, &noise,
        );
        worst_step.check(&widen(&got), &s.prev_sample, TOL, true, &what);
        let (mut x0, _) = schedule.estimates(s.prediction, &output, &sample, s.t);
        if s.clip_sample {
            x0.iter_mut().for_each(|v| *v = v.clamp(-1.0, 1.0));
        }
        worst_x0.check(&widen(&x0), &s.pred_original_sample, TOL, true, &what);
    }
    assert_eq!(last_steps, 84, "every case includes its last step");
    println!(
        "steps: prev_sample max abs {:.2e}, max rel {:.2e}; x0 max abs {:.2e}, max rel {:.2e}",
        worst_step.absolute, worst_step.relative, worst_x0.absolute, worst_x0.relative
    );
}
