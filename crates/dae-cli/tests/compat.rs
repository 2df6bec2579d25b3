//! Compatibility: run directories written by an earlier `dae` keep working.
//!
//! `tests/fixtures/compat/runs/` holds tiny run directories of every kind, written by the binary
//! of commit 9aadcbf with `scripts/make_compat_fixtures.sh`, and `expected/` what that binary
//! answered about them. Each test copies a run into a temporary directory and checks that today's
//! binary evaluates it to the same numbers, reports and denoises it, fills masks as before and
//! resumes it to the numbers of the old binary's uninterrupted run. Every command runs on one
//! thread, as the fixtures were made.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{jsonl, Run};
use serde_json::Value;

const IMAGE_RUNS: [&str; 4] = ["mlp", "conv", "unet", "dncnn"];

/// Per-epoch fields that measure time, not the model: never compared.
const TIMING: [&str; 3] = ["train_seconds", "images_per_second", "tokens_per_second"];

/// Tolerance of every number compared: relative, plus an absolute floor for values near zero
/// (a PSNR gain, an accuracy). On the machine that wrote the fixtures the numbers agree to the
/// last digit; another processor's SIMD width changes the GEMMs' summation order, and so the
/// low bits (f32), never a hundredth of a dB. A run read wrongly (weights, config, noise draws)
/// moves them by far more.
const REL_TOL: f64 = 1e-4;
/// See [`REL_TOL`].
const ABS_TOL: f64 = 1e-4;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

fn expected(name: &str, file: &str) -> PathBuf {
    fixtures().join("expected").join(name).join(file)
}

/// Runs today's `dae` on one thread, asserting success; `what` names the fixture.
fn dae1(what: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_dae"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("dae binary runs");
    let r = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(r.ok, "{what}: dae {args:?} failed:\n{}", r.stderr);
    r
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// A fresh copy of the fixture run `name` (a path under `runs/`) inside `tmp`.
fn copy_run(name: &str, tmp: &Path) -> PathBuf {
    let dest = tmp.join(name.replace('/', "_"));
    copy_dir(&fixtures().join("runs").join(name), &dest);
    dest
}

/// The JSON objects of `text`, one a line.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// Asserts that `actual` holds every field of `expected` with the same value (numbers within
/// [`REL_TOL`] and [`ABS_TOL`]), except the fields named in `skip`; `at` names where for messages.
fn assert_same(at: &str, expected: &Value, actual: &Value, skip: &[&str]) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: field `{k}` missing in {actual}"));
                assert_same(&format!("{at}.{k}"), ev, av, skip);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{at}: length");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_same(&format!("{at}[{i}]"), ev, av, skip);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            let scale = e.abs().max(a.abs());
            assert!(
                (e - a).abs() <= REL_TOL * scale + ABS_TOL,
                "{at}: {a} now, {e} before"
            );
        }
        _ => assert_eq!(expected, actual, "{at}"),
    }
}

/// Asserts that two lists of JSON objects agree line by line.
fn assert_same_lines(at: &str, expected: &[Value], actual: &[Value], skip: &[&str]) {
    assert_eq!(expected.len(), actual.len(), "{at}: number of lines");
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_same(&format!("{at} line {}", i + 1), e, a, skip);
    }
}

/// Runs `dae report` on `run` (with `extra` flags) and checks the sections of report.html
/// against the old binary's.
fn check_report(name: &str, run: &Path, extra: &[&str]) {
    let mut args = vec!["report", s(run)];
    args.extend_from_slice(extra);
    dae1(name, &args);
    let html = std::fs::read_to_string(run.join("report.html"))
        .unwrap_or_else(|e| panic!("{name}: report.html not written: {e}"));
    let sections: Vec<&str> = html
        .split("<h2 id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let old = std::fs::read_to_string(expected(name, "report.sections")).unwrap();
    let old: Vec<&str> = old.lines().collect();
    assert_eq!(sections, old, "{name}: report.html sections");
}

/// `dae train --resume COPY --epochs 2` on the 1-epoch fixture `name` reproduces the old binary's
/// uninterrupted 2-epoch run (its metrics.jsonl, timing aside).
fn check_resume(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let run = copy_run(name, tmp.path());
    let first = jsonl(&run.join("metrics.jsonl"));
    dae1(
        name,
        &[
            "train",
            "--resume",
            s(&run),
            "--epochs",
            "2",
            "--threads",
            "1",
        ],
    );
    let now = jsonl(&run.join("metrics.jsonl"));
    let old = jsonl(&expected(name, "metrics2.jsonl"));
    assert_eq!(now.len(), 2, "{name}: metrics.jsonl lines after resuming");
    assert_same(
        &format!("{name}: resumed metrics.jsonl epoch 1"),
        &first[0],
        &now[0],
        &TIMING,
    );
    assert_same(
        &format!("{name}: resumed metrics.jsonl epoch 2"),
        &old[1],
        &now[1],
        &TIMING,
    );
}

#[test]
fn image_runs_evaluate_to_the_old_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    for name in IMAGE_RUNS {
        let run = copy_run(name, tmp.path());
        let now = dae1(
            name,
            &[
                "eval",
                s(&run),
                "--json",
                "--limit",
                "32",
                "--seed",
                "0",
                "--threads",
                "1",
            ],
        );
        let old = jsonl(&expected(name, "eval.json"));
        assert_same_lines(
            &format!("{name}: eval --json"),
            &old,
            &json_lines(&now.stdout),
            &[],
        );
    }
}

