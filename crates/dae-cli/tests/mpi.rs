//! `mpirun -np N dae train --distributed mpi` (built with `--features mpi`): the run of N
//! processes has the weights and metrics of one process with the same flags, resumes with another
//! number of processes, and a killed or hung process ends the job with an error, not a hang, the
//! last checkpoint intact. Needs Open MPI's `mpirun` on the PATH; as root, its allow-run-as-root
//! variables are set here.

#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small MLP run whose last batch (230 = 4 × 50 + 30) is uneven.
const TRAIN: &[&str] = &[
    "train",
    "--model",
    "mlp",
    "--train-limit",
    "230",
    "--val-limit",
    "64",
    "--batch-size",
    "50",
    "--seed",
    "3",
    "--threads",
    "1",
];

/// The record fields that measure time, which no two runs share.
const TIMING: &[&str] = &["train_seconds", "images_per_second"];

/// The weights of two runs may differ by the rounding of another summation order: by at most
/// this, relative to each tensor's norm.
const TOLERANCE: f64 = 1e-6;

fn dae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dae"))
}

fn mpirun(np: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-np", &np.to_string()])
        .arg(env!("CARGO_BIN_EXE_dae"));
    cmd
}

fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every tensor of `model.safetensors`, by name.
fn weights(run: &Path) -> Vec<(String, Vec<f32>)> {
    let bytes = std::fs::read(run.join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut named: Vec<(String, Vec<f32>)> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, values)
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// The largest difference between the two runs' tensors, relative to the tensor's norm
/// (‖a − b‖ / ‖a‖, Euclidean).
fn weight_difference(a: &Path, b: &Path) -> f64 {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.len(), b.len());
    let mut worst = 0f64;
    for ((name_a, x), (name_b, y)) in a.iter().zip(&b) {
        assert_eq!((name_a, x.len()), (name_b, y.len()));
        let norm = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        let diff = x.iter().zip(y);
        let diff = diff
            .map(|(u, v)| (*u as f64 - *v as f64).powi(2))
            .sum::<f64>();
        worst = worst.max(diff.sqrt() / norm.max(1e-12));
    }
    worst
}

/// The records of `metrics.jsonl` without their timings.
fn records(run: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut record: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            record.retain(|k, _| !TIMING.contains(&k.as_str()));
            record
        })
        .collect()
}

/// The two runs' records have the same fields and epochs, every number within `tolerance`
/// relative.
fn assert_same_records(a: &Path, b: &Path, tolerance: f64) {
    let (a, b) = (records(a), records(b));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
        for (key, u) in x {
            let (u, v) = (u.as_f64().unwrap(), y[key].as_f64().unwrap());
            let scale = u.abs().max(v.abs()).max(1e-12);
            assert!((u - v).abs() / scale <= tolerance, "{key}: {u} vs {v}");
        }
    }
}

#[test]
fn two_processes_train_the_weights_and_metrics_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    succeed(
        dae()
            .args(TRAIN)
            .args(["--epochs", "2", "--out", arg(&one)]),
    );
    succeed(mpirun(2).args(TRAIN).args([
        "--epochs",
        "2",
        "--distributed",
        "mpi",
        "--out",
        arg(&two),
    ]));
    let difference = weight_difference(&one, &two);
    assert!(difference <= TOLERANCE, "weights differ by {difference:e}");
    assert_same_records(&one, &two, 1e-5);
    // One writer: the second process leaves no file of its own.
    let files = |run: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(run)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    assert_eq!(files(&one), files(&two));
}

#[test]
fn one_mpi_process_is_one_process_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, mpi) = (dir.path().join("plain"), dir.path().join("mpi"));
    succeed(
        dae()
            .args(TRAIN)
            .args(["--epochs", "1", "--out", arg(&plain)]),
    );
    succeed(mpirun(1).args(TRAIN).args([
        "--epochs",
        "1",
        "--distributed",
        "mpi",
        "--out",
        arg(&mpi),
    ]));
    let read = |run: &Path| std::fs::read(run.join("model.safetensors")).unwrap();
    assert_eq!(read(&plain), read(&mpi));
}

