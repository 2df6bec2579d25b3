//! Helpers of the MPI tests (`mpi.rs`, `mpi_faults.rs`): `dae` alone and under `mpirun`, and
//! the comparison of two runs' weights and metrics.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The record fields that measure time, which no two runs share.
pub const TIMING: &[&str] = &["train_seconds", "images_per_second"];

/// The weights of two runs may differ by the rounding of another summation order: by at most
/// this, relative to each tensor's norm.
pub const TOLERANCE: f64 = 1e-6;

pub fn dae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dae"))
}

pub fn mpirun(np: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-np", &np.to_string()])
        .arg(env!("CARGO_BIN_EXE_dae"));
    cmd
}

pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every tensor of `model.safetensors`, by name.
pub fn weights(run: &Path) -> Vec<(String, Vec<f32>)> {
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
pub fn weight_difference(a: &Path, b: &Path) -> f64 {
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
pub fn records(run: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
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
pub fn assert_same_records(a: &Path, b: &Path, tolerance: f64) {
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
