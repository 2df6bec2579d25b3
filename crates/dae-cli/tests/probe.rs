//! `dae probe` end to end on the shipped data: the table, `--json`, `probe.json`,
//! `latent_map.png`, reproducibility, and the errors.

mod common;

use common::{dae, dae_err, dae_ok, temp_files, train_small, write_png};

fn rows(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn in_unit(v: &serde_json::Value, key: &str) -> f64 {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"));
    assert!((0.0..=1.0).contains(&x), "{key} = {x} outside [0, 1]");
    x
}

#[test]
fn mlp_probe_rows_files_and_reproducibility() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--model", "mlp", "--train-limit", "400"]);
    let run_s = run.to_str().unwrap();
    let args = [
        "probe",
        run_s,
        "--test-limit",
        "300",
        "--encode-noise",
        "gaussian:sigma=0.3",
        "--json",
    ];
    let out = dae_ok(&args);
    let r = rows(&out.stdout);
    let names: Vec<&str> = r.iter().map(|v| v["features"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "dae encoder (mlp)",
            "dae encoder, input gaussian:sigma=0.3",
            "raw pixels",
            "PCA-64 of pixels"
        ]
    );
    let dims: Vec<u64> = r.iter().map(|v| v["dim"].as_u64().unwrap()).collect();
    assert_eq!(dims, [64, 64, 784, 64]);
    for v in &r {
        assert_eq!(
            (v["train_count"].as_u64(), v["test_count"].as_u64()),
            (Some(400), Some(300))
        );
        for key in ["linear_accuracy", "knn_accuracy", "precision_at_k", "nmi"] {
            in_unit(v, key);
        }
        assert!(v["ari"].as_f64().unwrap() <= 1.0);
    }
    // Raw pixels on Fashion-MNIST are far above chance (0.1) with 400 train images.
    assert!(in_unit(&r[2], "linear_accuracy") > 0.6, "{}", r[2]);
    assert!(in_unit(&r[2], "knn_accuracy") > 0.6, "{}", r[2]);
    assert!(in_unit(&r[2], "nmi") > 0.3, "{}", r[2]);

    // probe.json holds the same rows; the map is a PNG of the documented size.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("probe.json")).unwrap()).unwrap();
    assert_eq!(report["rows"].as_array().unwrap(), &r);
    assert_eq!(report["train_count"], 400);
    let map = image::open(run.join("latent_map.png")).unwrap();
    assert_eq!((map.width(), map.height()), (900, 700));
    assert!(temp_files(&run).is_empty());

    // Same run, same seed: the same numbers, in the table too.
    assert_eq!(dae_ok(&args).stdout, out.stdout);
    let codes = run.join("codes.npy");
    let only = rows(
        &dae_ok(&[
            "probe",
            run_s,
            "--test-limit",
            "300",
            "--no-baselines",
            "--json",
            "--codes",
            codes.to_str().unwrap(),
        ])
        .stdout,
    );
    assert_eq!(only, r[..1]);
    // --codes: the held-out codes as a NumPy file of 300 rows of the code's dimension.
    let npy = std::fs::read(&codes).unwrap();
    let dim = r[0]["dim"].as_u64().unwrap() as usize;
    let header = String::from_utf8_lossy(&npy[..128]);
    assert!(
        header.contains(&format!("'shape': (300, {dim})")),
        "{header}"
    );
    assert_eq!(npy.len() % 64, (300 * dim * 4) % 64);
    let table = dae_ok(&["probe", run_s, "--test-limit", "300"]).stdout;
    assert!(table.lines().next().unwrap().contains("5-NN"), "{table}");
    let pixels_line = table.lines().find(|l| l.starts_with("raw pixels")).unwrap();
    assert!(
        pixels_line.contains(&format!("{:.4}", r[2]["linear_accuracy"].as_f64().unwrap())),
        "{pixels_line}"
    );
}

#[test]
fn conv_code_gets_capped_pca_rows() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--train-limit", "200"]);
    let out = dae_ok(&[
        "probe",
        run.to_str().unwrap(),
        "--test-limit",
        "100",
        "--json",
    ]);
    let r = rows(&out.stdout);
    let summary: Vec<(String, u64)> = r
        .iter()
        .map(|v| {
            (
                v["features"].as_str().unwrap().to_string(),
                v["dim"].as_u64().unwrap(),
            )
        })
        .collect();
    // The conv code is 64x7x7 = 3136-d; PCA of 200 images has at most 200 components.
    assert_eq!(
        summary,
        [
            ("dae encoder (conv)".to_string(), 3136),
            ("raw pixels".to_string(), 784),
            ("PCA-64 of pixels".to_string(), 64),
            ("PCA-200 of pixels".to_string(), 200),
        ]
    );
}

#[test]
fn bad_input_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train_small(&run, &["--model", "mlp", "--train-limit", "64"]);
    let run_s = run.to_str().unwrap();
    dae_err(&["probe", run_s, "--pca-dim", "0"], &["--pca-dim"]);
    dae_err(
        &["probe", run_s, "--pca-dim", "65"],
        &["--pca-dim 65", "at most 64"],
    );
    dae_err(&["probe", run_s, "--knn-k", "0"], &["k-NN"]);
    dae_err(
        &["probe", run_s, "--encode-noise", "gauss:s=1"],
        &["gauss:s=1"],
    );
    dae_err(&["probe", run_s, "--test-limit", "0"], &["--test-limit"]);
    let pngs = dir.path().join("pngs");
    std::fs::create_dir(&pngs).unwrap();
    for i in 0..3 {
        write_png(&pngs.join(format!("{i}.png")), 28, 28);
    }
    dae_err(
        &["probe", run_s, "--data", pngs.to_str().unwrap()],
        &["no labels", "pngs"],
    );
    dae_err(
        &["probe", dir.path().to_str().unwrap()],
        &["not a dae run directory"],
    );
    assert!(!run.join("probe.json").exists() && !run.join("latent_map.png").exists());
    assert!(temp_files(&run).is_empty());
    assert!(dae(&["probe", "--help"]).stdout.contains("--pca-dim"));
}
