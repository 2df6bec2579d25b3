//! What a run directory survives: runs with infinite metrics read back, folders that are not runs
//! left alone, one writer at a time, flags that a resumed run cannot take, leftovers of killed
//! writers, and errors said once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{dae_err, dae_ok, jsonl, temp_files, train_small};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_run_with_infinite_metrics_reports_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Without noise the noisy input equals the clean one: its PSNR is infinite.
    train_small(&run, &["--model", "mlp", "--noise", "none"]);
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(text.contains(r#""noisy_psnr":"Infinity""#), "{text}");
    dae_ok(&["train", "--resume", s(&run), "--epochs", "3"]);
    assert_eq!(jsonl(&run.join("metrics.jsonl")).len(), 3);
    let resumed = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(
        resumed.starts_with(&text),
        "the earlier lines are kept as written"
    );
    dae_ok(&["report", s(&run)]);
    assert!(run.join("report.html").is_file());
}

#[test]
fn only_a_new_or_empty_folder_becomes_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("cat.png"), b"not mine to overwrite").unwrap();
    dae_err(
        &[
            "train",
            "--epochs",
            "1",
            "--train-limit",
            "64",
            "--out",
            s(&photos),
        ],
        &["photos", "not empty", "no dae run"],
    );
    let left: Vec<_> = std::fs::read_dir(&photos).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "the folder is as it was");

    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    dae_err(
        &["train", "--epochs", "1", "--out", s(&file)],
        &["not a folder"],
    );
    // Nothing was staged beside them either.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
}

#[test]
fn a_run_has_one_writer_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut first = Command::new(env!("CARGO_BIN_EXE_dae"))
        .args([
            "train",
            "--model",
            "mlp",
            "--epochs",
            "1000",
            "--train-limit",
            "256",
        ])
        .args(["--val-limit", "16", "--out", s(&run)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !run.join("config.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = first.id().to_string();
    dae_err(
        &["train", "--epochs", "1", "--out", s(&run)],
        &["already holds a run", "--resume"],
    );
    dae_err(
        &["train", "--resume", s(&run), "--epochs", "2"],
        &["being written by process", &pid],
    );
    // Killed, its lock names a dead process: the next writer takes it over.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(run.join(".lock").exists());
    dae_ok(&["train", "--resume", s(&run), "--epochs", "1"]);
    assert!(!run.join(".lock").exists());
    assert!(run.join("model.bpk").is_file());
}

#[test]
fn a_resumed_run_refuses_flags_it_would_ignore_and_clears_dead_writers_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train_small(&run, &["--model", "mlp"]);
    for flag in [
        &["--seed", "4"][..],
        &["--noise", "gaussian:sigma=0.5"],
        &["--batch-size", "8"],
        &["--train-limit", "10"],
        &["--data", "elsewhere"],
        &["--weight-decay", "0"],
        &["--device", "cpu"],
    ] {
        let args = [&["train", "--resume", s(&run), "--epochs", "3"][..], flag].concat();
        dae_err(&args, &[flag[0], "cannot change a run being resumed"]);
    }
    // A temporary of a process that no longer exists (Linux pids stay below 2^22).
    let stale = run.join(format!(".metrics.jsonl.{}.tmp", 1u32 << 30));
    std::fs::write(&stale, b"half a line").unwrap();
    dae_ok(&["train", "--resume", s(&run), "--epochs", "3"]);
    assert!(!stale.exists());
    assert!(temp_files(&run).is_empty());
}

#[test]
fn an_io_error_says_its_cause_once() {
    let r = dae_err(
        &["train", "--data", "/nonexistent/fashion"],
        &["/nonexistent/fashion"],
    );
    let cause = "No such file or directory";
    assert_eq!(r.stderr.matches(cause).count(), 1, "{}", r.stderr);
}

#[test]
fn an_f32_overflowing_learning_rate_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    dae_err(
        &["train", "--lr", "1e39", "--out", s(&run)],
        &["learning rate", "1e39"],
    );
    assert!(!run.exists());
}
