//! Diffusion through the real binary: train a tiny run on the embedded Fashion-MNIST split,
//! resume to the same numbers (the weights' average included), sample with every sampler
//! (deterministic per seed, image i independent of -n), eval (JSON contract), report; and every
//! bad request to `dae sample` refused with nothing written.

mod common;

use std::path::Path;

use common::{dae_err, dae_ok, jsonl, temp_files};

/// A tiny diffusion run: width 4, 256 training images, 32 held-out, T = 100.
fn train_tiny(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().expect("utf-8 path");
    let mut args: Vec<&str> = "train --task diffusion --unet-width 4 --train-steps 100 \
                               --train-limit 256 --val-limit 32 --batch-size 32 --threads 1"
        .split_whitespace()
        .collect();
    args.extend_from_slice(&["--out", out]);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "1"]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args);
}

/// `metrics.jsonl` lines without the wall-clock fields.
fn numbers(run: &Path) -> Vec<serde_json::Value> {
    jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .map(|mut l| {
            let o = l.as_object_mut().unwrap();
            o.remove("train_seconds");
            o.remove("images_per_second");
            l
        })
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn train_resume_sample_eval_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, whole) = (tmp.path().join("run"), tmp.path().join("whole"));
    let r = run.to_str().unwrap();
    train_tiny(&run, &[]);
    for f in [
        "config.json",
        "metrics.jsonl",
        "model.bpk",
        "grid.png",
        "trajectory.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let line = &numbers(&run)[0];
    assert_eq!(line["band_losses"].as_array().unwrap().len(), 10);

    // Resumed to 2 epochs, the run (moving average included) equals one trained for 2 at once.
    dae_ok(&["train", "--resume", r, "--epochs", "2", "--threads", "1"]);
    train_tiny(&whole, &["--epochs", "2"]);
    assert_eq!(numbers(&run), numbers(&whole));
    assert_eq!(
        std::fs::read(run.join("model.bpk")).unwrap(),
        std::fs::read(whole.join("model.bpk")).unwrap()
    );

    // DDIM: deterministic for a seed; image i does not depend on -n.
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let s = |out: &Path, n: &str, extra: &[&str]| {
        let mut args = vec!["sample", r, "-n", n, "--steps", "5", "-o"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        dae_ok(&args);
    };
    s(&a, "3", &["--trajectory", "2"]);
    s(&b, "3", &[]);
    s(&c, "2", &["--seed", "1"]);
    assert_eq!(
        files(&a),
        [
            "grid.png",
            "sample-00000.png",
            "sample-00001.png",
            "sample-00002.png",
            "trajectory.png"
        ]
    );
    for i in 0..3 {
        let name = format!("sample-{i:05}.png");
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap()
        );
    }
    assert_ne!(
        std::fs::read(a.join("sample-00000.png")).unwrap(),
        std::fs::read(c.join("sample-00000.png")).unwrap()
    );
    let d = tmp.path().join("d");
    s(&d, "1", &["--sampler", "ddpm"]);
    s(&tmp.path().join("e"), "1", &["--eta", "1"]);
    assert!(temp_files(tmp.path()).is_empty());

    let out = dae_ok(&["eval", r, "--json", "--limit", "20", "--samples", "8"]);
    let eval: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let rows = eval["denoising"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[0]["denoised"]["psnr"].as_f64().unwrap().is_finite());
    for key in [
        "frechet_distance",
        "kid",
        "precision",
        "recall",
        "count_a",
        "count_b",
    ] {
        assert!(
            eval["samples"]["scores"].get(key).is_some(),
            "{key} missing"
        );
    }
    dae_ok(&["report", r]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("Held-out loss per band") && html.contains("data:image/png"));
}

#[test]
fn single_level_run_samples_with_the_chain_only() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("single");
    let r = run.to_str().unwrap();
    train_tiny(&run, &["--single-level", "30"]);
    let out = tmp.path().join("chain");
    dae_ok(&[
        "sample",
        r,
        "-n",
        "2",
        "--sampler",
        "chain",
        "--steps",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(out.join("grid.png").is_file());
    let x = tmp.path().join("x");
    dae_err(
        &["sample", r, "--sampler", "ddim", "-o", x.to_str().unwrap()],
        &["--sampler chain"],
    );
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn bad_sampling_requests_are_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    train_tiny(&run, &[]);
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--sampler", "euler"], "unknown sampler"),
        (&["--steps", "101"], "--steps"),
        (&["--steps", "0"], "--steps"),
        (&["--eta", "-0.5"], "--eta"),
        (
            &["--sampler", "ddpm", "--eta", "1"],
            "--eta applies to --sampler ddim",
        ),
        (&["-n", "0"], "-n must be"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["sample", r, "-o", o];
        args.extend_from_slice(extra);
        dae_err(&args, &[expected]);
        assert!(!out.exists(), "{extra:?} wrote {o}");
    }
    // A run of another task, by name.
    let image = tmp.path().join("image");
    dae_ok(&[
        "train",
        "--epochs",
        "1",
        "--train-limit",
        "64",
        "--val-limit",
        "16",
        "--threads",
        "1",
        "--out",
        image.to_str().unwrap(),
    ]);
    dae_err(
        &["sample", image.to_str().unwrap(), "-o", o],
        &["not a diffusion model"],
    );
    // An existing folder with files in it.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"x").unwrap();
    dae_err(&["sample", r, "-n", "1", "-o", o], &["not empty"]);
    assert_eq!(files(&out), ["keep.txt"]);
}
