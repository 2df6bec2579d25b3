//! Performance: the CPU thread count, peak memory, and the throughput benchmark behind
//! `dae bench`.
//!
//! The benchmark times what a user waits for: the real training loop ([`crate::train::train`],
//! the same code `dae train` runs) and inference without autodiff
//! ([`crate::eval::Predictor`], the code behind `dae eval` and `dae denoise`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::corrupt::SampleShape;
use crate::data::Splits;
use crate::eval::{Precision, Predictor};
use crate::model::{ModelConfig, ModelKind};
use crate::train::{RunDir, Start, TrainConfig};
use crate::{Error, Result};

/// Sets the number of CPU threads the tensor kernels use, for the rest of the process.
///
/// Burn's `flex` backend and its GEMM run on rayon's global pool, so this must be called before
/// the first tensor operation; a second call fails.
pub fn set_threads(threads: usize) -> Result<()> {
    if threads == 0 {
        return Err(Error::Config("--threads must be at least 1".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::Config(format!("cannot set --threads {threads}: {e}")))
}

/// The number of threads the tensor kernels use now.
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

/// The process's peak resident memory in bytes (`VmHWM` of `/proc/self/status`), where the
/// operating system reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in bytes.
fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

/// What one benchmark measures.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The model to train and run.
    pub model: ModelKind,
    /// Training epochs; the figure reported is the last epoch's (the first one also pays for
    /// allocator warm-up).
    pub epochs: usize,
    /// Train on only the first N images (`None`: the whole training split).
    pub train_limit: Option<usize>,
    /// Images per inference batch.
    pub infer_batch: usize,
    /// Arithmetic of the inference measurement (training is always f32).
    pub infer_precision: Precision,
    /// Seed of the run.
    pub seed: u64,
    /// Compute device name (`cpu`, `cuda`, `vulkan`; see [`crate::model::device`]).
    pub device: String,
    /// Where the scratch run directory goes (removed afterwards).
    pub scratch: PathBuf,
}

/// The figures of one benchmark run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// `mlp` or `conv`.
    pub model: String,
    /// CPU threads the kernels used.
    pub threads: usize,
    /// The compute device.
    pub device: String,
    /// Training images per epoch.
    pub train_images: usize,
    /// Wall-clock seconds of the last training epoch (steps only, no evaluation).
    pub train_seconds: f64,
    /// Training images per second in the last epoch.
    pub train_images_per_second: f64,
    /// Held-out images denoised in the inference measurement (corrupted by the training noise).
    pub infer_images: usize,
    /// Wall-clock seconds of inference over them.
    pub infer_seconds: f64,
    /// Denoised images per second (no autodiff).
    pub infer_images_per_second: f64,
    /// Arithmetic of the inference measurement: `f32` or `bf16`.
    pub infer_precision: Precision,
    /// Peak resident memory of the process, bytes (`None` where the OS does not say).
    pub peak_rss_bytes: Option<u64>,
    /// Held-out PSNR after the last epoch (a sanity check that the run learned).
    pub val_psnr: f64,
}

