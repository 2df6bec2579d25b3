//! `dae experiment noise-sweep` on the embedded Fashion-MNIST split: the files of its contract,
//! the table, resuming and extending a sweep, and the refusals that write nothing.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A small sweep's flags: the MLP, 1 epoch of 256 images, 64 held-out, probes on 256.
fn small<'a>(out: &'a Path, levels: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "experiment",
        "noise-sweep",
        "--out",
        s(out),
        "--levels",
        levels,
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--train-limit",
        "256",
        "--val-limit",
        "64",
        "--probe-train-limit",
        "256",
    ];
    args.extend_from_slice(extra);
    args
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_sweep_writes_its_files_reuses_its_runs_and_grows_by_a_level() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let r = dae_ok(&small(&out, "0.5,0.1", &[]));

    // sweep.json: one object per level, in increasing order, with the contract's fields.
    let points = json(&out.join("sweep.json"));
    let points = points.as_array().unwrap();
    let levels: Vec<f64> = points
        .iter()
        .map(|p| p["level"].as_f64().unwrap())
        .collect();
    assert_eq!(levels, [0.1, 0.5]);
    for p in points {
        for field in [
            "psnr",
            "ssim",
            "linear_accuracy",
            "knn_accuracy",
            "nmi",
            "test_psnr",
        ] {
            assert!(p[field].is_number(), "{field}: {p}");
        }
        let regime = p["regime"].as_str().unwrap();
        assert!(
            ["trivial", "useful", "blur", "impossible"].contains(&regime),
            "{regime}"
        );
        assert_eq!(p["count"], 64);
        assert_eq!(
            (
                p["probe_train_count"].as_u64(),
                p["probe_test_count"].as_u64()
            ),
            (Some(256), Some(64))
        );
        // The run is an ordinary run directory, with the two evaluations it was measured by.
        let run = out.join(p["run"].as_str().unwrap());
        let evals = jsonl(&run.join("eval.jsonl"));
        assert_eq!(evals[0]["noise"], p["noise"]);
        assert_eq!(evals[1]["noise"], "gaussian:sigma=0.3");
        assert_eq!(evals[0]["psnr"], p["psnr"]);
    }
    let recommended: Vec<&Value> = points.iter().filter(|p| p["recommended"] == true).collect();
    assert_eq!(recommended.len(), 1);
    let best = points
        .iter()
        .map(|p| p["linear_accuracy"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(recommended[0]["linear_accuracy"].as_f64().unwrap(), best);

    // summary.json: the recommendation and random strength against it.
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["family"], "gaussian");
    assert_eq!(summary["recommended_level"], recommended[0]["level"]);
    let random = &summary["random"];
    assert_eq!(
        (random["lo"].as_f64(), random["hi"].as_f64()),
        (Some(0.05), Some(0.3))
    );
    assert_eq!(random["point"]["noise"], "gaussian:sigma=0.05..0.3");
    assert_eq!(random["point"]["level"], "NaN");
    let delta = random["point"]["linear_accuracy"].as_f64().unwrap()
        - recommended[0]["linear_accuracy"].as_f64().unwrap();
    assert!((random["linear_delta"].as_f64().unwrap() - delta).abs() < 1e-12);

    let png = std::fs::read(out.join("sweep.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        r.stdout
            .contains("recommended level (best linear probe): sigma = "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("0.05..0.3"), "{}", r.stdout);
    assert_eq!(
        r.stdout.matches("<- recommended").count(),
        1,
        "{}",
        r.stdout
    );

    // Again: every run is reused and measured to the same numbers.
    let before = std::fs::read(out.join("sweep.json")).unwrap();
    let again = dae_ok(&small(&out, "0.5,0.1", &[]));
    assert_eq!(
        again.stderr.matches("already trained, measuring").count(),
        3,
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(out.join("sweep.json")).unwrap(), before);

    // A level more: only it trains; without the random run the summary has none.
    let grown = dae_ok(&small(&out, "0.1,0.5,0.8", &["--no-random"]));
    assert!(
        grown.stderr.contains("[3/3] gaussian:sigma=0.8: training"),
        "{}",
        grown.stderr
    );
    assert_eq!(
        grown.stderr.matches("already trained, measuring").count(),
        2
    );
    assert_eq!(json(&out.join("sweep.json")).as_array().unwrap().len(), 3);
    assert!(json(&out.join("summary.json"))["random"].is_null());
}

#[test]
fn another_family_sweeps_its_own_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mask");
    dae_ok(&small(
        &out,
        "0.25",
        &[
            "--noise-family",
            "mask",
            "--no-random",
            "--test-level",
            "0.5",
        ],
    ));
    let point = &json(&out.join("sweep.json"))[0];
    assert_eq!(point["noise"], "mask:keep=0.75");
    let run = out.join(point["run"].as_str().unwrap());
    assert_eq!(jsonl(&run.join("eval.jsonl"))[1]["noise"], "mask:keep=0.5");
}

#[test]
fn bad_plans_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let cases: [(&[&str], &str, &[&str]); 5] = [
        (&[], "0.1,0.1", &["0.1 is listed twice"]),
        (
            &["--noise-family", "mask"],
            "0.5,1.5",
            &["1.5", "at most 1"],
        ),
        (
            &["--noise-family", "speckle"],
            "0.1",
            &["unknown noise family `speckle`"],
        ),
        (&["--random", "0.3"], "0.1", &["LOW..HIGH"]),
        (&["--random", "0.3..0.1"], "0.1", &["0.3..0.1"]),
    ];
    for (extra, levels, needles) in cases {
        dae_err(&small(&out, levels, extra), needles);
        assert!(!out.exists(), "{extra:?} {levels}: wrote {}", out.display());
    }
    dae_err(&small(&out, "0", &[]), &["level 0", "above 0"]);
    assert!(!out.exists());
}
