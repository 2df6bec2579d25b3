//! End to end on the embedded Fashion-MNIST split: train, resume, eval, denoise.

mod common;

use common::*;

const METRIC_KEYS: [&str; 8] = [
    "epoch",
    "train_loss",
    "train_seconds",
    "val_mse",
    "val_psnr",
    "val_ssim",
    "noisy_psnr",
    "noisy_ssim",
];

#[test]
fn conv_run_writes_everything_and_learns() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Enough steps (2 x 16) for the conv model to beat its noisy input.
    train_small(&run, &["--train-limit", "1024"]);
    for f in [
        "config.json",
        "metrics.jsonl",
        "model.bpk",
        "model.safetensors",
        "grid.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert!(temp_files(&run).is_empty());
    let lines = jsonl(&run.join("metrics.jsonl"));
    assert_eq!(lines.len(), 2);
    for line in &lines {
        for k in METRIC_KEYS {
            assert!(line[k].is_number(), "metrics line lacks {k}: {line}");
        }
    }
    // The model improves on its own noisy input after two short epochs.
    let last = &lines[1];
    assert!(
        last["val_psnr"].as_f64() > last["noisy_psnr"].as_f64(),
        "{last}"
    );
    assert!(lines[1]["train_loss"].as_f64() < lines[0]["train_loss"].as_f64());

    // The grid has three rows (clean, noisy, denoised) of 8 images of 28x28 at scale 3.
    let grid = image::open(run.join("grid.png")).unwrap();
    assert_eq!(grid.height(), 3 * 84 + 2 * 2);
    assert_eq!(grid.width(), 8 * 84 + 7 * 2);

    // eval: one JSON object per noise spec, on held-out data.
    let r = dae_ok(&[
        "eval",
        run.to_str().unwrap(),
        "--noise",
        "gaussian:sigma=0.3",
        "--noise",
        "mask:keep=0.8",
        "--limit",
        "100",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["noise"], "gaussian:sigma=0.3");
    assert_eq!(rows[1]["noise"], "mask:keep=0.8");
    for row in &rows {
        for k in ["mse", "psnr", "ssim", "noisy_psnr", "noisy_ssim"] {
            assert!(row[k].is_number(), "{k} in {row}");
        }
        assert_eq!(row["count"], 100);
    }
    // The table form prints a header and one row per spec.
    let table = dae_ok(&["eval", run.to_str().unwrap(), "--limit", "50"]);
    assert!(table.stdout.contains("PSNR"));
    assert_eq!(table.stdout.lines().count(), 2);

    // denoise: a conv model takes any size (padded to a multiple of 4, cropped back).
    let input = tmp.path().join("odd.png");
    write_png(&input, 30, 29);
    let out = tmp.path().join("out");
    dae_ok(&[
        "denoise",
        run.to_str().unwrap(),
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let img = image::open(out.join("odd.png")).unwrap();
    assert_eq!((img.height(), img.width()), (30, 29));

    // bf16 inference exists for the MLP only, and says so before any work.
    let out_bf16 = tmp.path().join("out-bf16");
    let args = ["--precision", "bf16", "-o", out_bf16.to_str().unwrap()];
    let mut denoise = vec!["denoise", run.to_str().unwrap(), input.to_str().unwrap()];
    denoise.extend(args);
    dae_err(&denoise, &["--precision bf16", "mlp", "conv"]);
    assert!(!out_bf16.exists());
    dae_err(
        &["eval", run.to_str().unwrap(), "--precision", "bf16"],
        &["mlp model only"],
    );
}

#[test]
fn resume_continues_exactly_where_the_run_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    train_small(&whole, &["--seed", "3"]);

    let split = tmp.path().join("split");
    let s = split.to_str().unwrap();
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "256",
        "--val-limit",
        "64",
        "--seed",
        "3",
        "--out",
        s,
    ]);
    assert_eq!(jsonl(&split.join("metrics.jsonl")).len(), 1);
    dae_ok(&["train", "--resume", s, "--epochs", "2"]);

    let a = jsonl(&whole.join("metrics.jsonl"));
    let b = jsonl(&split.join("metrics.jsonl"));
    assert_eq!(b.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        for k in ["train_loss", "val_mse", "val_ssim"] {
            let (x, y) = (x[k].as_f64().unwrap(), y[k].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1e-6), "{k}: {x} vs {y}");
        }
    }
    // A fresh run refuses to overwrite an existing one.
    dae_err(
        &["train", "--epochs", "1", "--train-limit", "64", "--out", s],
        &["already holds a run", "--resume"],
    );
    // Resuming keeps the run's shape: a flag that would change it is refused, not ignored.
    dae_err(
        &["train", "--resume", s, "--epochs", "3", "--model", "mlp"],
        &["--model", "cannot change a run being resumed"],
    );
    assert_eq!(jsonl(&split.join("metrics.jsonl")).len(), 2);
}

