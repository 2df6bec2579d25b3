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

/// `dae bench --json` for one small conv run with `DAE_ISA` set to `isa`.
fn bench_with_isa(isa: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dae"))
        .args(["bench", "--model", "conv", "--threads", "1"])
        .args(["--train-limit", "32", "--infer-batch", "500", "--json"])
        .env("DAE_ISA", isa)
        .output()
        .expect("dae binary runs")
}

#[test]
fn dae_isa_forces_a_narrower_kernel_path_and_the_report_names_it() {
    let mut psnr = Vec::new();
    for isa in ["portable", "avx2", "avx512"] {
        let out = bench_with_isa(isa);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            // Only a path this processor lacks may fail, and then with a clear message.
            assert!(
                stderr.contains("asks for more than this processor has"),
                "{isa}: {stderr}"
            );
            continue;
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(v["isa"], isa, "{v}");
        assert!(stderr.contains(&format!("CPU kernels {isa}")), "{stderr}");
        psnr.push(v["val_psnr"].as_f64().unwrap());
    }
    assert!(!psnr.is_empty(), "the portable path runs everywhere");
    // The paths sum in different orders: the same learning, not the same bits.
    for p in &psnr {
        assert!((p - psnr[0]).abs() < 0.05, "{psnr:?}");
    }
}

#[test]
fn an_unknown_dae_isa_is_one_clear_error() {
    let out = bench_with_isa("sse9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("DAE_ISA=\"sse9\" is not an instruction set")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn bench_task_mlm_reports_training_tokens_per_second() {
    let r = dae_ok(&[
        "bench",
        "--task",
        "mlm",
        "--threads",
        "1",
        "--train-limit",
        "32",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (v["train_sequences"].as_u64(), v["seq_len"].as_u64()),
        (Some(32), Some(64)),
        "{v}"
    );
    let (rate, secs) = (
        v["tokens_per_second"].as_f64().unwrap(),
        v["train_seconds"].as_f64().unwrap(),
    );
    assert!((rate * secs - 32.0 * 64.0).abs() < 1e-6 * 2048.0, "{v}");
    assert!(v["isa"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    dae_err(
        &["bench", "--task", "mlm", "--precision", "bf16"],
        &["--precision bf16", "f32 training"],
    );
}
