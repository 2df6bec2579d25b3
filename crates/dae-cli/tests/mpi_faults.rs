//! Faults of `mpirun -np 2 dae train --distributed mpi` (built with `--features mpi`): a process
//! killed (SIGKILL) or hung (SIGSTOP) inside an epoch ends the job with an error, not a hang; the
//! last checkpoint is intact and the run resumes to the numbers of an uninterrupted one.

#![cfg(feature = "mpi")]

mod mpi_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mpi_common::*;

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
