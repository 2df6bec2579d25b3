//! Helpers shared by the CLI integration tests: run the real `dae` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The result of one `dae` invocation.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `dae` with `args`.
pub fn dae(args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_dae"))
        .args(args)
        .output()
        .expect("dae binary runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `dae`, asserting success.
pub fn dae_ok(args: &[&str]) -> Run {
    let r = dae(args);
    assert!(r.ok, "dae {args:?} failed:\n{}", r.stderr);
    r
}

/// Runs `dae`, asserting failure with an error mentioning every one of `needles`.
pub fn dae_err(args: &[&str], needles: &[&str]) -> Run {
    let r = dae(args);
    assert!(
        !r.ok,
        "dae {args:?} should fail but succeeded:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("error:"),
        "no `error:` line: {}",
        r.stderr
    );
    for n in needles {
        assert!(
            r.stderr.contains(n),
            "dae {args:?}: error should mention `{n}`:\n{}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("panicked"), "dae panicked: {}", r.stderr);
    r
}

/// A small, fast training run on the embedded data: 2 epochs of 256 images unless `extra`
/// sets `--train-limit`; conv unless `extra` says otherwise.
pub fn train_small(dir: &Path, extra: &[&str]) -> Run {
    let out = dir.to_str().expect("utf-8 path");
    let mut args = vec!["train", "--epochs", "2", "--val-limit", "64", "--out", out];
    if !extra.contains(&"--train-limit") {
        args.extend_from_slice(&["--train-limit", "256"]);
    }
    args.extend_from_slice(extra);
    dae_ok(&args)
}

/// Every JSON object of a `.jsonl` file.
pub fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// Files under `dir` (recursively) whose name ends in `.tmp`: leftovers of interrupted writes.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(temp_files(&p));
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p);
            }
        }
    }
    out
}

/// Writes a grayscale PNG of `h x w` with a simple pattern.
pub fn write_png(path: &Path, h: usize, w: usize) {
    let pixels: Vec<f32> = (0..h * w).map(|i| (i % w) as f32 / w as f32).collect();
    dae::tasks::image::data::image_folder::write_png_gray(path, &pixels, h, w)
        .expect("png written");
}
