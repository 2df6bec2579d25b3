//! `dae experiment score-2d`: a short run writes score.json and score_field.png, and a second
//! call on the finished directory measures again without training.

mod common;

use common::*;

#[test]
fn score_2d_writes_its_files_and_reruns_without_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("score");
    let out_s = out.to_str().unwrap();
    let first = dae_ok(&["experiment", "score-2d", "--out", out_s, "--epochs", "2"]);
    assert!(first.stdout.contains("tweedie R2"), "{}", first.stdout);
    assert!(
        first.stderr.contains("mixture: training"),
        "{}",
        first.stderr
    );
    for file in [
        "score.json",
        "score_field.png",
        "mixture/model.bpk",
        "gaussian/metrics.jsonl",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let text = std::fs::read_to_string(out.join("score.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["mixture"].as_array().unwrap().len(), 10);
    assert!(report["mean_relative_error"].as_f64().unwrap() > 0.0);
    assert!(report["tweedie_r2"].as_f64().unwrap() <= 1.0);
    let png = image::open(out.join("score_field.png")).unwrap();
    assert!(png.width() > png.height());

    let second = dae_ok(&["experiment", "score-2d", "--out", out_s, "--epochs", "2"]);
    assert!(
        second.stderr.contains("already trained"),
        "{}",
        second.stderr
    );
    assert!(!second.stderr.contains("train loss"), "{}", second.stderr);
    assert_eq!(
        std::fs::read_to_string(out.join("score.json")).unwrap(),
        text
    );

    // Another seed on the same directory is another run: refused, nothing overwritten.
    dae_err(
        &[
            "experiment",
            "score-2d",
            "--out",
            out_s,
            "--epochs",
            "2",
            "--seed",
            "1",
        ],
        &["another configuration"],
    );
}