#[test]
fn a_run_resumes_with_another_number_of_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));
    succeed(
        dae()
            .args(TRAIN)
            .args(["--epochs", "3", "--out", arg(&whole)]),
    );
    succeed(mpirun(2).args(TRAIN).args([
        "--epochs",
        "1",
        "--distributed",
        "mpi",
        "--out",
        arg(&split),
    ]));
    // One process for the second epoch, three (one with a share of 16 of an uneven 50) for the
    // third.
    succeed(dae().args([
        "train",
        "--threads",
        "1",
        "--epochs",
        "2",
        "--resume",
        arg(&split),
    ]));
    succeed(mpirun(3).args([
        "train",
        "--threads",
        "1",
        "--epochs",
        "3",
        "--distributed",
        "mpi",
        "--resume",
        arg(&split),
    ]));
    let difference = weight_difference(&whole, &split);
    assert!(difference <= TOLERANCE, "weights differ by {difference:e}");
    assert_same_records(&whole, &split, 1e-5);
}

/// A run long enough (40 steps an epoch) to stop one of its processes inside an epoch.
const LONG: &[&str] = &[
    "train",
    "--model",
    "mlp",
    "--train-limit",
    "2000",
    "--val-limit",
    "64",
    "--batch-size",
    "50",
    "--seed",
    "3",
    "--threads",
    "1",
    "--epochs",
    "3",
];

/// Not a measurement: a bound that only a hung job reaches.
const HANG: Duration = Duration::from_secs(120);

/// The pid of the process of rank `rank` training into `run` (from /proc: its command line
/// names the run, its environment Open MPI's rank).
fn rank_pid(run: &Path, rank: usize) -> Option<u32> {
    let rank = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let names_run = cmdline
                .split(|&b| b == 0)
                .any(|a| a == run.as_os_str().as_encoded_bytes());
            let has_rank = environ.split(|&b| b == 0).any(|v| v == rank.as_bytes());
            (names_run && has_rank).then_some(pid)
        })
}

/// Whether `pid` is gone (or a zombie: dead, not yet reaped).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        let state = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().chars().next());
        matches!(state, Some(Some('Z' | 'X')))
    })
}

/// Starts `LONG` on two processes into `run`, waits for its first checkpoint, sends `signal`
/// to the process of rank 1 and returns the job's stderr once it ended and both processes are
/// gone (`mpirun` may exit before they are), with its status.
fn stop_rank_one(run: &Path, signal: &str, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let log = run.with_extension("log");
    let mut job: Child = mpirun(2)
        .args(LONG)
        .args(["--distributed", "mpi", "--out", arg(run)])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !run.join("checkpoint/epoch-000001").exists() {
        assert!(started.elapsed() < HANG, "no first checkpoint");
        assert!(job.try_wait().unwrap().is_none(), "the job ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    let lead = rank_pid(run, 0).expect("the process of rank 0 is running");
    let pid = rank_pid(run, 1).expect("the process of rank 1 is running");
    succeed(Command::new("kill").args([signal, &pid.to_string()]));
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > HANG {
            job.kill().unwrap();
            panic!("the job hung after rank 1 got {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while !(gone(lead) && gone(pid)) {
        assert!(stopped.elapsed() < HANG, "a process outlived its job");
        std::thread::sleep(Duration::from_millis(50));
    }
    (status, std::fs::read_to_string(log).unwrap())
}

#[test]
fn a_killed_process_ends_the_job_and_the_run_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    succeed(dae().args(LONG).args(["--out", arg(&whole)]));
    let (status, stderr) = stop_rank_one(&killed, "-KILL", &[]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("rank 1"), "{stderr}");
    assert!(!killed.join("model.safetensors").exists());
    succeed(mpirun(2).args([
        "train",
        "--threads",
        "1",
        "--distributed",
        "mpi",
        "--resume",
        arg(&killed),
    ]));
    let difference = weight_difference(&whole, &killed);
    assert!(difference <= TOLERANCE, "weights differ by {difference:e}");
    assert_same_records(&whole, &killed, 1e-5);
}

#[test]
fn a_hung_process_ends_the_job_after_the_timeout_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, hung) = (dir.path().join("whole"), dir.path().join("hung"));
    succeed(dae().args(LONG).args(["--out", arg(&whole)]));
    let (status, stderr) = stop_rank_one(&hung, "-STOP", &["--distributed-timeout", "3"]);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("the other processes did not answer within 3 s"),
        "{stderr}"
    );
    // One process finishes the run.
    succeed(dae().args(["train", "--threads", "1", "--resume", arg(&hung)]));
    let difference = weight_difference(&whole, &hung);
    assert!(difference <= TOLERANCE, "weights differ by {difference:e}");
    assert_same_records(&whole, &hung, 1e-5);
}
