//! `dae bench` and `--threads`, through the real binary on the embedded data.

mod common;

use common::{dae_err, dae_ok};

#[test]
fn bench_runs_each_model_and_thread_count_in_its_own_process() {
    let r = dae_ok(&[
        "bench",
        "--model",
        "all",
        "--threads",
        "1,2",
        "--train-limit",
        "64",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let pairs: Vec<(String, u64)> = rows
        .iter()
        .map(|v| {
            (
                v["model"].as_str().unwrap().to_string(),
                v["threads"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [("conv", 1), ("conv", 2), ("mlp", 1), ("mlp", 2)];
    assert_eq!(
        pairs,
        want.map(|(m, t)| (m.to_string(), t)).to_vec(),
        "{}",
        r.stdout
    );
    for v in &rows {
        assert_eq!(v["train_images"], 64);
        assert_eq!(v["device"], "cpu");
        assert_eq!(v["infer_precision"], "f32", "the default");
        assert_eq!(v["infer_images"], 2000, "the embedded held-out split");
        let rate = v["train_images_per_second"].as_f64().unwrap();
        let secs = v["train_seconds"].as_f64().unwrap();
        assert!((rate * secs - 64.0).abs() < 1e-6 * 64.0, "{v}");
        assert!(v["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{v}");
    }
}

#[test]
fn bench_table_names_every_column() {
    let r = dae_ok(&[
        "bench",
        "--model",
        "mlp",
        "--threads",
        "1",
        "--train-limit",
        "32",
        "--precision",
        "bf16",
    ]);
    for column in ["device", "infer", "train im/s", "infer im/s", "peak MiB"] {
        assert!(r.stdout.contains(column), "{}", r.stdout);
    }
    let row = r.stdout.lines().nth(1).unwrap_or_default();
    assert!(row.starts_with("mlp") && row.contains(" bf16 "), "{row}");
}

#[test]
fn bf16_inference_is_refused_for_conv_before_training() {
    // conv has no bf16 path, and `all` includes conv.
    dae_err(
        &["bench", "--model", "conv", "--precision", "bf16"],
        &["mlp model only", "conv"],
    );
    dae_err(&["bench", "--precision", "bf16"], &["--model mlp"]);
}

#[test]
fn zero_threads_is_refused() {
    dae_err(&["bench", "--threads", "0"], &["--threads"]);
    dae_err(
        &[
            "train",
            "--threads",
            "0",
            "--train-limit",
            "8",
            "--epochs",
            "1",
        ],
        &["--threads"],
    );
}

#[test]
fn unknown_or_unbuilt_devices_are_refused_by_name() {
    let args = |device| {
        [
            "bench",
            "--model",
            "mlp",
            "--threads",
            "1",
            "--device",
            device,
        ]
    };
    dae_err(&args("tpu"), &["unknown device `tpu`"]);
    #[cfg(not(feature = "vulkan"))]
    dae_err(&args("vulkan"), &["--features vulkan"]);
    #[cfg(not(feature = "cuda"))]
    dae_err(&args("cuda"), &["--features cuda"]);
}
