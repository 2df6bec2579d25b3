//! Tests of [`super`]: the suite, agreement with held-out evaluation, JSON lines, the matrix.

use burn::prelude::*;

use super::*;
use crate::corrupt::NoiseSpec;
use crate::tasks::image::heldout::evaluate;
use crate::tasks::image::model::{ModelConfig, ModelKind};

fn images(n: usize, h: usize, w: usize) -> ImageSet {
    let px: Vec<f32> = (0..n * h * w)
        .map(|i| ((i * 7 + i / (h * w) * 3) % 11) as f32 / 10.0)
        .collect();
    ImageSet::new(px, None, h, w).unwrap()
}

#[test]
fn standard_suite_parses() {
    let specs = suite("standard").unwrap();
    assert_eq!(specs.len(), 8);
    for s in &specs {
        crate::corrupt::parse(s.as_str()).unwrap();
    }
    assert!(suite("nope").is_none());
}

#[test]
fn diagnostics_run_sees_the_same_draws_as_heldout_evaluation() {
    let device = Device::flex();
    let model = ModelConfig::new(ModelKind::Mlp, 1, 6, 5).init(&device);
    let set = images(7, 6, 5);
    let c = crate::corrupt::parse("gaussian:sigma=0.2+mask:keep=0.5").unwrap();
    let predictor = Predictor::f32(&model, &device);
    let plain = evaluate(&predictor, &set, c.as_ref(), 3, 3).unwrap();
    let (held, diag) = evaluate_with_diagnostics(&predictor, &set, c.as_ref(), 3, 3).unwrap();
    assert_eq!(plain.denoised, held.denoised);
    assert_eq!(plain.noisy, held.noisy);
    assert_eq!(diag.gain_db, held.denoised.psnr - held.noisy.psnr);
    assert!(diag.noise_removed.is_finite() && diag.hf_ratio.is_finite());
    // Batch size does not change the result (one corruption stream, sums over every image), up
    // to float rounding: the GEMM's blocking, and so its summation order, depends on the row
    // count. Another noise draw would move these by percent, not by parts per million.
    let (again, diag2) = evaluate_with_diagnostics(&predictor, &set, c.as_ref(), 3, 7).unwrap();
    assert_eq!(again.noisy, held.noisy);
    assert!((again.denoised.mse - held.denoised.mse).abs() <= 1e-6 * held.denoised.mse);
    assert!((diag2.noise_removed - diag.noise_removed).abs() < 1e-6);
}

#[test]
fn records_round_trip() {
    let device = Device::flex();
    let model = ModelConfig::new(ModelKind::Mlp, 1, 6, 5).init(&device);
    let set = images(4, 6, 5);
    let mut seen = 0;
    let predictor = Predictor::f32(&model, &device);
    let specs: Vec<NoiseSpec> = ["none", "saltpepper:p=0.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let recs = evaluate_specs(&predictor, &set, &specs, 0, 2, &mut |_| seen += 1).unwrap();
    assert_eq!(seen, 2);
    // Under `none` nothing is corrupted: the fraction removed is undefined, and survives JSON.
    assert!(recs[0].noise_removed.is_nan());
    assert_eq!(recs[0].noisy_psnr, f64::INFINITY);
    assert!(recs[1].input_distance_ratio.is_finite());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eval.jsonl");
    write_records(&path, &recs).unwrap();
    let back = read_records(&path).unwrap();
    assert_eq!(back.len(), 2);
    assert!(back[0].noise_removed.is_nan());
    // serde_json's float parsing may differ in the last bit.
    assert_eq!(
        (&back[1].noise, back[1].count),
        (&recs[1].noise, recs[1].count)
    );
    assert_eq!(back[1].warnings, recs[1].warnings);
    for (a, b) in [
        (back[1].psnr, recs[1].psnr),
        (back[1].hf_ratio, recs[1].hf_ratio),
        (back[1].input_distance_ratio, recs[1].input_distance_ratio),
    ] {
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
    }
    let line = std::fs::read_to_string(&path).unwrap();
    for key in [
        "\"noise\"",
        "\"mse\"",
        "\"psnr\"",
        "\"ssim\"",
        "\"noisy_psnr\"",
        "\"count\"",
    ] {
        assert!(line.contains(key), "{key} missing: {line}");
    }
}

fn record(noise: &str, psnr: f64, noisy: f64) -> EvalRecord {
    EvalRecord {
        noise: noise.into(),
        mse: 10f64.powf(-psnr / 10.0),
        psnr,
        ssim: 0.5,
        noisy_mse: 10f64.powf(-noisy / 10.0),
        noisy_psnr: noisy,
        noisy_ssim: 0.2,
        psnr_gain: psnr - noisy,
        input_distance_ratio: 1.2,
        noise_removed: 0.9,
        hf_ratio: 0.8,
        noisy_hf_ratio: 3.0,
        count: 10,
        warnings: vec![],
    }
}

#[test]
fn matrix_layout_best_rows_and_table() {
    let rows = vec![
        vec![record("a", 20.0, 10.0), record("b", 12.0, 9.0)],
        vec![record("a", 18.0, 10.0), record("b", 15.0, 9.0)],
    ];
    let m = RobustnessMatrix::from_records(
        vec!["train-a".into(), "train-b".into()],
        vec!["ra".into(), "rb".into()],
        &rows,
    )
    .unwrap();
    assert_eq!(m.psnr, vec![vec![20.0, 12.0], vec![18.0, 15.0]]);
    assert_eq!(m.noisy_psnr, vec![10.0, 9.0]);
    assert_eq!((m.best_row(0), m.best_row(1)), (Some(0), Some(1)));
    let t = m.table();
    assert!(
        t.contains("20.00*") && t.contains("15.00*") && t.contains("12.00 "),
        "{t}"
    );
    assert!(t.contains("(noisy input)") && t.contains("[2] b"), "{t}");
    let mismatched = vec![vec![record("a", 1.0, 1.0)], vec![record("b", 1.0, 1.0)]];
    assert!(RobustnessMatrix::from_records(vec![], vec![], &mismatched).is_err());
    assert!(RobustnessMatrix::from_records(vec![], vec![], &[]).is_err());
    assert_eq!(short("abcdef", 4), "abc…");
    assert_eq!(short("abc", 4), "abc");
}
