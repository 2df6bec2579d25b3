//! `dae eval --suite`, the diagnostics `dae train` prints, and `dae experiment robustness` on the
//! embedded Fashion-MNIST split: the matrix, its files, and resuming a killed experiment.

mod common;

use common::*;

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn eval_suite_prints_every_spec_with_diagnostics_and_saves_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let trained = train_small(&run, &[]);
    // Training ends with the diagnostics block and records it.
    for needle in [
        "gain over the noisy input",
        "corruption undone",
        "high-frequency energy",
    ] {
        assert!(
            trained.stderr.contains(needle),
            "{needle}:\n{}",
            trained.stderr
        );
    }
    let diag: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("diagnostics.json")).unwrap())
            .unwrap();
    assert_eq!(diag["noise"], "gaussian:sigma=0.3");
    // The diagnostics see the same images and draws as the last epoch's validation.
    let last = jsonl(&run.join("metrics.jsonl")).pop().unwrap();
    let (a, b) = (
        diag["psnr"].as_f64().unwrap(),
        last["val_psnr"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");

    let r = dae_ok(&[
        "eval",
        s(&run),
        "--suite",
        "standard",
        "--noise",
        "none",
        "--limit",
        "24",
        "--json",
        "--save",
    ]);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let specs: Vec<&str> = rows.iter().map(|r| r["noise"].as_str().unwrap()).collect();
    assert_eq!(
        specs,
        [
            "none",
            "gaussian:sigma=0.1",
            "gaussian:sigma=0.2",
            "gaussian:sigma=0.3",
            "gaussian:sigma=0.5",
            "mask:keep=0.8",
            "saltpepper:p=0.1",
            "erase:frac=0.25",
            "patch:size=7,ratio=0.5"
        ]
    );
    for row in &rows[1..] {
        for k in [
            "mse",
            "psnr",
            "ssim",
            "noisy_psnr",
            "noisy_ssim",
            "psnr_gain",
            "noise_removed",
            "hf_ratio",
        ] {
            assert!(row[k].is_number(), "{k} in {row}");
        }
        assert_eq!(row["count"], 24);
        assert!(row["warnings"].is_array());
    }
    // Under `none` nothing was corrupted: the fraction undone is undefined, the noisy input's PSNR
    // infinite; dae's JSON names both instead of writing an unreadable null.
    assert_eq!(rows[0]["noise_removed"], "NaN", "{}", rows[0]);
    assert_eq!(rows[0]["noisy_psnr"], "Infinity", "{}", rows[0]);
    // Stronger Gaussian noise: lower noisy PSNR.
    let noisy: Vec<f64> = rows[1..5]
        .iter()
        .map(|r| r["noisy_psnr"].as_f64().unwrap())
        .collect();
    assert!(noisy.windows(2).all(|w| w[0] > w[1]), "{noisy:?}");
    let saved = jsonl(&run.join("eval.jsonl"));
    assert_eq!(saved.len(), 9);
    assert_eq!(saved[3]["psnr"], rows[3]["psnr"]);
    assert!(temp_files(&run).is_empty());

    // The table: one stdout line per spec plus the header; warnings and legend on stderr.
    let t = dae_ok(&["eval", s(&run), "--suite", "standard", "--limit", "24"]);
    assert_eq!(t.stdout.lines().count(), 9, "{}", t.stdout);
    assert!(t.stdout.contains("removed") && t.stdout.contains("patch:size=7,ratio=0.5"));
    assert!(
        t.stderr.contains("fraction of the corruption undone"),
        "{}",
        t.stderr
    );
    dae_err(&["eval", s(&run), "--suite", "bogus"], &["bogus"]);
}

#[test]
fn experiment_writes_the_matrix_and_resumes_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("exp");
    let args = [
        "experiment",
        "robustness",
        "--out",
        s(&out),
        "--train-noise",
        "gaussian:sigma=0.3",
        "--train-noise",
        "mask:keep=0.5",
        "--test-noise",
        "gaussian:sigma=0.3",
        "--test-noise",
        "mask:keep=0.5",
        // Uncorrupted: the noisy input's PSNR is infinite, which matrix.json keeps.
        "--test-noise",
        "none",
        "--epochs",
        "1",
        "--train-limit",
        "256",
        "--val-limit",
        "32",
    ];
    let first = dae_ok(&args);
    assert!(first.stdout.contains("(noisy input)"), "{}", first.stdout);
    assert!(
        first.stdout.contains("[2] mask:keep=0.5"),
        "{}",
        first.stdout
    );
    let matrix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap();
    assert_eq!(
        matrix["runs"],
        serde_json::json!(["gaussian-sigma-0.3", "mask-keep-0.5"])
    );
    assert_eq!(matrix["psnr"].as_array().unwrap().len(), 2);
    assert_eq!(matrix["psnr"][1].as_array().unwrap().len(), 3);
    assert_eq!(matrix["count"], 32);
    let png = image::open(out.join("matrix.png")).unwrap();
    assert!(png.width() > 300 && png.height() > 150);
    for run in ["gaussian-sigma-0.3", "mask-keep-0.5"] {
        for f in ["config.json", "model.bpk", "eval.jsonl", "grid.png"] {
            assert!(out.join(run).join(f).is_file(), "{run}/{f} missing");
        }
    }
    // The matrix says what the runs say.
    let row = jsonl(&out.join("mask-keep-0.5").join("eval.jsonl"));
    assert_eq!(row[0]["psnr"], matrix["psnr"][1][0]);

    // Again: nothing is retrained, the numbers are the same.
    let again = dae_ok(&args);
    assert_eq!(
        again.stderr.matches("already trained").count(),
        2,
        "{}",
        again.stderr
    );
    let same: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("matrix.json")).unwrap()).unwrap();
    assert_eq!(same, matrix);
    assert!(
        matrix.to_string().contains("Infinity"),
        "the `none` column's noisy PSNR: {matrix}"
    );
    // The report reads the matrix back.
    let run = out.join("mask-keep-0.5");
    dae_ok(&["report", s(&run), "--matrix", s(&out)]);

    // A kill during the second run's last steps leaves its checkpoint but no final model:
    // the experiment resumes it rather than starting over; more epochs extend both runs.
    std::fs::remove_file(out.join("mask-keep-0.5").join("model.bpk")).unwrap();
    let mut longer = args.to_vec();
    let n = longer.len();
    longer[n - 5] = "2";
    let resumed = dae_ok(&longer);
    assert_eq!(
        resumed.stderr.matches("resuming after epoch 1").count(),
        2,
        "{}",
        resumed.stderr
    );
    assert_eq!(
        jsonl(&out.join("mask-keep-0.5").join("metrics.jsonl")).len(),
        2
    );

    // A different configuration in the same directory is refused, naming the directory.
    let mut other = args.to_vec();
    let n = other.len();
    other[n - 3] = "128";
    dae_err(&other, &["gaussian-sigma-0.3", "another configuration"]);
    // Bad specs fail before any work.
    let fresh = tmp.path().join("fresh");
    dae_err(
        &[
            "experiment",
            "robustness",
            "--out",
            s(&fresh),
            "--test-noise",
            "blur:k=3",
        ],
        &["blur"],
    );
    assert!(!fresh.exists());
}