#[test]
fn image_runs_report_and_denoise() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("in.png");
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * 9 + y * 5) % 256) as u8]))
        .save(&png)
        .unwrap();
    for name in IMAGE_RUNS {
        let run = copy_run(name, tmp.path());
        check_report(name, &run, &[]);
        let out = tmp.path().join(format!("{name}-denoised"));
        dae1(
            name,
            &["denoise", s(&run), s(&png), "-o", s(&out), "--threads", "1"],
        );
        let denoised = image::open(out.join("in.png"))
            .unwrap_or_else(|e| panic!("{name}: denoised in.png: {e}"));
        assert_eq!(
            (denoised.width(), denoised.height()),
            (28, 28),
            "{name}: denoised size"
        );
    }
}

#[test]
fn image_runs_resume_like_an_uninterrupted_run() {
    for name in IMAGE_RUNS {
        check_resume(name);
    }
}

#[test]
fn text_run_evaluates_fills_and_resumes_as_before() {
    let name = "mlm";
    let tmp = tempfile::tempdir().unwrap();
    let run = copy_run(name, tmp.path());
    let now = dae1(
        name,
        &["eval", s(&run), "--json", "--limit", "16", "--threads", "1"],
    );
    assert_same_lines(
        "mlm: eval --json",
        &jsonl(&expected(name, "eval.json")),
        &json_lines(&now.stdout),
        &[],
    );
    let now = dae1(name, &["fill", s(&run), "In the [MASK]", "--json"]);
    assert_same_lines(
        "mlm: fill --json",
        &jsonl(&expected(name, "fill.json")),
        &json_lines(&now.stdout),
        &[],
    );
    check_resume(name);
}

#[test]
fn experiment_reuses_its_runs_and_rewrites_the_same_matrix() {
    let name = "experiment";
    let runs = ["gaussian-sigma-0.3", "mask-keep-0.7"];
    let fixture = fixtures().join("runs").join(name);
    let tmp = tempfile::tempdir().unwrap();
    let exp = copy_run(name, tmp.path());

    let first = exp.join(runs[0]);
    check_report(name, &first, &["--matrix", s(&exp)]);

    let args = std::fs::read_to_string(expected(name, "args")).unwrap();
    let mut cmd = vec!["experiment", "robustness", "--out", s(&exp)];
    cmd.extend(args.lines());
    dae1(name, &cmd);
    for run in runs {
        // Reused, not retrained: the per-epoch metrics are the old binary's, byte for byte.
        let metrics = |dir: &Path| std::fs::read(dir.join(run).join("metrics.jsonl")).unwrap();
        assert_eq!(
            metrics(&exp),
            metrics(&fixture),
            "{name}/{run}: metrics.jsonl changed: the run was trained again"
        );
        assert_same_lines(
            &format!("{name}/{run}: eval.jsonl"),
            &jsonl(&fixture.join(run).join("eval.jsonl")),
            &jsonl(&exp.join(run).join("eval.jsonl")),
            &[],
        );
    }
    let matrix = |dir: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("matrix.json")).unwrap()).unwrap()
    };
    assert_same(
        &format!("{name}: matrix.json"),
        &matrix(&fixture),
        &matrix(&exp),
        &[],
    );
    assert!(exp.join("matrix.png").is_file(), "{name}: matrix.png");
}
