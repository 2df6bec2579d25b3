//! `mpirun -np N dae train --distributed mpi` (built with `--features mpi`): the run of N
//! processes has the weights and metrics of one process with the same flags, resumes with another
//! number of processes, and a killed or hung process ends the job with an error, not a hang, the
//! last checkpoint intact. The robustness matrix and the noise sweep, fanned out over processes,
//! write the files of one process. Needs Open MPI's `mpirun` on the PATH; as root, its allow-run-as-root
//! variables are set here.

#![cfg(feature = "mpi")]

mod mpi_common;

use std::path::Path;
use std::process::Command;

use mpi_common::*;

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

/// A loss over the masked pixels only: their count differs from sample to sample, so each
/// process's share of the mean is its share of the masked pixels, not of the samples.
#[test]
fn a_masked_loss_trains_the_numbers_of_one_process_on_two() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let masked = ["--noise", "mask:keep=0.7", "--masked-loss", "--epochs", "1"];
    succeed(dae().args(TRAIN).args(masked).args(["--out", arg(&one)]));
    succeed(
        mpirun(2)
            .args(TRAIN)
            .args(masked)
            .args(["--distributed", "mpi", "--out", arg(&two)]),
    );
    let difference = weight_difference(&one, &two);
    assert!(difference <= TOLERANCE, "weights differ by {difference:e}");
    assert_same_records(&one, &two, 1e-5);
}

/// Dropout masks are drawn inside the model, per process: refused before anything is written.
#[test]
fn dropout_is_refused_on_several_processes_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = mpirun(2)
        .args(TRAIN)
        .args(["--dropout", "0.2", "--epochs", "1", "--distributed", "mpi"])
        .args(["--out", arg(&run)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dropout 0.2"), "{stderr}");
    assert!(!run.join("config.json").exists());
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

#[test]
fn experiments_fanned_out_over_processes_write_the_files_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let shared = [
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--val-limit",
        "32",
        "--model",
        "mlp",
    ];
    let experiments: [(&str, &[&str], &[&str]); 2] = [
        (
            "robustness",
            &[
                "--train-noise",
                "gaussian:sigma=0.3",
                "--train-noise",
                "mask:keep=0.7",
                "--train-noise",
                "saltpepper:p=0.1",
                "--test-noise",
                "gaussian:sigma=0.3",
            ],
            &[
                "matrix.json",
                "mask-keep-0.7/eval.jsonl",
                "mask-keep-0.7/model.safetensors",
            ],
        ),
        (
            "noise-sweep",
            &[
                "--levels",
                "0.1,0.3",
                "--random",
                "0.1..0.3",
                "--probe-train-limit",
                "128",
            ],
            &[
                "sweep.json",
                "summary.json",
                "gaussian-sigma-0.3/model.safetensors",
            ],
        ),
    ];
    for (name, flags, files) in experiments {
        let (one, two) = (
            dir.path().join(format!("{name}-1")),
            dir.path().join(format!("{name}-2")),
        );
        let experiment = |cmd: &mut Command, out: &Path, extra: &[&str]| {
            cmd.args(["experiment", name])
                .args(flags)
                .args(shared)
                .args(["--out", arg(out)])
                .args(extra);
            succeed(cmd).stdout
        };
        let table = experiment(&mut dae(), &one, &[]);
        let fanned = experiment(&mut mpirun(2), &two, &["--distributed", "mpi"]);
        assert_eq!(table, fanned, "{name}: the printed tables differ");
        for file in files {
            let read = |root: &Path| std::fs::read(root.join(file)).unwrap();
            assert!(read(&one) == read(&two), "{name}: {file} differs");
        }
    }
}