#[test]
fn cosine_schedule_is_recorded_and_changes_only_the_step_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let constant = tmp.path().join("constant");
    let cosine = tmp.path().join("cosine");
    train_small(&constant, &[]);
    train_small(&cosine, &["--lr-schedule", "cosine"]);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cosine.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["lr_schedule"], "cosine");
    let (a, b) = (
        &jsonl(&constant.join("metrics.jsonl"))[0],
        &jsonl(&cosine.join("metrics.jsonl"))[0],
    );
    // Same data, noise and initialization: the noisy input agrees, the trained model does not.
    assert_eq!(a["noisy_mse"], b["noisy_mse"]);
    assert_ne!(a["train_loss"], b["train_loss"]);
}

#[test]
fn mlp_run_denoises_its_own_size_and_refuses_others() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mlp");
    train_small(
        &run,
        &[
            "--model",
            "mlp",
            "--hidden",
            "64",
            "--latent-dim",
            "16",
            "--dropout",
            "0.1",
        ],
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"]["kind"], "mlp");
    assert_eq!(config["noise"], "gaussian:sigma=0.2");
    assert_eq!(config["batch_size"], 128);

    let good = tmp.path().join("good.png");
    write_png(&good, 28, 28);
    let bad = tmp.path().join("big.png");
    write_png(&bad, 32, 32);
    let out = tmp.path().join("out");
    let r = dae_ok(&[
        "denoise",
        run.to_str().unwrap(),
        good.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(r.stderr.contains("good.png"));
    assert!(out.join("good.png").is_file());

    let out2 = tmp.path().join("out2");
    dae_err(
        &[
            "denoise",
            run.to_str().unwrap(),
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "-o",
            out2.to_str().unwrap(),
        ],
        &["big.png", "28x28", "32x32"],
    );
    // Nothing was written: every input is checked before any output.
    assert!(!out2.join("good.png").exists());

    // bf16 inference: the same held-out metrics to a few hundredths of a dB, the same image to
    // a grey level or two.
    let eval = |precision: &str| -> serde_json::Value {
        let r = dae_ok(&[
            "eval",
            run.to_str().unwrap(),
            "--json",
            "--limit",
            "300",
            "--precision",
            precision,
        ]);
        serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap()
    };
    let (full, half) = (eval("f32"), eval("bf16"));
    let (a, b) = (
        full["psnr"].as_f64().unwrap(),
        half["psnr"].as_f64().unwrap(),
    );
    assert!(
        a.is_finite() && (a - b).abs() < 0.05,
        "f32 {a} dB, bf16 {b} dB"
    );
    assert_ne!(full["mse"], half["mse"], "bf16 computes different numbers");
    let out3 = tmp.path().join("out3");
    dae_ok(&[
        "denoise",
        run.to_str().unwrap(),
        good.to_str().unwrap(),
        "-o",
        out3.to_str().unwrap(),
        "--precision",
        "bf16",
    ]);
    let pixels = |p: &std::path::Path| image::open(p).unwrap().to_luma8().into_raw();
    let (full, half) = (
        pixels(&out.join("good.png")),
        pixels(&out3.join("good.png")),
    );
    let worst = full.iter().zip(&half).map(|(a, b)| a.abs_diff(*b)).max();
    assert!(
        worst <= Some(2),
        "bf16 denoised image differs by {worst:?} grey levels"
    );
    dae_err(
        &["eval", run.to_str().unwrap(), "--precision", "fp8"],
        &["fp8", "f32", "bf16"],
    );
}

#[test]
fn training_on_a_png_folder_and_an_idx_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // An image folder of 12x12 PNGs: the last 20% are held out.
    let folder = tmp.path().join("pngs");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..10 {
        write_png(&folder.join(format!("img{i:02}.png")), 12, 12);
    }
    let run = tmp.path().join("run_png");
    dae_ok(&[
        "train",
        "--data",
        folder.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(jsonl(&run.join("metrics.jsonl")).len(), 1);

    // An MNIST-format directory holding the shipped gz files.
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/fashion-mnist");
    let run = tmp.path().join("run_idx");
    dae_ok(&[
        "train",
        "--data",
        data,
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--val-limit",
        "32",
        "--out",
        run.to_str().unwrap(),
    ]);
    let r = dae_ok(&[
        "eval",
        run.to_str().unwrap(),
        "--data",
        data,
        "--limit",
        "20",
        "--json",
    ]);
    let row: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(row["count"], 20);
}
