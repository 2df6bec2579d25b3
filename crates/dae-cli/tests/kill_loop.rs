//! Crash consistency: `dae train` killed with SIGKILL at random instants (while loading, inside
//! epochs, while writing metrics and checkpoints, while finishing) and resumed each time ends with
//! the weights and metrics of an uninterrupted run, and with nothing left over.
//!
//! CI runs a short loop (`DAE_KILL_LOOP_KILLS`, default 12 kills); `scripts/kill_loop.sh` runs the
//! long one (60 kills).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run whose checkpoints are large next to its epochs (a 1024-wide MLP on 384 images), so that
/// random instants often fall inside checkpoint writes.
const TRAIN: &[&str] = &[
    "train",
    "--model",
    "mlp",
    "--hidden",
    "1024",
    "--latent-dim",
    "32",
    "--train-limit",
    "384",
    "--val-limit",
    "64",
    "--batch-size",
    "32",
    "--seed",
    "3",
];

/// The record fields that measure time, which no two runs share.
const TIMING: &[&str] = &["train_seconds", "images_per_second"];

/// splitmix64: the test's own reproducible sequence of kill instants.
struct Instants(u64);

impl Instants {
    fn next_fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}

fn dae<S: AsRef<std::ffi::OsStr>>(args: &[S], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dae"));
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

fn timed<S: AsRef<std::ffi::OsStr>>(args: &[S], log: &Path) -> Duration {
    let start = Instant::now();
    let status = dae(args, log).status().unwrap();
    let elapsed = start.elapsed();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(log).unwrap()
    );
    elapsed
}

/// The metrics lines of `run` without their timing fields.
fn metrics_without_timing(run: &Path) -> Vec<serde_json::Value> {
    let mut lines = common::jsonl(&run.join("metrics.jsonl"));
    for line in &mut lines {
        for key in TIMING {
            line.as_object_mut().unwrap().remove(*key);
        }
    }
    lines
}

/// The epoch of the newest checkpoint of `run` (0 without one).
fn epochs_done(run: &Path) -> usize {
    std::fs::read_dir(run.join("checkpoint"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("epoch-")?.parse().ok())
        .max()
        .unwrap_or(0)
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            found.push(name);
        } else if entry.path().is_dir() {
            found.extend(leftovers(&entry.path()));
        }
    }
    found
}

#[test]
fn a_run_killed_at_random_instants_ends_as_an_uninterrupted_one() {
    let kills_wanted: usize = std::env::var("DAE_KILL_LOOP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    let reference = dir.path().join("reference");
    let killed = dir.path().join("killed");
    // About one epoch is completed every third life: enough epochs that the kills fall all along
    // the run, and a final life runs it to the end.
    let epochs = (kills_wanted / 2).max(8).to_string();
    let with_out = |out: &Path| -> Vec<String> {
        [
            TRAIN,
            &["--epochs", &epochs, "--out", out.to_str().unwrap()],
        ]
        .concat()
        .into_iter()
        .map(String::from)
        .collect()
    };

    let whole = timed(&with_out(&reference), &log);
    // A resumed finished run: start-up and the end of a run, no epoch.
    let overhead = timed(&["train", "--resume", reference.to_str().unwrap()], &log);
    let per_epoch = whole.saturating_sub(overhead) / epochs.parse::<u32>().unwrap();
    // Lives end at uniform instants up to the start-up and two epochs: a third of them outlive
    // the start-up and one epoch and complete it, the others die on the way (in the start-up, an
    // epoch, a metrics or checkpoint write).
    let span = overhead + per_epoch * 2;

    let mut instants = Instants(2026);
    let (mut kills, mut lives) = (0, 0);
    let mut reached = Vec::new();
    loop {
        let args: Vec<String> = match killed.join("config.json").exists() {
            true => ["train", "--resume", killed.to_str().unwrap()]
                .map(String::from)
                .into(),
            false => with_out(&killed),
        };
        lives += 1;
        let mut child = dae(&args, &log).spawn().unwrap();
        if kills >= kills_wanted {
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "{}",
                std::fs::read_to_string(&log).unwrap()
            );
            break;
        }
        std::thread::sleep(span.mul_f64(instants.next_fraction()));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(
                    status.success(),
                    "{}",
                    std::fs::read_to_string(&log).unwrap()
                );
                if killed.join("model.bpk").exists() && lives > kills_wanted * 4 {
                    break;
                }
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                reached.push(epochs_done(&killed));
            }
        }
    }
    eprintln!(
        "{kills} kills over {lives} lives (whole run {whole:?}, start and end {overhead:?}); \
         epochs done at each kill: {reached:?}"
    );

    let read = |run: &Path, file: &str| std::fs::read(run.join(file)).unwrap();
    for file in ["model.bpk", "model.safetensors", "config.json"] {
        assert!(
            read(&reference, file) == read(&killed, file),
            "{file} differs from the uninterrupted run's after {kills} kills"
        );
    }
    assert_eq!(
        metrics_without_timing(&killed),
        metrics_without_timing(&reference),
        "metrics after {kills} kills"
    );
    assert_eq!(
        leftovers(&killed),
        Vec::<String>::new(),
        "temporaries or a lock left"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "only the two runs and the log: no staging folder left"
    );
}
