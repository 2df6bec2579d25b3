//! The U-Net and DnCNN models and the SSIM / mixture losses, end to end through the binary on
//! the embedded Fashion-MNIST split: train a tiny model one epoch, reload it, denoise an image
//! whose size the model was not trained on.

mod common;

use common::*;

/// Trains `model` one tiny epoch with `extra` flags, then denoises a 13x10 PNG (not a multiple
/// of 4) and checks that the output keeps the input's size.
fn train_and_denoise(model: &str, extra: &[&str]) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut args = vec![
        "train",
        "--model",
        model,
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--val-limit",
        "32",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = dae_ok(&args);
    assert!(r.stderr.contains(&format!("{model} model")), "{}", r.stderr);
    // model.safetensors: the weights under the PyTorch twin's names (docs/torch.md).
    for f in [
        "config.json",
        "metrics.jsonl",
        "model.bpk",
        "model.safetensors",
        "grid.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let lines = jsonl(&run.join("metrics.jsonl"));
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["val_psnr"].as_f64().unwrap().is_finite());

    let input = tmp.path().join("odd.png");
    write_png(&input, 13, 10);
    let out = tmp.path().join("out");
    dae_ok(&[
        "denoise",
        run.to_str().unwrap(),
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let img = image::open(out.join("odd.png")).unwrap();
    assert_eq!((img.width(), img.height()), (10, 13));
    let text = std::fs::read_to_string(run.join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn unet_trains_with_a_mixed_loss_and_denoises_any_size() {
    let config = train_and_denoise(
        "unet",
        &[
            "--width",
            "4",
            "--depth",
            "2",
            "--loss",
            "0.84*ssim+0.16*l1",
        ],
    );
    assert_eq!(config["model"]["kind"], "unet");
    assert_eq!(config["model"]["features"], 4);
    assert_eq!(config["model"]["depth"], 2);
    assert_eq!(config["loss"], "0.84*ssim+0.16*l1");
}

#[test]
fn residual_unet_trains_with_l1() {
    let config = train_and_denoise("unet", &["--width", "4", "--residual", "--loss", "l1"]);
    assert_eq!(config["model"]["residual"], true);
    assert_eq!(config["loss"], "l1");
}

#[test]
fn dncnn_trains_with_ms_ssim_and_denoises_any_size() {
    let config = train_and_denoise(
        "dncnn",
        &["--width", "4", "--depth", "3", "--loss", "msssim"],
    );
    assert_eq!(config["model"]["kind"], "dncnn");
    assert_eq!(config["model"]["depth"], 3);
    assert_eq!(config["loss"], "msssim");
}

#[test]
fn bad_model_and_loss_flags_fail_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = run.to_str().unwrap();
    dae_err(
        &["train", "--loss", "0.5*huber", "--out", out],
        &["--loss", "unknown loss `huber`"],
    );
    dae_err(
        &["train", "--loss", "mse+-1*l1", "--out", out],
        &["weight `-1` must be a positive number"],
    );
    dae_err(
        &["train", "--model", "dncnn", "--depth", "1", "--out", out],
        &["DnCNN", "--depth"],
    );
    dae_err(
        &["train", "--model", "conv", "--residual", "--out", out],
        &["--residual", "unet"],
    );
    dae_err(
        &["train", "--model", "unet", "--width", "0", "--out", out],
        &["U-Net", "--width"],
    );
    dae_err(
        &[
            "train",
            "--loss",
            "ssim",
            "--masked-loss",
            "--noise",
            "mask:keep=0.5",
            "--out",
            out,
        ],
        &["--masked-loss", "`ssim`"],
    );
    assert!(!run.exists(), "a refused run must not create its directory");
}
