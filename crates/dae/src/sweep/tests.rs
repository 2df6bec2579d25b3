use super::*;

const T: Thresholds = Thresholds {
    gain_min_db: 1.0,
    input_distance_ratio_min: 0.5,
    hf_ratio_min: 0.3,
    explained_min: 0.5,
};

fn point(level: f64, gain: f64, rho: f64, hf: f64, explained: f64, linear: f64) -> SweepPoint {
    SweepPoint {
        level,
        noise: format!("gaussian:sigma={level}"),
        run: format!("gaussian-sigma-{level}"),
        psnr: 20.0,
        ssim: 0.7,
        noisy_psnr: 20.0 - gain,
        gain_db: gain,
        input_distance_ratio: rho,
        hf_ratio: hf,
        explained,
        test_psnr: 18.0,
        test_ssim: 0.6,
        linear_accuracy: linear,
        knn_accuracy: linear - 0.02,
        nmi: 0.5,
        count: 100,
        probe_train_count: 200,
        probe_test_count: 100,
        regime: Regime::Useful,
        recommended: false,
    }
}

#[test]
fn each_rule_names_its_regime_and_extreme_wins_over_blur_over_trivial() {
    assert_eq!(
        classify(&point(0.1, 5.0, 1.2, 0.6, 0.9, 0.8), &T),
        Regime::Useful
    );
    assert_eq!(
        classify(&point(0.02, 0.4, 1.2, 0.6, 0.9, 0.8), &T),
        Regime::Trivial
    );
    assert_eq!(
        classify(&point(0.02, 3.0, 0.3, 0.6, 0.9, 0.8), &T),
        Regime::Trivial
    );
    assert_eq!(
        classify(&point(0.5, 9.0, 3.0, 0.2, 0.7, 0.8), &T),
        Regime::Blur
    );
    // Blurred and barely explaining anything: extreme.
    assert_eq!(
        classify(&point(1.0, 12.0, 3.0, 0.1, 0.4, 0.8), &T),
        Regime::Impossible
    );
    // A NaN never moves a model out of moderate.
    let nan = point(0.2, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.8);
    assert_eq!(classify(&nan, &T), Regime::Useful);
}

#[test]
fn the_best_linear_probe_is_recommended_first_of_equals_and_nan_skipped() {
    let mut points = vec![
        point(0.05, 0.5, 0.9, 0.8, 0.95, 0.80),
        point(0.1, 4.0, 1.5, 0.6, 0.9, f64::NAN),
        point(0.2, 6.0, 2.0, 0.5, 0.85, 0.83),
        point(0.3, 7.0, 2.2, 0.4, 0.8, 0.83),
        point(1.0, 10.0, 3.0, 0.1, 0.3, 0.70),
    ];
    assert_eq!(conclude(&mut points, &T), Some(2));
    let flags: Vec<bool> = points.iter().map(|p| p.recommended).collect();
    assert_eq!(flags, [false, false, true, false, false]);
    let regimes: Vec<Regime> = points.iter().map(|p| p.regime).collect();
    use Regime::*;
    assert_eq!(regimes, [Trivial, Useful, Useful, Useful, Impossible]);
    let mut none = vec![point(0.1, 4.0, 1.5, 0.6, 0.9, f64::NAN)];
    assert_eq!(conclude(&mut none, &T), None);
}

#[test]
fn random_strength_is_compared_with_the_best_fixed_level() {
    let best = point(0.2, 6.0, 2.0, 0.5, 0.85, 0.83);
    let mut random = point(f64::NAN, 6.0, 2.0, 0.5, 0.85, 0.85);
    random.test_psnr = 18.5;
    let c = RandomComparison::new(0.05, 0.3, random, &best);
    assert_eq!(c.best_fixed_level, 0.2);
    assert!((c.test_psnr_delta - 0.5).abs() < 1e-12);
    assert!((c.linear_delta - 0.02).abs() < 1e-12);
    assert!((c.knn_delta - 0.02).abs() < 1e-12);
}