/// Trains `config.model` with the document's settings on `data` and times training and inference.
pub fn run_bench(
    config: &BenchConfig,
    data: &Splits,
    data_dir: Option<&Path>,
) -> Result<BenchReport> {
    if config.epochs == 0 || config.infer_batch == 0 {
        return Err(Error::Config(
            "bench epochs and inference batch must be at least 1".into(),
        ));
    }
    // Refuse an unsupported precision before training, not after.
    config
        .infer_precision
        .check(config.model, &crate::model::device(&config.device)?)?;
    let set = &data.train;
    let model = ModelConfig::new(config.model, 1, set.height, set.width);
    let mut train = TrainConfig::new(model);
    train.epochs = config.epochs;
    train.train_limit = config.train_limit;
    train.val_limit = Some(data.test.len().min(1000));
    train.seed = config.seed;
    train.device = config.device.clone();
    train.data = data_dir.map(Path::to_path_buf);
    train.check()?;

    let run = RunDir::new(&config.scratch);
    if config.scratch.exists() {
        return Err(Error::Config(format!(
            "{}: scratch directory already exists",
            config.scratch.display()
        )));
    }
    let result = crate::train::train(&train, &run, Start::Fresh, data, &mut |_| {});
    let outcome = result.and_then(|metrics| {
        let last = metrics
            .last()
            .ok_or_else(|| Error::Config("the benchmark ran no epoch".into()))?
            .clone();
        let loaded = crate::train::load_run(&config.scratch, None)?;
        Ok((last, loaded))
    });
    let _ = std::fs::remove_dir_all(&config.scratch);
    let (last, loaded) = outcome?;

    let test = &data.test;
    let shape = SampleShape::new(1, test.height, test.width);
    let per = shape.len();
    // Denoise what a user would: the held-out images under the training noise (drawn untimed,
    // as PyTorch's side draws its noisy test set before timing).
    let corruption = crate::corrupt::parse(&train.noise)?;
    let mut rng = crate::seed::rng(config.seed, crate::seed::Purpose::EvalNoise, 0);
    let noisy =
        crate::corrupt::corrupt_batch(corruption.as_ref(), &test.images, shape, &mut rng)?.noisy;
    let predictor = Predictor::new(&loaded.model, &loaded.device, config.infer_precision)?;
    // One untimed batch first, so the measurement does not include first-touch page faults.
    let warm = config.infer_batch.min(test.len());
    predictor.reconstruct(&noisy[..warm * per], shape);
    let timer = Instant::now();
    for start in (0..test.len()).step_by(config.infer_batch) {
        let end = (start + config.infer_batch).min(test.len());
        let images = &noisy[start * per..end * per];
        let out = predictor.reconstruct(images, shape);
        debug_assert_eq!(out.len(), images.len());
    }
    let infer_seconds = timer.elapsed().as_secs_f64();
    let train_images = config.train_limit.map_or(set.len(), |n| n.min(set.len()));
    Ok(BenchReport {
        model: config.model.to_string(),
        threads: current_threads(),
        device: config.device.clone(),
        train_images,
        train_seconds: last.train_seconds,
        train_images_per_second: last.images_per_second,
        infer_images: test.len(),
        infer_seconds,
        infer_images_per_second: test.len() as f64 / infer_seconds.max(1e-9),
        infer_precision: config.infer_precision,
        peak_rss_bytes: peak_rss_bytes(),
        val_psnr: last.val_psnr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_parsed_in_bytes() {
        let status = "Name:\tdae\nVmPeak:\t  200 kB\nVmHWM:\t   1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("Name:\tdae\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t12 MB\n"), None);
    }

    #[test]
    fn bench_on_a_tiny_set_reports_consistent_figures() {
        let data = crate::data::load_default().unwrap();
        let data = Splits {
            train: data.train.take(64),
            test: data.test.take(40),
        };
        let scratch = std::env::temp_dir().join(format!("dae-bench-test-{}", std::process::id()));
        let config = BenchConfig {
            model: ModelKind::Mlp,
            epochs: 1,
            train_limit: None,
            infer_batch: 16,
            infer_precision: Precision::F32,
            seed: 0,
            device: "cpu".into(),
            scratch: scratch.clone(),
        };
        let r = run_bench(&config, &data, None).unwrap();
        assert_eq!((r.train_images, r.infer_images), (64, 40));
        assert!(r.train_seconds > 0.0 && r.infer_seconds > 0.0);
        let rate = r.train_images as f64 / r.train_seconds;
        assert!((r.train_images_per_second - rate).abs() < 1e-6 * rate);
        assert!(r.val_psnr.is_finite());
        assert!(!scratch.exists(), "scratch run directory is removed");
    }
}