fn summary(points: &[SweepPoint], random: Option<RandomComparison>) -> SweepSummary {
    SweepSummary {
        task: "image".into(),
        family: NoiseFamily::Gaussian,
        levels: points.iter().map(|p| p.level).collect(),
        test_level: 0.3,
        test_noise: "gaussian:sigma=0.3".into(),
        mean_image_psnr: 11.5,
        recommended_level: Some(0.2),
        thresholds: T,
        random,
    }
}

#[test]
fn files_round_trip_with_the_random_runs_nan_level() {
    let mut points = vec![
        point(0.1, 4.0, 1.5, 0.6, 0.9, 0.8),
        point(0.2, 6.0, 2.0, 0.5, 0.85, 0.83),
    ];
    conclude(&mut points, &T);
    let random = RandomComparison::new(
        0.05,
        0.3,
        point(f64::NAN, 6.0, 2.0, 0.5, 0.85, 0.85),
        &points[1],
    );
    let s = summary(&points, Some(random));
    let text = crate::json::to_string(&s).unwrap();
    let back: SweepSummary = crate::json::from_str(&text).unwrap();
    assert!(back.random.as_ref().unwrap().point.level.is_nan());
    assert_eq!(back.levels, s.levels);
    let text = crate::json::to_string(&points).unwrap();
    // The contract of sweep.json: one object per level with these fields.
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in ["level", "psnr", "ssim", "linear_accuracy", "knn_accuracy"] {
        assert!(raw[0][field].is_number(), "{field} in {text}");
    }
    let back: Vec<SweepPoint> = crate::json::from_str(&text).unwrap();
    assert_eq!(back, points);
}

#[test]
fn the_table_has_a_line_per_level_the_random_run_and_the_recommendation() {
    let mut points = vec![
        point(0.1, 4.0, 1.5, 0.6, 0.9, 0.8),
        point(0.2, 6.0, 2.0, 0.5, 0.85, 0.83),
    ];
    conclude(&mut points, &T);
    let random = RandomComparison::new(
        0.05,
        0.3,
        point(f64::NAN, 6.0, 2.0, 0.5, 0.85, 0.85),
        &points[1],
    );
    let text = table(&points, &summary(&points, Some(random)));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("sigma") && lines[0].contains("linear"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("     0.2") && lines[2].ends_with("recommended"),
        "{text}"
    );
    assert!(
        lines[3].contains("0.05..0.3") && lines[3].contains("random"),
        "{text}"
    );
    assert!(text.contains("linear +0.0200"), "{text}");
    assert!(
        text.contains("recommended level (best linear probe): sigma = 0.2"),
        "{text}"
    );
}

#[test]
fn the_plot_is_written_whole_and_refuses_a_level_it_cannot_place() {
    let mut points = vec![
        point(0.02, 0.4, 0.4, 0.9, 0.97, 0.78),
        point(0.2, 6.0, 2.0, 0.5, 0.85, 0.83),
        point(0.8, 9.0, 3.0, 0.2, 0.6, 0.80),
        point(1.0, 10.0, 3.0, 0.1, 0.3, 0.70),
    ];
    conclude(&mut points, &T);
    let random = RandomComparison::new(
        0.05,
        0.3,
        point(f64::NAN, 6.0, 2.0, 0.5, 0.85, 0.85),
        &points[1],
    );
    let s = summary(&points, Some(random));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.png");
    plot::write_sweep_png(&path, &points, &s).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (960, 700));
    // Every regime's band colour is on the canvas.
    for regime in [
        Regime::Trivial,
        Regime::Useful,
        Regime::Blur,
        Regime::Impossible,
    ] {
        let RGBColor(r, g, b) = plot_band(regime);
        assert!(img.pixels().any(|p| p.0 == [r, g, b]), "{regime:?}");
    }
    points[0].level = f64::NAN;
    let bad = dir.path().join("bad.png");
    assert!(plot::write_sweep_png(&bad, &points, &s).is_err());
    assert!(!bad.exists());
}

use plotters::style::RGBColor;

fn plot_band(regime: Regime) -> RGBColor {
    plot::band_colour(regime)
}
